"""Results as plain data. ``to_dict()`` gives the JSON contract; rendering lives in :mod:`backcalc.render`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..formats.numfmt import json_nested, json_number
from ..numeric.compare import Comparison, Tolerance
from ..numeric.verdict import Verdict, Word, overall


def tensor_dict(array: np.ndarray, dtype: str) -> dict[str, Any]:
    return {"shape": list(array.shape), "value": json_nested(array, dtype)}


@dataclass(frozen=True, eq=False)
class Gradient:
    """d loss / d one input: the symbolic formula and values beside autograd's values."""

    name: str
    formula: str | None  # sympy text of d loss / d element (includes 1/N for a mean); None if skipped
    latex: str | None
    symbolic: np.ndarray | None  # float64, shaped like the input; None when the symbolic side is skipped
    autograd: np.ndarray  # in the dtype, shaped like the input
    comparison: Comparison | None  # symbolic against autograd
    verdict: Verdict
    finite_difference: np.ndarray | None = None  # float64, with --check-fd
    fd_comparison: Comparison | None = None  # symbolic against finite differences
    note: str | None = None
    symbolic_by: str | None = None  # "sympy", or "backprop" for a formula in matrix notation

    @property
    def agree(self) -> bool:
        """Symbolic and autograd agree at every element, within the tolerance or within rounding."""
        return self.verdict.word.agrees

    def to_dict(self, dtype: str) -> dict[str, Any]:
        comparison = self.comparison
        data = {
            "formula": self.formula,
            "symbolic_by": self.symbolic_by,
            "latex": self.latex,
            "shape": list(self.autograd.shape),
            "symbolic": None if self.symbolic is None else json_nested(self.symbolic, dtype),
            "autograd": json_nested(self.autograd, dtype),
            "max_abs_diff": None if comparison is None else json_number(comparison.max_abs_diff, dtype),
            "mismatches": None if comparison is None else comparison.mismatches,
            "agree": self.agree,
            "verdict": self.verdict.word.value,
            "edges": [point.to_dict(dtype) for point in self.verdict.edges],
            "edge_count": self.verdict.edge_count,
        }
        if self.finite_difference is not None and self.fd_comparison is not None:
            data["finite_difference"] = json_nested(self.finite_difference, "float64")
            data["fd_max_abs_diff"] = json_number(self.fd_comparison.max_abs_diff, "float64")
            data["fd_agree"] = self.fd_comparison.agree
        note = "; ".join(n for n in (self.note, self.verdict.note) if n)
        if note:
            data["note"] = note
        return data


@dataclass(frozen=True, eq=False)
class StepGradient:
    """d loss / d one step of a program: its value, the formula (in the step names) and its values
    beside torch's ``retain_grad``. A step the loss does not use, or a constant one, has none."""

    name: str
    expr: str  # the step's expression, earlier steps by their names
    value: np.ndarray  # in the dtype
    verdict: Verdict | None  # None: nothing to judge (unused, or a constant)
    formula: str | None = None
    latex: str | None = None
    symbolic: np.ndarray | None = None  # float64, shaped like the step
    autograd: np.ndarray | None = None  # in the dtype
    comparison: Comparison | None = None
    note: str | None = None
    ungraded: str = "unused"  # the verdict's word when there is nothing to judge: "unused" or "constant"

    @property
    def agree(self) -> bool | None:
        return None if self.verdict is None else self.verdict.word.agrees

    def to_dict(self, dtype: str) -> dict[str, Any]:
        comparison = self.comparison
        verdict = self.verdict
        data = {
            "expr": self.expr,
            "shape": list(self.value.shape),
            "value": json_nested(self.value, dtype),
            "formula": self.formula,
            "latex": self.latex,
            "symbolic": None if self.symbolic is None else json_nested(self.symbolic, dtype),
            "autograd": None if self.autograd is None else json_nested(self.autograd, dtype),
            "max_abs_diff": None if comparison is None else json_number(comparison.max_abs_diff, dtype),
            "agree": self.agree,
            "verdict": self.ungraded if verdict is None else verdict.word.value,
        }
        if verdict is not None and verdict.edges:
            data["edges"] = [point.to_dict(dtype) for point in verdict.edges]
        note = "; ".join(n for n in (self.note, verdict.note if verdict else None) if n)
        if note:
            data["note"] = note
        return data


@dataclass(frozen=True, eq=False, repr=False)
class GradientResult:
    """Everything one ``backcalc grad`` computes."""

    version: str
    expression: str  # as typed
    parsed: str  # canonical text of the tree
    dtype: str
    reduce: str | None  # None when the output already was a scalar
    inputs: dict[str, np.ndarray]  # as used: cast to the dtype
    output: np.ndarray
    loss: float
    gradients: dict[str, Gradient]
    tolerance: Tolerance
    check_fd: bool = False
    loss_float64: float | None = None  # the loss in float64, where the dtype's is not finite
    intermediates: dict[str, StepGradient] = field(default_factory=dict)  # a program's steps, in order

    @property
    def agree(self) -> bool:
        """Symbolic and autograd agree everywhere, for every input (within rounding), and the loss is
        a number: the same as ``verdict.agrees``."""
        return self.verdict.agrees

    @property
    def notes(self) -> list[str]:
        """What the reader must know about the result as a whole."""
        if math.isfinite(self.loss):
            return []
        if self.loss_float64 is not None and math.isfinite(self.loss_float64):
            in_float64 = f"{self.loss_float64:.8g}"
            return [f"the loss is {self.loss} in {self.dtype} but {in_float64} in float64: try --dtype float64"]
        return [f"the loss is {self.loss}: the expression has no finite value at these inputs"]

    @property
    def verdict(self) -> Word:
        """The gravest verdict of the gradients; at least ``edge`` when the loss has no finite value
        (only beyond float32's range, it is the gradients' verdict, with a note)."""
        words = [g.verdict.word for g in self.gradients.values()]
        words += [step.verdict.word for step in self.intermediates.values() if step.verdict is not None]
        no_value = not math.isfinite(self.loss) and not (
            self.loss_float64 is not None and math.isfinite(self.loss_float64)
        )
        return overall(words + ([Word.EDGE] if no_value else []))

    def to_dict(self) -> dict[str, Any]:
        dtype = self.dtype
        return {
            "backcalc": self.version,
            "expression": self.expression,
            "parsed": self.parsed,
            "dtype": dtype,
            "reduce": self.reduce,
            "inputs": {name: tensor_dict(value, dtype) for name, value in self.inputs.items()},
            "output": tensor_dict(self.output, dtype),
            "loss": json_number(self.loss, dtype),
            "gradients": {name: g.to_dict(dtype) for name, g in self.gradients.items()},
            **self._intermediates(),
            "tolerance": {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol},
            "check_fd": self.check_fd,
            "agree": self.agree,
            "verdict": self.verdict.value,
            "notes": self.notes,
        }

    def _intermediates(self) -> dict[str, Any]:
        # Only a program has steps: an expression's JSON is as it always was.
        if not self.intermediates:
            return {}
        return {"intermediates": {name: step.to_dict(self.dtype) for name, step in self.intermediates.items()}}
