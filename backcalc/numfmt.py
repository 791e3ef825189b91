"""Numbers for JSON and for the terminal: the shortest decimal that round-trips in the dtype.

``0.1`` in float32 is 0.100000001490116..., and prints ``0.1``; non-finite numbers become the strings
``"nan"``, ``"inf"`` and ``"-inf"`` so that the JSON stays valid for ``jq``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_NONFINITE = {math.inf: "inf", -math.inf: "-inf"}


def json_number(value: float, dtype: str) -> float | str:
    """A Python float whose repr is the shortest round-trip decimal of ``value`` in ``dtype``."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else _NONFINITE[value]
    if dtype == "float32":
        # str() of a numpy float32 is its shortest round-trip decimal; a float64 parse of that short
        # decimal has the same shortest repr.
        return float(str(np.float32(value)))
    return value


def json_nested(array: np.ndarray, dtype: str) -> Any:
    """A nested list (or a bare number for a 0-d array) of :func:`json_number` values."""
    array = np.asarray(array)
    flat: list[Any]
    if dtype == "float32":
        flat = [float(text) for text in map(str, array.astype(np.float32).ravel())]
    else:
        flat = array.astype(np.float64).ravel().tolist()
    if not np.isfinite(array).all():
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
