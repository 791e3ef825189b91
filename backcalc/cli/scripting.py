"""batch and check: for shell scripts, pipes and autograders."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from typing import Any

import click

from ..errors import ExitStatus, InputError
from .group import LIMITS_HINT, cli, exit_statuses
from .options import complete_value, emit_json, emit_rich, parse_inputs, read_expression

_BATCH_EPILOG = """
Each line: {"expression": "x**2", "inputs": {"x": [1, 2]}, "wrt": ["x"], "dtype": "float64", "reduce": "mean"}
(wrt, dtype, reduce, rtol, atol and check_fd are optional). Each output line is what `grad --json`
prints, plus "line" (0-based). A line with "claims": {"x": "2*x"} is checked as by `backcalc check`.
A bad line gives {"line": N, "error": {"kind": ..., "message": ...}} and the run goes on.
Lines are split on newlines only. NAME=@FILE in a line reads nothing unless --allow-files DIR is
given, and then only regular files below DIR.

\b
Examples:
  backcalc batch cases.jsonl > results.jsonl
  printf '%s\\n' '{"expression": "x**2", "inputs": {"x": 3}}' \\
      | backcalc batch | jq .gradients.x.autograd

Ctrl-C stops the run: the lines already answered stay printed, and the status is 130.
"""
_BATCH_EPILOG += (
    exit_statuses(
        "every case agreed (and every claim was right)",
        "some case disagreed or some claim was wrong",
    ).replace("2 bad input or usage (nothing is computed)", "2 some line was bad, or bad usage")
    + LIMITS_HINT
)


@cli.command("batch", epilog=_BATCH_EPILOG, short_help="Many cases from JSON Lines, one JSON result per line.")
@click.argument("source", default="-", metavar="[FILE|-]", type=click.Path(allow_dash=True))
@click.option(
    "--allow-files",
    type=click.Path(exists=True, file_okay=False),
    metavar="DIR",
    help="Let NAME=@FILE in a line read files below DIR (symlinks resolved). Default: no files are read.",
)
@click.option(
    "--jobs",
    type=click.IntRange(0, 256),
    default=1,
    show_default=True,
    metavar="N",
    help="Processes sharing the work (0: one per core); the output stays in input order.",
)
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
def batch_command(source: str, allow_files: str | None, jobs: int, debug: bool) -> int:
    """Run many cases from JSON Lines (a FILE, or standard input), one JSON result per line."""
    from ..analyses.batch.stream import BatchRun
    from ..inputs.files import FileAccess

    total = None
    if source == "-":
        if sys.stdin is None:
            raise InputError("standard input is closed; give a FILE")
        if sys.stdin.isatty():
            click.echo("backcalc: reading JSON Lines from the terminal; end with Ctrl-D", err=True)
        stream: Any = sys.stdin.buffer
    else:
        stream = _open_source(source)
        if sys.stderr.isatty() and stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            total = _count_lines(stream)
    run = BatchRun(stream, FileAccess.below(allow_files) if allow_files else None, jobs)
    with contextlib.ExitStack() as stack:
        if stream is not getattr(sys.stdin, "buffer", None):
            stack.callback(stream.close)
        if total is not None:
            from rich.console import Console
            from rich.progress import Progress

            progress = stack.enter_context(Progress(console=Console(stderr=True), transient=True))
            task = progress.add_task("cases", total=total)
        try:
            for lines, outputs in run:
                if outputs:
                    click.echo("\n".join(outputs))  # one write and one flush per window
                if total is not None:
                    progress.advance(task, lines)
        except KeyboardInterrupt:
            # The lines already answered are on stdout; say how far it got.
            tally = run.tally
            click.echo(
                f"backcalc: interrupted (Ctrl-C) after {tally.cases} case{'s' if tally.cases != 1 else ''}: "
                f"{tally.agreed} agreed, {tally.disagreed} disagreed, {tally.errors} bad",
                err=True,
            )
            return ExitStatus.INTERRUPTED
    tally = run.tally
    if sys.stderr.isatty():
        click.echo(
            f"backcalc: {tally.cases} cases: {tally.agreed} agreed, {tally.disagreed} disagreed, {tally.errors} bad",
            err=True,
        )
    return tally.status


def _open_source(source: str) -> Any:
    """The batch file, opened as bytes: a regular file or a pipe (not a directory or a device)."""
    try:
        info = os.stat(source)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"cannot read {source!r}: it is a directory")
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
            raise InputError(f"cannot read {source!r}: not a regular file or a pipe")
        return open(source, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {source!r}: {exc.strerror or exc}") from None


def _count_lines(stream: Any) -> int:
    """Lines in a regular file (for the progress bar), then back to its start."""
    count = 0
    last = b"\n"
    while chunk := stream.read(1 << 20):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    stream.seek(0)
    return count + (last != b"\n")


_CHECK_EPILOG = """\b
Examples:
  backcalc check "x**3 + x**2" --claim "x=3x^2 + 2x"
  backcalc check "(w*x - y)**2" w=1 x=1 y=2 \\
      --claim "w=2*x*(w*x - y)" --claim "y=2*(w*x - y)"
  backcalc check "sigmoid(x)" --claim "x=sigmoid(x)*(1 - sigmoid(x))" --json
  backcalc check "sum((A@v - b)**2)" --claim "v=2*A.T@(A@v - b)" \\
      A=@A.npy v=@v.npy b=@b.npy
  backcalc check "y_hat = w*x; s = y_hat - y; loss = s**2" \\
      --claim "s=2*s" --claim "y_hat=ds" --claim "w=dy_hat*x" --summary

