"""Hessians and Jacobians in matrix notation: the formulas as text, their values against torch.func
float64 (written here by hand), the Hessian-vector-product check above the entry limit, the linear map
of a matrix input, the fallback where a record has no rule, and the limit of the matrix's size."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backcalc.analyses.derivatives import hessian, jacobian
from backcalc.analyses.problem import prepare
from backcalc.language.parser import parse
from backcalc.numeric.numpy_eval import evaluate

RNG = np.random.default_rng(7)


def _t(value: np.ndarray) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def _problem(expression: str, wrt: str, **inputs: np.ndarray):
    return prepare(expression, inputs, wrt=[wrt], dtype="float64")


def test_quadratic_form_is_a_plus_a_transpose():
    a, x = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    result = hessian(_problem("x.T@A@x", "x", x=x, A=a))
    side = result.sides["hessian"]
    assert side.formula.text == "A + A.T"
    assert side.checked_by == "entries"
    np.testing.assert_allclose(side.symbolic, a + a.T, rtol=1e-12)
    assert result.verdict.value == "agree"


@pytest.mark.parametrize("n", [3, 20, 60])
def test_softplus_layer_against_torch_func_hessian(n):
    a, x = RNG.normal(size=(n, n)) / np.sqrt(n), RNG.normal(size=n)
    result = hessian(_problem("sum(softplus(A@x))", "x", A=a, x=x))
    side = result.sides["hessian"]
    assert side.formula.text == "A.T@(diag(sigmoid(A@x)*(1 - sigmoid(A@x)))@A)"
    expected = torch.func.hessian(lambda v: torch.nn.functional.softplus(_t(a) @ v).sum())(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-10, atol=1e-12)
    assert result.verdict.value == "agree"


def test_tanh_layer_jacobian_is_diag_times_w():
    w, x = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    result = jacobian(_problem("tanh(W@x)", "x", W=w, x=x))
    side = result.sides["x"]
    assert side.formula.text == "diag(1 - tanh(W@x)**2)@W"
    expected = torch.func.jacrev(lambda v: torch.tanh(_t(w) @ v))(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-12)


def test_the_printed_formula_pasted_back_gives_the_same_numbers():
    a, x = RNG.normal(size=(5, 5)), RNG.normal(size=5)
    side = hessian(_problem("sum(softplus(A@x))", "x", A=a, x=x)).sides["hessian"]
    again = evaluate(parse(side.formula.text), {"A": a, "x": x})
    np.testing.assert_allclose(again, side.symbolic, rtol=1e-12)


def test_above_the_entry_limit_the_check_is_by_hessian_vector_products():
    n = 120  # 14,400 entries: over the 10,000 compared one by one
    a, x = RNG.normal(size=(n, n)) / np.sqrt(n), RNG.normal(size=n)
    side = hessian(_problem("sum(softplus(A@x))", "x", A=a, x=x)).sides["hessian"]
    assert side.checked_by == "hessian-vector products"
    assert side.products == 3
    assert side.autograd is None
    assert side.comparison.agree
    expected = torch.func.hessian(lambda v: torch.nn.functional.softplus(_t(a) @ v).sum())(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-10, atol=1e-12)


def test_a_wrong_formula_would_be_caught_by_the_products():
    # The products compare the formula's H@v with torch's: a formula off by a transpose disagrees.
    n = 110
    a, x = RNG.normal(size=(n, n)), RNG.normal(size=n)
    side = hessian(_problem("x.T@A@x", "x", A=a, x=x)).sides["hessian"]
    assert side.formula.text == "A + A.T" and side.comparison.agree
    from backcalc.analyses import second_order

    vectors = second_order.random_vectors((n,))
    _, _, theirs = second_order.torch_hvps(_problem("x.T@A@x", "x", A=a, x=x), vectors)
    assert not np.allclose(2 * a @ vectors[0], theirs[0])  # what a wrong formula would give


def test_matrix_input_is_a_linear_map_checked_against_torch_hvp():
    w, x, y = RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.normal(size=3)
    result = hessian(_problem("sum((W@x - y)**2)", "W", W=w, x=x, y=y))
    side = result.sides["hessian"]
    assert side.formula.direction == "V"
    assert side.formula.text == "2*outer(V@x, x)"
    v_dir = RNG.normal(size=(3, 4))
    along = evaluate(parse(side.formula.text), {"V": v_dir, "x": x})

    def loss(w: torch.Tensor) -> torch.Tensor:
        return ((w @ _t(x) - _t(y)) ** 2).sum()

    _, expected = torch.autograd.functional.hvp(loss, _t(w), _t(v_dir))
    np.testing.assert_allclose(along, expected.numpy(), rtol=1e-12)
    full = torch.func.hessian(loss)(_t(w)).numpy().reshape(12, 12)
    np.testing.assert_allclose(side.symbolic, full, rtol=1e-12)


def test_large_matrix_input_is_checked_by_products_only():
    w, x, y = RNG.normal(size=(30, 40)), RNG.normal(size=40), RNG.normal(size=30)
    side = hessian(_problem("sum((W@x - y)**2)", "W", W=w, x=x, y=y)).sides["hessian"]
    assert side.symbolic is None and side.autograd is None
    assert side.checked_by == "hessian-vector products" and side.comparison.agree


@pytest.mark.parametrize("n", [3, 8])
def test_logdet_second_order_against_torch(n):
    m = RNG.normal(size=(n, n)) + n * np.eye(n)
    side = hessian(_problem("logdet(X)", "X", X=m)).sides["hessian"]
    assert side.formula.text == "(-(inv(X)@V@inv(X))).T"
    expected = torch.func.hessian(torch.logdet)(_t(m)).numpy().reshape(n * n, n * n)
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-9, atol=1e-12)


def test_log_softmax_hessian_against_torch():
    w, x = RNG.normal(size=(4, 4)), RNG.normal(size=4)
    side = hessian(_problem("sum(log_softmax(W@x))", "x", W=w, x=x)).sides["hessian"]
    expected = torch.func.hessian(lambda v: torch.log_softmax(_t(w) @ v, -1).sum())(_t(x)).numpy()
    np.testing.assert_allclose(side.symbolic, expected, rtol=1e-9, atol=1e-12)


def test_formula_trees_are_exposed_for_code_export():
    a, x = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    result = hessian(_problem("x.T@A@x", "x", x=x, A=a))
    assert str(result.formula_trees["x"]) == "A + A.T"


def test_without_a_rule_the_element_path_answers_and_says_so():
    x = RNG.normal(size=3)
    result = hessian(prepare("sum(cat([x, x**2], 0))", {"x": x}, dtype="float64"))
    side = result.sides["hessian"]
    assert side.formula is None and "no rule for cat" in side.note
    np.testing.assert_allclose(side.symbolic, np.diag(np.full(3, 2.0)), atol=1e-12)


def test_a_vector_over_the_matrix_limit_gets_the_linear_map_checked_by_products():
    from backcalc import limits

    size = math.isqrt(limits.MAX_MATRIX_DERIVATIVE_ENTRIES) + 1
    x = RNG.normal(size=size)
    side = hessian(_problem("sum(x**3)", "x", x=x)).sides["hessian"]
    assert side.formula.direction == "V" and side.symbolic is None
    assert side.checked_by == "hessian-vector products" and side.comparison.agree
    v_dir = RNG.normal(size=size)
    np.testing.assert_allclose(evaluate(parse(side.formula.text), {"x": x, "V": v_dir}), 6 * x * v_dir, rtol=1e-12)
