"""The linear-algebra records (trace, det, logdet, slogdet, inv, solve, diag, eye, eye_like) and kron with
its block operations: the three implementations agree, the matrix-notation rules match torch's autograd
in float64 at sizes 2 to 6, the Matrix Cookbook's identities come out, and shapes and singular inputs
are refused in one line."""

# The hand-written torch functions and closed forms take the inputs by their names in the expressions.
# ruff: noqa: N803

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

import backcalc
from backcalc import ops
from backcalc.errors import InputError
from backcalc.language.parser import parse
from backcalc.numeric.numpy_eval import evaluate
from backcalc.symbolic.formulas import formulas

RNG = np.random.default_rng(25)
SIZES = [2, 3, 4, 5, 6]


def well_conditioned(n: int, rng: np.random.Generator = RNG) -> np.ndarray:
    """A random n x n matrix with a positive determinant and a condition number of a few units."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    q *= np.sign(np.linalg.det(q))  # a rotation: det +1
    return q @ np.diag(rng.uniform(1.0, 3.0, size=n)) @ q.T + 0.3 * rng.normal(size=(n, n)) / n


def spd(n: int) -> np.ndarray:
    a = RNG.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


def _sympy_value(op: ops.Op, args: list[np.ndarray], **extra: int) -> np.ndarray:
    cells = [np.vectorize(sympy.Float, otypes=[object])(x) for x in args]
    value = np.asarray(op.sympy(sympy, np, *cells, **extra), dtype=object)
    return np.vectorize(lambda c: float(sympy.N(c)))(value).astype(float)


def _three_ways(name: str, *args: np.ndarray, **extra: int) -> np.ndarray:
    op = ops.get(name)
    numpy_value = np.asarray(op.numpy(np, *args, **extra))
    torch_extra = {**extra, "dtype": torch.float64} if not args else extra
    torch_value = op.torch(torch, *(torch.tensor(a) for a in args), **torch_extra).numpy()
    np.testing.assert_allclose(torch_value, numpy_value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_sympy_value(op, list(args), **extra), numpy_value, rtol=1e-9, atol=1e-12)
    return numpy_value


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_square_matrix_operations_agree_three_ways_and_with_numpy_linalg(n):
    x, s, b, c = well_conditioned(n), spd(n), RNG.normal(size=n), RNG.normal(size=(n, 2))
    assert _three_ways("trace", x) == pytest.approx(np.trace(x))
    assert _three_ways("det", x) == pytest.approx(np.linalg.det(x))
    assert _three_ways("logdet", s) == pytest.approx(np.log(np.linalg.det(s)))
    assert _three_ways("slogdet", -x) == pytest.approx(np.log(abs(np.linalg.det(x))))
    np.testing.assert_allclose(_three_ways("inv", x) @ x, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(x @ _three_ways("solve", x, b), b, atol=1e-12)
    np.testing.assert_allclose(x @ _three_ways("solve", x, c), c, atol=1e-12)
    np.testing.assert_allclose(_three_ways("diag", b), np.diag(b))
    np.testing.assert_allclose(_three_ways("diag", x), np.diag(x))
    np.testing.assert_array_equal(_three_ways("eye", dim=n), np.eye(n))
    np.testing.assert_array_equal(_three_ways("eye_like", x), np.eye(n))


@pytest.mark.parametrize(("a_shape", "b_shape"), [((2, 3), (3, 2)), ((1, 4), (2, 2)), ((3,), (2,)), ((2, 2), (1, 1))])
def test_kron_and_its_block_operations_agree_three_ways(a_shape, b_shape):
    a, b = RNG.normal(size=a_shape), RNG.normal(size=b_shape)
    np.testing.assert_allclose(_three_ways("kron", a, b), np.kron(a, b))
    g = RNG.normal(size=np.kron(a, b).shape)
    # blockdot(G, B)[i, j] is the inner product of block (i, j) with B; blocksum(G, A) weighs the blocks by A.
    p, q = (1, *b_shape)[-2:] if len(b_shape) == 1 else b_shape
    m, n = (1, *a_shape)[-2:] if len(a_shape) == 1 else a_shape
    grid = g.reshape(m, p, n, q)
    expected_dot = np.einsum("ikjl,kl->ij", grid, b.reshape(p, q)).reshape(a_shape)
    expected_sum = np.einsum("ikjl,ij->kl", grid, a.reshape(m, n)).reshape(b_shape)
    np.testing.assert_allclose(_three_ways("blockdot", g, b), expected_dot, rtol=1e-12)
    np.testing.assert_allclose(_three_ways("blocksum", g, a), expected_sum, rtol=1e-12)


# -- the rules in matrix notation against torch's autograd, written by hand here (not the records') ----
def _torch_kron_sum(a, b):
    return torch.kron(a, b).sum()


VJP_CASES = {
    "trace(A@X@B)": lambda A, X, B: torch.trace(A @ X @ B),
    "det(X)": lambda X: torch.det(X),
    "logdet(X)": lambda X: torch.logdet(X),
    "slogdet(X)": lambda X: torch.slogdet(X)[1],
    "sum(inv(X)*C)": lambda X, C: (torch.inverse(X) * C).sum(),
    "sum(solve(A, b)*b)": lambda A, b: (torch.linalg.solve(A, b) * b).sum(),
    "sum(solve(A, C)**2)": lambda A, C: (torch.linalg.solve(A, C) ** 2).sum(),
    "sum(diag(v)@X)": lambda v, X: (torch.diag(v) @ X).sum(),
    "sum(diag(X)*v)": lambda X, v: (torch.diagonal(X) * v).sum(),
    "sum(kron(A, X)*C)": lambda A, X, C: (torch.kron(A, X) * C).sum(),
    "sum(kron(b, v)**3)": lambda b, v: (torch.kron(b, v) ** 3).sum(),
    "norm(X@A)": lambda X, A: torch.linalg.norm(X @ A),
    "trace(eye(3)@X@X.T) + sum(eye_like(X)*X)": lambda X: torch.trace(X @ X.T) + torch.trace(X),
}


def _vjp_inputs(text: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    inputs = {"X": well_conditioned(n, rng), "A": well_conditioned(n, rng), "B": rng.normal(size=(n, n))}
    inputs |= {"b": rng.normal(size=n), "v": rng.normal(size=n), "C": rng.normal(size=(n, 2))}
    if "kron(A, X)" in text:
        inputs["A"], inputs["C"] = rng.normal(size=(2, 3)), rng.normal(size=(2 * n, 3 * n))
    if "sum(inv(X)*C)" in text:
        inputs["C"] = rng.normal(size=(n, n))
    assert np.linalg.det(inputs["X"]) > 0  # for logdet; and X is not symmetric, so a missing transpose shows
    return {name: value for name, value in inputs.items() if name in parse(text).variables()}


@pytest.mark.parametrize("text", list(VJP_CASES))
def test_vjp_rules_match_torch_autograd_in_float64(text):
    rng = np.random.default_rng(abs(hash(text)) % 2**32)
    for n in SIZES if "eye(3)" not in text else [3]:
        inputs = _vjp_inputs(text, n, rng)
        leaves = {name: torch.tensor(value, requires_grad=True) for name, value in inputs.items()}
        VJP_CASES[text](**leaves).backward()
        gradient_of = formulas(parse(text), {name: value.shape for name, value in inputs.items()})
        for name, value in inputs.items():
            formula = gradient_of(name)
            assert formula is not None
            got = np.broadcast_to(evaluate(formula, inputs), value.shape)
            np.testing.assert_allclose(got, leaves[name].grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=f"{text} d{name}")


def test_the_rules_read_as_matrix_calculus_writes_them():
    shapes = {"X": (3, 3), "A": (3, 3), "B": (3, 3), "b": (3,)}

    def formula(text: str, name: str) -> str:
        tree = parse(text)
        found = formulas(tree, {n: s for n, s in shapes.items() if n in tree.variables()})(name)
        return str(found)

    assert formula("logdet(X)", "X") == "inv(X).T"
    assert formula("slogdet(X)", "X") == "inv(X).T"
    assert formula("det(X)", "X") == "det(X)*inv(X).T"
    assert formula("trace(X)", "X") == "eye_like(X)"
    assert formula("trace(A@X@B)", "X") == "A.T@B.T"
    assert formula("sum(inv(X))", "X") == "-(inv(X).T@ones_like(inv(X))@inv(X).T)"
    assert formula("sum(solve(A, b))", "b") == "solve(A.T, ones_like(solve(A, b)))"
    assert formula("sum(solve(A, b))", "A") == "-outer(solve(A.T, ones_like(solve(A, b))), solve(A, b))"
    assert formula("sum(kron(A, B))", "A") == "blockdot(ones_like(kron(A, B)), B)"
    assert formula("sum(kron(A, B))", "B") == "blocksum(ones_like(kron(A, B)), A)"


# -- identities of the Matrix Cookbook (Petersen and Pedersen, 2012), section 2: derivatives ----------
def _cookbook(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    return {
        "X": well_conditioned(n, rng),  # not symmetric: a transpose missing from a rule would show
        "A": rng.normal(size=(n, n)),
        "B": rng.normal(size=(n, n)),
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "x": rng.normal(size=n),
    }


COOKBOOK = [
    ("d det(X) = det(X) inv(X).T", "det(X)", "X", lambda X, **_: np.linalg.det(X) * np.linalg.inv(X).T),
    (
        "d det(AXB) = det(AXB) inv(X).T",
        "det(A@X@B)",
        "X",
        lambda A, X, B: np.linalg.det(A @ X @ B) * np.linalg.inv(X).T,
    ),
    ("d log|det X| = inv(X).T", "slogdet(X)", "X", lambda X, **_: np.linalg.inv(X).T),
    (
        "d a.T inv(X) b = -inv(X).T a b.T inv(X).T",
        "a@inv(X)@b",
        "X",
        lambda a, X, b: -np.linalg.inv(X).T @ np.outer(a, b) @ np.linalg.inv(X).T,
    ),
    ("d x.T A x = (A + A.T) x", "x@A@x", "x", lambda x, A: (A + A.T) @ x),
    ("d tr(AX) = A.T", "trace(A@X)", "X", lambda A, **_: A.T),
    ("d tr(AXB) = A.T B.T", "trace(A@X@B)", "X", lambda A, B, **_: A.T @ B.T),
    ("d tr(X A X.T) = X (A + A.T)", "trace(X@A@X.T)", "X", lambda X, A: X @ (A + A.T)),
    ("d tr(inv(X)) = -(inv(X)^2).T", "trace(inv(X))", "X", lambda X: -(np.linalg.inv(X) @ np.linalg.inv(X)).T),
    (
        "d tr(A inv(X) B) = -(inv(X) B A inv(X)).T",
        "trace(A@inv(X)@B)",
        "X",
        lambda A, X, B: -(np.linalg.inv(X) @ B @ A @ np.linalg.inv(X)).T,
    ),
    ("d ||X||_F^2 = 2X", "norm(X)**2", "X", lambda X: 2 * X),
    ("d ||x||_2 = x/||x||_2", "norm(x)", "x", lambda x: x / np.linalg.norm(x)),
    (
        "d tr(kron(X, B)) = tr(B) I, as tr(kron(X, B)) = tr(X) tr(B)",
        "trace(kron(X, B))",
        "X",
        lambda B, **_: np.trace(B) * np.eye(len(B)),
    ),
]


@pytest.mark.parametrize(("label", "text", "name", "closed_form"), COOKBOOK, ids=[c[0] for c in COOKBOOK])
def test_matrix_cookbook_identities(label, text, name, closed_form):
    for n in (2, 3, 5):
        inputs = {k: v for k, v in _cookbook(n).items() if k in parse(text).variables()}
        expected = closed_form(**inputs)
        formula = formulas(parse(text), {k: v.shape for k, v in inputs.items()})(name)
        assert formula is not None
        np.testing.assert_allclose(np.broadcast_to(evaluate(formula, inputs), expected.shape), expected, rtol=1e-9)
        if n == 2:  # through the whole run: formula, sympy's elements and autograd
            result = backcalc.gradient(text, inputs, wrt=name, dtype="float64").gradients[name]
            assert result.verdict.word == "agree" and "matches sympy's element-by-element" in result.note
            np.testing.assert_allclose(result.symbolic, expected, rtol=1e-9)
            np.testing.assert_allclose(result.autograd, expected, rtol=1e-9)


# -- shapes and singular inputs: one line each ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "inputs", "message"),
    [
        ("trace(X)", {"X": np.ones((2, 3))}, "trace(X): trace needs a square matrix, not [2, 3]"),
        ("det(x)", {"x": np.ones(3)}, "det(x): det needs a square matrix (2 dimensions), not [3]"),
        ("sum(inv(X))", {"X": np.ones((2, 2, 2))}, "inv(X): inv needs a square matrix (2 dimensions), not [2, 2, 2]"),
        (
            "sum(solve(A, b))",
            {"A": np.eye(2), "b": np.ones(3)},
            "solve(A, b): solve needs b a vector or a matrix of 2 rows (A is [2, 2]), not [3]",
        ),
        ("sum(diag(X))", {"X": np.ones((2, 3))}, "diag(X): diag of a matrix needs a square matrix, not [2, 3]"),
        ("sum(kron(A, b))", {"A": np.eye(2), "b": np.ones(3)}, "kron(A, b): kron needs two vectors or two matrices"),
        ("sum(eye(0)*x)", {"x": 1.0}, "eye(0): eye(n) needs a positive size n, not 0"),
    ],
)
def test_shapes_that_do_not_fit_are_refused_in_one_line(text, inputs, message):
    with pytest.raises(InputError) as caught:
        backcalc.gradient(text, inputs)
    assert caught.value.one_line().startswith(message) and "\n" not in caught.value.one_line()


@pytest.mark.parametrize(
    ("text", "consequence"),
    [
        ("sum(inv(X))", "it has no inverse"),
        ("logdet(X)", "its log-determinant is -inf, with no gradient"),
        ("slogdet(X)", "its log-determinant is -inf, with no gradient"),
        ("sum(solve(X, b))", "A @ x = b has no unique solution"),
    ],
)
def test_a_singular_matrix_is_refused_before_anything_runs(text, consequence):
    inputs = {"X": [[1.0, 2.0], [2.0, 4.0]], "b": [1.0, 1.0]}
    inputs = {k: v for k, v in inputs.items() if k in parse(text).variables()}
    with pytest.raises(InputError) as caught:
        backcalc.gradient(text, inputs)
    head = text.split("(", 1)[1].rsplit(")", 1)[0] if text.startswith("sum(") else text
    assert caught.value.one_line() == f"{head}: the matrix is singular (its determinant is 0): {consequence}"


def test_singular_in_float32_but_not_in_float64_says_so():
    x = [[1.0, 1.0], [1.0, 1.0 + 2.0**-22]]  # exact in float32; its condition number is about 1.7e7
    with pytest.raises(InputError) as caught:
        backcalc.gradient("sum(inv(X))", X=x)
    assert "singular in float32" in caught.value.message and caught.value.help == "compute in float64: --dtype float64"
    result = backcalc.gradient("sum(inv(X))", X=x, dtype="float64")
    assert result.gradients["X"].verdict.word == "agree"


def test_not_finite_entries_and_a_singular_product_are_refused():
    with pytest.raises(InputError, match=r"^inv\(X\): the matrix has elements that are not finite"):
        backcalc.gradient("sum(inv(X))", X=[[1.0, 2.0], [3.0, float("nan")]])
    with pytest.raises(InputError, match=r"^inv\(X\*x\): the matrix is singular"):
        backcalc.gradient("sum(inv(X*x))", X=[[1.0, 2.0], [3.0, 4.0]], x=0.0)


def test_numpy_gives_nan_at_a_singular_matrix_instead_of_raising():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert np.isnan(ops.get("inv").numpy(np, singular)).all()
    assert np.isnan(ops.get("solve").numpy(np, singular, np.ones(2))).all()
    assert ops.get("logdet").numpy(np, singular) == -np.inf
    assert np.isnan(ops.get("logdet").numpy(np, np.array([[1.0, 2.0], [3.0, 4.0]])))  # det -2


def test_det_at_a_singular_matrix_shows_sympy_adjugate_and_disagrees_with_torch():
    # The rule det(X)*inv(X).T has no value there; the witness gives sympy's exact derivative, the
    # adjugate; torch's backward gives 0. A real disagreement, not an edge.
    result = backcalc.gradient("det(X)", X=[[1.0, 2.0], [2.0, 4.0]], dtype="float64").gradients["X"]
    assert result.symbolic.tolist() == [[4.0, -2.0], [-2.0, 1.0]]
    assert result.autograd.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert result.verdict.word == "disagree" and "the values shown are sympy's" in result.note


def test_logdet_of_a_negative_determinant_is_a_domain_edge():
    result = backcalc.gradient("logdet(X)", X=[[1.0, 2.0], [3.0, 4.0]], dtype="float64")
    gradient = result.gradients["X"]
    assert np.isnan(result.loss) and gradient.verdict.word == "edge"
    assert {edge.kind for edge in gradient.verdict.edges} == {"domain"}
    assert "negative determinant" in gradient.verdict.edges[0].reason


def test_eye_is_a_constant_in_the_run_dtype():
    for dtype in ("float32", "float64"):
        result = backcalc.gradient("sum((eye(2) + X)@X)", X=[[2.0, 1.0], [1.0, 3.0]], dtype=dtype)
        assert result.gradients["X"].verdict.word == "agree"
    assert str(parse("eye(3)@X")) == "eye(3)@X"


def test_singular_to_float64_precision_though_its_determinant_is_not_0():
    x = [[1.0, 1.0], [1.0, 1.0 + 2.0**-52]]  # det 2**-52; its condition number is about 1.8e16
    with pytest.raises(InputError) as caught:
        backcalc.gradient("logdet(X)", X=x, dtype="float64")
    assert caught.value.message.startswith("logdet(X): the matrix is singular to float64's precision")
    assert caught.value.help is None
