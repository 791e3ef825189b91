"""The autograd evaluator: the project's tree to torch operations, then ``loss.backward()``.

Independent of sympy. Literal exponents stay Python numbers, so ``x**2`` is ``torch.pow(x, 2.0)``
with torch's own backward rule (and ``x**0`` has gradient 0 even at ``x = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError
from .parser import dimension
from .tree import Node
from .workload import out_of_memory

DTYPES = {"float32": torch.float32, "float64": torch.float64}

_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "asin": torch.asin,
    "acos": torch.acos,
    "atan": torch.atan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softplus": torch.nn.functional.softplus,
}


def _reduce(total: Callable[..., torch.Tensor]) -> Callable[[torch.Tensor, int | None], torch.Tensor]:
    return lambda x, dim: total(x) if dim is None else total(x, dim=dim)


_TENSOR_FUNCTIONS: dict[str, Callable[[torch.Tensor, int | None], torch.Tensor]] = {
    "sum": _reduce(torch.sum),
    "mean": _reduce(torch.mean),
    "logsumexp": lambda x, dim: torch.logsumexp(x.reshape(-1), dim=0) if dim is None else torch.logsumexp(x, dim=dim),
    "softmax": lambda x, dim: torch.softmax(x, dim=-1) if x.dim() else torch.ones_like(x),
    "norm": lambda x, dim: torch.linalg.vector_norm(x),
    "dot": lambda x, dim: x,  # two arguments: handled in _evaluate
}


@dataclass(frozen=True)
class Backward:
    """What one forward and backward pass gave."""

    output: np.ndarray
    loss: float
    reduce: str | None
    gradients: dict[str, np.ndarray]


def evaluate(
    node: Node,
    tensors: Mapping[str, torch.Tensor],
    dtype: torch.dtype,
    record: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The torch tensor of ``node`` given a tensor per input variable; with ``record``, also the
    tensor of every node that torch computes, keyed by ``id(node)``."""
    value = _evaluate(node, tensors, dtype, record)
    if record is not None:
        record[id(node)] = value
    return value


def _evaluate(
    node: Node, tensors: Mapping[str, torch.Tensor], dtype: torch.dtype, record: dict[int, torch.Tensor] | None
) -> torch.Tensor:
    op = node.op
    if op == "number":
        return torch.tensor(float(node.text), dtype=dtype)
    if op == "constant":
        return torch.tensor(math.pi if node.text == "pi" else math.e, dtype=dtype)
    if op == "variable":
        return tensors[node.text]
    if op == "call" and node.text in _TENSOR_FUNCTIONS:
        args = [evaluate(arg, tensors, dtype, record) for arg in node.args[:1]]
        if node.text == "dot":
            return torch.dot(args[0], evaluate(node.args[1], tensors, dtype, record))
        dim = dimension(node.args[1]) if len(node.args) == 2 else None
        return _TENSOR_FUNCTIONS[node.text](args[0], dim)
    if op == "call":
        return _FUNCTIONS[node.text](evaluate(node.args[0], tensors, dtype, record))
    if op == "neg":
        return -evaluate(node.args[0], tensors, dtype, record)
    if op == "transpose":
        value = evaluate(node.args[0], tensors, dtype, record)
        return value.permute(*reversed(range(value.dim())))
    left = evaluate(node.args[0], tensors, dtype, record)
    if op == "pow":
        exponent = _literal(node.args[1])
        if exponent is not None:
            return torch.pow(left, exponent)
    right = evaluate(node.args[1], tensors, dtype, record)
    if op == "add":
        return left + right
    if op == "sub":
        return left - right
    if op == "mul":
        return left * right
    if op == "div":
        return left / right
    if op == "matmul":
        return torch.matmul(left, right)
    return torch.pow(left, right)


def _literal(node: Node) -> float | None:
    """The value of a literal number, or of a negated one; None for anything else."""
    if node.op == "number":
        return float(node.text)
    if node.op == "neg" and node.args[0].op == "number":
        return -float(node.args[0].text)
    return None


def to_loss(output: torch.Tensor, reduce: str) -> tuple[torch.Tensor, str | None]:
    """The loss of an output, as ``y.sum().backward()`` would take it: a scalar output is the loss,
    anything else is reduced by ``reduce``; and the reduction applied (None for a scalar)."""
    if output.dim() == 0:
        return output, None
    return (output.sum() if reduce == "sum" else output.mean()), reduce


def backward(
    tree: Node,
    inputs: Mapping[str, np.ndarray],
    wrt: list[str],
    dtype: str,
    reduce: str,
) -> Backward:
    """Forward pass, reduction to the loss (``sum`` or ``mean`` unless already scalar), backward pass."""
    torch_dtype = DTYPES[dtype]
    tensors = {
        name: torch.tensor(value, dtype=torch_dtype, requires_grad=name in wrt) for name, value in inputs.items()
    }
    try:
        output = evaluate(tree, tensors, torch_dtype)
    except RuntimeError as exc:  # shapes were checked before, so this is rare: report it, don't crash
        raise out_of_memory(exc) or InputError(
            f"torch could not evaluate the expression: {str(exc).splitlines()[0]}"
        ) from None
    loss, applied = to_loss(output, reduce)
    gradients: dict[str, np.ndarray] = {}
    if loss.requires_grad:
        loss.backward()
    for name in wrt:
        grad = tensors[name].grad
        gradients[name] = (grad if grad is not None else torch.zeros_like(tensors[name])).numpy()
    return Backward(output.detach().numpy(), float(loss.detach()), applied, gradients)
