"""Every newcomer's mistake is one line on stderr, exit 2, naming the fix to type."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explian", "x**2", "x=4"], "no such command 'explian'; did you mean 'explain'?"),
        (["decsend", "x**2", "x=4"], "no such command 'decsend'; did you mean 'descend'?"),
        (["jacobain", "x"], "no such command 'jacobain'; did you mean 'jacobian'?"),
        (["x**2", "x=4", "--jsn"], "no such option '--jsn'; help: did you mean '--json'?"),
        (["explain", "x**2", "x=4", "--jsno"], "no such option '--jsno'; help: did you mean '--json'?"),
        (["x**2", "4"], "expected NAME=VALUE, got '4'; help: did you mean 'x=4'?"),
        (["x*y", "x=1", "2"], "expected NAME=VALUE, got '2'; help: did you mean 'y=2'?"),
        (["X**2", "x=4"], "no value for X: give X=VALUE; help: names are case-sensitive: try X=... instead of x=..."),
        (["x**2", "x=4", "--wrt", "X"], "no input is called 'X' (inputs: x); help: try --wrt x"),
        (
            ["descend", "(w*x - 2)**2", "w=1", "x=1"],
            "descend needs --wrt NAME: the inputs to update; help: try --wrt w",
        ),
        (["x.item()", "x=4"], "help: try 'x'"),
        (["np.exp(x)", "x=4"], "help: try 'exp(x)'"),
        (["torch.linalg.det(x)", "x=[[1,2],[3,4]]"], "help: try 'det(x)'"),
        (["math.log(x)", "x=4"], "help: try 'log(x)'"),
        (["x.clamp(min=0)", "x=[1,2]"], "help: try 'relu(x)'"),
        (["max(0, x)", "x=4"], "help: try 'relu(x)'"),
        (["|x|", "x=4"], "help: try 'abs(x)'"),
        (["x − 1", "x=4"], "help: try 'x - 1'"),
        (["2×x", "x=4"], "help: try '2*x'"),
        (["2·x", "x=4"], "help: try '2*x'"),
        (["x²", "x=4"], "help: try 'x**2'"),
        (["x³", "x=4"], "help: try 'x**3'"),
        (["√x", "x=4"], "help: try 'sqrt(x)'"),
        (["Sin(x)", "x=4"], "help: try 'sin(x)'"),
    ],
)
def test_a_mistake_is_answered_with_its_fix(run, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("backcalc: error: ")
    assert message in lines[0]


def test_a_name_close_to_a_command_is_still_an_expression_when_it_has_a_value(run):
    assert run.json("grads", "grads=2")["gradients"]["grads"]["autograd"] == 1.0
    assert run("explian", "explian=2", "--json").exit_code == 0


def test_help_on_a_command_and_on_the_limits(run):
    result = run("help", "descend")
    assert result.exit_code == 0
    assert result.stdout == run("descend", "--help").stdout
    assert "descend [OPTIONS] EXPRESSION" in result.stdout and "130 interrupted (Ctrl-C)" in result.stdout
    limits = run("help", "limits")
    assert limits.exit_code == 0
    assert limits.stdout.startswith("Limits (a larger input is refused with exit status 2):\n  expression: 10,000")
    unknown = run("help", "limts")
    assert unknown.exit_code == 2
    assert (
        unknown.stderr
        == "backcalc: error: no such command or topic 'limts'; help: did you mean 'backcalc help limits'?\n"
    )


@pytest.mark.parametrize("command", ["grad", "explain", "jacobian", "hessian", "descend", "batch", "check"])
def test_every_help_lists_every_exit_status_once_and_no_limits_table(run, command):
    text = run(command, "--help").stdout
    for status in ("0 ", "1 ", "2 ", "70 ", "74 ", "130 "):
        assert f"\n    {status}" in text, (command, status)
    assert ("\n    3 " in text) == (command == "descend")
    assert "backcalc help limits" in text and "10,000 characters" not in text
    assert "Examples:" in text
    assert f"backcalc {command} " in text or command == "grad"


def test_descend_help_says_wrt_is_required(run):
    text = run("descend", "--help").stdout
    assert "required" in text and "Default: every input" not in text


def test_jacobian_refuses_reduce_and_does_not_offer_it(run):
    assert "--reduce [" not in run("jacobian", "--help").stdout
    result = run("jacobian", "x**2", "x=[1,2]", "--reduce", "mean")
    assert result.exit_code == 2
    assert result.stderr.startswith("backcalc: error: jacobian has no --reduce")
    assert "--reduce [sum|mean]" in run("hessian", "--help").stdout


def test_the_expression_from_standard_input(run):
    result = run("-", "x=3", "--json", input="x**2 + 1\n")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["expression"] == "x**2 + 1" and data["gradients"]["x"]["autograd"] == 6.0


def test_a_value_from_standard_input(run):
    data = json.loads(run("sum(x**2)", "x=@-", "--json", input="[[1, 2], [3, 4]]\n").stdout)
    assert data["gradients"]["x"]["autograd"] == [[2.0, 4.0], [6.0, 8.0]]
    check = run("check", "x**2", "x=@-", "--claim", "x=2*x", "--json", input="3")
    assert json.loads(check.stdout)["right"] is True


def test_standard_input_is_read_once(run):
    result = run("-", "x=@-", input="x**2")
    assert result.exit_code == 2
    assert "standard input can be read once" in result.stderr
    empty = run("x**2", "x=@-", input="")
    assert empty.exit_code == 2 and "standard input is empty" in empty.stderr
    obj = run("x**2", "x=@-", input='{"a": 1}' + " " * 2_000_000)
    assert obj.exit_code == 2 and "JSON object" in obj.stderr


@pytest.mark.parametrize(
    "command", [[], ["grad"], ["explain"], ["descend"], ["jacobian"], ["hessian"], ["batch"], ["check"]]
)
def test_every_help_fits_80_columns(run, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "80")
    text = run(*command, "--help").stdout
    assert [line for line in text.splitlines() if len(line) > 80] == []
    assert text == run("help", *command).stdout
