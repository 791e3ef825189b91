"""Formula simplification keeps values and shapes, and reads as a person would write it."""

from __future__ import annotations

import numpy as np
import pytest

from backcalc.language.parser import parse
from backcalc.language.tree import to_text
from backcalc.numeric.numpy_eval import evaluate
from backcalc.symbolic.formulas import Backprop
from backcalc.symbolic.simplify import Simplifier

SHAPES = {"u": (2, 3), "b": (2, 1), "x": (3,), "W": (2, 3)}


@pytest.mark.parametrize(
    ("text", "shape", "expected"),
    [
        ("ones_like(u)/6", (2, 3), "1/6"),
        ("ones_like(u)*b/6", (2, 3), "b/6"),
        ("3*ones_like(u)*b", (2, 3), "3*b"),
        ("ones_like(u)*b", (2, 1), "ones_like(u)*b"),  # b alone has another shape: the factor stays
    ],
)
def test_to_shape_drops_only_factors_of_ones_and_keeps_divisors(text, shape, expected):
    simplify = Simplifier(SHAPES)
    assert to_text(simplify.to_shape(simplify(parse(text)), shape)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1*x + 0", "x"),
        ("x*2*3", "6*x"),
        ("(2*W) @ x", "2*(W@x)"),
        ("x - (-x)", "2*x"),
        ("exp(log_softmax(x))", "softmax(x)"),
        ("x**(3 - 2)", "x"),
        ("x/2/3", "x/6"),
    ],
)
def test_simplified_formulas_read_as_written_and_keep_their_value(text, expected):
    simplify = Simplifier(SHAPES)
    rng = np.random.default_rng(0)
    inputs = {name: rng.uniform(0.5, 1.5, size=shape) for name, shape in SHAPES.items()}
    simplified = simplify(parse(text))
    assert to_text(simplified) == expected
    np.testing.assert_allclose(evaluate(simplified, inputs), evaluate(parse(text), inputs), rtol=1e-12)


def test_a_linear_layers_gradients_are_the_textbook_ones():
    backprop = Backprop(parse("sum((W@X + b - Y)**2)"), {"W": (2, 3), "X": (3, 4), "b": (2, 1), "Y": (2, 4)})
    assert to_text(backprop.gradient("W")) == "2*((W@X + b - Y)@X.T)"
    assert to_text(backprop.gradient("X")) == "2*(W.T@(W@X + b - Y))"
    assert to_text(backprop.gradient("b")) == "2*unsqueeze(sum(W@X + b - Y, 1), 1)"
