"""Shapes through the expression tree, checked before any tensor is made: each operation's record
gives its shape rule (broadcasting as in torch, ``@`` as ``torch.matmul``, reductions). A misfit
names the subexpression and both shapes."""

from __future__ import annotations

import math
from collections.abc import Mapping

from .. import limits, ops
from ..errors import InputError, LimitError
from ..ops.rules import broadcast
from .tree import Node, to_text

Shape = ops.Shape


def infer(tree: Node, inputs: Mapping[str, Shape]) -> dict[int, Shape]:
    """The shape of every node, keyed by ``id(node)``; raises :class:`InputError` on a misfit."""
    shapes: dict[int, Shape] = {}
    for node in tree.postorder():
        if node.is_variable:
            shape = tuple(inputs[node.text])
        elif node.is_leaf:
            shape = ()
        else:
            args = [shapes[id(child)] for child in node.args]
            try:
                own = node.record.shape_of(args, node.dim, node.options)
                shape = broadcast(args) if own is None else own
            except ops.ShapeMisfitError as exc:
                raise InputError(f"{short(node)}: {exc}") from None
        if len(shape) > limits.MAX_NDIM:
            raise LimitError(f"{short(node)} would have {len(shape)} dimensions; the limit is {limits.MAX_NDIM}")
        if math.prod(shape) > limits.MAX_ELEMENTS:
            raise LimitError(
                f"{short(node)} would have {math.prod(shape):,} elements; the limit is {limits.MAX_ELEMENTS:,}"
            )
        shapes[id(node)] = shape
    return shapes


def output_shape(tree: Node, inputs: Mapping[str, Shape]) -> Shape:
    return infer(tree, inputs)[id(tree)]


def short(node: Node, width: int = 40) -> str:
    text = to_text(node)
    return text if len(text) <= width else text[: width - 3] + "..."
