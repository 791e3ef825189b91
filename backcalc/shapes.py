"""Shapes through the expression tree, checked before any tensor is made: broadcasting as in torch,
``@`` as ``torch.matmul``, reductions over all elements or one dimension. A misfit names both shapes."""

from __future__ import annotations

import math
from collections.abc import Mapping

from . import limits
from .errors import InputError, LimitError
from .parser import dimension
from .tree import Node, to_text

Shape = tuple[int, ...]


def infer(tree: Node, inputs: Mapping[str, Shape]) -> dict[int, Shape]:
    """The shape of every node, keyed by ``id(node)``; raises :class:`InputError` on a misfit."""
    shapes: dict[int, Shape] = {}
    stack: list[tuple[Node, bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if not expanded:
            stack.append((node, True))
            stack.extend((child, False) for child in node.args)
            continue
        shape = _shape(node, [shapes[id(child)] for child in node.args], inputs)
        if math.prod(shape) > limits.MAX_ELEMENTS:
            raise LimitError(
                f"{_short(node)} would have {math.prod(shape):,} elements; the limit is {limits.MAX_ELEMENTS:,}"
            )
        shapes[id(node)] = shape
    return shapes


def output_shape(tree: Node, inputs: Mapping[str, Shape]) -> Shape:
    return infer(tree, inputs)[id(tree)]


def _short(node: Node, width: int = 40) -> str:
    text = to_text(node)
    return text if len(text) <= width else text[: width - 3] + "..."


def _show(shape: Shape) -> str:
    return f"[{', '.join(map(str, shape))}]"


def broadcast(node: Node, shapes: list[Shape]) -> Shape:
    result: list[int] = []
    for dims in zip(*(((1,) * (max(map(len, shapes)) - len(s)) + s) for s in shapes), strict=True):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            listed = " and ".join(_show(s) for s in shapes)
            raise InputError(f"{_short(node)}: shapes {listed} do not broadcast")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _axis(node: Node, shape: Shape) -> int:
    dim = dimension(node.args[1])
    assert dim is not None  # the parser accepts only integer literals here
    if not -len(shape) <= dim < len(shape) or not shape:
        raise InputError(f"{_short(node)}: dimension {dim} is out of range for shape {_show(shape)}")
    return dim % len(shape)


def _shape(node: Node, args: list[Shape], inputs: Mapping[str, Shape]) -> Shape:
    op = node.op
    if op in ("number", "constant"):
        return ()
    if op == "variable":
        return tuple(inputs[node.text])
    if op == "neg":
        return args[0]
    if op == "transpose":
        return tuple(reversed(args[0]))
    if op == "matmul":
        return _matmul(node, args[0], args[1])
    if op == "call":
        name = node.text
        if name in ("sum", "mean", "logsumexp"):
            if len(node.args) == 1:
                return ()
            axis = _axis(node, args[0])
            return args[0][:axis] + args[0][axis + 1 :]
        if name == "norm":
            return ()
        if name == "dot":
            a, b = args
            if len(a) != 1 or len(b) != 1 or a != b:
                raise InputError(f"{_short(node)}: dot needs two vectors of one length, not {_show(a)} and {_show(b)}")
            return ()
        return args[0]  # element-wise, and softmax
    return broadcast(node, args)


def _matmul(node: Node, a: Shape, b: Shape) -> Shape:
    if not a or not b:
        raise InputError(f"{_short(node)}: @ needs tensors of at least one dimension, not {_show(a)} and {_show(b)}")
    inner_a = a[-1]
    inner_b = b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        raise InputError(
            f"{_short(node)}: shapes {_show(a)} and {_show(b)} do not fit for @ (inner sizes {inner_a} and {inner_b})"
        )
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return b[:-2] + b[-1:]
    if len(b) == 1:
        return a[:-1]
    batch = broadcast(node, [a[:-2], b[:-2]])
    return (*batch, a[-2], b[-1])
