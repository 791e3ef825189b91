"""Hessians and Jacobians in matrix notation: the formulas as text, their values against torch.func
float64 (written here by hand), the Hessian-vector-product check above the entry limit, the linear map
of a matrix input, and the JSON of the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from backcalc.analyses.derivatives import hessian, jacobian
from backcalc.analyses.problem import prepare
from backcalc.cli import cli
from backcalc.language.parser import parse
from backcalc.numeric.numpy_eval import evaluate

RNG = np.random.default_rng(7)


def _t(value: np.ndarray) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def _problem(expression: str, wrt: str, **inputs: np.ndarray):
    return prepare(expression, inputs, wrt=[wrt], dtype="float64")


def test_quadratic_form_is_a_plus_a_transpose():
    A, x = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    result = hessian(_problem("x.T@A@x", "x", x=x, A=A))
    side = result.sides["hessian"]
    assert side.formula.text == "A + A.T"
    assert side.checked_by == "entries"
    np.testing.assert_allclose(side.symbolic, A + A.T, rtol=1e-12)
    assert result.verdict.value == "agree"


@pytest.mark.parametrize("n", [3, 20, 60])
def test_softplus_layer_against_torch_func_hessian(n):
    A, x = RNG.normal(size=(n, n)) / np.sqrt(n), RNG.normal(size=n)
    result = hessian(_problem("sum(softplus(A@x))", "x", A=A, x=x))
    side = result.sides["hessian"]
    assert side.formula.text == "A.T@(diag(sigmoid(A@x)*(1 - sigmoid(A@x)))@A)"
    expected = torch.func.hessian(lambda v: torch.nn.functional.softplus(_t(A) @ v).sum())(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-10, atol=1e-12)
    assert result.verdict.value == "agree"


def test_tanh_layer_jacobian_is_diag_times_w():
    W, x = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    result = jacobian(_problem("tanh(W@x)", "x", W=W, x=x))
    side = result.sides["x"]
    assert side.formula.text == "diag(1 - tanh(W@x)**2)@W"
    expected = torch.func.jacrev(lambda v: torch.tanh(_t(W) @ v))(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-12)


def test_the_printed_formula_pasted_back_gives_the_same_numbers():
    A, x = RNG.normal(size=(5, 5)), RNG.normal(size=5)
    side = hessian(_problem("sum(softplus(A@x))", "x", A=A, x=x)).sides["hessian"]
    again = evaluate(parse(side.formula.text), {"A": A, "x": x})
    np.testing.assert_allclose(again, side.symbolic, rtol=1e-12)


def test_above_the_entry_limit_the_check_is_by_hessian_vector_products():
    n = 120  # 14,400 entries: over the 10,000 compared one by one
    A, x = RNG.normal(size=(n, n)) / np.sqrt(n), RNG.normal(size=n)
    side = hessian(_problem("sum(softplus(A@x))", "x", A=A, x=x)).sides["hessian"]
    assert side.checked_by == "hessian-vector products"
    assert side.products == 3
    assert side.autograd is None
    assert side.comparison.agree
    expected = torch.func.hessian(lambda v: torch.nn.functional.softplus(_t(A) @ v).sum())(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-10, atol=1e-12)


def test_a_wrong_formula_would_be_caught_by_the_products():
    # The products compare the formula's H@v with torch's: a formula off by a transpose disagrees.
    n = 110
    A, x = RNG.normal(size=(n, n)), RNG.normal(size=n)
    side = hessian(_problem("x.T@A@x", "x", A=A, x=x)).sides["hessian"]
    assert side.formula.text == "A + A.T" and side.comparison.agree
    from backcalc.analyses import second_order

    vectors = second_order.random_vectors((n,))
    _, _, theirs = second_order.torch_hvps(_problem("x.T@A@x", "x", A=A, x=x), vectors)
    assert not np.allclose(2 * A @ vectors[0], theirs[0])  # what a wrong formula would give


def test_matrix_input_is_a_linear_map_checked_against_torch_hvp():
    W, x, y = RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.normal(size=3)
    result = hessian(_problem("sum((W@x - y)**2)", "W", W=W, x=x, y=y))
    side = result.sides["hessian"]
    assert side.formula.direction == "V"
    assert side.formula.text == "2*outer(V@x, x)"
    V = RNG.normal(size=(3, 4))
    along = evaluate(parse(side.formula.text), {"V": V, "x": x})

    def loss(w: torch.Tensor) -> torch.Tensor:
        return ((w @ _t(x) - _t(y)) ** 2).sum()

    _, expected = torch.autograd.functional.hvp(loss, _t(W), _t(V))
    np.testing.assert_allclose(along, expected.numpy(), rtol=1e-12)
    full = torch.func.hessian(loss)(_t(W)).numpy().reshape(12, 12)
    np.testing.assert_allclose(side.symbolic, full, rtol=1e-12)


def test_large_matrix_input_is_checked_by_products_only():
    W, x, y = RNG.normal(size=(30, 40)), RNG.normal(size=40), RNG.normal(size=30)
    side = hessian(_problem("sum((W@x - y)**2)", "W", W=W, x=x, y=y)).sides["hessian"]
    assert side.symbolic is None and side.autograd is None
    assert side.checked_by == "hessian-vector products" and side.comparison.agree


@pytest.mark.parametrize("n", [3, 8])
def test_logdet_second_order_against_torch(n):
    X = RNG.normal(size=(n, n)) + n * np.eye(n)
    side = hessian(_problem("logdet(X)", "X", X=X)).sides["hessian"]
    assert side.formula.text == "(-(inv(X)@V@inv(X))).T"
    expected = torch.func.hessian(torch.logdet)(_t(X)).numpy().reshape(n * n, n * n)
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-9, atol=1e-12)


def test_log_softmax_hessian_against_torch():
    W, x = RNG.normal(size=(4, 4)), RNG.normal(size=4)
    side = hessian(_problem("sum(log_softmax(W@x))", "x", W=W, x=x)).sides["hessian"]
    expected = torch.func.hessian(lambda v: torch.log_softmax(_t(W) @ v, -1).sum())(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-9, atol=1e-12)


def test_formula_trees_are_exposed_for_code_export():
    A, x = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    result = hessian(_problem("x.T@A@x", "x", x=x, A=A))
    assert str(result.formula_trees["x"]) == "A + A.T"


def test_without_a_rule_the_element_path_answers_and_says_so():
    x = RNG.normal(size=3)
    result = hessian(prepare("sum(cat([x, x**2], 0))", {"x": x}, dtype="float64"))
    side = result.sides["hessian"]
    assert side.formula is None and "no rule for cat" in side.note
    np.testing.assert_allclose(side.symbolic, np.diag(np.full(3, 2.0)), atol=1e-12)


def _cli_json(*args: str) -> dict:
    run = CliRunner().invoke(cli, [*args, "--json"])
    assert run.exit_code == 0, run.output
    return json.loads(run.output)


def test_cli_json_keeps_the_keys_and_adds_formula_and_checked_by():
    data = _cli_json("hessian", "x.T@A@x", "x=[1,2]", "A=[[1,2],[3,4]]", "--wrt", "x")
    side = data["hessian"]
    assert side["formula"] == "A + A.T" and side["checked_by"] == "entries"
    assert side["symbolic"] == [[2.0, 5.0], [5.0, 8.0]] and side["autograd"] == [[2.0, 5.0], [5.0, 8.0]]
    assert side["variables"] == ["x[0]", "x[1]"] and data["verdict"] == "agree"


def test_cli_json_jacobian_formula():
    data = _cli_json("jacobian", "tanh(W@x)", "W=[[1,2],[3,4]]", "x=[0.1,-0.2]", "--wrt", "x", "--dtype", "float64")
    side = data["jacobian"]["x"]
    assert side["formula"] == "diag(1 - tanh(W@x)**2)@W"
    W, x = np.array([[1.0, 2], [3, 4]]), np.array([0.1, -0.2])
    expected = torch.func.jacrev(lambda v: torch.tanh(_t(W) @ v))(_t(x)).numpy()
    np.testing.assert_allclose(side["symbolic"], expected, rtol=1e-12)


def test_cli_json_of_a_large_hessian_omits_the_entries_and_says_how_it_was_checked(tmp_path):
    n = 150
    np.save(tmp_path / "A.npy", RNG.normal(size=(n, n)))
    np.save(tmp_path / "x.npy", RNG.normal(size=n))
    files = [f"A=@{tmp_path / 'A.npy'}", f"x=@{tmp_path / 'x.npy'}"]
    data = _cli_json("hessian", "x.T@A@x", *files, "--wrt", "x", "--dtype", "float64")
    side = data["hessian"]
    assert side["checked_by"] == "hessian-vector products" and side["products"] == 3
    assert side["symbolic"] is None and side["autograd"] is None and "22,500 entries" in side["entries"]
    assert side["shape"] == [n, n] and data["verdict"] == "agree"
