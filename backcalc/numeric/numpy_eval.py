"""The NumPy evaluator: a third reading of the project's tree, in plain NumPy, by each record's NumPy
implementation. It shares no code with the sympy or torch sides beyond NumPy itself, and serves the
finite differences (:mod:`backcalc.numeric.finite_differences`), the edge finder (:mod:`backcalc.numeric.edges`) and
the chain rule of ``explain``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..language.tree import Node


def evaluate(
    tree: Node,
    inputs: Mapping[str, np.ndarray],
    dtype: type[np.floating] = np.float64,
    record: dict[int, np.ndarray] | None = None,
    known: dict[int, tuple[Node, np.ndarray]] | None = None,
) -> np.ndarray:
    """The value of ``tree`` in ``dtype``; with ``record``, also the value of every node, keyed by
    ``id(node)``. ``known`` (``id -> (node, value)``, at the same inputs) holds values found before,
    for formulas that share their nodes: each is computed once. Overflow, division by zero and domain
    errors give inf and nan, as in torch."""
    values: dict[int, np.ndarray] = {} if record is None else record
    with np.errstate(all="ignore"):
        for node in tree.postorder():
            if known is not None and (seen := known.get(id(node))) is not None and seen[0] is node:
                values[id(node)] = seen[1]
                continue
            if node.is_variable:
                given = np.asarray(inputs[node.text])
                value = given if given.dtype.kind == "i" else given.astype(dtype, copy=False)  # labels stay int64
            elif node.is_leaf:
                value = np.array(node.number(), dtype=dtype)
            else:
                op = node.record
                args = [values[id(child)] for child in node.args]
                extra = op.keywords(node.dim, node.options)
                value = np.asarray(op.numpy(np, *args, **extra))  # type: ignore[misc]
                if value.dtype.kind != "i" or not (op.integer_output or op.keeps_integers):
                    value = value.astype(dtype, copy=False)  # indices stay whole numbers
            values[id(node)] = value
            if known is not None:
                known[id(node)] = (node, value)
    return values[id(tree)]
