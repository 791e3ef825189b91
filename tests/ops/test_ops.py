"""The operation registry: every record is complete, its three implementations agree with each other,
its local rule is the derivative of its sympy implementation, and no other module names an operation."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest
import sympy
import torch

from backcalc import ops
from backcalc.language.parser import parse
from backcalc.symbolic.elementwise import symbols_for, to_sympy

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "backcalc"
RNG = np.random.default_rng(0)
ELEMENTWISE = [op for op in ops.all_ops() if op.elementwise]
# Of one or two float arguments at their defaults: the operations of integer labels, of subscripts and
# shapes, and where, have their own tests (tests/ops/test_classes.py, test_subscripts.py,
# test_comparisons.py).
MIXING = [
    op
    for op in ops.all_ops()
    if not op.elementwise
    and op.integer_args is None
    and not op.integer_output
    and not any(option.kind is tuple or option.pair for option in op.options)  # shapes, strides: tested apart
    and op.arity <= 2
]


def _points(op: ops.Op, count: int = 7) -> list[np.ndarray]:
    """Random arguments away from every edge: in (0.1, 0.9) with a random sign, and distinct."""
    values = RNG.uniform(0.1, 0.9, size=(op.arity, count)) * RNG.choice([-1.0, 1.0], size=(op.arity, count))
    if op.name in ("log", "sqrt", "pow"):
        values[0] = np.abs(values[0])
    if op.name == "clamp":
        values[1], values[2] = -0.5 - np.abs(values[1]) / 4, 0.5 + np.abs(values[2]) / 4
    values[1:] += 0.05 * np.arange(1, op.arity)[:, None]  # no ties between arguments
    return list(values)


@pytest.mark.parametrize("op", list(ops.all_ops()), ids=lambda op: op.name)
def test_every_record_is_complete(op):
    assert op.doc and op.latex and op.sympy and op.torch and op.numpy
    if op.elementwise:
        assert len(op.local_rules()) == op.arity, "an element-wise operation needs a local rule per argument"
    if op.syntax is not ops.Syntax.CALL:
        assert op.symbols


@pytest.mark.parametrize("op", list(ops.all_ops()), ids=lambda op: op.name)
def test_latex_template_takes_its_arguments(op):
    parts = [f"a_{i}" for i in range(op.arity)]
    text = op.latex.format(*parts, all=", ".join(parts))  # {all}: every argument given (linear(x, W, b))
    assert all(f"a_{i}" in text for i in range(op.arity)) and "{}" not in text


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.name)
def test_sympy_torch_and_numpy_implementations_agree(op):
    args = _points(op)
    numpy_value = op.numpy(np, *args)
    torch_value = op.torch(torch, *(torch.tensor(a, dtype=torch.float64) for a in args)).numpy()
    sympy_value = [float(op.sympy(sympy, *(sympy.Float(float(a[i])) for a in args))) for i in range(len(args[0]))]
    np.testing.assert_allclose(torch_value, numpy_value, rtol=1e-12)
    np.testing.assert_allclose(sympy_value, numpy_value, rtol=1e-12)


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.name)
def test_local_rules_are_the_derivatives_of_the_sympy_implementation(op):
    names = ["u", "v", "w"][: op.arity]
    symbols = symbols_for(names)
    function = op.sympy(sympy, *symbols.values())
    args = _points(op)
    for name, rule in zip(names, op.local_rules(), strict=True):
        derivative = sympy.diff(function, symbols[name])
        claimed = to_sympy(parse(rule), symbols)
        for i in range(len(args[0])):
            point = {symbols[n]: sympy.Float(float(a[i])) for n, a in zip(names, args, strict=True)}
            expected = float(derivative.subs(point).doit())
            assert float(claimed.subs(point)) == pytest.approx(expected, rel=1e-9, abs=1e-12), (op.name, name)


@pytest.mark.parametrize("op", MIXING, ids=lambda op: op.name)
def test_mixing_operations_agree_three_ways(op):
    a = RNG.uniform(-1, 1, size=(3, 3))
    args = [a, RNG.uniform(-1, 1, size=(3, 3))][: op.arity]
    if op.name in ("dot", "outer"):
        args = [a[0], a[1]]
    if op.name == "binary_cross_entropy":  # of probabilities
        args = [0.05 + 0.9 * np.abs(x) for x in args]
    if op.name in ("logdet", "slogdet"):
        args = [a @ a.T + np.eye(3)]  # a positive determinant: logdet is real
    if op.name in ("blockdot", "blocksum"):
        args = [RNG.uniform(-1, 1, size=(6, 9)), RNG.uniform(-1, 1, size=(2, 3))]
    dims = [0, -1] if op.needs_dim else [None, 0, -1] if op.takes_dim else [None]
    if op.arity == 0:
        dims = [1, 3]  # eye(n): the dimension slot is its size
    for dim in dims:
        extra = {"dim": dim} if op.takes_dim else {}
        numpy_value = np.asarray(op.numpy(np, *args, **extra))
        torch_value = op.torch(torch, *(torch.tensor(x) for x in args), **extra).numpy()
        cells = [np.vectorize(sympy.Float, otypes=[object])(x) for x in args]
        sympy_value = np.vectorize(float)(np.asarray(op.sympy(sympy, np, *cells, **extra), dtype=object))
        np.testing.assert_allclose(torch_value, numpy_value, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sympy_value.astype(float), numpy_value, rtol=1e-12, atol=1e-14)


def test_names_and_symbols_are_found():
    assert ops.function("ln") is ops.get("log")
    assert ops.function("step") is ops.get("heaviside")
    assert ops.infix("^") is ops.infix("**") is ops.get("pow")
    assert ops.postfix(".T") is ops.function("transpose")
    assert ops.closest_function("sine") == "sin"
    assert {"sum", "log_softmax", "clamp", "maximum"} <= set(ops.function_names())


# -- structure: the registry is the one place an operation is named, and the layers have no loops ----
def _operation_names() -> set[str]:
    return {op.name for op in ops.all_ops()} | {alias for op in ops.all_ops() for alias in op.aliases}


def _string_constants(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


# Words that are also operation names but mean something else where they appear.
HOMONYMS = {
    "problem.py": {"sum", "mean"},  # the loss reductions of --reduce, as y.sum() and y.mean()
    "gradient.py": {"sum"},  # the default --reduce
    "lines.py": {"sum"},  # the default "reduce" of a line
    "quick.py": {"sum"},  # the default "reduce" of a line taken the short way
    "explain.py": {"mean", "sum", "min", "max"},  # the reduction shown in the JSON; a value's range
    "descend.py": {"step"},  # a step of gradient descent
    "matrix.py": {"mean", "sum"},  # the loss reductions
    "formulas.py": {"mean", "sum"},  # the loss reductions
    "intermediates.py": {"mean", "sum"},  # the loss reductions
    "diagnose.py": {"sign", "transpose"},  # kinds of mistakes in a claim
    "terminal.py": {"step"},  # a program's step, as a column heading
    "descend_view.py": {"step", "log"},  # a step; matplotlib's log scale
    "graphviz.py": {"dot"},  # Graphviz's dot program
    "html.py": {"step"},  # a step of gradient descent, as a column heading
    "methods.py": {"min", "max"},  # torch.clamp's keywords for its bounds, x.clamp(min=0, max=1)
}
# Help text, like the CLI's: the fixes an error suggests name the functions to type instead.
HELP_TEXT = ("hints",)  # the package


def test_an_operation_is_named_in_its_record_alone():
    names = _operation_names()
    outside = {}
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name in ("ops", "cli", *HELP_TEXT):  # the records themselves; help text
            continue
        found = names & _string_constants(path) - HOMONYMS.get(path.name, set())
        if found:
            outside[str(path.relative_to(PACKAGE))] = sorted(found)
    assert outside == {}
