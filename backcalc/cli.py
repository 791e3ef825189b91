"""The ``backcalc`` command: parse options, call the library, pick a renderer. Nothing else.

Importing this module loads click and the light parts of backcalc only; torch, sympy and rich load
when a command actually computes or renders, so ``--help``, ``--version`` and input errors are quick.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__, limits
from .errors import BackcalcError, ExitStatus, InputError

if TYPE_CHECKING:
    from .api import Problem

_EPILOG = """\b
Examples:
  backcalc "x**2" x=4
  backcalc "(w*x - y)**2" w=1 x=1 y=2 --wrt w
  backcalc "x**3 + x**2" "x=[[2,3,1],[4,5,3],[7,6,4]]"
  backcalc "log(x)" "x=[[2,6],[3,7],[9,8]]" --dtype float64 --json | jq .gradients.x.symbolic
  backcalc "tanh(x)*log(x)" x=@data.npy --reduce mean

\b
Values: NAME=4, NAME=[[1,2],[3,4]] (JSON or Python list syntax), NAME=@file.json, NAME=@file.npy.
Integers become floats of --dtype; booleans, strings and nulls are refused.

\b
Exit status: 0 the gradients agree (or differ only at a kink, pole or domain edge, which is
reported), 1 symbolic and autograd disagree, 2 bad input or usage.
"""


class _DefaultGroup(click.Group):
    """A group that runs ``grad`` when the first argument is not a command, and owns the one place
    where errors become exit statuses."""

    default_command = "grad"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help", "-V", "--version"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        if extra.get("standalone_mode") is False:
            return super().main(args, prog_name, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        extra["standalone_mode"] = False
        sys.exit(run(lambda: super(_DefaultGroup, self).main(argv, prog_name or "backcalc", **extra), argv))


def run(invoke: Callable[[], Any], argv: Sequence[str]) -> int:
    """Run a command and map whatever happens to an exit status, with a one-line message on stderr."""
    debug = "--debug" in argv or bool(os.environ.get("BACKCALC_DEBUG"))
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
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK
    except RecursionError:
        if debug:
            raise
        _error("the input is nested too deeply to process")
        return ExitStatus.BAD_INPUT
    except MemoryError:
        _error("out of memory: the input is too large")
        return ExitStatus.BAD_INPUT
    except Exception as exc:  # a bug: say so in one line, show the traceback only with --debug
        if debug:
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)")
        return ExitStatus.INTERNAL


def _error(message: str, details: str | None = None) -> None:
    click.echo(f"backcalc: error: {message}", err=True)
    if details and sys.stderr.isatty():
        click.echo(details, err=True)


@click.group(
    cls=_DefaultGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_EPILOG,
)
@click.version_option(__version__, "-V", "--version", prog_name="backcalc", message="%(prog)s %(version)s")
def cli() -> None:
    """backcalc: a backprop calculator.

    Type an expression and its inputs; backcalc runs the forward pass, reduces the output to a loss,
    derives the gradient of the loss symbolically (sympy) and by autograd (torch), and shows both side
    by side with a verdict. With no command, `grad` is assumed: `backcalc "x**2" x=4`.
    """


_OPTION_LIKE = re.compile(r"--[A-Za-z][A-Za-z0-9-]+(=.*)?\Z", re.DOTALL)


def _check_stray_options(args: Sequence[str]) -> None:
    # grad takes unknown "-..." words as arguments so that `-x**2` is an expression; a "--word" is
    # still a mistyped option.
    for arg in args:
        if _OPTION_LIKE.match(arg):
            raise click.NoSuchOption(arg.split("=")[0])


_LIMITS = "\n\b\nLimits (a larger input is refused with status 2):\n" + limits.describe()
F = TypeVar("F", bound=Callable[..., Any])


def problem_options(command: F) -> F:
    """The arguments and options every computing command shares: the expression, its values, what
    to differentiate, the dtype, the reduction, the tolerances, JSON output and --debug."""
    decorators = [
        click.argument("expression"),
        click.argument("values", nargs=-1, metavar="[NAME=VALUE]..."),
        click.option(
            "--wrt",
            multiple=True,
            metavar="NAME",
            help="Differentiate with respect to NAME (repeatable). Default: every input.",
        ),
        click.option(
            "--dtype",
            type=click.Choice(["float32", "float64"]),
            default="float32",
            show_default=True,
            help="Floating point type of the computation.",
        ),
        click.option(
            "--reduce",
            "reduction",
            type=click.Choice(["sum", "mean"]),
            default="sum",
            show_default=True,
            help="How a non-scalar output becomes the loss, as y.sum().backward().",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of tables."),
        click.option(
            "--rtol",
            type=click.FloatRange(min=0),
            help="Relative tolerance. Default: torch.testing.assert_close's for the dtype.",
        ),
        click.option(
            "--atol",
            type=click.FloatRange(min=0),
            help="Absolute tolerance. Default: torch.testing.assert_close's for the dtype.",
        ),
        click.option("--debug", is_flag=True, help="Show a traceback on errors."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def load_problem(expression: str, values: Sequence[str], wrt: Sequence[str], dtype: str, reduction: str) -> Problem:
    """Parse and check the command line's expression and values (no torch, no sympy)."""
    from .api import prepare

    return prepare(expression, parse_inputs(expression, values), list(wrt) or None, dtype, reduction)


