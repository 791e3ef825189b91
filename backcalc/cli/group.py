"""The ``backcalc`` group: the default command, misspelled commands and options, and :func:`run`, the
one place where errors become exit statuses."""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from .._version import __version__
from ..errors import BackcalcError, ExitStatus, InputError

if TYPE_CHECKING:
    pass

_EPILOG = """\b
Examples:
  backcalc "x**2" x=4
  backcalc grad "(w*x - y)**2" w=1 x=1 y=2 --wrt w
  backcalc explain "(w*x - y)**2" w=1 x=1 y=2
  backcalc descend "(w*x - y)**2" w=1 x=1 y=2 --wrt w --lr 0.1
  backcalc help grad      (or: backcalc COMMAND --help)
  backcalc help limits

Values: NAME=4, NAME=[[1,2],[3,4]] (JSON or Python list syntax), NAME=@file.json, NAME=@file.npy,
NAME=@- (one value from standard input). "-" as the expression reads it from standard input.
"""


def exit_statuses(ok: str, disagree: str, *more: str) -> str:
    """The exit-status paragraph of a command's help: every status the command can end with."""
    lines = [f"0 {ok}", f"1 {disagree}", "2 bad input or usage (nothing is computed)", *more]
    lines += [
        "70 an internal error (a bug: please report it)",
        "74 the output could not be written",
        "130 interrupted (Ctrl-C)",
    ]
    return "\n\b\nExit status:\n" + "\n".join(f"  {line}" for line in lines) + "\n"


LIMITS_HINT = "\n\b\nLimits: a larger input is refused with status 2; see `backcalc help limits`.\n"


class _DefaultGroup(click.Group):
    """A group that runs ``grad`` when the first argument is not a command, and owns the one place
    where errors become exit statuses."""

    default_command = "grad"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and sys.stdin.isatty() and sys.stdout.isatty():
            args = ["repl"]  # `backcalc` alone on a terminal: a live session (elsewhere: the help)
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help", "-V", "--version"):
            _refuse_misspelled_command(args, sorted(self.commands))
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            # click's main() turns EPIPE into exit status 1, which here means "disagree": pass it by.
            raise _ReaderGoneError() from exc

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        if extra.get("standalone_mode") is False:
            return super().main(args, prog_name, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        extra["standalone_mode"] = False
        _no_last_collection_at_exit()
        sys.exit(run(lambda: super(_DefaultGroup, self).main(argv, prog_name or "backcalc", **extra), argv))


_AT_EXIT: list[bool] = []


def _no_last_collection_at_exit() -> None:
    """Exit without the interpreter's last garbage collection, which walks every object torch and sympy
    made (about 0.5 s of a 2 s answer): at exit, after the other atexit handlers (registered later, so
    run first), the objects left are frozen out of the collector's reach. The output is flushed and the
    files closed as before; only finalizers of objects in reference cycles are not run at exit, which
    Python does not promise anyway."""
    if not _AT_EXIT:
        import atexit
        import gc

        atexit.register(gc.freeze)
        _AT_EXIT.append(True)


def _refuse_misspelled_command(args: list[str], commands: list[str]) -> None:
    """``backcalc explian ...`` is a misspelled command, not the expression "explian": a lone word
    close to a command's name, that no NAME=VALUE gives a value to."""
    import difflib

    from .. import ops

    word = args[0]
    if not re.fullmatch(r"[A-Za-z]{3,}", word) or ops.function(word) is not None:
        return
    if any(arg.startswith(f"{word}=") for arg in args[1:]):
        return
    matches = difflib.get_close_matches(word.lower(), commands, n=1, cutoff=0.6)
    if matches:
        raise InputError(f"no such command {word!r}; did you mean {matches[0]!r}?")


def run(invoke: Callable[[], Any], argv: Sequence[str]) -> int:
    """Run a command and map whatever happens to an exit status, with a one-line message on stderr."""
    debug = "--debug" in argv or bool(os.environ.get("BACKCALC_DEBUG"))
    if not debug:  # NumPy's overflow and invalid-value warnings: the verdict says what they mean
        warnings.filterwarnings("ignore", category=RuntimeWarning)
    if sys.stdout is None:  # started with stdout closed (`>&-`): nothing could be written
        _error("cannot write the output: standard output is closed")
        return ExitStatus.IO_ERROR
    try:
        result = invoke()
        return int(result) if isinstance(result, int) else ExitStatus.OK
    except BackcalcError as exc:
        if debug:
            raise
        _error(exc.one_line(), exc.details())
        return exc.exit_status
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return ExitStatus.OK
    except click.ClickException as exc:
        _error(" ".join(exc.format_message().split()))
        return ExitStatus.BAD_INPUT
    except (click.exceptions.Abort, KeyboardInterrupt):
        _error("interrupted")
        return ExitStatus.INTERRUPTED
    except (BrokenPipeError, _ReaderGoneError):
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK
    except OSError as exc:  # files are read in the library, which turns their errors into InputError
        _error(f"cannot write the output: {exc.strerror or exc}")
        return ExitStatus.IO_ERROR
    except RecursionError:
        if debug:
            raise
        _error("the input is nested too deeply to process")
        return ExitStatus.BAD_INPUT
    except Exception as exc:  # out of memory, or a bug: say so in one line; the traceback only with --debug
        from ..language.workload import out_of_memory

        memory = out_of_memory(exc)
        if memory is not None:
            _error(memory.one_line())
            return memory.exit_status
        if debug:
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)")
        return ExitStatus.INTERNAL


class _ReaderGoneError(Exception):
    """The reader of stdout went away (`| head`)."""


def _error(message: str, details: str | None = None) -> None:
    click.echo(f"backcalc: error: {message}", err=True)
    if details and sys.stderr.isatty():
        click.echo(details, err=True)


@click.group(
    cls=_DefaultGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_EPILOG
    + exit_statuses(
        "the gradients agree (or differ only where no derivative exists)",
        "symbolic and autograd disagree (check: some claim is wrong)",
        "3 descend: the loss became inf or nan",
    )
    + LIMITS_HINT,
)
@click.version_option(__version__, "-V", "--version", prog_name="backcalc", message="%(prog)s %(version)s")
def cli() -> None:
    """backcalc: a backprop calculator.

    Type an expression and its inputs; backcalc runs the forward pass, reduces the output to a loss,
    derives the gradient of the loss symbolically (sympy) and by autograd (torch), and shows both side
    by side with a verdict. With no command, `grad` is assumed: `backcalc "x**2" x=4`.
    """
