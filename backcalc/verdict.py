"""The verdict on one gradient: ``agree``, ``edge`` or ``disagree``.

Where the two sides differ only at points where calculus itself is delicate (a kink, a pole, a domain
edge, a non-finite value on either side), the difference is expected and explained: the verdict is
``edge``, each such element is reported with both values and the reason, and the exit status stays 0.
Any other difference is ``disagree``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .numeric import Edge, edges_on
from .numfmt import json_number

AGREE, EDGE, DISAGREE, UNCHECKED = "agree", "edge", "disagree", "unchecked"
MAX_REPORTED = 10


@dataclass(frozen=True)
class EdgePoint:
    """One element where the sides differ for a known reason."""

    index: tuple[int, ...]
    values: dict[str, float]  # side -> value, e.g. {"symbolic": 0.5, "autograd": 0.0}
    kind: str
    reason: str

    def to_dict(self, dtype: str) -> dict[str, Any]:
        return {
            "index": list(self.index),
            # finite differences are always float64; the two other sides are in the dtype.
            **{
                side: json_number(value, "float64" if side == "finite_difference" else dtype)
                for side, value in self.values.items()
            },
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Verdict:
    word: str
    edges: tuple[EdgePoint, ...]  # the first MAX_REPORTED explained elements
    edge_count: int  # how many elements were explained in all
    unexplained: int  # elements that differ for no known reason


def judge(
    outside: np.ndarray,
    sides: dict[str, np.ndarray],
    edges: list[Edge],
    output_shape: tuple[int, ...],
    coarse: bool = False,
) -> Verdict:
    """Explain the elements in ``outside`` (a mask over the input's shape) by ``edges`` if possible.

    ``coarse``: the expression mixes elements (``@``, reductions), so an edge anywhere may move
    every element of the gradient; each edge then covers the whole input."""
    if not outside.any():
        return Verdict(AGREE, (), 0, 0)
    shape = outside.shape
    reasons: list[tuple[np.ndarray, str, str]] = [
        (np.full(shape, True) if coarse else edges_on(edge.mask, output_shape, shape), edge.kind, edge.reason)
        for edge in edges
    ]
    nonfinite = np.zeros(shape, dtype=bool)
    for side in sides.values():
        nonfinite |= ~np.isfinite(side)
    reasons.append((nonfinite, "nonfinite", "a non-finite value on one side: the derivative does not exist there"))

    explained = np.zeros(shape, dtype=bool)
    for mask, _, _ in reasons:
        explained |= mask
    explained &= outside
    points = []
    for flat in np.flatnonzero(explained)[:MAX_REPORTED]:
        index = tuple(int(i) for i in np.unravel_index(flat, shape))
        kind, reason = next((k, r) for mask, k, r in reasons if mask[index])
        points.append(EdgePoint(index, {side: float(array[index]) for side, array in sides.items()}, kind, reason))
    unexplained = int(np.count_nonzero(outside & ~explained))
    word = DISAGREE if unexplained else EDGE
    return Verdict(word, tuple(points), int(np.count_nonzero(explained)), unexplained)


def overall(words: list[str]) -> str:
    for word in (DISAGREE, EDGE, UNCHECKED):
        if word in words:
            return word
    return AGREE