def parse_inputs(expression: str, values: Sequence[str]) -> dict[str, Any]:
    """The command line's NAME=VALUE words, each parsed (no torch, no sympy)."""
    from .values import parse_value, split_assignment

    _check_stray_options([expression, *values])
    inputs: dict[str, Any] = {}
    for item in values:
        name, text = split_assignment(item)
        if name in inputs:
            raise InputError(f"{name} is given twice")
        inputs[name] = parse_value(text, name)
    return inputs


def emit_json(data: dict[str, Any]) -> None:
    from .render.json_view import dumps

    click.echo(dumps(data, pretty=sys.stdout.isatty()))


def emit_rich(draw: Callable[[Any], None]) -> None:
    from .render.terminal import make_console, show

    show(make_console(), draw)


def status_of(verdict: str) -> int:
    return ExitStatus.DISAGREE if verdict == "disagree" else ExitStatus.OK


@cli.command(
    "grad",
    context_settings={"ignore_unknown_options": True},
    epilog=_EPILOG + _LIMITS,
    short_help="Gradient of the loss: symbolic (sympy) beside autograd (torch). The default.",
)
@problem_options
@click.option("--check-fd", is_flag=True, help="Add central finite differences (float64) as a third witness.")
@click.option("--simplify", is_flag=True, help="Simplify the shown formulas with sympy (2 s budget each).")
def grad(
    expression: str,
    values: tuple[str, ...],
    wrt: tuple[str, ...],
    dtype: str,
    reduction: str,
    as_json: bool,
    rtol: float | None,
    atol: float | None,
    debug: bool,
    check_fd: bool,
    simplify: bool,
) -> int:
    """Gradient of EXPRESSION's loss, symbolic (sympy) beside autograd (torch).

    EXPRESSION uses numbers, names, + - * / ** (or ^), parentheses, implicit products after a number
    (2x, 3(x+1)), the constants pi and e, the element-wise functions exp log ln sqrt abs sin cos
    tan asin acos atan sinh cosh tanh sigmoid relu softplus, and the tensor operations @ (matmul),
    .T, transpose, sum, mean (each with an optional dim), logsumexp, softmax, dot and norm. Every
    other name is an input.
    """
    from .api import compute

    problem = load_problem(expression, values, wrt, dtype, reduction)
    result = compute(problem, rtol, atol, check_fd=check_fd, simplify=simplify)
    if as_json:
        emit_json(result.to_dict())
    else:
        from .render.terminal import render_gradient

        emit_rich(lambda console: render_gradient(result, console))
    return status_of(result.verdict)


_EXPLAIN_EPILOG = """\b
Examples:
  backcalc explain "(w*x - y)**2" w=1 x=1 y=2
  backcalc explain "w*x + w" w=2 x=3 --json | jq '.nodes[] | {id, grad}'
  backcalc explain "tanh(w*x + b)" w=0.5 x=2 b=0.1 --dot graph.dot --svg graph.svg
  backcalc explain "x**3 + x**2" x=2 --latex
"""


