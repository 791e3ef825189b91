"""Gradients in matrix notation, as matrixcalculus.org writes them (``2*(W*x - y)*x.T``), where sympy
can derive one. Best effort: the tree is turned into sympy matrix expressions (vectors as columns,
1x1 results as traces), differentiated, and the result is kept only if it evaluates to the exact
element-by-element gradient at the inputs. Anything else gives no formula, never a wrong one."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy

from . import limits
from .deadline import deadline, recursion_room
from .errors import LimitError
from .shapes import infer
from .symbolic import _FUNCTIONS, to_sympy
from .tree import FUNCTIONS, Node


class _UnsupportedError(Exception):
    """No matrix-notation counterpart for this part of the expression."""


def _matrix(name: str, shape: tuple[int, ...]) -> Any:
    if len(shape) == 0:
        return sympy.Symbol(name, real=True)
    if len(shape) == 1:
        return sympy.MatrixSymbol(name, shape[0], 1)
    if len(shape) == 2:
        return sympy.MatrixSymbol(name, *shape)
    raise _UnsupportedError


def _total(expr: Any, shape: tuple[int, ...]) -> Any:
    """The sum of all elements, as a scalar."""
    if not shape:
        return expr
    if len(shape) == 1:
        return sympy.Trace(sympy.OneMatrix(1, shape[0]) * expr)
    return sympy.Trace(sympy.OneMatrix(1, shape[0]) * expr * sympy.OneMatrix(shape[1], 1))


class _Converter:
    def __init__(self, tree: Node, inputs: Mapping[str, tuple[int, ...]]) -> None:
        self.shapes = infer(tree, inputs)
        self.symbols = {name: _matrix(name, shape) for name, shape in inputs.items()}

    def shape(self, node: Node) -> tuple[int, ...]:
        return self.shapes[id(node)]

    def convert(self, node: Node) -> Any:
        op, shape = node.op, self.shape(node)
        if op in ("number", "constant"):
            return to_sympy(node, {})
        if op == "variable":
            return self.symbols[node.text]
        if op == "transpose":
            inner = self.convert(node.args[0])
            return inner.T if len(shape) == 2 else inner
        if op == "call":
            return self.call(node)
        args = [self.convert(child) for child in node.args]
        shapes = [self.shape(child) for child in node.args]
        if op == "neg":
            return -args[0]
        if op == "matmul":
            a, b = args
            if len(shapes[0]) == 1 and len(shapes[1]) == 1:
                return sympy.Trace(a.T * b)
            if len(shapes[0]) == 2:
                return a * b
            raise _UnsupportedError
        scalars = [not s for s in shapes]
        if op in ("add", "sub") and (shapes[0] == shapes[1]):
            return args[0] + args[1] if op == "add" else args[0] - args[1]
        if op == "mul" and any(scalars):
            return args[0] * args[1]
        if op == "div" and scalars[1]:
            return args[0] * (1 / args[1]) if not scalars[0] else args[0] / args[1]
        if op == "pow" and all(scalars):
            return args[0] ** args[1]
        raise _UnsupportedError

    def call(self, node: Node) -> Any:
        name = node.text
        inner = node.args[0]
        shape = self.shape(inner)
        if name in FUNCTIONS and not shape:
            return _FUNCTIONS[name](self.convert(inner))
        if len(node.args) == 2 and name != "dot":
            raise _UnsupportedError  # a reduction over one dimension
        if name in ("sum", "mean"):
            if inner.op == "pow" and inner.args[1].op == "number" and inner.args[1].text == "2" and shape:
                base = self.convert(inner.args[0])
                total = sympy.Trace(base.T * base)  # the sum of squares
            else:
                total = _total(self.convert(inner), shape)
            return total if name == "sum" else total / math.prod(shape or (1,))
        if name == "dot":
            a, b = (self.convert(arg) for arg in node.args)
            return sympy.Trace(a.T * b)
        raise _UnsupportedError


def matrix_gradient(
    tree: Node,
    inputs: Mapping[str, np.ndarray],
    name: str,
    count: int,
    expected: np.ndarray,
) -> Any | None:
    """d loss / d ``name`` in matrix notation, if sympy derives one that equals ``expected`` (the exact
    element-wise gradient) at ``inputs``; else None."""
    shapes = {n: tuple(v.shape) for n, v in inputs.items()}
    try:
        with (
            warnings.catch_warnings(),
            recursion_room(limits.RECURSION_LIMIT),
            deadline(limits.SIMPLIFY_SECONDS, "matrix calculus"),
        ):
            warnings.simplefilter("ignore")  # sympy's array calculus warns about its own internals
            converter = _Converter(tree, shapes)
            loss = _total(converter.convert(tree), converter.shape(tree))
            if count > 1:
                loss = loss / count
            gradient = sympy.diff(loss, converter.symbols[name])
            # Array expressions are not matrix notation, and sympy prints a matrix of ones as "1".
            unreadable = ("Array", "Permute", "OneMatrix")
            if any(type(part).__name__.startswith(unreadable) for part in sympy.preorder_traversal(gradient)):
                return None
            values = {converter.symbols[n]: _explicit(v) for n, v in inputs.items()}
            numeric = gradient.xreplace(values).doit()
            got = np.array(sympy.Matrix(numeric) if hasattr(numeric, "shape") else numeric, dtype=np.float64)
    except (_UnsupportedError, LimitError, TypeError, ValueError, AttributeError, NotImplementedError, IndexError):
        return None
    if got.size != expected.size or not np.allclose(got.reshape(expected.shape), expected, rtol=1e-9, atol=1e-12):
        return None
    return gradient


def _explicit(value: np.ndarray) -> Any:
    if value.ndim == 0:
        return sympy.Float(float(value))
    if value.ndim == 1:
        return sympy.ImmutableMatrix(value.reshape(-1, 1).tolist())
    return sympy.ImmutableMatrix(value.tolist())
