"""Differential testing: random expression trees over the whole grammar, at random inputs inside their
domain, must give symbolic == autograd (float64) and both == central finite differences.

The seed is random per run and printed in the test header and in any failure; rerun a failure with
``BACKCALC_FUZZ_SEED=N``. The number of cases is ``BACKCALC_FUZZ_CASES`` (default 2,000).
"""

from __future__ import annotations

import os
import random

import numpy as np
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

import backcalc
from backcalc.compare import FD_TOLERANCE, Tolerance, compare
from backcalc.numeric import evaluate
from backcalc.tree import FUNCTIONS, Node

SEED = int(os.environ.get("BACKCALC_FUZZ_SEED", random.randrange(2**32)))
CASES = int(os.environ.get("BACKCALC_FUZZ_CASES", "2000"))

NAMES = ("x", "y", "w")
SHAPES = {"x": (2, 3), "y": (3,), "w": ()}  # broadcast together to (2, 3)

_numbers = st.one_of(
    st.integers(0, 5).map(str),
    st.sampled_from(["0.5", "1.5", "2.0", "0.25", "3.0"]),
)
_leaves = st.one_of(
    st.sampled_from(NAMES).map(lambda name: Node("variable", (), name)),
    st.sampled_from(NAMES).map(lambda name: Node("variable", (), name)),
    _numbers.map(lambda text: Node("number", (), text)),
    st.sampled_from(["pi", "e"]).map(lambda name: Node("constant", (), name)),
)


def _grow(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    binary = st.tuples(st.sampled_from(["add", "sub", "mul", "div", "pow"]), children, children).map(
        lambda t: Node(t[0], (t[1], t[2]))
    )
    call = st.tuples(st.sampled_from(FUNCTIONS), children).map(lambda t: Node("call", (t[1],), t[0]))
    # No chains of negations: they cost no leaves, so they would crowd out everything else.
    negation = children.filter(lambda child: child.op != "neg").map(lambda child: Node("neg", (child,)))
    return st.one_of(binary, call, binary, call, negation)


trees = st.recursive(_leaves, _grow, max_leaves=10).filter(lambda tree: bool(tree.variables()))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Node, dict[str, np.ndarray]]:
    tree = draw(trees)
    # Positive inputs half the time, so that log, sqrt and fractional powers of inputs are in domain.
    low = draw(st.sampled_from([-2.0, 0.0625]))
    values = {}
    for name in tree.variables():
        size = int(np.prod(SHAPES[name]))
        cells = draw(st.lists(st.floats(low, 2.0, allow_nan=False, width=32), min_size=size, max_size=size))
        values[name] = np.array(cells, dtype=np.float64).reshape(SHAPES[name])
    return tree, values


MARGIN = 1e-2  # how far from a kink, pole or domain edge every intermediate value must stay
BOUND = 1e3  # how large any intermediate value may be (finite differences lose digits beyond)


def well_conditioned(tree: Node, inputs: dict[str, np.ndarray]) -> bool:
    """Every node finite and moderate, and every delicate function well inside its domain."""
    values: dict[int, np.ndarray] = {}
    for node in reversed(list(tree.walk())):  # children before parents
        value = evaluate(node, inputs)
        if not np.all(np.isfinite(value)) or np.max(np.abs(value)) > BOUND:
            return False
        values[id(node)] = value
        args = [values[id(child)] for child in node.args]
        if node.op == "call":
            u = args[0]
            if node.text in ("relu", "abs") and np.min(np.abs(u)) < MARGIN:
                return False
            if node.text in ("log", "sqrt") and np.min(u) < MARGIN:
                return False
            if node.text in ("asin", "acos") and np.max(np.abs(u)) > 1 - MARGIN:
                return False
            if node.text == "tan" and np.min(np.abs(np.cos(u))) < 0.1:
                return False
        elif node.op == "div" and np.min(np.abs(args[1])) < MARGIN:
            return False
        elif node.op == "pow":
            base, exponent = args
            varies = not node.args[1].is_constant()
            if np.any((np.abs(base) < MARGIN) | ((base < 0) & ((exponent != np.round(exponent)) | varies))):
                return False
    return True


