"""`backcalc check`: right and wrong claims, counterexamples, bad claims."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backcalc.analyses.check.grade import check
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
    data = json.loads(wrong.stdout)
    assert data["right"] is False and data["claims"]["x"]["counterexample"] is not None
    human = run("check", "x**3 + x**2", "--claim", "x=3x^2 + x").stdout
    assert "counterexample" in human and "the claim is wrong" in human
    bad = run("check", "x**2", "--claim", "x")
    assert bad.exit_code == 2 and len(bad.stderr.splitlines()) == 1


# Matrix claims: expressions (or claims) that mix elements are checked by the numbers at the inputs'
# shapes, against the gradient backprop composes, with torch's gradient beside a counterexample.

RNG = np.random.default_rng(11)
LSQ = {"A": RNG.normal(size=(7, 4)), "v": RNG.normal(size=4), "b": RNG.normal(size=7)}
AV = {"A": LSQ["A"], "v": LSQ["v"]}
CE = {"z": RNG.normal(size=5), "y": np.eye(5)[2]}  # a one-hot label: sum(y) is 1 at the given inputs


@pytest.mark.parametrize(
    ("expression", "claims", "inputs"),
    [
        ("sum((A@v - b)**2)", {"v": "2*A.T@(A@v - b)", "b": "-2*(A@v - b)", "A": "2*outer(A@v - b, v)"}, LSQ),
        ("sum((A@v - b)**2)", {"v": "2*(A.T@A@v - A.T@b)"}, LSQ),  # another form of the same gradient
        ("sum(sigmoid(A@v))", {"A": "unsqueeze(sigmoid(A@v)*(1 - sigmoid(A@v)), 1)*unsqueeze(v, 0)"}, AV),
        ("sum(A@v)", {"A": "outer(ones_like(A@v), v)", "v": "A.T@ones_like(A@v)"}, AV),
        ("-sum(y*log_softmax(z))", {"z": "softmax(z)*sum(y) - y", "y": "-log_softmax(z)"}, CE),
        ("x**2", {"x": "2*x + 0*sum(x)"}, {"x": [1.0, -2.0, 3.0]}),  # an element-wise expression, a mixing claim
    ],
)
def test_right_matrix_claims(expression, claims, inputs):
    result = check(expression, claims, inputs)
    assert result.right, result.to_dict()
    for claim in result.claims.values():
        assert claim.points == 6 and claim.equivalent is None and claim.derivation == "backprop"
        assert claim.to_dict()["equivalent"] is None


def test_a_wrong_matrix_claim_gives_the_element_and_three_values():
    result = check("sum((A@v - b)**2)", {"v": "A.T@(A@v - b)"}, LSQ)  # the factor 2 forgotten
    claim = result.claims["v"]
    assert not result.right and claim.mismatch is None
    c = claim.counterexample
    assert c.at == "the given inputs" and claim.points == 1
    true = 2 * LSQ["A"].T @ (LSQ["A"] @ LSQ["v"] - LSQ["b"])
    assert c.index == (0,)
    assert c.actual == pytest.approx(true[0]) and c.claimed == pytest.approx(true[0] / 2)
    assert c.autograd == pytest.approx(true[0], rel=1e-12)
    assert c.to_dict()["index"] == [0]


def test_a_claim_right_only_at_the_inputs_is_caught_at_a_random_point():
    # softmax(z) - y is the gradient only where sum(y) is 1, as at the given one-hot label.
    result = check("-sum(y*log_softmax(z))", {"z": "softmax(z) - y"}, CE)
    c = result.claims["z"].counterexample
    assert c is not None and c.at.startswith("random point")
    assert c.autograd == pytest.approx(c.actual, rel=1e-9) and c.claimed != pytest.approx(c.actual)


def test_a_claim_of_the_wrong_shape_is_wrong_and_names_both_shapes():
    result = check("sum((A@v - b)**2)", {"v": "2*outer(A@v - b, v)"}, LSQ)
    claim = result.claims["v"]
    assert not claim.right and claim.counterexample is None and claim.points == 0
    assert "[7, 4]" in claim.mismatch and "v's shape [4]" in claim.mismatch
    data = claim.to_dict()
    assert data["shape"] == [4] and data["claimed_shape"] == [7, 4] and data["right"] is False


def test_a_claim_whose_own_shapes_misfit_is_wrong():
    claim = check("sum((A@v - b)**2)", {"v": "2*A@(A@v - b)"}, LSQ).claims["v"]
    assert not claim.right and claim.claimed_shape is None
    assert "[7, 4] and [7]" in claim.mismatch


def test_matrix_claims_need_the_inputs():
    with pytest.raises(InputError, match=r"give their values \(A=VALUE, v=VALUE, b=VALUE\)"):
        check("sum((A@v - b)**2)", {"v": "2*A.T@(A@v - b)"})
    with pytest.raises(InputError, match="give their values"):
        check("x**2", {"x": "2*x + 0*sum(x)"})


def test_matrix_claims_at_a_size_sympy_never_sees():
    rng = np.random.default_rng(3)
    inputs = {"W": rng.normal(size=(300, 200)), "x": rng.normal(size=200), "y": rng.normal(size=300)}
    right = check("sum((W@x - y)**2)", {"W": "2*outer(W@x - y, x)", "x": "2*W.T@(W@x - y)"}, inputs, samples=2)
    assert right.right and right.claims["W"].points == 3
    wrong = check("sum((W@x - y)**2)", {"W": "2*outer(W@x, x)"}, inputs, samples=2).claims["W"]
    assert wrong.counterexample is not None and wrong.counterexample.to_dict()["point"] is None  # too large to print


def test_cli_matrix_claims_from_files(run, tmp_path):
    for name, value in LSQ.items():
        np.save(tmp_path / f"{name}.npy", value)
    files = [f"{name}=@{tmp_path / name}.npy" for name in LSQ]
    right = run("check", "sum((A@v - b)**2)", "--claim", "v=2*A.T@(A@v - b)", *files)
    assert right.exit_code == 0 and "the claim is right" in right.stdout
    data = run.json("check", "sum((A@v - b)**2)", "--claim", "v=A.T@(A@v - b)", *files, status=1)
    assert data["claims"]["v"]["counterexample"]["index"] == [0] and data["claims"]["v"]["equivalent"] is None
    shapes = run("check", "sum((A@v - b)**2)", "--claim", "v=2*outer(A@v - b, v)", *files)
    assert shapes.exit_code == 1 and "does not broadcast to v's shape [4]" in " ".join(shapes.stdout.split())
    missing = run("check", "sum((A@v - b)**2)", "--claim", "v=2*A.T@(A@v - b)")
    assert missing.exit_code == 2 and len(missing.stderr.splitlines()) == 1 and "give their values" in missing.stderr


def test_batch_lines_with_matrix_claims(run):
    inputs = {name: value.tolist() for name, value in LSQ.items()}
    lines = [
        {"expression": "sum((A@v - b)**2)", "inputs": inputs, "claims": {"v": "2*A.T@(A@v - b)"}},
        {"expression": "sum((A@v - b)**2)", "inputs": inputs, "claims": {"v": "2*A@(A@v - b)"}},
        {"expression": "sum((A@v - b)**2)", "claims": {"v": "2*A.T@(A@v - b)"}},
    ]
    result = run("batch", "-", input="".join(json.dumps(line) + "\n" for line in lines))
    assert result.exit_code == 2  # a bad line outranks a wrong claim
    right, wrong, bad = (json.loads(line) for line in result.stdout.splitlines())
    assert right["right"] is True and right["claims"]["v"]["points"] == 6
    assert wrong["right"] is False and "[7, 4] and [7]" in wrong["claims"]["v"]["mismatch"]
    assert "give their values" in bad["error"]["message"]


def test_matrix_claims_view_at_80_columns():
    import io

    from rich.console import Console

    from backcalc.render.check_view import render_check

    inputs = {"A": [[1, 2], [3, 4]], "v": [1, 1], "b": [0, 1]}
    result = check("sum((A@v - b)**2)", {"v": "A.T@(A@v - b)", "b": "2*outer(b, b)"}, inputs)
    console = Console(width=80, file=io.StringIO(), color_system=None)
    render_check(result, console)
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    assert lines == [
        "Expression  sum((A@v - b)**2)",
        "",
        "d/dv claimed     A.T@(A@v - b)",
        "d/dv (backprop)  2*(A.T@(A@v - b))",
        "symbolic         not attempted for matrix expressions: checked by the numbers",
        "numeric          1 point(s) checked",
        "counterexample   v[0] at the given inputs: claimed 21.0, actual 42.0, autograd",
        "                 42.0",
        "the mistake      off by a constant factor: the gradient is 2 times the claim;",
        "                 the fix: v=2*(A.T@(A@v - b))",
        "DISAGREE  the claim is wrong",
        "",
        "d/db claimed     2*outer(b, b)",
        "d/db (backprop)  -2*(A@v - b)",
        "symbolic         not attempted for matrix expressions: checked by the numbers",
        "numeric          0 point(s) checked",
        "shapes           the claim has shape [2, 2], which does not broadcast to b's",
        "                 shape [2]",
        "DISAGREE  the claim is wrong",
        "",
        "Backward order, each claim with the true upstream gradients",
        "wrong  v  exact: False  approximate: False  max_abs_diff: 30  first wrong",
        "wrong  b                                                      shape [2, 2], not",
        "                                                              [2]",
        "",
        "DISAGREE: some claim is wrong",
    ]
