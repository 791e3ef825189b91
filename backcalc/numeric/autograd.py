"""The autograd evaluator: the project's tree to torch operations, by each record's torch
implementation; torch's own backward pass does the rest. Independent of sympy.

Literal exponents stay Python numbers, so ``x**2`` is ``torch.pow(x, 2.0)`` with torch's own backward
rule (and ``x**0`` has gradient 0 even at ``x = 0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..language.tree import Node

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def evaluate(
    tree: Node,
    tensors: Mapping[str, torch.Tensor],
    dtype: torch.dtype,
    record: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The torch tensor of ``tree`` given a tensor per input variable; with ``record``, also the
    tensor of every node that torch computes, keyed by ``id(node)``."""
    values: dict[int, Any] = {}
    for node in tree.postorder():
        value = step(node, values, tensors, dtype)
        values[id(node)] = value
        if record is not None:
            record[id(node)] = value
    return values[id(tree)]


def step(node: Node, values: Mapping[int, Any], tensors: Mapping[str, torch.Tensor], dtype: torch.dtype) -> Any:
    """One node's tensor from its children's (in ``values``, keyed by ``id``), by its record."""
    if node.is_variable:
        return tensors[node.text]
    if node.is_leaf:
        return torch.tensor(node.number(), dtype=dtype)
    op = node.record
    args = [values[id(child)] for child in node.args]
    if op.literal_exponent and (exponent := node.args[1].literal()) is not None:
        args[1] = exponent
    extra = op.keywords(node.dim, node.options)
    if not node.args:  # an operation that makes a tensor from nothing (eye(3)) makes it in the run's dtype
        extra["dtype"] = dtype
    return op.torch(torch, *args, **extra)  # type: ignore[misc]
