"""What a descent interrupted by Ctrl-C had done: its steps so far, as a :class:`~backcalc.descend.Descent`."""

from __future__ import annotations

from .compare import Tolerance
from .descend import Descent, Step
from .problem import Problem


def interrupted_descent(
    problem: Problem,
    steps: list[Step],
    lr: float,
    tol: float | None,
    optimizer: str,
    rtol: float | None = None,
    atol: float | None = None,
) -> Descent:
    """The descent up to its last completed step. Its "final" loss and parameters are that step's,
    before that step's update (the update may not have been applied), and the message says so."""
    done = len(steps)
    if steps:
        last = steps[-1]
        final_loss, final_params = last.loss, dict(last.params)
        message = (
            f"interrupted (Ctrl-C) after {done} step{'s' if done != 1 else ''}: "
            f"the final loss and parameters are step {last.step}'s, before its update"
        )
    else:
        final_loss, final_params = float("nan"), {}
        message = "interrupted (Ctrl-C) before the first step"
    return Descent(
        expression=problem.expression,
        parsed=problem.parsed,
        dtype=problem.dtype,
        reduce=problem.reduction,
        optimizer=optimizer,
        lr=lr,
        tol=tol,
        steps=list(steps),
        final_loss=final_loss,
        final_params=final_params,
        converged=False,
        diverged=False,
        tolerance=Tolerance.for_dtype(problem.dtype, rtol, atol),
        message=message,
        interrupted=True,
    )
