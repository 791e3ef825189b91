"""A third evaluator of the project's tree, in plain numpy float64: for central finite differences
(``--check-fd``) and for finding the points where calculus itself is delicate (kinks, poles, domain
edges). It shares no code with the sympy or torch sides beyond the numpy functions themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .parser import dimension
from .tree import TENSOR_FUNCTIONS, Node


def sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5*(1 + tanh(x/2)) is the logistic function without overflow for large |x|.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "softplus": softplus,
}

_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "pow": np.power,
    "matmul": np.matmul,
}


def _logsumexp(x: np.ndarray, dim: int | None) -> np.ndarray:
    top = np.max(x, axis=dim, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.log(np.sum(np.exp(x - top), axis=dim, keepdims=True)) + top
    return np.squeeze(total, axis=dim) if dim is not None else total.reshape(())


def _softmax(x: np.ndarray) -> np.ndarray:
    if x.ndim == 0:
        return np.ones_like(x)
    shifted = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


_TENSOR: dict[str, Callable[..., np.ndarray]] = {
    "sum": lambda x, dim: np.sum(x, axis=dim),
    "mean": lambda x, dim: np.asarray(np.mean(x, axis=dim)),
    "logsumexp": _logsumexp,
    "softmax": lambda x, dim: _softmax(x),
    "norm": lambda x, dim: np.sqrt(np.sum(x * x)),
    "dot": np.dot,
}


@dataclass(frozen=True)
class Edge:
    """A set of elements (a boolean mask over the output) where one node is at a delicate point."""

    kind: str  # "kink" | "pole" | "domain" | "overflow"
    reason: str
    mask: np.ndarray


def evaluate(
    node: Node,
    inputs: Mapping[str, np.ndarray],
    edges: list[Edge] | None = None,
    dtype: type[np.floating] = np.float64,
    record: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """The value of ``node`` in ``dtype``; with ``edges``, also collect its delicate points; with
    ``record``, also the value of every node, keyed by ``id(node)``.

    Edges are looked for in the working dtype, because that is where torch meets them: in float32,
    ``x - 0.1`` is exactly 0 at ``x = 0.1``, in float64 it is not.
    """
    with np.errstate(all="ignore"):
        return _evaluate(node, inputs, edges, dtype, record)


def _evaluate(
    node: Node,
    inputs: Mapping[str, np.ndarray],
    edges: list[Edge] | None,
    dtype: type[np.floating],
    record: dict[int, np.ndarray] | None,
) -> np.ndarray:
    value = _value(node, inputs, edges, dtype, record)
    if record is not None:
        record[id(node)] = value
    return value


def _value(
    node: Node,
    inputs: Mapping[str, np.ndarray],
    edges: list[Edge] | None,
    dtype: type[np.floating],
    record: dict[int, np.ndarray] | None,
) -> np.ndarray:
    op = node.op
    if op == "number":
        return np.array(float(node.text), dtype=dtype)
    if op == "constant":
        return np.array(math.pi if node.text == "pi" else math.e, dtype=dtype)
    if op == "variable":
        return np.asarray(inputs[node.text], dtype=dtype)
    if op == "call" and node.text in TENSOR_FUNCTIONS:
        args = [_evaluate(child, inputs, edges, dtype, record) for child in node.args[: 2 if node.text == "dot" else 1]]
        dim = dimension(node.args[1]) if len(node.args) == 2 and node.text != "dot" else None
        value = np.asarray(_TENSOR[node.text](*args) if node.text == "dot" else _TENSOR[node.text](args[0], dim))
        if edges is not None and node.text == "norm" and value == 0:
            edges.append(Edge("kink", f"{node} at the zero vector: the 2-norm has no derivative there", value == 0))
        return value.astype(dtype, copy=False)
    args = [_evaluate(child, inputs, edges, dtype, record) for child in node.args]
    if op == "call":
        value = FUNCTIONS[node.text](args[0])
    elif op == "neg":
        value = -args[0]
    elif op == "transpose":
        value = np.transpose(args[0])
    else:
        value = _BINARY[op](args[0], args[1])
    if edges is not None:
        _find_edges(node, args, value, edges)
    return value


def _find_edges(node: Node, args: list[np.ndarray], value: np.ndarray, edges: list[Edge]) -> None:
    text = str(node)

    def add(kind: str, reason: str, mask: np.ndarray) -> None:
        if np.any(mask):
            edges.append(Edge(kind, reason, np.asarray(mask)))

    u = args[0]
    name = node.text
    if node.op == "call" and name == "relu":
        add("kink", f"{text} at 0: torch takes 0, sympy Heaviside(0) = 1/2", u == 0)
    elif node.op == "call" and name == "abs":
        add("kink", f"{text} at 0: the derivative is undefined there", u == 0)
    elif node.op == "call" and name in ("log", "sqrt"):
        add("pole", f"{text} at 0: the derivative is infinite", u == 0)
        add("domain", f"{text} of a negative number is undefined over the reals", u < 0)
    elif node.op == "call" and name in ("asin", "acos"):
        add("pole", f"{text} at ±1: the derivative is infinite", np.abs(u) == 1)
        add("domain", f"{text} outside [-1, 1] is undefined over the reals", np.abs(u) > 1)
    elif node.op == "div":
        add("pole", f"{text} with a zero denominator", args[1] == 0)
    elif node.op == "pow":
        base, exponent = args
        # With a variable exponent, d/d exponent is base**exponent * log(base): undefined for base <= 0.
        varies = not node.args[1].is_constant()
        fractional = (exponent != np.round(exponent)) | varies
        add(
            "pole",
            f"{text} with base 0 and exponent below 1",
            (base == 0) & (((exponent < 1) & (exponent != 0)) | varies),
        )
        add("domain", f"{text}: a non-integer or variable power of a negative number", (base < 0) & fractional)
    if np.all(np.isfinite(args[0])) and all(np.all(np.isfinite(a)) for a in args[1:]):
        add("overflow", f"{text} overflows to a non-finite value", ~np.isfinite(value))


def sum_to_shape(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast array back to an input's shape, as autograd does for a broadcast input."""
    lead = array.ndim - len(shape)
    if lead:
        array = array.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and array.shape[i] != 1)
    if axes:
        array = array.sum(axis=axes, keepdims=True)
    return array


