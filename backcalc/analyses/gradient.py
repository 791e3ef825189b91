"""The gradient and its verdict: :func:`gradient`. Cheap checks first (:func:`~backcalc.analyses.problem.prepare`,
no torch or sympy), then the two independent evaluators and their comparison (:func:`compute`)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import limits
from .._version import __version__
from ..errors import LimitError
from ..inputs.files import access_for, read_program
from ..inputs.values import load_files
from ..language import workload
from ..limits import recursion_room, run_budget
from ..numeric.compare import FD_TOLERANCE, Comparison, Tolerance, compare
from ..numeric.edges import Edge, find_edges
from ..numeric.finite_differences import finite_difference
from ..numeric.numpy_eval import evaluate
from ..numeric.verdict import UNCHECKED, Verdict, judge
from .gradient_result import Gradient, GradientResult
from .intermediates import step_gradients
from .problem import Backward, Problem, backward, prepare

__all__ = ["compute", "gradient"]


def compute(
    problem: Problem,
    rtol: float | None = None,
    atol: float | None = None,
    *,
    check_fd: bool = False,
    simplify: bool = False,
    differentiator: Any = None,
) -> GradientResult:
    """Run sympy and torch (and, with ``check_fd``, finite differences) on the checked problem and
    judge their agreement, explaining differences at kinks, poles and domain edges. A differentiator
    made for the same expression may be passed in to reuse its derivatives (``batch`` does)."""
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    with run_budget(limits.SYMBOLIC_SECONDS):
        derived, skipped = _symbolic_side(problem, differentiator, simplify)
    with recursion_room(limits.RECURSION_LIMIT):
        passed = backward(problem)
        witness = _Witnesses(problem, tolerance)
        gradients = {
            name: witness.gradient(name, derived.get(name), passed.gradients[name], check_fd, skipped)
            for name in problem.wrt
        }
        intermediates = step_gradients(problem, passed, witness)
    return GradientResult(
        version=__version__,
        expression=problem.expression,
        parsed=problem.parsed,
        dtype=problem.dtype,
        reduce=problem.reduction,
        inputs=problem.cast_inputs(),
        output=passed.output,
        loss=passed.loss,
        gradients=gradients,
        tolerance=tolerance,
        check_fd=check_fd,
        loss_float64=_loss_float64(problem) if not math.isfinite(passed.loss) else None,
        intermediates=intermediates,
    )


def _loss_float64(problem: Problem) -> float:
    """The loss in float64 with NumPy: is a non-finite loss float32's range, or the expression's?"""
    output = evaluate(problem.tree, problem.inputs)
    with np.errstate(all="ignore"):
        total = float(np.sum(output))
    return total / problem.count


def _symbolic_side(problem: Problem, differentiator: Any, simplify: bool) -> tuple[dict[str, Any], str | None]:
    """sympy's gradients (``Derived`` per input), or none and the reason the side was skipped."""
    from ..symbolic import side as symbolic

    try:
        if differentiator is None:
            differentiator = symbolic.differentiator_for(problem.tree, problem.shapes, problem.labels)
        derived = differentiator.derive(problem.inputs, problem.wrt, problem.output_shape, problem.count, simplify)
    except LimitError as exc:  # too many elements for sympy, or its time budget spent: autograd answers alone
        return {}, f"symbolic side skipped: {exc.one_line()}"
    return derived, None


