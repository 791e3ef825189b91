"""Grading a hand-written backward pass: dNAME upstream gradients, each claim graded with the true ones,
the first wrong step in backward order, the ninja's exact/approximate/max_abs_diff, and the one edit
that repairs a wrong claim, named by kind, with a fix that check accepts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backcalc.analyses.check.grade import check

LINEAR = "Y = X@W + b; loss = sum(Y**2)"
SEED = "y_hat = w*x; s = y_hat - y; loss = s**2"


def _linear_inputs(n: int, d: int, k: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(n, d)), "W": rng.normal(size=(d, k)), "b": rng.normal(size=k)}


RIGHT = {"Y": "2*Y", "W": "X.T@dY", "X": "dY@W.T", "b": "sum(dY, 0)"}


@pytest.mark.parametrize("shape", [(2, 3, 4), (5, 2, 3), (3, 3, 3)])
def test_a_right_backward_pass_and_one_written_differently(shape):
    inputs = _linear_inputs(*shape)
    assert check(LINEAR, RIGHT, inputs).right
    other = {"Y": "Y + Y", "W": "(dY.T@X).T", "X": "(W@dY.T).T", "b": "sum(2*Y, 0)"}
    result = check(LINEAR, other, inputs)
    assert result.right and result.first_wrong is None
    data = result.to_dict()
    assert data["first_wrong"] is None
    for claim in data["claims"].values():
        assert claim["approximate"] is True and claim["max_abs_diff"] < 1e-9


@pytest.mark.parametrize("shape", [(2, 3, 4), (5, 2, 3)])
@pytest.mark.parametrize(
    ("name", "claim", "kind"),
    [
        ("W", "dY.T@X", "transpose"),
        ("W", "-(X.T@dY)", "sign"),
        ("Y", "Y", "factor"),
        ("Y", "4*Y", "factor"),
        ("b", "dY", "missing_sum"),
        ("X", "dY@W", "transpose"),
    ],
)
def test_one_planted_mistake_is_named_and_fixed(shape, name, claim, kind):
    inputs = _linear_inputs(*shape, seed=1)
    claims = {**RIGHT, name: claim}
    result = check(LINEAR, claims, inputs)
    assert result.first_wrong == name
    wrong = result.claims[name]
    assert wrong.diagnosis is not None and wrong.diagnosis.kind == kind
    assert wrong.diagnosis.fix and name in wrong.diagnosis.message
    # The fix is right, as check itself says.
    assert check(LINEAR, {**claims, name: wrong.diagnosis.fix}, inputs).right
    # Every other claim is right: graded with the true upstream gradients.
    assert all(c.right for other, c in result.claims.items() if other != name)


def test_swapped_operands_of_matmul():
    inputs = _linear_inputs(3, 3, 3, seed=2)
    result = check(LINEAR, {**RIGHT, "X": "W.T@dY"}, inputs)
    diagnosis = result.claims["X"].diagnosis
    assert diagnosis is not None and diagnosis.kind == "swapped" and diagnosis.fix == "dY@W.T"


def test_a_missing_and_an_extra_term():
    z = {"z": [0.5, -1.0, 2.0]}
    missing = check("h = tanh(z); loss = sum(h*h) + sum(h)", {"h": "2*h"}, z)
    assert missing.claims["h"].diagnosis.kind == "missing_term"
    fix = missing.claims["h"].diagnosis.fix
    assert check("h = tanh(z); loss = sum(h*h) + sum(h)", {"h": fix}, z).right
    extra = check("h = tanh(z); loss = sum(h*h)", {"h": "2*h + h"}, z)
    assert extra.claims["h"].diagnosis.kind == "extra_term"
    assert extra.claims["h"].diagnosis.fix == "2*h"


def test_a_derivative_rule_swapped():
    result = check("s = sigmoid(z); loss = sum(s*y)", {"z": "ds*s*(1 + s)"}, {"z": [0.5, -1.0], "y": [1.0, 2.0]})
    diagnosis = result.claims["z"].diagnosis
    assert diagnosis.kind == "wrong_function" and diagnosis.fix == "ds*s*(1 - s)"
    plain = check("sigmoid(x)", {"x": "sigmoid(x)*(1 + sigmoid(x))"})
    assert plain.claims["x"].diagnosis.kind == "wrong_function"
    assert check("sigmoid(x)", {"x": plain.claims["x"].diagnosis.fix}).right


def test_a_whole_backward_pass_with_one_wrong_step():
    claims = {"loss": "1", "s": "2*s*dloss", "y_hat": "-ds", "w": "dy_hat*x", "x": "dy_hat*w", "y": "-ds"}
    result = check(SEED, claims, {"w": 1.0, "x": 1.0, "y": 2.0})
    assert list(result.claims) == ["loss", "s", "y_hat", "y", "x", "w"]  # backward order
    assert result.first_wrong == "y_hat"
    assert result.claims["y_hat"].diagnosis.kind == "sign"
    data = result.to_dict()["claims"]
    # With the true upstream gradients, the later steps are right; with the student's own, not.
    assert data["w"]["right"] is True and data["w"]["propagated"] is False
    assert data["y"]["right"] is True and data["y"]["propagated"] is True
    assert data["y_hat"]["exact"] is False and data["y_hat"]["max_abs_diff"] == 4.0


def test_no_single_edit_keeps_the_counterexample():
    result = check(LINEAR, {"W": "3*dY.T@X + 1"}, _linear_inputs(2, 3, 4))
    claim = result.to_dict()["claims"]["W"]
    assert claim["right"] is False and claim["diagnosis"] is None


def test_a_claim_may_not_name_an_unknown_upstream(run):
    result = run("check", SEED, "--claim", "w=dz*x")
    assert result.exit_code == 2 and "uses dz" in result.stderr


def test_summary_row_and_batch_lines(run):
    result = run("check", SEED, "--claim", "s=2*s", "--claim", "y_hat=-ds", "--claim", "w=dy_hat*x", "--summary")
    assert result.exit_code == 1 and result.stdout == "wrong\ty_hat\tsign\n"
    right = run("check", SEED, "--claim", "s=2*s", "--claim", "w=dy_hat*x", "--summary")
    assert right.exit_code == 0 and right.stdout == "right\t-\t-\n"
    lines = [
        {"expression": SEED, "claims": {"s": "2*s", "y_hat": "ds", "w": "dy_hat*x"}},
        {"expression": SEED, "claims": {"s": "s", "y_hat": "ds", "w": "dy_hat*x"}},
    ]
    out = run("batch", input="".join(json.dumps(line) + "\n" for line in lines)).stdout.splitlines()
    first, second = (json.loads(line) for line in out)
    assert first["right"] and first["first_wrong"] is None
    assert second["first_wrong"] == "s" and second["claims"]["s"]["diagnosis"]["kind"] == "factor"
    assert "exact" in second["claims"]["w"] and second["claims"]["w"]["propagated"] is False


def test_a_sum_over_the_wrong_dimension():
    rng = np.random.default_rng(3)
    inputs = {"W": rng.normal(size=(4, 4)), "X": rng.normal(size=(4, 3)), "b": rng.normal(size=(4, 1))}
    result = check("Y = W@X + b; loss = sum(tanh(Y))", {"b": "sum(dY, 0)"}, inputs)
    diagnosis = result.claims["b"].diagnosis
    assert diagnosis.kind == "missing_sum" and diagnosis.fix == "sum(dY, 1, keepdim=True)"


@pytest.mark.parametrize("claim", ["w=dw", "s=dy_hat", "y_hat=dy_hat*2", "loss=dloss"])
def test_a_claim_cannot_use_its_own_or_a_later_gradient(run, claim):
    result = run("check", SEED, "--claim", claim)
    assert result.exit_code == 2 and "which does not come after" in result.stderr


def test_a_claim_named_by_its_gradient_is_told_the_node(run):
    result = run("check", SEED, "--claim", "dw=2*s*x")
    assert result.exit_code == 2 and "help: the left of = names the node: --claim w=..." in result.stderr
    typo = run("check", SEED, "--claim", "w=dyhat*x")
    assert typo.exit_code == 2 and "did you mean dy_hat?" in typo.stderr
    bad = run("check", SEED, "--claim", "s=2*s +")
    assert "(at column 6 of the claim)" in bad.stderr
