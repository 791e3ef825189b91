"""Tensors as compact text, summarised when large (like torch's printing)."""

from __future__ import annotations

import numpy as np

from ..numfmt import text

THRESHOLD = 64  # more elements than this are summarised with "..."
EDGE_ITEMS = 3
_PRECISION = {"float32": 6, "float64": 8}


def tensor_text(array: np.ndarray, dtype: str, width: int = 60) -> str:
    array = np.asarray(array)
    if array.ndim == 0:
        return text(float(array), dtype)
    return np.array2string(
        array,
        separator=", ",
        precision=_PRECISION[dtype],
        threshold=THRESHOLD,
        edgeitems=EDGE_ITEMS,
        max_line_width=max(width, 20),
        floatmode="maxprec",
    )


def shape_text(shape: tuple[int, ...] | list[int], dtype: str) -> str:
    return f"{dtype} scalar" if len(shape) == 0 else f"{dtype} [{', '.join(map(str, shape))}]"
