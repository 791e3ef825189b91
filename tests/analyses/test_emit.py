"""Code export (``--emit numpy|torch``): the emitted file run as printed (``exec`` in a fresh namespace),
its numbers against backcalc's own formulas and against torch autograd in float64, written by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backcalc import ops
from backcalc.analyses.emit import Signature, emit, emit_gradient
from backcalc.analyses.gradient import compute
from backcalc.analyses.problem import prepare
from backcalc.language.parser import parse
from backcalc.numeric.numpy_eval import evaluate
from backcalc.ops.code import as_code

RNG = np.random.default_rng(7)
TARGETS = ("numpy", "torch")


def run(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<emitted>", "exec"), namespace)  # as printed, in a namespace of its own
    return namespace


def as_numpy(value) -> np.ndarray:
    return value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def emitted_against_backcalc(expression: str, inputs: dict, target: str, reduce: str = "sum") -> dict:
    """Run the emitted file and compare it with backcalc's loss and symbolic gradient (float64)."""
    problem = prepare(expression, inputs, None, "float64", reduce)
    namespace = run(emit_gradient(problem, target))
    result = compute(problem)
    np.testing.assert_allclose(as_numpy(namespace["loss"](**inputs)), result.loss, rtol=1e-12)
    gradients = namespace["gradient"](**inputs)
    assert set(gradients) == set(result.gradients)
    for name, gradient in result.gradients.items():
        mine = as_numpy(gradients[name])
        assert mine.shape == np.shape(inputs[name])
        np.testing.assert_allclose(mine, gradient.symbolic, rtol=1e-12, atol=1e-13, err_msg=name)
    return gradients


# The convolutions and the pools, and the records of their gradients, have no emitted code yet: --emit on
# them is a one-line error (test_a_record_without_code_is_a_one_line_error_of_emit).
NOT_YET = {f"conv{n}d{part}" for n in (1, 2) for part in ("", "_input", "_weight")}
NOT_YET |= {f"{kind}_pool2d{part}" for kind in ("max", "avg") for part in ("", "_backward")}


@pytest.mark.parametrize("op", list(ops.all_ops()), ids=lambda op: op.name)
def test_every_record_says_how_it_is_written_in_numpy_and_torch(op):
    written = as_code(op.numpy_code) is not None and as_code(op.torch_code) is not None
    assert written != (op.name in NOT_YET)


LAYERS = {
    "linear(X, W) + linear(X, W, b)": {},
    "layer_norm(X, (3,)) + layer_norm(X, (3,), w) + layer_norm(X, (3,), w, b, eps=0.1)": {},
    "batch_norm(X) + batch_norm(X, w, b, eps=0.01) + dropout(X, M, 0.25)": {},
    "swapdims(T, 0, 2) + swapdims(swapdims(T), 0, 1)": {},
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("text", LAYERS)
def test_the_layers_code_computes_their_numpy_implementation(text, target):
    values = {"X": RNG.normal(size=(4, 3)), "W": RNG.normal(size=(3, 3)), "b": RNG.normal(size=3)}
    values |= {"w": RNG.normal(size=3), "M": RNG.integers(0, 2, size=(4, 3)).astype(float)}
    values |= {"T": RNG.normal(size=(3, 4, 3))}
    used = {name: value for name, value in values.items() if name in text.replace("eps", "")}
    expected = evaluate(parse(text), used)
    np.testing.assert_allclose(_value_of(text, used, target), expected, rtol=1e-12, atol=1e-14)


def _value_of(tree_text: str, inputs: dict, target: str):
    """The value of an expression by the emitter (as a formula of the file's gradient dict)."""
    tree = parse(tree_text)
    shapes = {name: np.shape(value) for name, value in inputs.items()}
    labels = [name for name, value in inputs.items() if np.asarray(value).dtype.kind == "i"]
    code = emit(target, tree, {"value": tree}, Signature(shapes, labels, None))
    return as_numpy(run(code)["gradient"](**inputs)["value"])


ELEMENTWISE = [op for op in ops.all_ops() if op.elementwise and op.syntax is not ops.Syntax.PREFIX]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.name)
def test_each_elementwise_code_computes_its_numpy_implementation(op, target):
    args = [RNG.uniform(0.1, 0.9, size=5) * RNG.choice([-1.0, 1.0], size=5) for _ in range(op.arity)]
    if op.name in ("log", "sqrt", "pow"):
        args[0] = np.abs(args[0])
    names = ["a", "b", "c"][: op.arity]
    call = f"{op.name}({', '.join(names)})" if op.syntax is ops.Syntax.CALL else f"a {op.symbol} b"
    expected = op.numpy(np, *args)
    np.testing.assert_allclose(_value_of(call, dict(zip(names, args, strict=True)), target), expected, rtol=1e-12)


