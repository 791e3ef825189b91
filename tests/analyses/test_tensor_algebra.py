"""Matrix expressions: linear regression, a logistic layer, softmax cross-entropy, Gram matrices,
Jacobians and Hessians, all against hand-derived values (float64)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import backcalc
from backcalc.analyses.derivatives import hessian, jacobian
from backcalc.api import prepare
from backcalc.errors import InputError

RNG = np.random.default_rng(7)
W = RNG.normal(size=(3, 2))
X = RNG.normal(size=2)
Y = RNG.normal(size=3)
B = RNG.normal(size=3)


def grads(expression: str, **inputs) -> dict[str, np.ndarray]:
    result = backcalc.gradient(expression, inputs, dtype="float64", check_fd=True)
    assert result.verdict == "agree", result.to_dict()
    for gradient in result.gradients.values():
        np.testing.assert_allclose(gradient.symbolic, gradient.autograd, rtol=1e-10, atol=1e-12)
    return {name: g.symbolic for name, g in result.gradients.items()}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_linear_regression_and_its_matrix_formulas():
    r = W @ X - Y
    g = grads("sum((W@x - y)**2)", W=W, x=X, y=Y)
    np.testing.assert_allclose(g["W"], 2 * np.outer(r, X))
    np.testing.assert_allclose(g["x"], 2 * W.T @ r)
    np.testing.assert_allclose(g["y"], -2 * r)
    result = backcalc.gradient("sum((W@x - y)**2)", dict(W=W, x=X, y=Y), dtype="float64")
    assert result.gradients["W"].formula == "2*outer(W@x - y, x)"
    assert result.gradients["x"].formula == "2*(W.T@(W@x - y))"
    assert result.gradients["y"].formula == "-2*(W@x - y)"
    assert "matches sympy's element-by-element derivative" in result.gradients["W"].note


def test_logistic_layer():
    s = sigmoid(W @ X + B)
    dz = s * (1 - s) / 3
    g = grads("mean(sigmoid(W@x + b))", W=W, x=X, b=B)
    np.testing.assert_allclose(g["W"], np.outer(dz, X))
    np.testing.assert_allclose(g["x"], W.T @ dz)
    np.testing.assert_allclose(g["b"], dz)


def test_softmax_cross_entropy():
    z = np.array([0.5, -1.0, 2.0, 0.1])
    t = np.array([0.0, 0.0, 1.0, 0.0])
    softmax = np.exp(z) / np.exp(z).sum()
    for expression in ("-sum(t*log(softmax(z)))", "logsumexp(z) - dot(t, z)"):
        g = grads(expression, z=z, t=t)
        np.testing.assert_allclose(g["z"], softmax - t, atol=1e-12)


def test_gram_matrix():
    a = RNG.normal(size=(4, 3))
    g = grads("sum(A.T@A)", A=a)
    np.testing.assert_allclose(g["A"], 2 * a @ np.ones((3, 3)))
    g = grads("sum((A@A.T)**2)", A=a)
    np.testing.assert_allclose(g["A"], 4 * (a @ a.T) @ a)


def test_reductions_over_a_dimension_norm_and_batched_matmul():
    m = RNG.normal(size=(2, 3))
    np.testing.assert_allclose(grads("sum(mean(M, 0)**2)", M=m)["M"], np.broadcast_to(m.mean(axis=0) / 1.0, (2, 3)))
    np.testing.assert_allclose(grads("norm(x)", x=X)["x"], X / np.linalg.norm(X))
    np.testing.assert_allclose(grads("sum(M, -1)@v", M=m, v=[1.0, 2.0])["M"], [[1.0] * 3, [2.0] * 3])
    batch = RNG.normal(size=(2, 3, 2))
    g = grads("sum(T@x)", T=batch, x=X)
    np.testing.assert_allclose(g["x"], batch.sum(axis=(0, 1)))


def test_jacobians_against_hand_values():
    result = jacobian(prepare("W@x", dict(W=W, x=X), dtype="float64"))
    assert result.agree
    np.testing.assert_allclose(result.sides["x"].symbolic, W)
    jw = result.sides["W"].symbolic
    assert jw.shape == (3, 3, 2)
    for i in range(3):
        np.testing.assert_allclose(jw[i, i], X)
    z = np.array([1.0, 2.0, 3.0])
    s = np.exp(z) / np.exp(z).sum()
    soft = jacobian(prepare("softmax(z)", dict(z=z), dtype="float64"))
    np.testing.assert_allclose(soft.sides["z"].symbolic, np.diag(s) - np.outer(s, s), atol=1e-12)
    assert soft.agree


def test_hessians_against_hand_values():
    result = hessian(prepare("sum((W@x - y)**2)", dict(W=W, x=X, y=Y), ["x"], dtype="float64"))
    np.testing.assert_allclose(result.sides["hessian"].symbolic, 2 * W.T @ W)
    assert result.agree and result.variables == ["x[0]", "x[1]"]
    result = hessian(prepare("x**3*y", dict(x=2.0, y=3.0), dtype="float64"))
    np.testing.assert_allclose(result.sides["hessian"].autograd, [[36.0, 12.0], [12.0, 0.0]])
    assert result.variables == ["x", "y"]


def test_cli_jacobian_and_hessian_json(run):
    data = run.json("jacobian", "W@x", "W=[[1,2],[3,4],[5,6]]", "x=[1,-1]", "--wrt", "x")
    assert data["jacobian"]["x"]["autograd"] == [[1, 2], [3, 4], [5, 6]]
    assert data["jacobian"]["x"]["agree"] is True and data["agree"] is True
    data = run.json("hessian", "x**3*y", "x=2", "y=3")
    assert data["hessian"]["variables"] == ["x", "y"]
    assert data["hessian"]["symbolic"] == [[36.0, 12.0], [12.0, 0.0]]
    assert data["hessian"]["agree"] is True


@pytest.mark.parametrize(
    ("expression", "inputs", "fragment"),
    [
        ("W@x", {"W": np.ones((3, 2)), "x": np.ones(3)}, "[3, 2] and [3] do not fit for @"),
        ("x@y", {"x": 1.0, "y": np.ones(2)}, "at least one dimension"),
        ("dot(x, y)", {"x": np.ones(2), "y": np.ones(3)}, "dot needs two vectors"),
        ("sum(x, 2)", {"x": np.ones((2, 2))}, "dimension 2 is out of range"),
        ("x + y", {"x": np.ones(2), "y": np.ones(3)}, "[2] and [3] do not broadcast"),
    ],
)
def test_shape_errors_name_both_shapes(expression, inputs, fragment):
    with pytest.raises(InputError) as info:
        backcalc.gradient(expression, inputs)
    assert fragment in info.value.message


def test_beyond_sympys_element_size_the_matrix_formula_still_answers(run, monkeypatch):
    from backcalc import limits

    monkeypatch.setattr(limits, "MAX_SYMBOLIC_ELEMENTS", 4)
    result = backcalc.gradient("sum((W@x - y)**2)", dict(W=W, x=X, y=Y), dtype="float64")
    gradient = result.gradients["W"]
    assert gradient.verdict.word == "agree" and gradient.formula == "2*outer(W@x - y, x)"
    assert "matches sympy's" not in gradient.note  # no witness at this size, and the note says why
    assert "not witnessed by sympy element by element: matmul in the expression" in gradient.note
    assert "over sympy's limit of 4; backprop's formula checked by torch instead" in gradient.note
    np.testing.assert_allclose(gradient.symbolic, 2 * np.outer(W @ X - Y, X))
    out = run("sum(x@x)", "x=[1,2,3,4,5]")
    assert out.exit_code == 0 and "2*x" in out.stdout and "unchecked" not in out.stdout


def test_a_batched_product_has_its_formula_beyond_sympys_size(monkeypatch):
    from backcalc import limits

    monkeypatch.setattr(limits, "MAX_SYMBOLIC_ELEMENTS", 4)
    a, b = RNG.normal(size=(2, 2, 3)), RNG.normal(size=(2, 3, 2))
    result = backcalc.gradient("sum(A@B)", A=a, B=b, dtype="float64")
    assert result.gradients["A"].formula == "ones_like(A@B)@B.mT"
    assert result.gradients["B"].formula == "A.mT@ones_like(A@B)"
    assert result.verdict == "agree"
    np.testing.assert_allclose(result.gradients["A"].symbolic, np.ones((2, 2, 2)) @ np.swapaxes(b, -1, -2))


def test_element_wise_functions_stay_element_wise():
    m = np.array([[0.0, 1.0], [2.0, 0.5]])
    g = grads("sum(exp(M))", M=m)
    np.testing.assert_allclose(g["M"], np.exp(m))  # not the matrix exponential's derivative


def test_descend_on_a_matrix_regression(run):
    data = run.json(
        "descend", "mean((W@x - y)**2)", "W=[[0,0]]", "x=[1,2]", "y=[5]", "--wrt", "W", "--lr", "0.1", "--steps", "500"
    )
    w = np.array(data["final"]["params"]["W"])
    assert float((w @ np.array([1.0, 2.0]))[0]) == pytest.approx(5.0, abs=1e-3)
    assert all(step["agree"] for step in data["steps"])


def test_batch_with_matrix_expressions_of_several_shapes(run):
    lines = [
        {"expression": "sum((W@x)**2)", "inputs": {"W": [[1, 2]], "x": [1, 1]}},
        {"expression": "sum((W@x)**2)", "inputs": {"W": [[1, 2], [3, 4]], "x": [1, 1]}},
        {"expression": "sum((W@x)**2)", "inputs": {"W": [[1, 2]], "x": [1, 1, 1]}},
    ]
    result = run("batch", input="\n".join(json.dumps(line) for line in lines) + "\n")
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["gradients"]["x"]["autograd"] == [6.0, 12.0]
    assert out[1]["gradients"]["x"]["autograd"] == [48.0, 68.0]  # 2 W.T W x
    assert out[2]["error"]["kind"] == "input"
    assert result.exit_code == 2
