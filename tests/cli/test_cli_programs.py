"""Programs on the command line: as text, from a file (@prog.bc) and from standard input (-), for every
command, in batch lines, in the live session and in a notebook cell; bad programs get one line and
status 2."""

from __future__ import annotations

import json

import pytest

from backcalc.cli.magic import compute, is_program, program_words
from backcalc.cli.repl import Session

SEED = "y_hat = w*x; s = y_hat - y; loss = s**2"
SEED_FILE = """# the seed's picture, as steps
y_hat = w * x      # the prediction
s = y_hat - y      # the residual
loss = s**2
"""
VALUES = ("w=1", "x=1", "y=2")


@pytest.fixture
def seed_file(tmp_path):
    path = tmp_path / "seed.bc"
    path.write_text(SEED_FILE)
    return path


def test_grad_json_has_every_step(run):
    data = run.json("grad", SEED, *VALUES)
    assert list(data["intermediates"]) == ["y_hat", "s", "loss"]
    assert data["intermediates"]["s"]["formula"] == "2*s"
    assert data["parsed"] == SEED
    assert data["gradients"]["w"]["symbolic"] == -2.0


def test_an_expression_has_no_intermediates_key(run):
    assert "intermediates" not in run.json("(w*x - y)**2", *VALUES)


def test_the_terminal_view_lists_the_steps(run):
    result = run(SEED, *VALUES)
    assert result.exit_code == 0
    out = result.stdout
    assert "Program" in out and "y_hat = w*x" in out
    assert "Steps" in out and "d loss / d step" in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("s ")] == [["s", "y_hat"], ["s", "2*s"]]


@pytest.mark.parametrize("command", ["grad", "explain", "jacobian", "hessian"])
def test_a_program_file_and_standard_input(run, seed_file, command):
    from_file = run.json(command, f"@{seed_file}", *VALUES)
    from_stdin = json.loads(run(command, "-", *VALUES, "--json", input=SEED_FILE).stdout)
    assert from_file["parsed"] == from_stdin["parsed"] == SEED
    assert from_file["agree"] and from_stdin["agree"]


def test_descend_and_check_take_programs(run, seed_file):
    descent = run.json("descend", f"@{seed_file}", *VALUES, "--wrt", "w", "--steps", "3")
    assert descent["steps"][-1]["loss"] < descent["steps"][0]["loss"]
    claims = run.json("check", SEED, "--claim", "s=2*s", "--claim", "w=2*s*x")
    assert claims["right"] and claims["claims"]["s"]["formula"] == "2*s"


def test_explain_speaks_in_the_step_names(run):
    result = run("explain", SEED, *VALUES)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert any(line.split() == ["s", "sub", "y_hat", "-", "y", "-1.0"] for line in lines)
    assert any(line.split() == ["d", "loss", "/", "d", "s", "2*s", "-2.0"] for line in lines)
    assert any(line.split() == ["d", "y_hat", "/", "d", "w", "x", "1.0"] for line in lines)


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("s = y_hat - y; y_hat = w*x; s", "y_hat is used before it is defined"),
        ("w = w*2; w", "w is used in its own definition"),
        ("w = x*2; w", "w is a step of the program"),
        ("sin = x*2; sin", "a step cannot be named sin"),
        ("   # nothing\n", "the program is empty"),
        ("a = 2; b = a*3", "does not depend on any input"),
        ("x = 3; y = x*2; y", "help: x is a step with a constant value, not an input"),
    ],
)
def test_bad_programs_one_line_status_2(run, program, message):
    result = run(program, "x=1", "y=1", "w=1")
    assert result.exit_code == 2
    assert message in result.stderr and "the program" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("program", "step", "misfit"),
    [
        ("h = W@x; y = h + b; sum(y)", "h", "W@x: shapes [2, 2] and [3] do not fit"),
        ("h = W@b; y = h + x\nloss = sum(y)", "y", "h + x: shapes [2] and [3] do not broadcast"),
        ("h = W@b; sum(h) + x[:2] + h[5]", "", "h[5]"),
    ],
)
def test_a_shape_misfit_names_its_step(run, program, step, misfit):
    result = run("grad", program, "W=[[1, 2], [3, 4]]", "x=[1, 2, 3]", "b=[1, 2]")
    assert result.exit_code == 2 and result.stdout == ""
    assert misfit in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert ("in step " + step + ":" in result.stderr) == bool(step)


