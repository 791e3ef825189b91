"""The live session: its lines in process, the README's transcript, and a real session driven through
a pseudo-terminal (typing, history, completion, Ctrl-C, Ctrl-D)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

import pytest

from backcalc.cli.repl import PROMPT, Session, history_path

ROOT = Path(__file__).resolve().parent.parent
SEED = "[[2,3,1],[4,5,3],[7,6,4]]"


def transcript(lines: list[str]) -> str:
    """What a session prints for the typed ``lines`` (stdout and stderr together, off a terminal),
    each line after its prompt."""
    out = io.StringIO()
    session = Session()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        for line in lines:
            out.write(PROMPT + line + "\n")
            session.handle(line)
    return out.getvalue()


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("x**3 + x**2", ["x**3 + x**2", f"x={SEED}"]),
        ("explain (w*x - y)**2 y=2", ["explain", "(w*x - y)**2", "y=2", "w=1", f"x={SEED}"]),
        ("descend (w*x - y)**2 --wrt w y=2", ["descend", "(w*x - y)**2", "--wrt", "w", "y=2", "w=1", f"x={SEED}"]),
        ('"x + w" --json', ["x + w", "--json", f"x={SEED}", "w=1"]),
        ('jacobian W@v "W=[[1, 2]]" v=[1,-1]', ["jacobian", "W@v", "W=[[1, 2]]", "v=[1,-1]"]),
        ('check x**2 --claim "x=2x"', ["check", "x**2", "--claim", "x=2x", f"x={SEED}"]),
        ("-x**2 x=3", ["-x**2", "x=3"]),
        ("sin(", ["sin("]),
    ],
)
def test_a_line_becomes_a_command_line_with_the_sessions_inputs(line, argv):
    session = Session()
    session.handle(f"x = {SEED}")
    session.handle("w = 1")
    assert session.argv(line) == argv


def test_assign_vars_clear(capsys):
    session = Session()
    session.handle("x = [1, 2]")
    session.handle("w=3")
    session.handle("x = [1,")  # refused: the old value stays
    session.handle("exp = 1")  # a function's name is not an input
    session.handle("vars")
    session.handle("clear w")
    session.handle("clear w")
    session.handle("vars")
    out, err = capsys.readouterr()
    assert out == "x = [1, 2]\nw = 3\nbackcalc: w is not assigned\nx = [1, 2]\n"
    assert err.splitlines() == ["backcalc: error: x: missing ']' at the end", err.splitlines()[1]]
    assert "exp" in err.splitlines()[1]
    assert session.handle("quit") is False


def test_hostile_lines_are_refused_in_one_line_and_the_session_goes_on(capsys):
    session = Session()
    for line in ("__import__('os').system('echo hi')", "x.__class__ x=1", "x = @/dev/zero", "(" * 5000 + "x"):
        assert session.handle(line) is True
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(line.startswith("backcalc: error: ") for line in err)
    assert "Traceback" not in "".join(err)


def test_readme_transcript_is_real():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```session\n(.*?)```", readme, flags=re.DOTALL)
    assert block is not None
    body = block.group(1).split("ready. Type an expression, `help`, or Ctrl-D to leave.\n", 1)[1]
    typed = [line[len(PROMPT) :] for line in body.splitlines() if line.startswith(PROMPT)]
    assert typed[-1] == "^D"
    assert transcript(typed[:-1]) + PROMPT + "^D\n" == body


def test_history_lives_in_the_state_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path() == tmp_path / "backcalc" / "history"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history_path() == tmp_path / ".local" / "state" / "backcalc" / "history"
