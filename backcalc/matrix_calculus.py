"""Gradients in matrix notation, as matrixcalculus.org writes them (``2*(W*x - y)*x.T``), where sympy
can derive one. Best effort: the tree is turned into sympy matrix expressions by each record's matrix
rule (vectors as columns, 1x1 results as traces), differentiated, and the result is kept only if it
evaluates to the exact element-by-element gradient at the inputs. Anything else gives no formula,
never a wrong one."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy

from . import limits
from .deadline import deadline, recursion_room
from .errors import LimitError
from .ops.tensors import total
from .shapes import infer
from .sympy_formula import leaf
from .tree import Node


def _matrix(name: str, shape: tuple[int, ...]) -> Any:
    if len(shape) == 0:
        return sympy.Symbol(name, real=True)
    if len(shape) <= 2:
        return sympy.MatrixSymbol(name, shape[0], shape[1] if len(shape) == 2 else 1)
    raise NotImplementedError


def to_matrix(tree: Node, symbols: Mapping[str, Any], shapes: Mapping[int, tuple[int, ...]]) -> Any:
    """The tree as one sympy matrix expression, or NotImplementedError."""
    values: dict[int, Any] = {}
    for node in tree.postorder():
        if node.is_variable:
            value = symbols[node.text]
        elif node.is_leaf:
            value = leaf(node)
        else:
            op = node.record
            args = [values[id(child)] for child in node.args]
            arg_shapes = [shapes[id(child)] for child in node.args]
            if op.elementwise and op.sympy is not None and all(s == () for s in arg_shapes):
                value = op.sympy(sympy, *args)
            elif op.matrix is not None:
                extra = {"dim": node.dim} if op.takes_dim else {}
                value = op.matrix(sympy, args, arg_shapes, **extra)
            else:
                raise NotImplementedError
        values[id(node)] = value
    return values[id(tree)]


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
            node_shapes = infer(tree, shapes)
            symbols = {n: _matrix(n, shape) for n, shape in shapes.items()}
            loss = total(sympy, to_matrix(tree, symbols, node_shapes), node_shapes[id(tree)])
            if count > 1:
                loss = loss / count
            gradient = sympy.diff(loss, symbols[name])
            # Array expressions are not matrix notation, and sympy prints a matrix of ones as "1".
            unreadable = ("Array", "Permute", "OneMatrix", "Hadamard")
            if any(type(part).__name__.startswith(unreadable) for part in sympy.preorder_traversal(gradient)):
                return None
            values = {symbols[n]: _explicit(v) for n, v in inputs.items()}
            numeric = gradient.xreplace(values).doit()
            got = np.array(sympy.Matrix(numeric) if hasattr(numeric, "shape") else numeric, dtype=np.float64)
    except (NotImplementedError, LimitError, TypeError, ValueError, AttributeError, IndexError):
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
