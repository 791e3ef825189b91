"""Integer inputs: the inputs a tree uses as class labels or indices (``cross_entropy(z, y)``,
``one_hot(y, 3)``, ``x[y]``), found from where they are used. Each record says which of its arguments
are integer ones (:meth:`backcalc.ops.Op.integers`, at the arguments' shapes); an input in such a place
is a label, read as int64, with no gradient. An integer argument must be a label input, an operation
whose result is whole numbers (``arange(n)``), or a subscript or reshaping of one. Before any work, each
label's values are checked against the axis it indexes (:meth:`backcalc.ops.Op.ranges`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from .shapes import Shape, short
from .tree import Node


def integer_nodes(tree: Node, node_shapes: Mapping[int, Shape]) -> dict[int, Node]:
    """Every node whose value is whole numbers by its place in the tree, keyed by ``id``: the
    integer arguments of their parents, and what a subscript or reshaping of one reads."""
    found: dict[int, Node] = {}
    for node in tree.walk():  # parents first: a subscript's argument is reached after the subscript
        if node.is_leaf:
            continue
        if id(node) in found and node.record.keeps_integers and node.args:
            found[id(node.args[0])] = node.args[0]
        shapes = [node_shapes[id(arg)] for arg in node.args]
        for position in node.record.integers(shapes, node.options):
            found[id(node.args[position])] = node.args[position]
    return found


def integer_inputs(tree: Node, node_shapes: Mapping[int, Shape]) -> list[str]:
    """The inputs used as labels or indices, in order of first appearance; :class:`InputError` when
    an integer argument is something else (a number, a float expression) or a label is also used as
    a number."""
    found = integer_nodes(tree, node_shapes)
    labels: dict[str, None] = {}
    for node in found.values():
        if node.is_variable:
            labels.setdefault(node.text)
        elif node.is_leaf or not (node.record.integer_output or node.record.keeps_integers):
            raise InputError(f"{short(node)} is used as an index or class label: give an input of whole numbers")
    for parent in tree.walk():
        for arg in parent.args:
            if arg.is_variable and arg.text in labels and id(arg) not in found and not _passes(parent, found):
                raise InputError(
                    f"{arg.text} is used as an index or class label, and as a number in {short(parent)}: "
                    "give two inputs"
                )
    if tree.is_variable and tree.text in labels:
        raise InputError(f"{tree.text} is a label and has no gradient: the output must depend on a float input")
    return [name for name in tree.variables() if name in labels]


def _passes(parent: Node, found: Mapping[int, Node]) -> bool:
    """Whether ``parent`` hands its integer argument on (a subscript of a label is a label)."""
    return id(parent) in found and not parent.is_leaf and parent.record.keeps_integers


def check_ranges(tree: Node, node_shapes: Mapping[int, Shape], labels: Mapping[str, np.ndarray]) -> None:
    """Refuse a label outside the axis it indexes (status 2, before any work, never an IndexError)."""
    for node in tree.walk():
        if node.is_leaf:
            continue
        shapes = [node_shapes[id(arg)] for arg in node.args]
        for position, (low, high) in node.record.ranges(shapes, node.dim, node.options).items():
            arg = node.args[position]
            while not arg.is_leaf and arg.record.keeps_integers:  # a subscript's values are the label's
                arg = arg.args[0]
            if not arg.is_variable or arg.text not in labels:
                continue
            values = labels[arg.text]
            bad = (values < low) | (values >= high)
            if bad.any():
                value = int(values[bad].flat[0])
                span = f"{low} to {high - 1}" if high > low else "none"
                raise InputError(f"{arg.text}: label {value} is out of range in {short(node)} (allowed: {span})")
