"""``backcalc repl``: a live session in which torch and sympy load once.

Inputs are assigned once (``x = [[2,3,1],[4,5,3]]``) and kept as the text typed, checked when
assigned; every other line is a command line without ``backcalc`` in front (``x**3 + x**2``, a
program of steps ``y_hat = w*x; loss = (y_hat - y)**2``,
``explain (w*x - y)**2``, ``descend (w*x - y)**2 --wrt w``), to which the session adds the assigned
inputs the expression uses, and which runs through the same click group in process, errors mapped by
the same :func:`backcalc.cli.run`. So every answer is the command's view, and the command's rules
hold: nothing typed is evaluated as Python, and the limits apply.

Line editing and history come from readline (history in ``$XDG_STATE_HOME/backcalc/history``,
by default ``~/.local/state/backcalc/history``); Tab completes commands, functions and input names.
Ctrl-C cancels the line or the computation and keeps the session; Ctrl-D leaves.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from .._version import __version__
from ..errors import InputError
from .group import cli, run

PROMPT = "backcalc> "
COMMANDS = ("grad", "explain", "descend", "check", "jacobian", "hessian")
SESSION_WORDS = ("help", "vars", "clear", "quit", "exit")
_ASSIGNMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.*?)\s*\Z", re.DOTALL)
_OPTIONS = re.compile(r"(?:^|\s)(--[A-Za-z])")
_VALUE_WORD = re.compile(r"(?:^|\s)([\"']?[A-Za-z_][A-Za-z0-9_]*=)")

HELP = """\
Type an expression, or a command and its expression, as on the command line without `backcalc`:
  x**3 + x**2                        the gradient (grad), with the inputs assigned in the session
  explain (w*x - y)**2               the backward pass step by step
  descend (w*x - y)**2 --wrt w --lr 0.1
  check x**3 + x**2 --claim "x=3x^2 + 2x"
  jacobian W@x --wrt x               hessian x**3*y
  x**2 x=4 --dtype float64           inputs and options on the line win over the session's
  y_hat = w*x; loss = (y_hat - y)**2 a program of named steps (explain "...", or explain @prog.bc)
Functions: FUNCTIONS; constants pi and e.
Session:
  x = [[2,3,1],[4,5,3]]              assign an input (a number, a list, @file.json, @file.npy)
  vars                               the assigned inputs
  clear NAME ...                     forget inputs (clear alone forgets them all)
  help                               this text; help COMMAND, help limits: as on the command line
Tab completes; Up and Down recall history; Ctrl-C cancels; Ctrl-D (or quit) leaves."""


def history_path() -> Path:
    """Where the session's history is kept: the user's state directory (XDG)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "backcalc" / "history"