@dataclass
class _Witnesses:
    """What a verdict may need beyond the two sides, computed at most once and only when a difference
    asks for it: the edges of the tree, and torch's float64 gradients beside a float32 run."""

    problem: Problem
    tolerance: Tolerance
    _edges: list[Edge] | None = None
    _reference: Backward | None = field(default=None)

    def edges(self) -> list[Edge]:
        if self._edges is None:
            self._edges = find_edges(self.problem.tree, self.problem.inputs, self.problem.numpy_dtype)
        return self._edges

    def reference(self, name: str) -> np.ndarray | None:
        backward64 = self._float64()
        return None if backward64 is None else backward64.gradients[name]

    def step_reference(self, name: str) -> np.ndarray | None:
        """torch's float64 gradient of a program's step, beside a float32 run."""
        backward64 = self._float64()
        return None if backward64 is None else backward64.step_gradients[name]

    def _float64(self) -> Backward | None:
        if self.problem.dtype != "float32":
            return None
        if self._reference is None:
            self._reference = backward(self.problem, "float64")
        return self._reference

    def gradient(self, name: str, formula: Any, auto: np.ndarray, check_fd: bool, skipped: str | None) -> Gradient:
        """One input's gradient, with its witnesses compared and judged."""
        problem = self.problem
        fd = None
        if check_fd:
            fd = finite_difference(problem.tree, problem.inputs, name, problem.output_shape, 1.0 / problem.count)
        sides = {"autograd": auto.astype(np.float64)}
        comparison = fd_comparison = None
        outside = np.zeros(auto.shape, dtype=bool)
        if formula is not None:
            sides = {"symbolic": formula.values, **sides}
            comparison = compare(formula.values, auto, self.tolerance)
            outside = comparison.outside
        if fd is not None:
            sides["finite_difference"] = fd
            # Finite differences witness the symbolic gradient, or autograd's when there is none.
            fd_comparison = compare(formula.values if formula else auto, fd, Tolerance(*FD_TOLERANCE))
            outside = outside | fd_comparison.outside
        verdict = self.verdict(name, outside, sides, comparison, fd_comparison)
        return Gradient(
            name=name,
            formula=formula.text if formula else None,
            latex=formula.latex if formula else None,
            symbolic=formula.values if formula else None,
            autograd=auto,
            comparison=comparison,
            verdict=verdict,
            finite_difference=fd,
            fd_comparison=fd_comparison,
            note=formula.note if formula else skipped,
            symbolic_by=formula.by if formula else None,
        )

    def verdict(
        self,
        name: str,
        outside: np.ndarray,
        sides: dict[str, np.ndarray],
        comparison: Comparison | None,
        fd_comparison: Comparison | None,
    ) -> Verdict:
        if comparison is None and fd_comparison is None:
            return UNCHECKED
        flagged = outside.any() or not all(np.isfinite(side).all() for side in sides.values())
        if not flagged:
            return judge(outside, sides, [], self.problem.output_shape)
        reference = self.reference(name) if comparison is not None and comparison.mismatches else None
        return judge(
            outside,
            sides,
            self.edges(),
            self.problem.output_shape,
            coarse=self.problem.tree.mixes_elements(),
            reference=reference,
        )


def gradient(
    expression: str,
    inputs: Mapping[str, Any] | None = None,
    wrt: Iterable[str] | str | None = None,
    dtype: str = "float32",
    reduce: str = "sum",
    *,
    rtol: float | None = None,
    atol: float | None = None,
    check_fd: bool = False,
    simplify: bool = False,
    allow_files: str | os.PathLike[str] | None = None,
    **named: Any,
) -> GradientResult:
    """The gradient of ``expression``'s loss with respect to its inputs, symbolic beside autograd.
    ``expression`` may be a program of named steps (``"h = tanh(W@x); loss = sum(h**2)"``), or
    ``"@FILE"`` holding one (read only below ``allow_files``, as input files are); each step's
    gradient is in ``result.intermediates``.

    Inputs are a mapping or keyword arguments: numbers, nested lists, numpy arrays, torch tensors,
    or text as typed on the command line (``"[[1, 2]]"``, ``"@data.npy"``). ``"@FILE"`` is read only
    below the folder ``allow_files`` (never by default: the text may come from anyone)::

        >>> r = gradient("x**3 + x**2", x=[[2, 3, 1]])
        >>> r.loss, r.gradients["x"].symbolic.tolist(), r.agree
        (50.0, [[16.0, 33.0, 5.0]], True)
    """
    if isinstance(expression, str) and expression.startswith("@"):  # a program file, read as inputs are
        expression = read_program(expression[1:], access_for(allow_files))
    merged = load_files({**(inputs or {}), **named}, allow_files)
    if isinstance(wrt, str):
        wrt = [wrt]
    problem = prepare(expression, merged, wrt, dtype, reduce)
    with workload.memory_guard():
        return compute(problem, rtol, atol, check_fd=check_fd, simplify=simplify)
