"""The symbolic side, chosen by the expression: one sympy formula for all elements when it is
element-wise (:mod:`backcalc.sympy_formula`), element by element when it mixes elements
(:mod:`backcalc.sympy_elements`). Both give the same interface (``derive``, ``values``, ``text``)."""

from __future__ import annotations

from collections.abc import Mapping

from .sympy_elements import ElementDifferentiator
from .sympy_formula import Differentiator
from .tree import Node


def differentiator_for(tree: Node, shapes: Mapping[str, tuple[int, ...]]) -> Differentiator | ElementDifferentiator:
    """The sympy side for ``tree`` with inputs of ``shapes`` (element by element needs the shapes)."""
    if tree.mixes_elements():
        return ElementDifferentiator(tree, shapes)
    return Differentiator(tree, list(shapes))