@cli.command(
    "explain",
    context_settings={"ignore_unknown_options": True},
    epilog=_EXPLAIN_EPILOG + _LIMITS,
    short_help="The backward pass step by step: graph, local gradients, chain rule.",
)
@problem_options
@click.option(
    "--dot", "dot_file", type=click.Path(dir_okay=False, writable=True), help="Write the graph as Graphviz DOT."
)
@click.option(
    "--svg",
    "svg_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Render the graph to SVG (needs Graphviz's dot).",
)
@click.option(
    "--png",
    "png_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Render the graph to PNG (needs Graphviz's dot).",
)
@click.option("--latex", is_flag=True, help="Print the local gradients and the chain rule as LaTeX.")
def explain_command(
    expression: str,
    values: tuple[str, ...],
    wrt: tuple[str, ...],
    dtype: str,
    reduction: str,
    as_json: bool,
    rtol: float | None,
    atol: float | None,
    debug: bool,
    dot_file: str | None,
    svg_file: str | None,
    png_file: str | None,
    latex: bool,
) -> int:
    """The backward pass of EXPRESSION step by step: the graph as typed, each node's forward value,
    the local gradient of every edge, and the chain rule down to the inputs, each node checked against
    torch's own gradient (retain_grad).
    """
    from .render import graphviz

    if (svg_file or png_file) and not graphviz.dot_program():
        raise InputError(
            "--svg and --png need Graphviz's `dot` program, which is not installed "
            "(apt-get install graphviz); --dot FILE writes the graph without it"
        )
    from .explain import explain

    problem = load_problem(expression, values, wrt, dtype, reduction)
    explanation = explain(problem, rtol, atol)
    if dot_file or svg_file or png_file:
        source = graphviz.to_dot(explanation)
        if dot_file:
            graphviz.write_text(dot_file, source)
        for path, fmt in ((svg_file, "svg"), (png_file, "png")):
            if path:
                graphviz.render(source, path, fmt)
    if as_json:
        emit_json(explanation.to_dict())
    elif latex:
        from .render.latex import explanation_latex

        click.echo(explanation_latex(explanation))
    else:
        from .render.explain_view import render_explanation

        emit_rich(lambda console: render_explanation(explanation, console))
    return status_of(explanation.verdict)


_BATCH_EPILOG = """\b
Each line: {"expression": "x**2", "inputs": {"x": [1, 2]}, "wrt": ["x"], "dtype": "float64", "reduce": "mean"}
(wrt, dtype, reduce, rtol, atol and check_fd are optional). Each output line is what `grad --json`
prints, plus "line" (0-based). A line with "claims": {"x": "2*x"} is checked as by `backcalc check`.
A bad line gives {"line": N, "error": {"kind": ..., "message": ...}} and the run goes on.

\b
Examples:
  backcalc batch cases.jsonl > results.jsonl
  printf '%s\\n' '{"expression": "x**2", "inputs": {"x": 3}}' | backcalc batch | jq .gradients.x.autograd

\b
Exit status: 0 every case agreed (and every claim was right), 1 some case disagreed or some claim was
wrong, 2 some line was bad.
"""


