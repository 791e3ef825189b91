"""`backcalc check`: right and wrong claims, counterexamples, bad claims."""

from __future__ import annotations

import pytest

from backcalc.check import check
from backcalc.errors import InputError, ParseError


@pytest.mark.parametrize(
    ("expression", "claims"),
    [
        ("x**3 + x**2", {"x": "3x^2 + 2x"}),
        ("(w*x - y)**2", {"w": "2*x*(w*x - y)", "y": "-2*(w*x - y)"}),
        ("log(x)", {"x": "1/x"}),
        ("sigmoid(x)", {"x": "exp(-x)/(1 + exp(-x))^2"}),
        ("softplus(x)", {"x": "sigmoid(x)"}),
        ("tanh(x)", {"x": "1 - tanh(x)^2"}),
        ("sin(x)^2", {"x": "2 sin(x)*cos(x)"}),
        ("abs(x)", {"x": "x/abs(x)"}),
    ],
)
def test_right_claims(expression, claims):
    result = check(expression, claims)
    assert result.right, result.to_dict()
    for claim in result.claims.values():
        assert claim.points >= 1 and claim.counterexample is None


@pytest.mark.parametrize(
    ("expression", "claims"),
    [
        ("x**3 + x**2", {"x": "3x^2 + x"}),
        ("(w*x - y)**2", {"y": "2*(w*x - y)"}),
        ("log(x)", {"x": "1/x^2"}),
        ("sigmoid(x)", {"x": "sigmoid(x)"}),
        ("x*y", {"x": "x"}),
    ],
)
def test_wrong_claims_come_with_a_counterexample(expression, claims):
    result = check(expression, claims)
    assert not result.right
    (claim,) = result.claims.values()
    c = claim.counterexample
    assert c is not None and c.claimed != c.actual
    assert c.autograd == pytest.approx(c.actual, rel=1e-9)
    assert claim.equivalent is False


def test_given_inputs_are_checked_first():
    result = check("(w*x - y)**2", {"y": "2*(w*x - y)"}, {"w": 1, "x": 1, "y": 2})
    assert result.claims["y"].counterexample.point == {"w": 1.0, "x": 1.0, "y": 2.0}


def test_bad_claims():
    with pytest.raises(InputError, match="no input 'z'"):
        check("x**2", {"z": "2*z"})
    with pytest.raises(InputError, match="uses y"):
        check("x**2", {"x": "2*y"})
    with pytest.raises(ParseError, match="claim for x"):
        check("x**2", {"x": "2*sine(x)"})


def test_cli_gate(run):
    assert run("check", "x**3 + x**2", "--claim", "x=3x^2 + 2x").exit_code == 0
    wrong = run("check", "x**3 + x**2", "--claim", "x=3x^2 + x", "--json")
    assert wrong.exit_code == 1
    import json

    data = json.loads(wrong.stdout)
    assert data["right"] is False and data["claims"]["x"]["counterexample"] is not None
    human = run("check", "x**3 + x**2", "--claim", "x=3x^2 + x").stdout
    assert "counterexample" in human and "the claim is wrong" in human
    bad = run("check", "x**2", "--claim", "x")
    assert bad.exit_code == 2 and len(bad.stderr.splitlines()) == 1