MIXING_CALLS = {
    "sum(X, 1, keepdim=True) + mean(X) + amax(X, 0)[0] + min(X)": {},
    "logsumexp(X, 0) + logsumexp(X, keepdim=True)[0] + softmax(X)[0] + log_softmax(X, 0)[1]": {},
    "var(X, 1) + std(X, correction=0) + prod(X, 0) + cumsum(X, 1)[2]": {},
    "X.T@X + matrix_transpose(X) + outer(X[0], X[1]) + unsqueeze(X[0], 0)*dot(X[0], X[1])": {},
    "trace(X)*det(X) + inv(X) + solve(X, X[0])[0] + diag(diag(X)) + eye(3) + slogdet(X@X.T)": {},
    "kron(X, X[0:2, 0:2]) + 0*kron(X, X)[0:6, 0:6]": {},
    "reshape(X, (9,)) + flatten(X) + squeeze(unsqueeze(X, 0), 0)[0, 0] + permute(X, (1, 0))[0, 0]": {},
    "cat([X, X], 1)[0:3, 0:3] + stack([X, X])[1] + where(X > 0, X, -X) + (X <= 0.1) + (X >= 0) + (X < 1)": {},
    "mse_loss(X, X.T) + l1_loss(X, X.T, reduction='sum') + smooth_l1_loss(X, 2*X, beta=0.5)": {},
    'huber_loss(X, X.T, delta=0.3, reduction="none") + binary_cross_entropy_with_logits(X, sigmoid(X.T))': {},
    "binary_cross_entropy(sigmoid(X), sigmoid(X.T)) + norm(X) + norm(X[0], 1) + norm(X[1], 2)": {},
    "gelu(X) + gelu(X, approximate='tanh') + silu(X) + leaky_relu(X, 0.2) + elu(X, 2) + softsign(X) + erf(X)": {},
    "hardtanh(X, -0.5, 0.5) + clamp(X, -0.3, 0.4) + heaviside(X) + ones_like(X) + logdet(X@X.T + eye(3))": {},
    "cross_entropy(X, y) + nll_loss(log_softmax(X, 1), y, reduction='sum') + multi_margin_loss(X, y)": {},
    "sum(one_hot(y, 3)@X) + embedding(y, X)[0, 1] + X[y, arange(3)] + cross_entropy(X, softmax(X.T))": {},
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("text", list(MIXING_CALLS))
def test_each_mixing_code_computes_what_numpy_evaluates(text, target):
    from backcalc.numeric.numpy_eval import evaluate

    inputs = {"X": RNG.uniform(-1, 1, size=(3, 3)) + 2 * np.eye(3), "y": np.array([2, 0, 1])}
    used = {name: value for name, value in inputs.items() if name in parse(text).variables()}
    expected = evaluate(parse(text.replace("'", '"')), used)
    np.testing.assert_allclose(_value_of(text.replace("'", '"'), used, target), expected, rtol=1e-12, atol=1e-14)


# Expressions of a matrix-calculus course, networks and losses, at sizes a test can afford.
N = 50
CASES = {
    "sum((W@x - y)**2)": lambda: {"W": RNG.normal(size=(N, N)), "x": RNG.normal(size=N), "y": RNG.normal(size=N)},
    "x@A@x": lambda: {"x": RNG.normal(size=N), "A": RNG.normal(size=(N, N))},
    "trace(A@X@B) + norm(X, 'fro')": lambda: {k: RNG.normal(size=(N, N)) for k in "AXB"},
    "logdet(X@X.T + eye(50)) + trace(inv(X@X.T + eye(50))@A)": lambda: {k: RNG.normal(size=(N, N)) / 7 for k in "XA"},
    "h = tanh(W1@x + b1); z = W2@h; loss = cross_entropy(unsqueeze(z, 0), y)": lambda: {
        "W1": RNG.normal(size=(8, 5)),
        "x": RNG.normal(size=5),
        "b1": RNG.normal(size=8),
        "W2": RNG.normal(size=(3, 8)),
        "y": np.array([2]),
    },
    "tanh(x)*log(x) + x**3/(1 + exp(-y))": lambda: {"x": RNG.uniform(0.5, 2, size=(4, 3)), "y": RNG.normal(size=3)},
    "mse_loss(X@w, t) + 0.1*norm(w, 2)": lambda: {
        "X": RNG.normal(size=(20, 4)),
        "w": RNG.normal(size=4),
        "t": RNG.normal(size=20),
    },
    "s = softmax(Z, 1); loss = sum(s*log(s + 1)) + logsumexp(Z)": lambda: {"Z": RNG.normal(size=(6, 4))},
    "norm(v, 1) + sum(relu(M)) + max(M) + mean(M, 0)@v": lambda: {
        "v": RNG.normal(size=5),
        "M": RNG.normal(size=(5, 5)),
    },
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("expression", list(CASES))
def test_emitted_numbers_are_backcalcs_own(expression, target):
    emitted_against_backcalc(expression.replace("'", '"'), CASES[expression](), target)


@pytest.mark.parametrize("target", TARGETS)
def test_a_mean_loss_and_torch_autograd_written_by_hand(target):
    w, x, b = RNG.normal(size=(7, 4)), RNG.normal(size=(4, 6)), RNG.normal(size=(7, 1))
    inputs = {"W": w, "X": x, "b": b}
    gradients = emitted_against_backcalc("sigmoid(W@X + b)**2", inputs, target, reduce="mean")
    tw, tx, tb = (torch.tensor(v, requires_grad=True) for v in (w, x, b))
    (torch.sigmoid(tw @ tx + tb) ** 2).mean().backward()
    for name, tensor in {"W": tw, "X": tx, "b": tb}.items():
        np.testing.assert_allclose(as_numpy(gradients[name]), tensor.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("target", TARGETS)
def test_a_large_least_squares_gradient_against_torch(target):
    n = 300
    a, x, y = RNG.normal(size=(n, n)), RNG.normal(size=n), RNG.normal(size=n)
    problem = prepare("sum((A@x - y)**2)", {"A": a, "x": x, "y": y}, ["x"], "float64")
    gradient = run(emit_gradient(problem, target))["gradient"](A=a, x=x.tolist(), y=y)
    tx = torch.tensor(x, requires_grad=True)
    ((torch.tensor(a) @ tx - torch.tensor(y)) ** 2).sum().backward()
    assert list(gradient) == ["x"]
    np.testing.assert_allclose(as_numpy(gradient["x"]), tx.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("target", TARGETS)
def test_a_hessian_tree_is_emitted_as_hessian(target):
    x, a = RNG.normal(size=4), RNG.normal(size=(4, 4))
    problem = prepare("x@A@x", {"x": x, "A": a}, ["x"], "float64")
    from backcalc.analyses.emit import emit_hessian

    namespace = run(emit_hessian(problem, target, parse("A + A.T")))
    expected = torch.autograd.functional.hessian(lambda t: t @ torch.tensor(a) @ t, torch.tensor(x))
    np.testing.assert_allclose(as_numpy(namespace["hessian"](x=x, A=a)), expected.numpy(), rtol=1e-12)
    np.testing.assert_allclose(as_numpy(namespace["loss"](x=x, A=a)), x @ a @ x, rtol=1e-12)


@pytest.mark.parametrize("target", TARGETS)
def test_names_that_meet_the_codes_own_are_renamed(target):
    inputs = {"np": RNG.normal(size=3), "torch": RNG.normal(size=3), "_t1": RNG.normal(size=3), "inputs": 2.0}
    program = "print = np*torch; gradient = print + _t1*inputs; loss = sum(gradient**2)"
    gradients = emitted_against_backcalc(program, inputs, target)
    assert set(gradients) == set(inputs)


def test_the_file_imports_only_its_library_and_says_what_it_computes():
    problem = prepare("sum(softmax(z)*x)", {"z": [1.0, 2.0], "x": [3.0, 4.0]}, None, "float64")
    for target, library in (("numpy", "import numpy as np"), ("torch", "import torch")):
        code = emit_gradient(problem, target)
        imports = [line for line in code.splitlines() if line.startswith(("import", "from"))]
        assert imports == [library]
        assert "#     sum(softmax(z)*x)" in code.splitlines()
        assert code.count("def _softmax(") == 1  # the helper once, only where it is used
        assert "_logsumexp" not in code


def test_numbers_beside_whole_numbers_stay_float64_in_torch():
    inputs = {"x": RNG.normal(size=3), "y": np.array([2, 0, 1])}
    gradients = emitted_against_backcalc("sum(0.1*arange(3)*x + (y/3)*x + 2.5*y[0:3]*x)", inputs, "torch")
    assert gradients["x"].dtype == torch.float64


@pytest.mark.parametrize("target", TARGETS)
def test_a_hessian_per_input_is_a_dict_and_numbers_alone_are_arrays(target):
    a = RNG.normal(size=(3, 3))
    tree = parse("sum(x*x)*0 + x@A@x")
    signature = Signature({"x": (3,), "A": (3, 3)}, reduce=None)
    code = emit(target, tree, {"x": parse("(A + A.T)@x")}, signature, {"x": parse("A + A.T")})
    namespace = run(code)
    x = RNG.normal(size=3)
    np.testing.assert_allclose(as_numpy(namespace["hessian"](x=x, A=a)["x"]), a + a.T, rtol=1e-15)
    constant = run(emit(target, parse("2**3 + 1/0"), {}, Signature({})))
    with np.errstate(divide="ignore"):  # 1/0 is inf, as NumPy says
        assert as_numpy(constant["loss"]()) == np.inf and constant["gradient"]() == {}


@pytest.mark.parametrize("target", TARGETS)
def test_deep_formulas_and_long_programs_run_as_printed(target):
    deep = "sum(" + "tanh(" * 90 + "x" + ")" * 90 + ")"
    emitted_against_backcalc(deep, {"x": np.array([0.3, -0.2])}, target)
    program = "h0 = W@x; " + "; ".join(f"h{k} = tanh(h{k - 1})" for k in range(1, 60)) + "; loss = sum(h59)"
    emitted_against_backcalc(program, {"W": RNG.normal(size=(4, 3)), "x": np.ones(3)}, target)


def test_a_key_or_name_that_is_not_an_identifier_is_refused():
    from backcalc.errors import InputError

    with pytest.raises(InputError, match="cannot name"):
        emit("numpy", parse("x"), {'x"]; import os; #': parse("x")}, Signature({"x": ()}))
    with pytest.raises(InputError, match="cannot name"):
        emit("numpy", parse("x"), {}, Signature({"lambda": ()}))