A claim is the gradient of the sum of the expression with respect to one input. Element-wise, it is
compared with sympy's derivative symbolically (2 s budget) and numerically at the given inputs and at
random points of the domain. With @, .T, reductions or softmax, the inputs are required (they give
the shapes) and the check is numeric only, against backprop's formula in matrix notation, at the
inputs and at random points of the same shapes. A claim is wrong only with a counterexample, printed
with the element, the claimed value, the true one and torch's autograd value, or when its shape
cannot be the input's.

EXPRESSION may be a program of named steps, from a file with @FILE or from standard input with -.
A claim may be for a program's step, and may use the steps and dNAME, the gradient of the loss with
respect to step NAME (a step after the claim's own, that uses it), as a backward pass is written by
hand. Each claim is graded with the
true dNAME, so one wrong step does not make every later one wrong ("propagated" says whether it is
also right with your own upstream claims); the claims are listed in backward order, the first wrong
one named ("first_wrong"), and a wrong claim that one edit makes right gets its "diagnosis": the
kind of mistake (sign, factor, transpose, swapped, missing_sum, missing_term, extra_term,
wrong_function), the fix, and a one-line message. --summary prints one tab-separated row: right,
the first wrong claim, the kind of its mistake.
"""
_CHECK_EPILOG += exit_statuses("every claim is right", "some claim is wrong") + LIMITS_HINT


@cli.command(
    "check",
    context_settings={"ignore_unknown_options": True},
    epilog=_CHECK_EPILOG,
    short_help="Is a hand-derived gradient right? Check claimed formulas.",
)
@click.argument("expression")
@click.argument("values", nargs=-1, metavar="[NAME=VALUE]...", shell_complete=complete_value)
@click.option(
    "--claim", "claims", multiple=True, required=True, metavar="NAME=FORMULA", help="A claimed gradient (repeatable)."
)
@click.option(
    "--samples", type=click.IntRange(0, 1000), default=5, show_default=True, help="Random points to check at."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random points.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--summary",
    is_flag=True,
    help="Print one row: right, the first wrong claim, the kind of its mistake (tab-separated).",
)
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
def check_command(
    expression: str,
    values: tuple[str, ...],
    claims: tuple[str, ...],
    samples: int,
    seed: int,
    as_json: bool,
    summary: bool,
    debug: bool,
) -> int:
    """Is a hand-derived gradient right? Compare each --claim with the true derivative of EXPRESSION."""
    from ..analyses.check.grade import check

    claimed = claims_of(claims)
    inputs = parse_inputs(expression, values)
    expression = read_expression(expression)
    result = check(expression, claimed, inputs or None, samples=samples, seed=seed)
    if summary:
        from ..render.check_view import summary_row

        click.echo(summary_row(result))
    elif as_json:
        emit_json(result.to_dict())
    else:
        from ..render.check_view import render_check

        emit_rich(lambda console: render_check(result, console))
    return ExitStatus.OK if result.right else ExitStatus.DISAGREE


def claims_of(claims: tuple[str, ...]) -> dict[str, str]:
    """The --claim NAME=FORMULA words as a mapping, each name once."""
    claimed: dict[str, str] = {}
    for item in claims:
        name, sep, formula = item.partition("=")
        if not sep or not formula.strip():
            raise InputError(f"--claim expects NAME=FORMULA, got {item!r}")
        if name.strip() in claimed:
            raise InputError(f"two claims for {name.strip()}")
        claimed[name.strip()] = formula.strip()
    return claimed
