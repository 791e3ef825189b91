"""Gradient descent, as the seed's first cell ends: "update the weights and repeat the forward and
back prop till you get optimal w". Each step runs the forward pass, both gradients (symbolic and
autograd, compared), and the update by a torch optimizer."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import InputError, SymbolicSizeError
from ..formats.numfmt import json_nested, json_number
from ..numeric.compare import Tolerance, compare
from ..numeric.edges import find_edges
from ..numeric.verdict import Word, judge
from .problem import Problem

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
class Descent:
    expression: str
    parsed: str
    dtype: str
    reduce: str | None
    optimizer: str
    lr: float
    tol: float | None
    steps: list[Step]
    final_loss: float
    final_params: dict[str, np.ndarray]
    converged: bool
    diverged: bool
    tolerance: Tolerance
    message: str = ""
    interrupted: bool = False  # stopped by Ctrl-C: the final loss and parameters are the last step's

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
            "interrupted": self.interrupted,
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
    if optimizer not in OPTIMIZERS:
        raise InputError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise InputError(f"--lr must be a positive number, not {lr}")
    if lr > float(np.finfo(problem.numpy_dtype).max) / 1e3:  # torch's optimizers scale it, in the dtype
        raise InputError(f"--lr {lr:g} is out of {problem.dtype}'s range for an optimizer step")
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    run: _Run | None = None
    try:
        run = _Run(problem, tolerance, optimizer, lr)
        converged, diverged, message = _loop(run, steps, tol, on_step)
    except KeyboardInterrupt:  # Ctrl-C keeps the steps done so far
        return _stopped(problem, tolerance, optimizer, lr, tol, run.history if run else [])
    final_loss = run.loss()
    if not diverged and not math.isfinite(final_loss):
        diverged = True
        message = f"diverged after step {len(run.history)}: the loss is {final_loss} (try a smaller --lr)"
    how = (problem, tolerance, optimizer, lr, tol)
    return _descent(how, run.history, final_loss, run.params(), message + run.skipped, converged, diverged)


def _descent(
    how: tuple[Problem, Tolerance, str, float, float | None],
    steps: list[Step],
    final_loss: float,
    final_params: dict[str, np.ndarray],
    message: str,
    converged: bool = False,
    diverged: bool = False,
    interrupted: bool = False,
) -> Descent:
    problem, tolerance, optimizer, lr, tol = how
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
        converged=converged,
        diverged=diverged,
        tolerance=tolerance,
        message=message,
        interrupted=interrupted,
    )


def _loop(run: _Run, steps: int, tol: float | None, on_step: Callable[[Step], None] | None) -> tuple[bool, bool, str]:
    """The steps: (converged, diverged, message)."""
    previous: float | None = None
    for number in range(1, steps + 1):
        value = run.forward_backward()
        if not math.isfinite(value):
            if number == 1:
                return False, True, f"the loss is {value} at the starting point: start inside the domain"
            return False, True, f"diverged at step {number}: the loss is {value} (try a smaller --lr)"
        if previous is not None and tol is not None and abs(value - previous) < tol:
            return True, False, f"converged after {number - 1} steps: the loss changed by less than {tol:g}"
        step = run.record(number, value)
        if on_step is not None:
            on_step(step)
        run.update()
        previous = value
    return False, False, f"stopped after {steps} steps"


def _stopped(
    problem: Problem, tolerance: Tolerance, optimizer: str, lr: float, tol: float | None, steps: list[Step]
) -> Descent:
    """A descent stopped by Ctrl-C: its "final" loss and parameters are its last step's, before that
    step's update (which may not have been applied), and the message says so."""
    done = len(steps)
    final_loss, final_params = (steps[-1].loss, dict(steps[-1].params)) if steps else (math.nan, {})
    message = (
        f"interrupted (Ctrl-C) after {done} step{'s' if done != 1 else ''}: "
        f"the final loss and parameters are step {steps[-1].step}'s, before its update"
        if steps
        else "interrupted (Ctrl-C) before the first step"
    )
    how = (problem, tolerance, optimizer, lr, tol)
    return _descent(how, steps, final_loss, final_params, message, interrupted=True)


