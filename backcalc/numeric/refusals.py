"""The refusal finder: arguments where an operation has no value at all (the inverse of a singular
matrix), found by evaluating the tree with NumPy at the inputs and asking each operation's refusal
rule. Unlike an edge, which explains a difference, a refusal stops the run before either side starts:
there is no gradient to compare. The search runs only for trees with an operation that has such a rule.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from ..language.shapes import short
from ..language.tree import Node
from .numpy_eval import evaluate


def refuse_undefined(tree: Node, inputs: Mapping[str, np.ndarray], dtype: type[np.floating] = np.float64) -> None:
    """Raise :class:`InputError` at the first node (innermost first) with no value at ``inputs``."""
    nodes = [node for node in tree.postorder() if not node.is_leaf and node.record.refuse is not None]
    if not nodes:
        return
    values: dict[int, np.ndarray] = {}
    evaluate(tree, inputs, dtype, record=values)
    for node in nodes:
        rule = node.record.refuse
        assert rule is not None
        reason = rule(np, [values[id(child)] for child in node.args])
        if reason is not None:
            help = "compute in float64: --dtype float64" if dtype == np.float32 and "in float32" in reason else None
            raise InputError(f"{short(node)}: {reason}", help=help)