@cli.command("batch", epilog=_BATCH_EPILOG, short_help="Many cases from JSON Lines, one JSON result per line.")
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
def batch_command(source: str, debug: bool) -> int:
    """Run many cases from JSON Lines (a FILE, or standard input), one JSON result per line."""
    from .batch import Batch

    runner = Batch()
    if source == "-":
        if sys.stdin.isatty():
            click.echo("backcalc: reading JSON Lines from the terminal; end with Ctrl-D", err=True)
        lines: Any = sys.stdin
        total = None
    else:
        try:
            with open(source, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {source!r}: {getattr(exc, 'strerror', None) or exc}") from None
        total = len(lines)
    from .render.json_view import dumps

    def emit(number: int, text: str) -> None:
        output = runner.run_line(text, number)
        if output is not None:
            click.echo(dumps(output))

    if total is not None and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("cases", total=total)
            for number, text in enumerate(lines):
                emit(number, text)
                progress.advance(task)
    else:
        for number, text in enumerate(lines):
            emit(number, text.rstrip("\n"))
    tally = runner.tally
    if sys.stderr.isatty():
        click.echo(
            f"backcalc: {tally.cases} cases: {tally.agreed} agreed, {tally.disagreed} disagreed, {tally.errors} bad",
            err=True,
        )
    return tally.status


_CHECK_EPILOG = """\b
Examples:
  backcalc check "x**3 + x**2" --claim "x=3x^2 + 2x"
  backcalc check "(w*x - y)**2" --claim "w=2*x*(w*x - y)" --claim "y=2*(w*x - y)" w=1 x=1 y=2
  backcalc check "sigmoid(x)" --claim "x=sigmoid(x)*(1 - sigmoid(x))" --json | jq .right

\b
A claim is the derivative of the expression with respect to one input, element-wise (the gradient
of the sum). It is compared with sympy's derivative symbolically (2 s budget) and numerically at the
given inputs and at random points of the domain; it is wrong only with a counterexample, printed with
the claimed value, the true one and torch's autograd value.

\b
Exit status: 0 every claim is right, 1 some claim is wrong, 2 bad input or usage.
"""


@cli.command(
    "check",
    context_settings={"ignore_unknown_options": True},
    epilog=_CHECK_EPILOG,
    short_help="Is a hand-derived gradient right? Check claimed formulas.",
)
@click.argument("expression")
@click.argument("values", nargs=-1, metavar="[NAME=VALUE]...")
@click.option(
    "--claim", "claims", multiple=True, required=True, metavar="NAME=FORMULA", help="A claimed gradient (repeatable)."
)
@click.option(
    "--samples", type=click.IntRange(0, 1000), default=5, show_default=True, help="Random points to check at."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random points.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
def check_command(
    expression: str,
    values: tuple[str, ...],
    claims: tuple[str, ...],
    samples: int,
    seed: int,
    as_json: bool,
    debug: bool,
) -> int:
    """Is a hand-derived gradient right? Compare each --claim with the true derivative of EXPRESSION."""
    from .check import check

    claimed: dict[str, str] = {}
    for item in claims:
        name, sep, formula = item.partition("=")
        if not sep or not formula.strip():
            raise InputError(f"--claim expects NAME=FORMULA, got {item!r}")
        if name.strip() in claimed:
            raise InputError(f"two claims for {name.strip()}")
        claimed[name.strip()] = formula.strip()
    inputs = parse_inputs(expression, values)
    result = check(expression, claimed, inputs or None, samples=samples, seed=seed)
    if as_json:
        emit_json(result.to_dict())
    else:
        from .render.check_view import render_check

        emit_rich(lambda console: render_check(result, console))
    return ExitStatus.OK if result.right else ExitStatus.DISAGREE


_DESCEND_EPILOG = """\b
Examples:
  backcalc descend "(w*x - y)**2" w=1 x=1 y=2 --wrt w --lr 0.1
  backcalc descend "(w*x + b - y)**2" w=0 b=0 "x=[1,2,3,4]" "y=[3,5,7,9]" --wrt w --wrt b \\
      --reduce mean --lr 0.05 --optimizer adam --steps 2000 --plot descent.png
  backcalc descend "(w*x - y)**2" w=1 x=1 y=2 --wrt w --lr 0.1 --json | jq .final

\b
Each step: the forward pass, the gradient by sympy and by torch (compared), then the update by
torch.optim (sgd; momentum is SGD with momentum 0.9; adam). It stops after --steps, when the loss
changes by less than --tol, or when the loss becomes inf or nan.

\b
Exit status: 0 done, 1 symbolic and autograd disagreed at some step, 2 bad input or usage,
3 the descent diverged (the loss became inf or nan).
"""


@cli.command(
    "descend",
    context_settings={"ignore_unknown_options": True},
    epilog=_DESCEND_EPILOG + _LIMITS,
    short_help="Gradient descent: update the weights and repeat until optimal.",
)
@problem_options
@click.option("--lr", type=float, default=0.1, show_default=True, help="Learning rate.")
@click.option("--steps", type=click.IntRange(1, 1_000_000), default=100, show_default=True, help="Most steps to take.")
@click.option(
    "--tol", type=click.FloatRange(min=0), default=1e-10, show_default=True, help="Stop when the loss changes by less."
)
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), default="sgd", show_default=True)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Save a PNG plot of loss and parameters (needs matplotlib: pip install 'backcalc[plot]').",
)
def descend_command(
    expression: str,
    values: tuple[str, ...],
    wrt: tuple[str, ...],
    dtype: str,
    reduction: str,
    as_json: bool,
    rtol: float | None,
    atol: float | None,
    debug: bool,
    lr: float,
    steps: int,
    tol: float,
    optimizer: str,
    plot_file: str | None,
) -> int:
    """Gradient descent on EXPRESSION's loss over the --wrt inputs, each step checked (sympy vs torch)."""
    if not wrt:
        raise InputError("descend needs --wrt NAME: the inputs to update")
    if plot_file:
        from .render.descend_view import plot_available

        if not plot_available():
            raise InputError("--plot needs matplotlib, which is not installed: pip install 'backcalc[plot]'")
    from .descend import descend

    problem = load_problem(expression, values, wrt, dtype, reduction)
    if as_json or not sys.stdout.isatty():
        descent = descend(problem, lr, steps, tol, optimizer, rtol, atol)
    else:
        from .render.descend_view import live_view
        from .render.terminal import make_console

        with live_view(steps, problem.wrt, dtype, make_console()) as update:
            descent = descend(problem, lr, steps, tol, optimizer, rtol, atol, on_step=update)
    if plot_file:
        from .render.descend_view import save_plot

        save_plot(descent, plot_file)
    if as_json:
        emit_json(descent.to_dict())
    else:
        from .render.descend_view import render_descent

        emit_rich(lambda console: render_descent(descent, console))
    if descent.diverged:
        click.echo(f"backcalc: {descent.message}", err=True)
        return ExitStatus.DIVERGED
    return ExitStatus.OK if descent.agree else ExitStatus.DISAGREE