class Session:
    """The assigned inputs, and what each typed line does."""

    def __init__(self, echo: Callable[[str], None] = click.echo) -> None:
        self.values: dict[str, str] = {}  # name -> the value's text, as typed
        self.echo = echo

    def names(self) -> list[str]:
        from .. import ops

        return [*COMMANDS, *SESSION_WORDS, *ops.function_names(), *ops.constants(), *self.values]

    def handle(self, line: str) -> bool:
        """Do what ``line`` asks; False when the session should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith("backcalc "):  # typed from habit, or pasted from the README
            line = line.removeprefix("backcalc ").strip()
        word, _, rest = line.partition(" ")
        if word in ("quit", "exit") and not rest.strip():
            return False
        if word == "help" and rest.strip():  # help COMMAND, help limits: the command's own help
            run(lambda: cli.main(["help", *rest.split()], prog_name="backcalc", standalone_mode=False), [])
        elif word in ("help", "?") and not rest.strip():
            from .. import ops

            self.echo(HELP.replace("FUNCTIONS", " ".join(ops.function_names())))
        elif word == "vars" and not rest.strip():
            self.show_vars()
        elif word == "clear":
            self.clear(rest.split())
        elif (match := _ASSIGNMENT.match(line)) and match.group(1) not in COMMANDS and ";" not in line:
            # x = [[1,2]] assigns an input; y_hat = w*x; loss = (y_hat - y)**2 is a program to run
            run(lambda: self.assign(match.group(1), match.group(2)), [])
        else:
            run(lambda: self.command(line), [])
        return True

    def show_vars(self) -> None:
        if not self.values:
            self.echo("no inputs assigned yet (x = [[1,2],[3,4]])")
        for name, text in self.values.items():
            self.echo(f"{name} = {text}")

    def clear(self, names: list[str]) -> None:
        for name in names or list(self.values):
            if self.values.pop(name, None) is None:
                self.echo(f"backcalc: {name} is not assigned")

    def assign(self, name: str, text: str) -> int:
        from ..inputs.files import ANYWHERE
        from ..inputs.values import check_name, parse_value

        if not text:
            raise InputError(f"{name} = what? Give a number, a list, @file.json or @file.npy")
        refuse_stdin([f"{name}={text}"])
        check_name(name)
        # The session is the user's own terminal, as the command line is: @FILE reads where they say.
        try:
            parse_value(text, name, ANYWHERE)  # refuse a bad value now rather than at every use
        except InputError as exc:
            if _is_expression(text):  # h = tanh(x): a program of one step, not a value
                exc.help = f"to run the one-step program, type a command first: grad {name} = {text}"
            raise
        self.values[name] = text
        return 0

    def argv(self, line: str) -> list[str]:
        """The command line that ``line`` stands for, with the session's inputs added. An unquoted
        program (``a=w*x;loss=a**2``) runs up to the first --option."""
        command, expression, tail = split_command_line(line)
        if _ASSIGNMENT.match(expression + " ".join(tail)) and ";" in line and line.strip()[:1] not in "\"'":
            body = line.strip().removeprefix(command[0]).strip() if command else line.strip()
            expression, _, options = body.partition(" --")
            tail = shlex.split("--" + options) if options else []
        given = set(_values_given(command[0] if command else "grad", tail))
        added = [f"{name}={self.values[name]}" for name in self._variables(expression) if name not in given]
        return [*command, expression, *tail, *added]

    def _variables(self, expression: str) -> Iterator[str]:
        from ..errors import BackcalcError
        from ..language.program import parse_program

        try:
            variables = parse_program(expression).variables()
        except (BackcalcError, RecursionError):
            return  # the command reports it
        yield from (name for name in variables if name in self.values)

    def command(self, line: str) -> Any:
        argv = self.argv(line)
        refuse_stdin(argv)
        return cli.main(argv, prog_name="backcalc", standalone_mode=False)


def _is_expression(text: str) -> bool:
    from ..errors import BackcalcError
    from ..language.program import parse_program

    try:
        return not parse_program(text).output.is_constant()
    except (BackcalcError, RecursionError):
        return False


def split_command_line(line: str) -> tuple[list[str], str, list[str]]:
    """A typed line as ``([COMMAND], EXPRESSION, [VALUES AND OPTIONS])``. The expression may be
    quoted or not (``explain (w*x - y)**2``): unquoted, it runs up to the first ``NAME=`` word or
    ``--option``, and the rest is split as a shell would."""
    word, _, rest = line.strip().partition(" ")
    command = [word] if word in COMMANDS else []
    body = rest.strip() if command else line.strip()
    try:
        if body[:1] in ("'", '"'):
            words = shlex.split(body)
            return (command, words[0], _rejoin(words[1:])) if words else (command, "", [])
        options = _OPTIONS.search(body)
        head, tail = (body[: options.start(1)], body[options.start(1) :]) if options else (body, "")
        values = _VALUE_WORD.search(head)
        if values:
            head, tail = head[: values.start(1)], head[values.start(1) :] + " " + tail
        return command, head.strip(), _rejoin(shlex.split(tail))
    except ValueError as exc:  # an unclosed quote
        raise InputError(f"cannot split the line: {exc}") from None


def refuse_stdin(words: list[str]) -> None:
    # On the command line, "-" and NAME=@- read standard input; in a session that is the terminal the
    # session itself reads, and in a notebook the kernel's, so the value must be typed.
    if "-" in words or any(word.partition("=")[2].strip() == "@-" for word in words if not word.startswith("--")):
        raise InputError("standard input (- or @-) is not read here: type the expression or the value itself")


def _rejoin(words: list[str]) -> list[str]:
    """Join the words of a value typed with spaces inside its brackets (``x=[[1, 2], [3, 4]]``)."""
    joined: list[str] = []
    depth = 0
    for word in words:
        if depth > 0:
            joined[-1] += " " + word
        else:
            joined.append(word)
        depth += word.count("[") - word.count("]")
    return joined


def _values_given(command: str, words: list[str]) -> Iterator[str]:
    """The names given NAME=VALUE among ``words`` (not the value of an option, like --claim's)."""
    taking = {
        opt
        for param in cli.commands[command].params
        if isinstance(param, click.Option) and not param.is_flag and not param.count
        for opt in param.opts
    }
    previous = ""
    for word in words:
        name, sep, _ = word.partition("=")
        if sep and not word.startswith("-") and previous not in taking:
            yield name
        previous = word


_WARM_UP = (
    "x**3 + sin(x) x=[[1,2]]",
    "explain (w*x - y)**2 w=1 x=1 y=2",
    "descend (w*x - y)**2 w=1 x=1 y=2 --wrt w --steps 2",
    "jacobian W@v W=[[1,2],[3,4]] v=[1,-1] --wrt v",
    "hessian x**3*y x=2 y=3",
    "check x**2 --claim x=2*x --samples 1",
)


def warm_up() -> None:
    """Load torch, sympy and the views once, by running a small case of every command (output
    discarded), so that the first answer the user asks for is as quick as the next ones."""
    import contextlib
    import io

    sink = io.StringIO()
    session = Session(echo=lambda text: None)
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for line in _WARM_UP:
            session.handle(line)


def _setup_readline(session: Session) -> Any:
    try:
        import readline
    except ImportError:  # no line editing on this platform; the session still works
        return None
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)

    def complete(text: str, state: int) -> str | None:
        matches = sorted({name for name in session.names() if name.startswith(text)})
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n()*+-/@,=^.'\"")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return readline


def _save_history(readline: Any) -> None:
    if readline is None:
        return
    with contextlib.suppress(OSError):
        readline.write_history_file(history_path())


def loop(session: Session | None = None) -> int:
    session = session or Session()
    click.echo(f"backcalc {__version__}: loading torch and sympy...", err=True)
    warm_up()
    click.echo("ready. Type an expression, `help`, or Ctrl-D to leave.", err=True)
    readline = _setup_readline(session)
    try:
        while True:
            try:
                line = input(PROMPT)
            except KeyboardInterrupt:
                click.echo("", err=True)  # Ctrl-C cancels the line being typed
                continue
            except EOFError:
                click.echo("", err=True)
                break
            try:
                if not session.handle(line):
                    break
            except KeyboardInterrupt:  # between run()'s guard and the prompt
                click.echo("backcalc: interrupted", err=True)
            if readline is not None:
                _save_history(readline)
    finally:
        _save_history(readline)
    return 0


@cli.command("repl", short_help="A live session: assign inputs once, then type expressions and commands.")
def repl_command() -> int:
    """A live session in which torch and sympy load once. Assign inputs (x = [[2,3,1],[4,5,3]]), then
    type expressions and commands as on the command line, without `backcalc`. `help` lists the rest."""
    return loop()
