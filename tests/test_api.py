"""backcalc.gradient against independent float64 references written by hand with numpy."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import backcalc
from backcalc.errors import InputError, LimitError

X = np.array([[0.5, 1.5, 2.0], [0.25, 3.0, 1.25]])
Y = np.array([[1.0, -2.0, 0.5], [2.0, 0.75, -1.5]])


def sig(v):
    return 1 / (1 + np.exp(-v))


# expression, inputs, {name: d loss/d name as a function of the inputs}
CASES = [
    ("x**3 + x**2", {"x": X}, {"x": lambda x: 3 * x**2 + 2 * x}),
    ("x^3 + 2x", {"x": X}, {"x": lambda x: 3 * x**2 + 2}),
    ("3(x+1)^2", {"x": X}, {"x": lambda x: 6 * (x + 1)}),
    (
        "sin(x)*cos(y)",
        {"x": X, "y": Y},
        {"x": lambda x, y: np.cos(x) * np.cos(y), "y": lambda x, y: -np.sin(x) * np.sin(y)},
    ),
    ("exp(-x^2/2)", {"x": Y}, {"x": lambda x: -x * np.exp(-(x**2) / 2)}),
    ("x/y", {"x": X, "y": Y}, {"x": lambda x, y: 1 / y, "y": lambda x, y: -x / y**2}),
    ("x**y", {"x": X, "y": Y}, {"x": lambda x, y: y * x ** (y - 1), "y": lambda x, y: np.log(x) * x**y}),
    ("2pi*x + e", {"x": X}, {"x": lambda x: np.full_like(x, 2 * np.pi)}),
    ("sqrt(x) + ln(x)", {"x": X}, {"x": lambda x: 0.5 / np.sqrt(x) + 1 / x}),
    ("tanh(x)*log(x)", {"x": X}, {"x": lambda x: (1 - np.tanh(x) ** 2) * np.log(x) + np.tanh(x) / x}),
    ("sigmoid(y)", {"y": Y}, {"y": lambda y: sig(y) * (1 - sig(y))}),
    ("softplus(y)", {"y": Y}, {"y": sig}),
    ("relu(y)", {"y": Y}, {"y": lambda y: (y > 0).astype(float)}),
    ("abs(y)", {"y": Y}, {"y": np.sign}),
    ("asin(x/4) + acos(x/4) + atan(x)", {"x": X}, {"x": lambda x: 1 / (1 + x**2)}),
    ("sinh(x) + cosh(x) + tan(x/4)", {"x": X}, {"x": lambda x: np.cosh(x) + np.sinh(x) + 0.25 / np.cos(x / 4) ** 2}),
    ("-x**2", {"x": Y}, {"x": lambda x: -2 * x}),
    ("x - -x", {"x": Y}, {"x": lambda x: np.full_like(x, 2.0)}),
    ("1/2x", {"x": X}, {"x": lambda x: np.full_like(x, 0.5)}),
    ("x*x", {"x": X}, {"x": lambda x: 2 * x}),
]


@pytest.mark.parametrize(("expression", "inputs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_against_float64_references(expression, inputs, expected):
    result = backcalc.gradient(expression, inputs, dtype="float64")
    args = list(inputs.values())
    assert result.agree
    for name, derivative in expected.items():
        reference = derivative(*args)
        np.testing.assert_allclose(result.gradients[name].symbolic, reference, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(result.gradients[name].autograd, reference, rtol=1e-12, atol=1e-12)


def test_float32_is_the_default_and_rounds_inputs_for_both_sides():
    result = backcalc.gradient("x*x", x=0.1)
    assert result.dtype == "float32"
    x32 = float(np.float32(0.1))
    assert result.gradients["x"].symbolic.item() == 2 * x32
    assert result.gradients["x"].autograd.dtype == np.float32


def test_broadcasting_sums_back_to_each_input_shape():
    w = np.array([0.5, -1.0, 2.0])
    b = np.array([[1.0], [2.0]])
    result = backcalc.gradient("x*w + b", {"x": X, "w": w, "b": b}, dtype="float64")
    assert result.output.shape == (2, 3)
    np.testing.assert_allclose(result.gradients["w"].symbolic, X.sum(axis=0))
    np.testing.assert_allclose(result.gradients["w"].autograd, X.sum(axis=0))
    assert result.gradients["b"].symbolic.tolist() == [[3.0], [3.0]]
    assert result.gradients["x"].symbolic.shape == (2, 3)
    scalar = backcalc.gradient("x*s", {"x": X, "s": 2.0}, dtype="float64")
    assert scalar.gradients["s"].symbolic.shape == ()
    np.testing.assert_allclose(scalar.gradients["s"].symbolic, X.sum())


def test_reduce_mean():
    result = backcalc.gradient("(x - y)**2", {"x": X, "y": Y}, reduce="mean", dtype="float64")
    np.testing.assert_allclose(result.loss, np.mean((X - Y) ** 2))
    np.testing.assert_allclose(result.gradients["x"].symbolic, 2 * (X - Y) / X.size)
    np.testing.assert_allclose(result.gradients["y"].autograd, -2 * (X - Y) / X.size)
    assert result.gradients["x"].formula == "(2*x - 2*y)/6"
    assert result.reduce == "mean"


def test_wrt_picks_inputs_and_keyword_inputs_work():
    result = backcalc.gradient("(w*x - y)**2", w=1, x=1, y=2, wrt="w")
    assert list(result.gradients) == ["w"]
    assert result.loss == 1.0
    assert result.gradients["w"].formula == "2*x*(w*x - y)"


def test_to_dict_is_the_json_contract():
    data = backcalc.gradient("x**2", x=[1.0, 2.0]).to_dict()
    assert data["backcalc"] == backcalc.__version__
    assert data["output"] == {"shape": [2], "value": [1.0, 4.0]}
    assert data["gradients"]["x"]["latex"] == "2 x"


def test_constant_expression_has_no_gradients():
    result = backcalc.gradient("2 + 3")
    assert result.loss == 5.0 and result.gradients == {} and result.agree


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"expression": "x", "inputs": {}}, InputError),
        ({"expression": "x", "inputs": {"x": 1, "y": 2}}, InputError),
        ({"expression": "x", "inputs": {"x": 1}, "wrt": ["y"]}, InputError),
        ({"expression": "x", "inputs": {"x": 1}, "dtype": "float16"}, InputError),
        ({"expression": "x", "inputs": {"x": 1}, "reduce": "max"}, InputError),
        ({"expression": "x+y", "inputs": {"x": [1, 2], "y": [1, 2, 3]}}, InputError),
        ({"expression": "x", "inputs": {"e": 1}}, InputError),
    ],
)
def test_bad_requests(kwargs, error):
    with pytest.raises(error):
        backcalc.gradient(**kwargs)


def test_broadcast_output_limit(monkeypatch):
    from backcalc import limits

    monkeypatch.setattr(limits, "MAX_ELEMENTS", 100)
    with pytest.raises(LimitError):
        backcalc.gradient("x*y", x=np.ones((20, 1)), y=np.ones((1, 20)))


def test_deep_but_allowed_expressions_run():
    depth = 99
    result = backcalc.gradient("sin(" * depth + "x" + ")" * depth, x=0.5, dtype="float64")
    assert result.agree
    reference = 1.0
    value = 0.5
    for _ in range(depth):
        reference *= math.cos(value)
        value = math.sin(value)
    assert math.isclose(result.gradients["x"].symbolic.item(), reference, rel_tol=1e-12)
    assert sys.getrecursionlimit() < 20_000  # the raised limit does not leak out
