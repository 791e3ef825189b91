"""Broadcasting undone: autograd sums the gradient of a broadcast input back to the input's shape."""

from __future__ import annotations

import numpy as np


def sum_to_shape(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast array back to an input's shape, as autograd does for a broadcast input."""
    lead = array.ndim - len(shape)
    if lead:
        array = array.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and array.shape[i] != 1)
    if axes:
        array = array.sum(axis=axes, keepdims=True)
    return array


def seen_from(mask: np.ndarray, output_shape: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """A mask over the output, seen from an input of ``shape``: any broadcast copy counts.

    A mask that does not broadcast to the output (a node below a reduction or a product) may affect
    every element of the input: then the whole input is marked.
    """
    try:
        return sum_to_shape(np.broadcast_to(mask, output_shape).astype(np.int64), shape) > 0
    except ValueError:
        return np.full(shape, bool(np.any(mask)))
