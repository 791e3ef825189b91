"""Central finite differences of the loss, in float64 with the NumPy evaluator: a third witness for
``--check-fd``, independent of sympy and torch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import limits
from ..errors import LimitError
from ..language.tree import Node
from .broadcasting import sum_to_shape
from .numpy_eval import evaluate


def finite_difference(
    tree: Node,
    inputs: Mapping[str, np.ndarray],
    name: str,
    output_shape: tuple[int, ...],
    scale: float,
) -> np.ndarray:
    """Central differences of the loss with respect to every element of input ``name``.

    The step is 1e-6 (as ``torch.autograd.gradcheck``), relative for elements larger than 1. In an
    element-wise expression each output element depends on one element of each input, so stepping all
    elements of ``name`` at once and summing back to its shape gives each element's own central
    difference in two evaluations instead of two per element.
    """
    x = np.asarray(inputs[name], dtype=np.float64)
    step = 1e-6 * np.maximum(1.0, np.abs(x))
    if tree.mixes_elements():
        return _one_at_a_time(tree, inputs, name, step) * scale
    plus = evaluate(tree, {**inputs, name: x + step})
    minus = evaluate(tree, {**inputs, name: x - step})
    with np.errstate(all="ignore"):
        slope = (np.broadcast_to(plus, output_shape) - np.broadcast_to(minus, output_shape)) / np.broadcast_to(
            2 * step, output_shape
        )
    return sum_to_shape(slope, x.shape) * scale


def _one_at_a_time(tree: Node, inputs: Mapping[str, np.ndarray], name: str, step: np.ndarray) -> np.ndarray:
    """Central differences one element at a time, for expressions that mix elements (two
    evaluations of the whole expression per element: bounded by ``limits.MAX_FD_EVALUATIONS``)."""
    x = np.asarray(inputs[name], dtype=np.float64)
    if 2 * x.size > limits.MAX_FD_EVALUATIONS:
        raise LimitError(
            f"finite differences for {name} would take {2 * x.size:,} evaluations; the limit is "
            f"{limits.MAX_FD_EVALUATIONS:,}"
        )
    result = np.empty(x.shape, dtype=np.float64)
    flat_x, flat_step = x.reshape(-1), step.reshape(-1)
    for i in range(x.size):
        shifted = flat_x.copy()
        shifted[i] += flat_step[i]
        plus = float(np.sum(evaluate(tree, {**inputs, name: shifted.reshape(x.shape)})))
        shifted[i] -= 2 * flat_step[i]
        minus = float(np.sum(evaluate(tree, {**inputs, name: shifted.reshape(x.shape)})))
        result.reshape(-1)[i] = (plus - minus) / (2 * flat_step[i])
    return result
