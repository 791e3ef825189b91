"""Numbers for JSON and for the terminal: the shortest decimal that round-trips in the dtype.

``0.1`` in float32 is 0.100000001490116..., and prints ``0.1``; non-finite numbers become the strings
``"nan"``, ``"inf"`` and ``"-inf"`` so that the JSON stays valid for ``jq``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_NONFINITE = {math.inf: "inf", -math.inf: "-inf"}
_FAST_FROM = 64  # elements from which float32 arrays take the vectorised path (str() costs ~1.4 us each)
_EXACT_POWER = 22  # 10.0**k is exact in float64 for 0 <= k <= 22
_POWERS = 10.0 ** np.arange(_EXACT_POWER + 1)


def json_number(value: float, dtype: str) -> float | str:
    """A Python float whose repr is the shortest round-trip decimal of ``value`` in ``dtype``."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else _NONFINITE[value]
    if dtype == "float32":
        # str() of a numpy float32 is its shortest round-trip decimal; a float64 parse of that short
        # decimal has the same shortest repr. Beyond float32's range it is inf, written as text.
        with np.errstate(over="ignore"):
            short = float(str(np.float32(value)))
        return short if math.isfinite(short) else _NONFINITE[short]
    return value


def json_nested(array: np.ndarray, dtype: str) -> Any:
    """A nested list (or a bare number for a 0-d array) of :func:`json_number` values."""
    array = np.asarray(array)
    flat: list[Any]
    with np.errstate(over="ignore"):  # beyond float32's range is inf, written as text below
        shown = array.astype(np.float32 if dtype == "float32" else np.float64)
    if dtype == "float32" and array.size > _FAST_FROM:
        flat = shortest_float32(shown)
    elif dtype == "float32":
        flat = [float(text) for text in map(str, shown.ravel())]
    else:
        flat = shown.ravel().tolist()
    if not np.isfinite(shown).all():
        flat = [json_number(v, "float64") if not math.isfinite(v) else v for v in flat]
    if array.ndim == 0:
        return flat[0]
    return _reshape(flat, array.shape)


def _reshape(flat: list[Any], shape: tuple[int, ...]) -> Any:
    for size in reversed(shape[1:]):
        flat = [flat[i : i + size] for i in range(0, len(flat), size)]
    return flat


def text(value: float, dtype: str) -> str:
    """One number for people: the shortest round-trip decimal in the dtype."""
    number = json_number(value, dtype)
    return number if isinstance(number, str) else repr(number)


def shortest_float32(values: np.ndarray) -> list[float]:
    """What ``[float(str(np.float32(v))) for v in values.ravel()]`` gives, vectorised with NumPy.

    For each element, the fewest significant digits p (1 to 9) whose nearest decimals below and above
    come back to the same float32; such a decimal is an integer divided (or multiplied) by an exact
    power of ten, so float64 division gives exactly the float64 that parsing its text gives. If p
    digits round-trip, p + 1 do too, so p is found by bisection. Elements outside the range of exact
    powers, or where float64 cannot tell which decimal is nearer, are left to ``str()``."""
    v32 = np.asarray(values, dtype=np.float32).ravel()
    with np.errstate(all="ignore"):
        v = v32.astype(np.float64)
        idx = np.flatnonzero(np.isfinite(v) & (v != 0))
        a = np.abs(v[idx])
        e = np.floor(np.log10(a))
        e = np.where(a >= 10.0 ** (e + 1), e + 1, e)
        e = np.where(a < 10.0**e, e - 1, e).astype(np.int64)  # the decimal exponent, log10's rounding undone
        exact = (8 - e <= _EXACT_POWER) & (e <= _EXACT_POWER)  # 10**(p - 1 - e) exact for every p
        idx, e = idx[exact], e[exact]
        vt, v32t = v[idx], v32[idx]
        low, high = np.ones(len(idx), dtype=np.int64), np.full(len(idx), 9)
        while (low < high).any():
            mid = (low + high) // 2
            ok = _decimals(vt, v32t, mid - 1 - e)[3:]
            high = np.where(ok[0] | ok[1], mid, high)
            low = np.where(ok[0] | ok[1], low, mid + 1)
        frac, below, above, ok_below, ok_above = _decimals(vt, v32t, low - 1 - e)
        both = ok_below & ok_above
        pick = np.where(both, np.where(frac < 0.5, below, above), np.where(ok_below, below, above))
        sure = (ok_below | ok_above) & ~(both & (np.abs(frac - 0.5) < 1e-6))
    out = v.copy()
    out[idx[sure]] = pick[sure]
    flat: list[float] = out.tolist()
    left = np.isfinite(v) & (v != 0)
    left[idx[sure]] = False
    for i in np.flatnonzero(left).tolist():
        flat[i] = float(str(v32[i]))
    return flat


def _decimals(v: np.ndarray, v32: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, ...]:
    """With k digits after the decimal point (k < 0: rounded to tens, hundreds...): where v falls
    between its two neighbouring decimals, those decimals, and whether each comes back to v32."""
    scale = _POWERS[np.abs(k)]
    up = k >= 0
    t = np.where(up, v * scale, v / scale)
    n = np.floor(t)
    below = np.where(up, n / scale, n * scale)
    above = np.where(up, (n + 1) / scale, (n + 1) * scale)
    return t - n, below, above, below.astype(np.float32) == v32, above.astype(np.float32) == v32
