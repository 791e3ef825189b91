"""Tensors in one short line, for table cells and graph labels."""

from __future__ import annotations

import numpy as np

from ..formats.numfmt import text
from .tensors import shape_text


def brief(array: np.ndarray | None, dtype: str, limit: int = 6) -> str:
    """A scalar as its number, a small tensor inline, a larger one as its shape and range."""
    if array is None:
        return "-"
    array = np.asarray(array)
    if array.dtype.kind in "iu":  # a label: whole numbers
        dtype = "int64"
    if array.ndim == 0:
        return _one(array, dtype)
    if array.size <= limit:
        return _nested(array, dtype)
    with np.errstate(all="ignore"):
        low, high = _one(np.min(array), dtype), _one(np.max(array), dtype)
    return f"{shape_text(array.shape, dtype)} in [{low}, {high}]"


def _one(array: np.ndarray, dtype: str) -> str:
    return str(int(array)) if dtype == "int64" else text(float(array), dtype)


def _nested(array: np.ndarray, dtype: str) -> str:
    if array.ndim == 0:
        return _one(array, dtype)
    return "[" + ", ".join(_nested(row, dtype) for row in array) + "]"