@seed(SEED)
@settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(cases())
def test_symbolic_autograd_and_finite_differences_agree(case):
    tree, inputs = case
    assume(well_conditioned(tree, inputs))
    text = str(tree)
    result = backcalc.gradient(text, inputs, dtype="float64", check_fd=True)
    context = f"seed {SEED}: {text} at { ({k: v.tolist() for k, v in inputs.items()}) }"
    for name, gradient in result.gradients.items():
        assert gradient.agree, f"symbolic != autograd for d/d{name}, {context}"
        fd = compare(gradient.symbolic, gradient.finite_difference, Tolerance(*FD_TOLERANCE))
        assert fd.agree, f"symbolic != finite differences for d/d{name}, {context}"
        assert gradient.verdict.word == "agree", context


# -- the tensor operations: an element-wise tree wrapped in @, .T, reductions, softmax, dot, norm ---
TENSOR_CASES = int(os.environ.get("BACKCALC_FUZZ_TENSOR_CASES", "500"))
_num = lambda text: Node("number", (), text)  # noqa: E731
_var = lambda name: Node("variable", (), name)  # noqa: E731


def _wrap(kind: str, inner: Node) -> Node:
    """A tensor operation around ``inner``; shapes that do not fit are filtered out later."""
    if kind in ("sum", "mean", "logsumexp", "softmax", "norm"):
        return Node("call", (inner,), kind)
    if kind in ("sum0", "mean-1"):
        name, dim = ("sum", _num("0")) if kind == "sum0" else ("mean", Node("neg", (_num("1"),)))
        return Node("call", (inner, dim), name)
    if kind == "matvec":
        return Node("call", (Node("matmul", (inner, _var("y"))),), "sum")
    if kind == "vecmat":
        return Node("call", (Node("matmul", (_var("x"), inner)),), "sum")
    if kind == "gram":
        return Node("call", (Node("matmul", (Node("transpose", (inner,)), inner)),), "sum")
    return Node("call", (inner, _var("y")), "dot")


tensor_trees = st.tuples(
    st.sampled_from(
        ["sum", "mean", "logsumexp", "softmax", "norm", "sum0", "mean-1", "matvec", "vecmat", "gram", "dot"]
    ),
    st.recursive(_leaves, _grow, max_leaves=5),
).map(lambda t: _wrap(*t))


@seed(SEED)
@settings(
    max_examples=TENSOR_CASES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(tensor_trees, st.data())
def test_tensor_operations_agree_three_ways(tree, data):
    from backcalc import shapes
    from backcalc.errors import InputError

    low = data.draw(st.sampled_from([-2.0, 0.0625]))
    inputs = {}
    for name in tree.variables():
        size = int(np.prod(SHAPES[name]))
        cells = data.draw(st.lists(st.floats(low, 2.0, allow_nan=False, width=32), min_size=size, max_size=size))
        inputs[name] = np.array(cells, dtype=np.float64).reshape(SHAPES[name])
    try:
        shapes.output_shape(tree, {name: value.shape for name, value in inputs.items()})
    except InputError:
        assume(False)
    inner = tree.args[0]
    assume(well_conditioned(tree, inputs) and well_conditioned(inner, inputs))
    if tree.text == "norm":
        assume(float(evaluate(tree, inputs)) > MARGIN)  # the 2-norm has a kink at the zero vector
    text = str(tree)
    result = backcalc.gradient(text, inputs, dtype="float64", check_fd=True)
    context = f"seed {SEED}: {text} at { ({k: v.tolist() for k, v in inputs.items()}) }"
    for name, gradient in result.gradients.items():
        assert gradient.agree, f"symbolic != autograd for d/d{name}, {context}"
        assert gradient.fd_comparison is not None and gradient.fd_comparison.agree, f"finite differences, {context}"
