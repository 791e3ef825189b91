"""Verdicts that are true: rounding is not disagreement, nan is not agreement, an overflow of the
symbolic evaluation is not a missing derivative, and ``agree`` never contradicts ``verdict``."""

from __future__ import annotations

import numpy as np
import pytest

import backcalc
from backcalc.errors import ExitStatus
from backcalc.numeric.verdict import Word, exit_status, judge, overall


def _product_of_exps(count: int) -> str:
    return "*".join(["exp(x)"] * count)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        (_product_of_exps(50), 0.5),
        ("(x+0.1)**2 - x**2", 1000.1),
        (" + ".join(f"sin({k}*x)" for k in range(1, 41)), 1.3),
        ("0.1*x", 3.0),
    ],
)
def test_float32_rounding_is_not_disagreement(expression, value):
    result = backcalc.gradient(expression, x=value, rtol=0, atol=0)
    gradient = result.gradients["x"]
    assert gradient.verdict.word == Word.ROUNDING
    assert result.agree and gradient.agree
    (point,) = gradient.verdict.edges
    assert point.kind == "rounding" and "autograd_float64" in point.values


def test_a_difference_rounding_cannot_explain_disagrees(broken_sin):
    result = backcalc.gradient("sin(x)", x=[1.0, 2.0])
    assert result.verdict == Word.DISAGREE and not result.agree
    assert result.gradients["x"].verdict.unexplained == 2


def test_softplus_threshold_is_named_as_torch_convention():
    gradient = backcalc.gradient("softplus(x)", x=25.0, dtype="float64", rtol=0, atol=0).gradients["x"]
    assert gradient.verdict.word == Word.ROUNDING
    assert gradient.verdict.edges[0].kind == "convention"
    assert "threshold 20" in gradient.verdict.edges[0].reason


def test_pi_rounded_near_a_pole_of_tan_is_a_pole():
    gradient = backcalc.gradient("tan(x + pi/2)", x=0.0).gradients["x"]
    assert gradient.verdict.word == Word.EDGE
    assert gradient.verdict.edges[0].kind == "pole" and "pole of tan" in gradient.verdict.edges[0].reason


def test_nan_on_both_sides_is_flagged_not_agreed():
    result = backcalc.gradient("sin(x)/x", x=0.0)
    gradient = result.gradients["x"]
    assert np.isnan(gradient.symbolic) and np.isnan(gradient.autograd)
    assert gradient.verdict.word == Word.EDGE and not result.agree
    assert result.notes == ["the loss is nan: the expression has no finite value at these inputs"]


def test_a_loss_that_is_not_finite_is_flagged():
    result = backcalc.gradient("log(x)", x=[-1.0, 0.0, 1.0])
    assert result.verdict == Word.EDGE and result.to_dict()["notes"]
    assert result.to_dict()["agree"] is False


@pytest.mark.parametrize("expression", ["x/0", "x/(x-x)", "log(x-x)*x"])
def test_a_zero_denominator_is_a_pole(expression):
    gradient = backcalc.gradient(expression, x=1.0).gradients["x"]
    assert gradient.verdict.word == Word.EDGE
    assert gradient.verdict.edges[0].kind == "pole"


def test_an_overflow_of_the_symbolic_side_is_unchecked_not_an_edge():
    result = backcalc.gradient("(2*x)**1100", x=0.5, dtype="float64")
    gradient = result.gradients["x"]
    assert gradient.verdict.word == Word.UNCHECKED
    assert [point.kind for point in gradient.verdict.edges] == ["overflow"]
    assert "does not exist" not in gradient.verdict.edges[0].reason
    assert np.isfinite(gradient.autograd)


@pytest.mark.parametrize(
    ("expression", "inputs"),
    [("logsumexp(x)", {"x": [1000.0, 1000.0]}), ("sum(softmax(x)*y)", {"x": [1000.0, 1000.0], "y": [1.0, 2.0]})],
)
def test_the_matrix_formula_evaluates_stably_where_sympys_elements_overflow(expression, inputs):
    result = backcalc.gradient(expression, inputs, dtype="float64")
    gradient = result.gradients["x"]
    assert gradient.verdict.word == Word.AGREE and np.all(np.isfinite(gradient.symbolic))
    assert "sympy's element-by-element evaluation overflowed" in gradient.note


def test_agree_and_verdict_never_contradict():
    for expression, inputs in [("x**2", {"x": 3.0}), ("relu(x)", {"x": 0.0}), ("0.1*x", {"x": 3.0})]:
        data = backcalc.gradient(expression, inputs, rtol=0, atol=0).to_dict()
        assert data["agree"] == (data["verdict"] in ("agree", "rounding"))
        for gradient in data["gradients"].values():
            assert gradient["agree"] == (gradient["verdict"] in ("agree", "rounding"))


def test_exit_status_and_gravity():
    assert [exit_status(word) for word in Word] == [0, 0, 0, 0, ExitStatus.DISAGREE]
    assert overall([Word.ROUNDING, Word.EDGE, Word.AGREE]) == Word.EDGE
    assert overall([]) == Word.AGREE


def test_judge_orders_reasons_edge_before_overflow_before_rounding():
    symbolic = np.array([np.inf, 1.0, 2.0, 5.0])
    autograd = np.array([3.0, 1.0, 2.0001, 9.0])
    reference = np.array([3.0, 1.0, 2.0, 9.0])
    verdict = judge(
        np.array([True, False, True, True]), {"symbolic": symbolic, "autograd": autograd}, [], (4,), reference=reference
    )
    assert [(p.index, p.kind) for p in verdict.edges] == [((0,), "overflow"), ((2,), "rounding")]
    assert verdict.unexplained == 1 and verdict.word == Word.DISAGREE
