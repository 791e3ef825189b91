"""Careless, not hostile: inputs at the edges of what the commands do (float32's range, more than 32
dimensions, a start outside the domain, a kink at a descent step, an unwritable file, a sliver of a
terminal), each answered with the true reason and never an internal error."""

from __future__ import annotations

import json


def test_float32_overflow_in_json_is_text_and_its_reason_is_float32s_range(run):
    data = run.json("exp(x)", "x=89")
    gradient = data["gradients"]["x"]
    assert gradient["autograd"] == "inf" and gradient["verdict"] == "rounding"
    assert gradient["edges"][0]["kind"] == "range"
    assert "in float64" in data["notes"][0]
    for command in ("explain", "jacobian"):
        result = run(command, "exp(x)", "x=89", "--json")
        assert result.exit_code == 0 and json.loads(result.stdout)


def test_a_float32_loss_that_overflows_is_not_a_disagreement(run):
    data = run.json("log(1+exp(x))", "x=100")
    assert data["verdict"] == "rounding" and data["agree"] is True


def test_more_than_32_dimensions_is_a_limit_everywhere(run, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 33 + "1" + "]" * 33)
    result = run("sum(x)", f"x=@{deep}")
    assert result.exit_code == 2 and "32 dimensions" in result.stderr
    deep.write_text("[" * 32 + "1" + "]" * 32)
    result = run("sum(unsqueeze(x, 0))", f"x=@{deep}")
    assert result.exit_code == 2 and "33 dimensions" in result.stderr


def test_a_learning_rate_out_of_the_dtypes_range_is_refused(run):
    result = run("descend", "(w-1)**2", "w=3", "--wrt", "w", "--lr", "1e39")
    assert result.exit_code == 2 and "out of float32's range" in result.stderr


def test_a_start_outside_the_domain_is_said_so(run):
    result = run("descend", "sqrt(w)", "w=-1", "--wrt", "w")
    assert result.exit_code == 3 and "at the starting point" in result.stderr


def test_a_kink_at_a_descent_step_is_not_a_disagreement(run):
    assert run("descend", "relu(w)+w**2", "w=0", "--wrt", "w", "--steps", "3").exit_code == 0


def test_jacobian_and_hessian_call_a_domain_edge_an_edge(run):
    assert run.json("jacobian", "sqrt(x)", "x=[-1,4]")["verdict"] == "edge"
    assert run.json("hessian", "maximum(x, y)", "x=[1,2]", "y=[1,0]")["verdict"] == "edge"


def test_an_unwritable_output_file_is_74(run):
    result = run("explain", "x**2", "x=1", "--dot", "/dev/full")
    assert result.exit_code == 74 and "cannot write '/dev/full'" in result.stderr


def test_tensors_with_nan_keep_their_values_in_the_view(run):
    assert "[nan,  4.]" in run("x", "x=[nan,4]").stdout


def test_a_sliver_of_a_terminal_keeps_every_value(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "0")
    out = run("x**2", "x=3").stdout
    assert "9.0" in out and "6.0" in out


def test_check_draws_its_points_inside_the_domain(run):
    assert run("check", "log(x)", "--claim", "x=1/abs(x)").exit_code == 0
    matrix = ["check", "sum(log(W@x))", "--claim", "x=W.T@(1/abs(W@x))", "W=[[1,2],[3,4]]", "x=[1,1]"]
    assert run(*matrix).exit_code == 0


def test_explain_with_nothing_to_check_is_unchecked(run):
    assert run.json("explain", "sum(softmax(x))", "x=2")["verdict"] == "unchecked"


def test_the_session_reads_files_as_the_command_line_does(tmp_path):
    from backcalc.cli.repl import Session

    value = tmp_path / "v.json"
    value.write_text("[1, 2]")
    session = Session(echo=lambda text: None)
    assert session.assign("y", f"@{value}") == 0 and session.values == {"y": f"@{value}"}
