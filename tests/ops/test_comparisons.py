"""Comparisons as masks and where (backcalc/ops/comparisons.py): masks of 0 and 1 with no gradient, where
passing the gradient to the side it took, against torch at several shapes, and the grammar (no chains)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from backcalc import ops
from backcalc.language.parser import parse

RNG = np.random.default_rng(7)
CASES = [
    ("sum(where(x > 0, x, 0.1*x)**2)", lambda x, y: (torch.where(x > 0, x, 0.1 * x) ** 2).sum()),
    ("sum((x < 0.5)*x**3)", lambda x, y: ((x < 0.5) * x**3).sum()),
    ("sum(where(x <= y, x, y)*x)", lambda x, y: (torch.where(x <= y, x, y) * x).sum()),
    ("sum(where(x >= y, exp(x), y**2))", lambda x, y: torch.where(x >= y, torch.exp(x), y**2).sum()),
]


@pytest.mark.parametrize(("text", "reference"), CASES, ids=[text for text, _ in CASES])
@pytest.mark.parametrize("shape", [(5,), (2, 3)], ids=str)
def test_gradients_agree_with_torch_autograd(run, text, reference, shape):
    x, y = RNG.uniform(-1, 1, shape), RNG.uniform(-1, 1, shape[-1:])
    values = [f"x={x.tolist()}"] + ([f"y={y.tolist()}"] if "y" in text else [])
    data = run.json("grad", text, *values, "--dtype", "float64")
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    reference(xt, yt).backward()
    assert data["verdict"] == "agree"
    np.testing.assert_allclose(data["gradients"]["x"]["symbolic"], xt.grad.numpy(), rtol=1e-12)
    if "y" in text:
        np.testing.assert_allclose(data["gradients"]["y"]["symbolic"], yt.grad.numpy(), rtol=1e-12)
    assert "matches sympy's element-by-element derivative" in data["gradients"]["x"]["note"]


@pytest.mark.parametrize("symbol", ["<", "<=", ">", ">="])
def test_a_mask_is_zero_and_one_on_three_sides(symbol):
    op = ops.infix(symbol)
    a, b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])
    expected = {"<": [1, 0, 0], "<=": [1, 1, 0], ">": [0, 0, 1], ">=": [0, 1, 1]}[symbol]
    np.testing.assert_array_equal(op.numpy(np, a, b), expected)
    np.testing.assert_array_equal(op.torch(torch, torch.tensor(a), torch.tensor(b)).numpy(), expected)
    cells = [np.vectorize(sympy.Float, otypes=[object])(v) for v in (a, b)]
    np.testing.assert_array_equal(np.vectorize(float)(op.sympy(sympy, np, *cells)), expected)


def test_comparisons_parse_below_a_sum_and_do_not_chain(run):
    assert str(parse("x + 1 < 2*y")) == "x + 1 < 2*y"
    assert str(parse("(x < y)*x")) == "(x < y)*x"
    result = run("grad", "0 < x < 1", "x=1")
    assert result.exit_code == 2 and "do not chain" in result.stderr
    assert list(run.json("grad", "sum((x > 0)*1)", "x=[1, -1]")["gradients"]["x"]["autograd"]) == [0.0, 0.0]


@pytest.mark.parametrize("command", ["grad", "explain", "hessian"])
def test_a_sum_of_masked_terms_where_a_mask_compares_an_expression(run, command):
    x, y = RNG.normal(size=(4, 5)), RNG.normal(size=(4, 5))
    text = "sum(x*(x > 0) + (x + 1 < y)*y)"
    data = run.json(command, text, f"x={x.tolist()}", f"y={y.tolist()}", "--dtype", "float64")
    assert data["verdict"] == "agree"
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    (xt * (xt > 0) + (xt + 1 < yt) * yt).sum().backward()
    if command != "hessian":
        found = data["gradients"]
        pick = (lambda g: g["symbolic"]) if command == "grad" else (lambda g: g)
        np.testing.assert_allclose(pick(found["x"]), xt.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(pick(found["y"]), yt.grad.numpy(), rtol=1e-12)
