"""Does the symbolic gradient agree with autograd? The rule of ``torch.testing.assert_close``:
``|autograd - symbolic| <= atol + rtol * |symbolic|`` element-wise, with its default tolerances.
A non-finite value agrees only with the same value on the other side (nan with nan, inf with inf).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs.values import check_tolerance

#: torch.testing.assert_close's default (rtol, atol) per dtype, without importing torch.
DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    @classmethod
    def for_dtype(cls, dtype: str, rtol: float | None = None, atol: float | None = None) -> Tolerance:
        default_rtol, default_atol = DEFAULT_TOLERANCES[dtype]
        rtol, atol = check_tolerance("rtol", rtol), check_tolerance("atol", atol)
        return cls(default_rtol if rtol is None else rtol, default_atol if atol is None else atol)


#: torch.autograd.gradcheck's tolerances, for finite differences against the symbolic gradient.
FD_TOLERANCE = (1e-3, 1e-5)


@dataclass(frozen=True, eq=False)
class Comparison:
    """How two arrays of the same shape compare."""

    max_abs_diff: float  # over the elements where both sides are finite (0.0 when there are none)
    outside: np.ndarray  # bool mask: outside the tolerance, or non-finite and not the same on both sides

    @property
    def mismatches(self) -> int:
        return int(np.count_nonzero(self.outside))

    @property
    def agree(self) -> bool:
        return self.mismatches == 0


def compare(symbolic: np.ndarray, autograd: np.ndarray, tolerance: Tolerance) -> Comparison:
    expected = np.asarray(symbolic, dtype=np.float64)
    actual = np.asarray(autograd, dtype=np.float64)
    finite = np.isfinite(expected) & np.isfinite(actual)
    with np.errstate(all="ignore"):
        diff = np.where(finite, np.abs(actual - expected), 0.0)
        close = diff <= tolerance.atol + tolerance.rtol * np.abs(expected)
    same_nonfinite = (expected == actual) | (np.isnan(expected) & np.isnan(actual))
    ok = np.where(finite, close, same_nonfinite)
    max_abs_diff = float(diff.max()) if diff.size else 0.0
    return Comparison(max_abs_diff, ~ok)