def finite_difference(
    tree: Node,
    inputs: Mapping[str, np.ndarray],
    name: str,
    output_shape: tuple[int, ...],
    scale: float,
) -> np.ndarray:
    """Central differences of the loss with respect to every element of input ``name``, in float64.

    The step is 1e-6 (as ``torch.autograd.gradcheck``), relative for elements larger than 1. Every
    operation of the language is element-wise, so each output element depends on one element of each
    input: stepping all elements of ``name`` at once and summing back to its shape gives each
    element's own central difference in two evaluations instead of two per element.
    """
    x = np.asarray(inputs[name], dtype=np.float64)
    step = 1e-6 * np.maximum(1.0, np.abs(x))
    if tree.mixes_elements():
        return _finite_difference_each(tree, inputs, name, step) * scale
    plus = evaluate(tree, {**inputs, name: x + step})
    minus = evaluate(tree, {**inputs, name: x - step})
    with np.errstate(all="ignore"):
        slope = (np.broadcast_to(plus, output_shape) - np.broadcast_to(minus, output_shape)) / np.broadcast_to(
            2 * step, output_shape
        )
    return sum_to_shape(slope, x.shape) * scale


def edges_on(mask: np.ndarray, output_shape: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """An edge mask over the output, seen from an input of ``shape``: any broadcast copy counts.

    A mask that does not broadcast to the output (a node below a reduction or a product) may affect
    every element of the input: then the whole input is marked.
    """
    try:
        return sum_to_shape(np.broadcast_to(mask, output_shape).astype(np.int64), shape) > 0
    except ValueError:
        return np.full(shape, bool(np.any(mask)))


def _finite_difference_each(tree: Node, inputs: Mapping[str, np.ndarray], name: str, step: np.ndarray) -> np.ndarray:
    """Central differences one element at a time, for expressions that mix elements (two
    evaluations of the whole expression per element: bounded by ``limits.MAX_FD_EVALUATIONS``)."""
    from . import limits
    from .errors import LimitError

    x = np.asarray(inputs[name], dtype=np.float64)
    if 2 * x.size > limits.MAX_FD_EVALUATIONS:
        raise LimitError(
            f"finite differences for {name} would take {2 * x.size:,} evaluations; the limit is "
            f"{limits.MAX_FD_EVALUATIONS:,}"
        )
    result = np.empty(x.shape, dtype=np.float64)
    flat_x, flat_step = x.reshape(-1), step.reshape(-1)
    for i in range(x.size):
        shifted = flat_x.copy()
        shifted[i] += flat_step[i]
        plus = float(np.sum(evaluate(tree, {**inputs, name: shifted.reshape(x.shape)})))
        shifted[i] -= 2 * flat_step[i]
        minus = float(np.sum(evaluate(tree, {**inputs, name: shifted.reshape(x.shape)})))
        result.reshape(-1)[i] = (plus - minus) / (2 * flat_step[i])
    return result
