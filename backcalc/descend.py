"""Gradient descent, as the seed's first cell ends: "update the weights and repeat the forward and
back prop till you get optimal w". Each step runs the forward pass, both gradients (symbolic and
autograd, compared), and the update by a torch optimizer."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import __version__
from .api import NUMPY_DTYPES, Problem
from .compare import Tolerance, compare
from .display import Display
from .errors import InputError, SymbolicSizeError
from .numfmt import json_nested, json_number
from .tree import to_text

OPTIMIZERS = ("sgd", "momentum", "adam")
MOMENTUM = 0.9


@dataclass(frozen=True, eq=False)
class Step:
    step: int  # 1 for the first step
    loss: float  # at the parameters before this step's update
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]  # autograd's
    symbolic: dict[str, np.ndarray]
    agree: bool

    def to_dict(self, dtype: str) -> dict[str, Any]:
        return {
            "step": self.step,
            "loss": json_number(self.loss, dtype),
            "params": {name: json_nested(value, dtype) for name, value in self.params.items()},
            "grads": {name: json_nested(value, dtype) for name, value in self.grads.items()},
            "symbolic": {name: json_nested(value, dtype) for name, value in self.symbolic.items()},
            "agree": self.agree,
        }


@dataclass(frozen=True, eq=False, repr=False)
class Descent(Display):
    expression: str
    parsed: str
    dtype: str
    reduce: str | None
    optimizer: str
    lr: float
    tol: float | None
    max_steps: int
    steps: list[Step]
    final_loss: float
    final_params: dict[str, np.ndarray]
    converged: bool
    diverged: bool
    tolerance: Tolerance
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        return all(step.agree for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        dtype = self.dtype
        return {
            "backcalc": __version__,
            "expression": self.expression,
            "parsed": self.parsed,
            "dtype": dtype,
            "reduce": self.reduce,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "tol": self.tol,
            "steps": [step.to_dict(dtype) for step in self.steps],
            "final": {
                "loss": json_number(self.final_loss, dtype),
                "params": {name: json_nested(value, dtype) for name, value in self.final_params.items()},
                "steps": len(self.steps),
                "converged": self.converged,
            },
            "diverged": self.diverged,
            "message": self.message,
            "agree": self.agree,
        }


def descend(
    problem: Problem,
    lr: float,
    steps: int,
    tol: float | None = None,
    optimizer: str = "sgd",
    rtol: float | None = None,
    atol: float | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> Descent:
    """Run up to ``steps`` updates of the ``problem.wrt`` inputs; stop early when the loss changes by
    less than ``tol``, or when it stops being finite (then ``diverged`` is set)."""
    import torch

    from . import autograd, symbolic

    if optimizer not in OPTIMIZERS:
        raise InputError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise InputError(f"--lr must be a positive number, not {lr}")
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    dtype = autograd.DTYPES[problem.dtype]
    cast = NUMPY_DTYPES[problem.dtype]
    tensors = {
        name: torch.tensor(value, dtype=dtype, requires_grad=name in problem.wrt)
        for name, value in problem.inputs.items()
    }
    params = [tensors[name] for name in problem.wrt]
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=lr)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=MOMENTUM if optimizer == "momentum" else 0.0)
    try:
        differentiator = symbolic.differentiator_for(problem.tree, {n: v.shape for n, v in problem.inputs.items()})
    except SymbolicSizeError as exc:
        differentiator = None  # autograd alone; said in the message
        skipped = f"; symbolic side skipped: {exc.one_line()}"
    else:
        skipped = ""
    shape = problem.output_shape
    count = math.prod(shape) if problem.reduce == "mean" and shape != () else 1
    reduce = None if shape == () else problem.reduce

    def forward() -> torch.Tensor:
        return autograd.to_loss(autograd.evaluate(problem.tree, tensors, dtype), problem.reduce)[0]

    history: list[Step] = []
    converged = diverged = False
    message = ""
    previous: float | None = None
    for number in range(1, steps + 1):
        opt.zero_grad()
        loss = forward()
        value = float(loss.detach())
        if not math.isfinite(value):
            diverged = True
            message = f"diverged at step {number}: the loss is {value} (try a smaller --lr)"
            break
        if previous is not None and tol is not None and abs(value - previous) < tol:
            converged = True
            message = f"converged after {number - 1} steps: the loss changed by less than {tol:g}"
            break
        loss.backward()
        current = {name: t.detach().numpy().astype(np.float64) for name, t in tensors.items()}
        grads = {name: tensors[name].grad.numpy().copy() for name in problem.wrt}  # type: ignore[union-attr]
        exact = (
            {name: differentiator.values(name, current, shape, count) for name in problem.wrt}
            if differentiator is not None
            else {}
        )
        agree = all(compare(exact[name], grads[name], tolerance).agree for name in exact)
        step = Step(
            number,
            value,
            {name: current[name].astype(cast) for name in problem.wrt},
            grads,
            exact,
            agree,
        )
        history.append(step)
        if on_step is not None:
            on_step(step)
        opt.step()
        previous = value
    else:
        message = f"stopped after {steps} steps"
    with torch.no_grad():
        final_loss = float(forward())
    if not diverged and not math.isfinite(final_loss):
        diverged = True
        message = f"diverged after step {len(history)}: the loss is {final_loss} (try a smaller --lr)"
    message += skipped
    return Descent(
        expression=problem.expression,
        parsed=to_text(problem.tree),
        dtype=problem.dtype,
        reduce=reduce,
        optimizer=optimizer,
        lr=lr,
        tol=tol,
        max_steps=steps,
        steps=history,
        final_loss=final_loss,
        final_params={name: tensors[name].detach().numpy().copy() for name in problem.wrt},
        converged=converged,
        diverged=diverged,
        tolerance=tolerance,
        message=message,
    )
