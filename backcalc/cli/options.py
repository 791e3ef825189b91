"""What the commands share: the problem options (``ProblemArgs``), value parsing and completion, and
emitting JSON or the terminal view."""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import click

from .. import limits
from ..errors import BackcalcError, InputError

if TYPE_CHECKING:
    from ..analyses.problem import Problem

_OPTION_LIKE = re.compile(r"--[A-Za-z][A-Za-z0-9-]+(=.*)?\Z", re.DOTALL)


def _check_stray_options(args: Sequence[str]) -> None:
    # grad takes unknown "-..." words as arguments so that `-x**2` is an expression; a "--word" is
    # still a mistyped option.
    for arg in args:
        if _OPTION_LIKE.match(arg):
            name = arg.split("=")[0]
            raise InputError(f"no such option {name!r}", help=_closest_option(name))


def _closest_option(name: str) -> str | None:
    import difflib

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    options = [opt for param in ctx.command.params if not getattr(param, "hidden", False) for opt in param.opts]
    matches = difflib.get_close_matches(name, [opt for opt in options if opt.startswith("--")], n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else f"see `backcalc {ctx.info_name} --help`"


@dataclass(frozen=True)
class ProblemArgs:
    """What every computing command is given in common, collected by :func:`problem_options`."""

    expression: str
    values: tuple[str, ...]
    wrt: tuple[str, ...]
    dtype: str
    reduction: str
    as_json: bool
    rtol: float | None
    atol: float | None
    debug: bool  # read by run() from argv; kept here so that no command has to accept it

    def problem(self) -> Problem:
        """Parse and check the expression and values (no torch, no sympy)."""
        from ..analyses.problem import prepare

        inputs = parse_inputs(self.expression, self.values)
        expression = read_expression(self.expression)
        return prepare(expression, inputs, list(self.wrt) or None, self.dtype, self.reduction)


def complete_value(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """``NAME=@<TAB>`` completes file names (the .json and .npy files, and directories)."""
    from click.shell_completion import CompletionItem

    name, sep, rest = incomplete.partition("=")
    before = list(ctx.params.get("values") or ())
    if before and before[-1] in ("@", "=@"):
        # bash breaks words at "=" and "@" (COMP_WORDBREAKS): "x=@da" arrives as "x", "=@", "da";
        # readline keeps "@" (one of its special prefixes) in the word it replaces, so it is given back.
        prefix, typed = "@", incomplete
    elif incomplete.startswith("@"):
        # bash splits words at "=" (COMP_WORDBREAKS): the word being completed is then "@..." alone.
        prefix, typed = "@", incomplete[1:]
    elif sep and rest.startswith("@"):
        prefix, typed = f"{name}=@", rest[1:]
    else:
        return []
    folder, _, start = typed.rpartition("/")
    try:
        entries = sorted(os.scandir(folder or "."), key=lambda entry: entry.name)
    except OSError:
        return []
    items = []
    for entry in entries:
        if not entry.name.startswith(start) or (entry.name.startswith(".") and not start.startswith(".")):
            continue
        path = f"{folder}/{entry.name}" if folder else entry.name
        if entry.is_dir():
            items.append(CompletionItem(f"{prefix}{path}/", type="plain"))
        elif entry.name.endswith((".json", ".npy")):
            items.append(CompletionItem(f"{prefix}{path}", type="plain"))
    return items


def _refuse_reduce(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None:
        raise InputError(
            f"{ctx.info_name} has no --reduce: the Jacobian is of the output itself, element by element "
            "(the Hessian is of the reduced loss: use `backcalc hessian --reduce ...`)"
        )
    return value


def _reduce_option(reduce: bool) -> Callable[..., Any]:
    """--reduce, or (``reduce=False``) a hidden one that refuses any value with a reason."""
    if not reduce:
        return click.option("--reduce", "reduction", hidden=True, expose_value=True, callback=_refuse_reduce)
    return click.option(
        "--reduce",
        "reduction",
        type=click.Choice(["sum", "mean"]),
        default="sum",
        show_default=True,
        help="How a non-scalar output becomes the loss, as y.sum().backward().",
    )


def problem_options(
    command: Callable[..., int] | None = None,
    *,
    reduce: bool = True,
    wrt_help: str = "Differentiate with respect to NAME (repeatable). Default: every input.",
) -> Any:
    """The arguments and options every computing command shares: the expression, its values, what
    to differentiate, the dtype, the reduction, the tolerances, JSON output and --debug. The command
    receives them as one :class:`ProblemArgs`, then its own options as keywords. ``reduce=False``
    leaves --reduce out (and refuses it with a reason), for a command that has no loss."""
    if command is None:
        return functools.partial(problem_options, reduce=reduce, wrt_help=wrt_help)
    shared = [field.name for field in fields(ProblemArgs)]

    @functools.wraps(command)
    def collect(**options: Any) -> int:
        if not reduce:
            options["reduction"] = "sum"
        return command(ProblemArgs(**{name: options.pop(name) for name in shared}), **options)

    reduce_option = _reduce_option(reduce)
    decorators = [
        click.argument("expression"),
        click.argument("values", nargs=-1, metavar="[NAME=VALUE]...", shell_complete=complete_value),
        click.option("--wrt", multiple=True, metavar="NAME", help=wrt_help),
        click.option(
            "--dtype",
            type=click.Choice(["float32", "float64"]),
            default="float32",
            show_default=True,
            help="Floating point type of the computation.",
        ),
        reduce_option,
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of tables."),
        click.option(
            "--rtol",
            type=float,
            callback=tolerance_option,
            help="Relative tolerance. Default: torch.testing.assert_close's for the dtype.",
        ),
        click.option(
            "--atol",
            type=float,
            callback=tolerance_option,
            help="Absolute tolerance. Default: torch.testing.assert_close's for the dtype.",
        ),
        click.option("--debug", is_flag=True, help="Show a traceback on errors."),
    ]
    wrapped: Callable[..., int] = collect
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return wrapped


def tolerance_option(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """--rtol and --atol: a finite number >= 0 (click's FloatRange lets nan and inf through)."""
    from ..inputs.values import check_tolerance

    return check_tolerance(f"--{param.name}", value)


def finite_option(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A float option that must be finite (nan and inf are refused)."""
    if not math.isfinite(value):
        raise InputError(f"--{param.name} must be a finite number, not {value}")
    return value


def parse_inputs(expression: str, values: Sequence[str]) -> dict[str, Any]:
    """The command line's NAME=VALUE words, each parsed (no torch, no sympy)."""
    from ..inputs.files import ANYWHERE
    from ..inputs.values import parse_value, split_assignment

    _check_stray_options([expression, *values])
    stdin_uses = [item for item in values if item.partition("=")[2].strip() == "@-"]
    if len(stdin_uses) + (expression == "-") > 1:
        raise InputError("standard input can be read once: give one of the expression (-) or a NAME=@- from it")
    inputs: dict[str, Any] = {}
    for item in values:
        if "=" not in item:
            raise InputError(f"expected NAME=VALUE, got {item!r}", help=_name_for(expression, values, item))
        name, text = split_assignment(item)
        if name in inputs:
            raise InputError(f"{name} is given twice")
        inputs[name] = parse_value(text, name, ANYWHERE)  # the user typed the path
    return inputs


def _name_for(expression: str, values: Sequence[str], value: str) -> str | None:
    """``backcalc "x**2" 4``: the value was meant for the expression's input that has none."""
    from ..language.program import parse_program

    try:
        variables = parse_program(expression).variables() if expression != "-" and expression[:1] != "@" else []
    except BackcalcError:
        return None
    named = {item.partition("=")[0].strip() for item in values if "=" in item}
    free = [name for name in variables if name not in named]
    if free:
        return f"did you mean '{free[0]}={value}'?"
    return "give each value as NAME=VALUE"


def read_expression(expression: str) -> str:
    """The expression (or program) itself; for "@FILE", the file's text; for "-", the text on standard
    input (without its final newline)."""
    if expression.startswith("@") and len(expression) > 1:
        from ..inputs.files import ANYWHERE, read_program

        return read_program(expression[1:], ANYWHERE)  # the user typed the path
    if expression != "-":
        return expression
    if sys.stdin.isatty():
        click.echo("backcalc: reading the expression from the terminal; end with Ctrl-D", err=True)
    text = sys.stdin.read(limits.MAX_EXPRESSION_LENGTH + 2)
    if not text.strip():
        raise InputError("the expression is - (standard input), but standard input is empty")
    return text.removeprefix("\ufeff").rstrip("\r\n")  # a byte-order mark, as a program file may have


def emit_json(data: dict[str, Any]) -> None:
    from ..render.json_view import dumps

    click.echo(dumps(data, pretty=sys.stdout.isatty()))


def emit_rich(draw: Callable[[Any], None]) -> None:
    from ..render.terminal import make_console, show

    show(make_console(), draw)


emit_option = click.option(
    "--emit",
    type=click.Choice(["numpy", "torch"]),
    default=None,
    help="Print only a self-contained Python file (NumPy or torch) defining loss(**inputs) and "
    "gradient(**inputs) (a dict, input name to array) from backcalc's formulas; running it prints them at "
    "the given inputs. Not with --json (exit 2).",
)


def emitted(args: ProblemArgs, target: str, command: str) -> int:
    """Print the code of ``--emit`` (and nothing else, so that ``> f.py`` makes the file)."""
    if args.as_json:
        raise InputError("--emit prints Python code, not JSON: give one of --emit and --json")
    from ..analyses import emit

    problem = args.problem()
    code = emit.emit_gradient(problem, target) if command == "grad" else emit.emit_hessian_of(problem, target)
    click.echo(code, nl=False)
    return 0


full_option = click.option(
    "--full", is_flag=True, help="Print every element of large tensors (by default: the corners, and what is shown)."
)


def status_of(verdict: Any) -> int:
    """The exit status of a verdict (a :class:`backcalc.numeric.verdict.Word`)."""
    from ..numeric.verdict import exit_status

    return exit_status(verdict)