class _Run:
    """One descent in progress: the torch leaves and optimizer, the symbolic side, the steps so far."""

    def __init__(self, problem: Problem, tolerance: Tolerance, optimizer: str, lr: float) -> None:
        from ..symbolic.side import differentiator_for

        self.problem, self.tolerance = problem, tolerance
        self.tensors = problem.leaves()
        self.optimizer = _Optimizer(optimizer, [self.tensors[name] for name in problem.wrt], lr)
        self.skipped = ""
        try:
            self.differentiator: Any = differentiator_for(problem.tree, problem.shapes, problem.labels)
        except SymbolicSizeError as exc:
            self.differentiator = None  # autograd alone; said in the message
            self.skipped = f"; symbolic side skipped: {exc.one_line()}"
        self.history: list[Step] = []

    def forward_backward(self) -> float:
        """The loss at the current parameters, and its gradient left in the leaves (if finite)."""
        self.optimizer.zero_grad()
        loss = self.problem.loss(self.problem.forward(self.tensors))
        value = float(loss.detach())
        if math.isfinite(value):
            loss.backward()
        return value

    def record(self, number: int, value: float) -> Step:
        """The step just computed, with the symbolic gradient at the same parameters beside autograd's."""
        problem = self.problem
        current = {name: _float64(t.detach().numpy()) for name, t in self.tensors.items()}
        grads = {name: self.tensors[name].grad.numpy().copy() for name in problem.wrt}  # type: ignore[union-attr]
        exact = {}
        if self.differentiator is not None:
            exact = {
                name: self.differentiator.values(name, current, problem.output_shape, problem.count)
                for name in problem.wrt
            }
        agree = all(self._agree(current, exact[name], grads[name]) for name in exact)
        params = {name: current[name].astype(problem.numpy_dtype) for name in problem.wrt}
        step = Step(number, value, params, grads, exact, agree)
        self.history.append(step)
        return step

    def _agree(self, current: dict[str, np.ndarray], exact: np.ndarray, auto: np.ndarray) -> bool:
        """The two sides agree at this step, or differ only where calculus explains it (a kink)."""
        comparison = compare(exact, auto, self.tolerance)
        if comparison.agree:
            return True
        problem = self.problem
        edges = find_edges(problem.tree, current, problem.numpy_dtype)
        sides = {"symbolic": exact, "autograd": auto.astype(np.float64)}
        coarse = problem.tree.mixes_elements()
        return judge(comparison.outside, sides, edges, problem.output_shape, coarse=coarse).word != Word.DISAGREE

    def update(self) -> None:
        self.optimizer.step()

    def loss(self) -> float:
        import torch

        with torch.no_grad():
            return float(self.problem.loss(self.problem.forward(self.tensors)))

    def params(self) -> dict[str, np.ndarray]:
        return {name: self.tensors[name].detach().numpy().copy() for name in self.problem.wrt}


class _Optimizer:
    """torch's SGD (with or without momentum) or Adam, with their defaults, stepping the leaves.

    The steps are torch's own functional optimizers (``torch.optim.sgd.sgd``, ``torch.optim.adam.adam``),
    which the optimizer classes call too, so the numbers are the classes' to the bit; creating a class
    first imports ``torch._dynamo``, about 1.5 s of a 2 s descent. A torch whose functional signature
    differs gets the class instead."""

    def __init__(self, kind: str, params: list[Any], lr: float) -> None:
        import torch

        self.kind, self.params, self.lr = kind, params, lr
        self.momentum = MOMENTUM if kind == "momentum" else 0.0
        self.buffers: list[Any] = [None] * len(params)  # SGD's momentum buffers, made at the first step
        self.averages = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.squares = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.steps = [torch.tensor(0.0) for _ in params]
        self.fallback: Any = None

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    def step(self) -> None:
        if self.fallback is None:
            try:
                self._functional_step()
                return
            except TypeError:  # another torch's signature: before any change to the parameters
                import torch

                if self.kind == "adam":
                    self.fallback = torch.optim.Adam(self.params, lr=self.lr)
                else:
                    self.fallback = torch.optim.SGD(self.params, lr=self.lr, momentum=self.momentum)
        self.fallback.step()

    def _functional_step(self) -> None:
        import torch
        from torch.optim import adam, sgd

        grads = [param.grad for param in self.params]
        common: dict[str, Any] = {"foreach": False, "maximize": False, "weight_decay": 0.0, "lr": self.lr}
        with torch.no_grad():
            if self.kind == "adam":
                adam.adam(
                    self.params, grads, self.averages, self.squares, [], self.steps,
                    capturable=False, differentiable=False, fused=None, grad_scale=None, found_inf=None,
                    has_complex=False, amsgrad=False, beta1=0.9, beta2=0.999, eps=1e-8, **common,
                )  # fmt: skip
            else:
                sgd.sgd(
                    self.params, grads, self.buffers,
                    momentum=self.momentum, dampening=0.0, nesterov=False, **common,
                )  # fmt: skip


def _float64(value: np.ndarray) -> np.ndarray:
    """A parameter as float64 for the symbolic side; a label stays int64."""
    return value if value.dtype.kind == "i" else value.astype(np.float64)
