"""The symbolic side, chosen by the expression: one sympy formula for all elements when it is
element-wise (:mod:`backcalc.symbolic.elementwise`); formulas in matrix notation by backprop on the tree when it
mixes elements (:mod:`backcalc.symbolic.matrix`), or sympy element by element where there is no matrix rule
(:mod:`backcalc.symbolic.elements`, a batched ``@``). All give the same interface (``derive``, ``values``).

Each is imported only when chosen: formulas in matrix notation need no sympy at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..language.tree import Node


def differentiator_for(
    tree: Node, shapes: Mapping[str, tuple[int, ...]], labels: Mapping[str, Any] | None = None
) -> Any:
    """The symbolic side for ``tree`` with inputs of ``shapes``. A program of named steps takes
    backprop's formulas, written in its step names (``2*s*x``), whatever its operations: one sympy
    formula of the whole composition would spell every step out, and swells with each."""
    program = any(node.name for node in tree.walk())
    if not tree.mixes_elements() and not program:
        from .elementwise import Differentiator

        return Differentiator(tree, list(shapes))
    from .matrix import MatrixDifferentiator

    try:
        return MatrixDifferentiator(tree, shapes, labels)
    except NotImplementedError:
        from .elements import ElementDifferentiator

        return ElementDifferentiator(tree, shapes, labels)