def test_a_value_for_a_step_is_refused(run):
    result = run(SEED, *VALUES, "s=3")
    assert result.exit_code == 2
    assert "s is a step of the program" in result.stderr


def test_program_files_that_are_not_text(run, tmp_path):
    binary = tmp_path / "bad.bc"
    binary.write_bytes(b"a = x\xff\n")
    assert "not UTF-8 text" in run(f"@{binary}", "x=1").stderr
    assert "not a regular file" in run("@/dev/zero", "x=1").stderr
    assert run(f"@{tmp_path / 'missing.bc'}", "x=1").exit_code == 2


def test_batch_lines_take_programs(run):
    lines = [
        {"expression": SEED, "inputs": {"w": 1, "x": 1, "y": 2}},
        {"expression": "a = w*x; a = 2", "inputs": {"w": 1, "x": 1}},
        {"expression": SEED, "inputs": {"w": 1, "x": 1, "y": 2}, "claims": {"s": "2*s"}},
        {"expression": "(w*x - y)**2", "inputs": {"w": 1, "x": 1, "y": 2}},
    ]
    result = run("batch", input="".join(json.dumps(line) + "\n" for line in lines))
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0]["intermediates"]["s"]["autograd"] == -2.0
    assert "assigned twice" in answers[1]["error"]["message"]
    assert answers[2]["claims"]["s"]["right"] is True
    assert answers[3]["verdict"] == "agree" and "intermediates" not in answers[3]


def test_a_notebook_cell_is_a_program():
    cell = SEED_FILE
    assert is_program(cell) and not is_program('x**3 + x**2 --dtype float64\ncheck "x**2" --claim x=2*x')
    result = compute(program_words(cell, ["explain", "y=2"]), {"w": 1.0, "x": 1.0})
    assert [item.node.id for item in result.nodes] == ["w", "x", "y_hat", "y", "s", "c1", "loss"]


def test_the_live_session_runs_a_program_on_one_line():
    said: list[str] = []
    session = Session(echo=said.append)
    session.handle("w = 1")
    session.handle("x = 1")
    assert session.values == {"w": "1", "x": "1"}
    assert session.argv("y_hat = w*x; loss = (y_hat - 2)**2") == ["y_hat = w*x; loss = (y_hat - 2)**2", "w=1", "x=1"]


def test_a_byte_order_mark_on_standard_input(run):
    result = run("-", "w=1", "x=2", "--json", input="\ufeffa = w*x\nloss = a**2\n")
    assert result.exit_code == 0 and json.loads(result.stdout)["parsed"] == "a = w*x; loss = a**2"


def test_wrt_a_step_says_it_is_a_step(run):
    result = run("a = w*x; loss = a**2", "w=1", "x=2", "--wrt", "a")
    assert result.exit_code == 2 and "a is a step of the program, not an input" in result.stderr


def test_an_unquoted_program_without_spaces_in_the_session():
    session = Session(echo=lambda _: None)
    session.handle("w = 1")
    session.handle("x = 2")
    assert session.argv("a0=x*w;loss=a0*w") == ["a0=x*w;loss=a0*w", "x=2", "w=1"]
    assert session.argv("explain a0=x*w;loss=a0*w --dtype float64") == [
        "explain", "a0=x*w;loss=a0*w", "--dtype", "float64", "x=2", "w=1",
    ]  # fmt: skip


def test_the_line_magic_reads_a_program_file(seed_file):
    result = compute(["explain", f"@{seed_file}", "y=2"], {"w": 1.0, "x": 1.0})
    assert [item.node.id for item in result.nodes] == ["w", "x", "y_hat", "y", "s", "c1", "loss"]


def test_a_one_step_program_in_the_session_is_told_how(capsys):
    session = Session()
    session.handle("x = 2")
    session.handle("h = tanh(x)")
    assert "help: to run the one-step program, type a command first: grad h = tanh(x)" in capsys.readouterr().err
