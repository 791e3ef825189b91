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
_EXACT = 22  # 10.0**k is exact in float64 for 0 <= k <= 22
_POWERS = 10.0 ** np.arange(_EXACT + 1)
_LEVELS = np.arange(-64, 65)  # a level k scales a value by 10**k
_MULTIPLY = np.where((_LEVELS >= 0) & (_LEVELS <= _EXACT), 10.0 ** np.clip(_LEVELS, 0, _EXACT), 1.0)
_DIVIDE = np.where((_LEVELS < 0) & (_LEVELS >= -_EXACT), 10.0 ** np.clip(-_LEVELS, 0, _EXACT), 1.0)
_SURE = 1e-6  # how near an integer a scaled value may come before float64 cannot be trusted with it


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
    """A nested list (or a bare number for a 0-d array) of :func:`json_number` values; whole
    numbers (an int64 label) as integers."""
    array = np.asarray(array)
    if array.dtype.kind in "iu":
        return array.tolist()
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
    """One number for people: the shortest round-trip decimal in the dtype (a whole number of a label
    as it is)."""
    if isinstance(value, (int, np.integer)):
        return str(value)
    number = json_number(value, dtype)
    return number if isinstance(number, str) else repr(number)


def shortest_float32(values: np.ndarray) -> list[float]:
    """What ``[float(str(np.float32(v))) for v in values.ravel()]`` gives, vectorised with NumPy: the
    float64 nearest to each value's shortest round-trip decimal in float32 (from
    :func:`shortest_digits`, and ``str()`` where float64 arithmetic cannot be sure)."""
    v32 = np.asarray(values, dtype=np.float32).ravel()
    with np.errstate(all="ignore"):
        v = v32.astype(np.float64)
        idx = np.flatnonzero(np.isfinite(v) & (v != 0))
        digits, exponent, sure = shortest_digits(v32[idx])
        sure &= np.abs(exponent) <= _EXACT
        power = _POWERS[np.clip(np.abs(exponent), 0, _EXACT)]
        decimal = np.where(exponent >= 0, digits * power, digits / power)  # one rounding: the nearest float64
        decimal = np.copysign(decimal, v[idx])
    out = v.copy()
    out[idx[sure]] = decimal[sure]
    flat: list[float] = out.tolist()
    for i in idx[~sure].tolist():
        flat[i] = float(str(v32[i]))
    return flat


def shortest_digits(v32: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For finite nonzero float32 values: the digits (a float64 integer without trailing zeros) and
    exponent of each one's shortest round-trip decimal (value = digits * 10**exponent, sign apart),
    and whether float64 arithmetic was sure of it.

    As Steele and White put it: among the decimals that round back to the float32 (the interval
    around it), the one with the fewest significant digits, and the nearest to the value among those.
    Ends of the interval or ties within about 1e-6 of an integer, and numbers outside about 1e-14 to
    1e29 (where the powers of ten are not exact), are not sure."""
    magnitude = np.abs(v32)
    bits = magnitude.view(np.uint32)
    v = magnitude.astype(np.float64)
    above = np.spacing(magnitude).astype(np.float64)  # the gap to the next float32 up
    # At a power of two the gap below is half the gap above (not for the smallest normal number).
    below = np.where(((bits & 0x7FFFFF) == 0) & (bits >= 0x1000000), above / 2, above)
    low, high = v - below / 2, v + above / 2  # exact in float64: a few more bits than float32's
    # The interval is at least 10**-fine long, so a multiple of that lies in it; a multiple of ten
    # times that maybe, and then that one (once its trailing zeros are gone) is the shortest.
    fine = -np.floor(np.log10(high - low)).astype(np.int64)
    index = np.clip(fine, _LEVELS[0], _LEVELS[-1]) - _LEVELS[0]
    multiply, divide = _MULTIPLY[index], _DIVIDE[index]  # one of them is 1: a single rounding
    t_low, t_high, t = low * multiply / divide, high * multiply / divide, v * multiply / divide
    # Ends within 1e-5 of an integer (so within 1e-6 of one at the coarser level): not sure.
    sure = (np.abs(fine) <= _EXACT) & (np.abs(t_low - np.rint(t_low)) >= 10 * _SURE)
    sure &= np.abs(t_high - np.rint(t_high)) >= 10 * _SURE
    first, last = np.ceil(t_low / 10), np.floor(t_high / 10)
    coarse = first <= last
    scaled = np.where(coarse, t / 10, t)
    first, last = np.where(coarse, first, np.ceil(t_low)), np.where(coarse, last, np.floor(t_high))
    sure &= np.abs(scaled - np.floor(scaled) - 0.5) >= _SURE  # a tie between two neighbours
    digits = np.clip(np.rint(scaled), first, last)  # the nearest multiple within the interval
    exponent = coarse.astype(np.int64) - fine
    for strip in (4, 2, 1):  # trailing zeros (at most 7: a coarse multiple has at most 8 digits)
        quotient = digits / 10.0**strip
        whole = quotient == np.floor(quotient)
        digits = np.where(whole, quotient, digits)
        exponent += whole * strip
    sure &= (digits >= 1) & (digits < 1e9)
    digits = np.where(sure, digits, 1.0)
    return digits, exponent, sure


def _scaled(values: np.ndarray, level: np.ndarray) -> np.ndarray:
    """values * 10**level, rounded once (a multiplication or a division by an exact power of ten)."""
    index = np.clip(level, _LEVELS[0], _LEVELS[-1]) - _LEVELS[0]
    return values * _MULTIPLY[index] / _DIVIDE[index]
