"""The edge finder: the points where calculus itself is delicate (kinks, poles, domain edges) or where
torch follows a documented convention, found by evaluating the tree with NumPy and asking each
operation's record. (Values that are not finite are judged in :mod:`backcalc.numeric.verdict`.)

Edges are looked for in the working dtype, because that is where torch meets them: in float32,
``x - 0.1`` is exactly 0 at ``x = 0.1``, in float64 it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..language.tree import Node
from .numpy_eval import evaluate


@dataclass(frozen=True)
class Edge:
    """A set of elements (a boolean mask over one node's output) where that node is delicate."""

    kind: str  # "kink" | "pole" | "domain" | "convention"
    reason: str
    mask: np.ndarray


def find_edges(tree: Node, inputs: Mapping[str, np.ndarray], dtype: type[np.floating] = np.float64) -> list[Edge]:
    """Every delicate point of every node of ``tree`` at ``inputs``."""
    values: dict[int, np.ndarray] = {}
    evaluate(tree, inputs, dtype, record=values)
    edges: list[Edge] = []
    with np.errstate(all="ignore"):
        for node in tree.postorder():
            if node.is_leaf:
                continue
            args = [values[id(child)] for child in node.args]
            value = values[id(node)]
            text = str(node)
            if node.record.edges is None:
                continue
            constant = tuple(child.is_constant() for child in node.args)
            found = node.record.edges(np, args, value, text, constant, **node.record.keywords(node.dim, node.options))
            edges.extend(Edge(kind, reason, np.asarray(mask)) for kind, reason, mask in found if np.any(mask))
    return edges