_DERIVATIVES_EPILOG = """\b
Examples:
  backcalc jacobian "W@x" "W=[[1,2],[3,4],[5,6]]" "x=[1,-1]" --wrt x
  backcalc jacobian "softmax(z)" "z=[1,2,3]" --json | jq .jacobian.z.autograd
  backcalc hessian "sum((W@x - y)**2)" "W=[[1,2],[3,4],[5,6]]" "x=[1,-1]" "y=[0,1,2]" --wrt x
  backcalc hessian "x**3*y" x=2 y=3 --dtype float64

\b
The Jacobian of input NAME has the output's dimensions, then NAME's. The Hessian is of the loss
(the output, or its sum or mean) over every element of the --wrt inputs (default: all), flattened in
order; "variables" in the JSON names them. Both are computed by sympy element by element (each
element its own symbol) and by torch (torch.autograd.functional.jacobian, torch.func.hessian).

\b
Exit status: 0 they agree, 1 they disagree, 2 bad input or usage.
"""


def _derivatives_command(kind: str) -> Callable[..., int]:
    def command(
        expression: str,
        values: tuple[str, ...],
        wrt: tuple[str, ...],
        dtype: str,
        reduction: str,
        as_json: bool,
        rtol: float | None,
        atol: float | None,
        debug: bool,
    ) -> int:
        from . import derivatives

        problem = load_problem(expression, values, wrt, dtype, reduction)
        result = (derivatives.jacobian if kind == "jacobian" else derivatives.hessian)(problem, rtol, atol)
        if as_json:
            emit_json(result.to_dict())
        else:
            from .render.derivatives_view import render_derivatives

            emit_rich(lambda console: render_derivatives(result, console))
        return ExitStatus.OK if result.agree else ExitStatus.DISAGREE

    return command


jacobian_command = cli.command(
    "jacobian",
    context_settings={"ignore_unknown_options": True},
    epilog=_DERIVATIVES_EPILOG + _LIMITS,
    short_help="The Jacobian of the output: sympy beside torch.",
    help="The Jacobian of EXPRESSION's output with respect to each input, symbolic beside autograd.",
)(problem_options(_derivatives_command("jacobian")))

hessian_command = cli.command(
    "hessian",
    context_settings={"ignore_unknown_options": True},
    epilog=_DERIVATIVES_EPILOG + _LIMITS,
    short_help="The Hessian of the loss: sympy beside torch.",
    help="The Hessian of EXPRESSION's loss over the elements of the inputs, symbolic beside autograd.",
)(problem_options(_derivatives_command("hessian")))
