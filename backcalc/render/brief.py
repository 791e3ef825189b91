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
    if array.ndim == 0:
        return text(float(array), dtype)
    if array.size <= limit:
        return _nested(array, dtype)
    with np.errstate(all="ignore"):
        low, high = text(float(np.min(array)), dtype), text(float(np.max(array)), dtype)
    return f"{shape_text(array.shape, dtype)} in [{low}, {high}]"


def _nested(array: np.ndarray, dtype: str) -> str:
    if array.ndim == 0:
        return text(float(array), dtype)
    return "[" + ", ".join(_nested(row, dtype) for row in array) + "]"
