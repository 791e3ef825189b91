"""A formula rewritten for evaluation, not for reading: a product with a diagonal matrix scales rows or
columns instead (``diag(v) @ M`` is ``unsqueeze(v, 1)*M``, ``M @ diag(v)`` is ``M*v``), so that NumPy
never builds the n x n diagonal nor multiplies by it (n**2 operations instead of n**3). The printed
formula keeps its ``diag``; the values are the same.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..language.shapes import infer
from ..language.tree import Node, rebuilt
from ..ops.arithmetic import MUL
from ..ops.linalg import DIAG
from ..ops.tensors import MATMUL, UNSQUEEZE

Shape = tuple[int, ...]

_MATMUL, _DIAG, _MUL, _UNSQUEEZE = MATMUL.name, DIAG.name, MUL.name, UNSQUEEZE.name


def for_numpy(tree: Node, input_shapes: Mapping[str, Shape]) -> Node:
    """``tree`` with every product by a diagonal matrix made from a vector written as a scaling."""
    shapes = infer(tree, input_shapes)
    done: dict[int, Node] = {}
    for node in tree.postorder():
        if node.is_leaf:
            done[id(node)] = node
            continue
        args = tuple(done[id(arg)] for arg in node.args)
        done[id(node)] = _scaled(node, args, shapes) or rebuilt(node, args)
    return done[id(tree)]


def _diagonal(node: Node, original: Node, shapes: Mapping[int, Shape]) -> Node | None:
    """The vector v of ``diag(v)``, or None."""
    if node.op == _DIAG and len(shapes[id(original.args[0])]) == 1:
        return node.args[0]
    return None


def _scaled(node: Node, args: tuple[Node, ...], shapes: Mapping[int, Shape]) -> Node | None:
    if node.op != _MATMUL:
        return None
    left, right = args
    rows = _diagonal(left, node.args[0], shapes)
    if rows is not None:
        if len(shapes[id(node.args[1])]) == 2:
            return Node(_MUL, (Node(_UNSQUEEZE, (rows,), dim=1), right))
        if len(shapes[id(node.args[1])]) == 1:
            return Node(_MUL, (rows, right))
    columns = _diagonal(right, node.args[1], shapes)
    if columns is not None and len(shapes[id(node.args[0])]) in (1, 2):
        return Node(_MUL, (left, columns))
    return None
