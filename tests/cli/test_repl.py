"""The live session: its lines in process, the README's transcript, and a real session driven through
a pseudo-terminal (typing, history, completion, Ctrl-C, Ctrl-D)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from backcalc.cli.repl import _WARM_UP, PROMPT, Session, history_path

ROOT = Path(__file__).resolve().parents[2]
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


def test_standard_input_is_the_session_so_it_is_refused(capsys):
    session = Session()
    for line in ("x = @-", "- x=1", "x**2 x=@-", "help grad"):
        session.handle(line)
    out, err = capsys.readouterr()
    assert (
        err.splitlines()
        == ["backcalc: error: standard input (- or @-) is not read here: type the expression or the value itself"] * 3
    )
    assert "Usage: backcalc grad" in out


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


def _spawn(tmp_path: Path, python: Callable[..., list[str]], *args: str):
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "NO_COLOR": "1", "TERM": "xterm", "COLUMNS": "100"}
    env.pop("BACKCALC_DEBUG", None)
    program, *argv = python(str(Path(sys.executable).parent / "backcalc"), *args)  # the installed script
    child = pexpect.spawn(program, argv, env=env, encoding="utf-8", timeout=30, dimensions=(40, 100))
    child.expect_exact("ready.")
    child.expect_exact(PROMPT)
    return child


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_session_through_a_terminal(tmp_path, warm_python):
    """One real session (its warm-up costs seconds, so it is paid once): `backcalc` alone on a terminal
    starts it (the same `repl` command) with the history already in the state directory; then typing,
    history, completion, Ctrl-C and Ctrl-D."""
    pexpect = pytest.importorskip("pexpect")
    (tmp_path / "backcalc").mkdir()
    (tmp_path / "backcalc" / "history").write_text("x**2 x=7\n")
    child = _spawn(tmp_path, warm_python)

    # The kept history: Up recalls the last line of the earlier session, Enter runs it.
    child.send("\x1b[A\r")
    child.expect_exact("Loss                           output (already a scalar) = 49.0")
    child.expect_exact(PROMPT)

    child.sendline(f"x = {SEED}")
    child.expect_exact(PROMPT)
    child.sendline("x**3 + x**2")
    child.expect_exact("Loss                           sum(output) = 1040.0")
    child.expect_exact("symbolic and autograd agree on 1 gradient")
    child.expect_exact(PROMPT)

    # History: Up recalls the last line, Enter runs it again.
    child.send("\x1b[A")
    child.expect_exact("x**3 + x**2")
    child.send("\r")
    child.expect_exact("sum(output) = 1040.0")
    child.expect_exact(PROMPT)

    # Completion of an input's name and of a function's.
    child.sendline("weights = 3")
    child.expect_exact(PROMPT)
    child.send("sqr\t")
    child.expect_exact("sqrt")
    child.send("(wei\t")
    child.expect_exact("weights")
    child.sendline(")")
    child.expect(r"Expression +sqrt\(weights\)")
    child.expect_exact(PROMPT)

    # Ctrl-C cancels a long computation and keeps the session (and its inputs).
    child.sendline("descend (w*x - y)**2 w=1 x=1 y=2 --wrt w --lr 1e-9 --tol 0 --steps 1000000 --dtype float64")
    child.expect(r"descending +[1-9][0-9]*/1000000")  # under way
    child.sendintr()
    child.expect(r"backcalc: interrupted \(Ctrl-C\) after [0-9]+ steps?: the final loss")
    child.expect_exact(PROMPT)
    # Ctrl-C while typing drops the line. (Under load, a SIGINT that lands while readline is still
    # redrawing, not yet waiting for input, was seen to go unnoticed until the next key or signal;
    # press it again, as a user would.)
    child.send("half a line")
    child.expect_exact("half a line")
    for _ in range(5):
        child.sendintr()
        if child.expect_exact([PROMPT, pexpect.TIMEOUT], timeout=3) == 0:
            break
    else:
        pytest.fail("Ctrl-C at the prompt did not give a new prompt")
    child.sendline("vars")
    child.expect_exact(f"x = {SEED}")
    child.expect_exact("weights = 3")
    child.expect_exact(PROMPT)

    # A hostile line is one error line; the session goes on.
    child.sendline("__import__('os').system('echo pwned')")
    child.expect_exact("backcalc: error: strings are not allowed (at column 12 of the expression)")
    child.expect_exact(PROMPT)

    # Ctrl-D leaves, with status 0, and the history is kept in the state directory.
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "backcalc" / "history").read_text().splitlines()
    assert history[0] == "x**2 x=7"  # the earlier session's line is kept, the new ones come after it
    new = history[history.index(f"x = {SEED}") :]
    assert new[:2] == [f"x = {SEED}", "x**3 + x**2"]
    assert "sqrt(weights)" in history and "half a line" not in history


def test_a_value_typed_with_spaces_stays_one_value():
    assert Session().argv("x**2 x=[[1, 2], [3, 4]] --json") == ["x**2", "x=[[1, 2], [3, 4]]", "--json"]
    assert Session().argv('"x*w" w=[1, 2] x=3') == ["x*w", "w=[1, 2]", "x=3"]


def test_help_lists_the_functions(capsys):
    Session().handle("help")
    out = capsys.readouterr().out
    assert "explain (w*x - y)**2" in out and "softplus" in out and "clear NAME" in out


def test_a_pasted_command_line_runs_as_typed(capsys):
    Session().handle('backcalc "x**2" x=3 --json')
    assert '"loss": 9.0' in capsys.readouterr().out


@pytest.mark.parametrize("line", _WARM_UP)
def test_every_warm_up_line_is_a_good_case(line, capsys):
    Session().handle(line)
    out, err = capsys.readouterr()
    assert err == ""
    assert "agree" in out or "every claim is right" in out
