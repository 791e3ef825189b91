"""descend: gradient descent, each step checked."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from ..errors import ExitStatus, InputError

if TYPE_CHECKING:
    from ..analyses.descend import Descent

from .group import LIMITS_HINT, cli, exit_statuses
from .options import ProblemArgs, emit_json, emit_rich, finite_option, full_option, problem_options

_DESCEND_EPILOG = """\b
Examples:
  backcalc descend "(w*x - y)**2" w=1 x=1 y=2 --wrt w --lr 0.1
  backcalc descend "(w*x + b - y)**2" w=0 b=0 "x=[1,2,3,4]" "y=[3,5,7,9]" \\
      --wrt w --wrt b --reduce mean --lr 0.05 --optimizer adam --steps 2000 \\
      --plot descent.png
  backcalc descend "(w*x - y)**2" w=1 x=1 y=2 --wrt w --json | jq .final

Each step: the forward pass, the gradient by sympy and by torch (compared), then the update by
torch.optim (sgd; momentum is SGD with momentum 0.9; adam). It stops after --steps, when the loss
changes by less than --tol, or when the loss becomes inf or nan. Ctrl-C stops it: the steps
done so far are shown, and the status is 130.
"""
_DESCEND_EPILOG += (
    exit_statuses(
        "done (converged or out of steps)",
        "symbolic and autograd disagreed at some step",
        "3 the descent diverged (the loss became inf or nan)",
    )
    + LIMITS_HINT
)


@cli.command(
    "descend",
    context_settings={"ignore_unknown_options": True},
    epilog=_DESCEND_EPILOG,
    short_help="Gradient descent: update the weights and repeat until optimal.",
)
@problem_options(wrt_help="Update NAME (repeatable; required: descend has no default).")
@click.option("--lr", type=float, default=0.1, show_default=True, callback=finite_option, help="Learning rate.")
@click.option("--steps", type=click.IntRange(1, 1_000_000), default=100, show_default=True, help="Most steps to take.")
@click.option(
    "--tol",
    type=click.FloatRange(min=0),
    default=1e-10,
    show_default=True,
    callback=finite_option,
    help="Stop when the loss changes by less.",
)
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), default="sgd", show_default=True)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Save a PNG plot of loss and parameters (needs matplotlib: pip install 'backcalc[plot]').",
)
@full_option
def descend_command(
    args: ProblemArgs,
    lr: float,
    steps: int,
    tol: float,
    optimizer: str,
    plot_file: str | None,
    full: bool,
) -> int:
    """Gradient descent on EXPRESSION's loss over the --wrt inputs, each step checked (sympy vs torch)."""
    if not args.wrt:
        names = [value.partition("=")[0] for value in args.values if "=" in value]
        raise InputError(
            "descend needs --wrt NAME: the inputs to update", help=f"try --wrt {names[0]}" if names else None
        )
    if plot_file:
        from ..render.descend_view import plot_available

        if not plot_available():
            raise InputError("--plot needs matplotlib, which is not installed: pip install 'backcalc[plot]'")
    from ..analyses.descend import descend

    problem = args.problem()
    rtol, atol = args.rtol, args.atol
    if args.as_json or not sys.stdout.isatty():
        descent = descend(problem, lr, steps, tol, optimizer, rtol, atol)
    else:
        from ..render.descend_view import live_view
        from ..render.terminal import make_console

        with live_view(steps, problem.wrt, problem.dtype, make_console()) as update:
            descent = descend(problem, lr, steps, tol, optimizer, rtol, atol, on_step=update)
    if descent.interrupted:  # Ctrl-C: what was done so far, then status 130
        _show(descent, args.as_json, full)
        click.echo(f"backcalc: {descent.message}", err=True)
        return ExitStatus.INTERRUPTED
    if plot_file:
        from ..render.descend_view import save_plot

        save_plot(descent, plot_file)
    _show(descent, args.as_json, full)
    if descent.diverged:
        click.echo(f"backcalc: {descent.message}", err=True)
        return ExitStatus.DIVERGED
    return ExitStatus.OK if descent.agree else ExitStatus.DISAGREE


def _show(descent: Descent, as_json: bool, full: bool = False) -> None:
    if as_json:
        emit_json(descent.to_dict())
    else:
        from ..render.descend_view import render_descent

        emit_rich(lambda console: render_descent(descent, console, full))
