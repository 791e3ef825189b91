"""Shapes through the expression tree, checked before any tensor is made: each operation's record
gives its shape rule (broadcasting as in torch, ``@`` as ``torch.matmul``, reductions). A misfit
names the subexpression and both shapes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .. import limits, ops
from ..errors import InputError, LimitError
from ..ops.rules import broadcast
from .tree import Node, to_text

Shape = ops.Shape


def infer(tree: Node, inputs: Mapping[str, Shape], known: dict[int, Any] | None = None) -> dict[int, Shape]:
    """The shape of every node, keyed by ``id(node)``; raises :class:`InputError` on a misfit. ``known``
    (``id -> (node, shape)``) holds shapes found before: the walk stops at them, and adds the new ones."""
    shapes: dict[int, Shape] = {}
    # Each entry carries the step (a program's named node) it lies in, for the error's message.
    stack: list[tuple[Node, bool, str | None]] = [(tree, False, tree.name or None)]
    while stack:
        node, expanded, step = stack.pop()
        if id(node) in shapes:
            continue
        if known is not None and (seen := known.get(id(node))) is not None and seen[0] is node:
            shapes[id(node)] = seen[1]
            continue
        if not expanded and node.args:
            stack.append((node, True, step))
            stack.extend((child, False, child.name or step) for child in reversed(node.args) if id(child) not in shapes)
            continue
        try:
            shape = _shape(node, [shapes[id(child)] for child in node.args], inputs)
        except (InputError, LimitError) as exc:
            if step:  # a program's error names the step the misfit is in
                exc.message = f"in step {step}: {exc.message}"
            raise
        shapes[id(node)] = shape
        if known is not None:
            known[id(node)] = (node, shape)
    return shapes


def _shape(node: Node, args: list[Shape], inputs: Mapping[str, Shape]) -> Shape:
    """One node's shape from its arguments', by its record's rule, within the limits."""
    if node.is_variable:
        shape = tuple(inputs[node.text])
    elif node.is_leaf:
        shape = ()
    else:
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
    return shape


def output_shape(tree: Node, inputs: Mapping[str, Shape]) -> Shape:
    return infer(tree, inputs)[id(tree)]


def short(node: Node, width: int = 40) -> str:
    text = to_text(node)
    return text if len(text) <= width else text[: width - 3] + "..."
