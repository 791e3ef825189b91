"""torch's side of a stack: one forward and one backward pass over every case, each tensor laid out
with a gap between cases so that each case's elements meet the same kernels, scalar or SIMD, as alone
(see :mod:`.stack`), and a zero's sign kept where alone torch would sum one element."""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ..problem import REDUCTIONS, Problem

if TYPE_CHECKING:
    import torch


def torch_pass(
    problem: Problem, aligned: dict[str, np.ndarray], stacked: dict[str, np.ndarray], count: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """torch's outputs, losses and gradients for every case, from one forward and one backward pass."""
    import torch

    from ...numeric.autograd import DTYPES

    dtype = DTYPES[problem.dtype]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        leaves = {
            name: torch.tensor(value, dtype=dtype, requires_grad=name in problem.wrt) for name, value in stacked.items()
        }
        tensors = {name: _spaced(leaves[name].view(aligned[name].shape)) for name in leaves}
        output = _forward(problem, tensors, dtype)
        flat = output.reshape(count, -1)
        if problem.output_shape == ():
            losses = output
        else:
            losses = flat.sum(1) if problem.reduce == REDUCTIONS[0] else flat.mean(1)
        if losses.requires_grad:
            losses.sum().backward()
    finally:
        torch.set_num_threads(threads)
    gradients = {}
    for name in problem.wrt:
        grad = leaves[name].grad
        gradients[name] = (grad if grad is not None else torch.zeros_like(leaves[name])).numpy()
    return output.detach().numpy(), losses.detach().numpy(), gradients


def _summed_alone_only(shape: tuple[int, ...], result_shape: tuple[int, ...]) -> bool:
    """Whether torch sums an operand's gradient back to its shape alone (over the leading dimensions
    the result adds) but not in the stack: the result adds only dimensions of size 1, which the
    stack's aligned operand has too. A sum of one element is the element, but for its sign: -0.0
    becomes 0.0."""
    leading = len(result_shape) - len(shape)
    return leading > 0 and result_shape[leading:] == shape and math.prod(result_shape[:leading]) == 1


def _forward(problem: Problem, tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    """The tree evaluated over the stack by each record's torch implementation, as
    :func:`~backcalc.numeric.autograd.evaluate` does for one case, each result spaced out again."""
    from ...language.shapes import infer
    from ...numeric.autograd import step

    shapes = infer(problem.tree, problem.shapes)
    values: dict[int, Any] = {}
    stacked: set[int] = set()  # nodes whose value has the cases' dimension (not constants)
    for node in problem.tree.postorder():
        operands = {id(child): values[id(child)] for child in node.args if id(child) in stacked}
        for child in node.args:
            if id(child) in stacked and _summed_alone_only(shapes[id(child)], shapes[id(node)]):
                values[id(child)] = _sum_of_one(values[id(child)])
        value = step(node, values, tensors, dtype)
        values.update(operands)
        if node.is_variable:
            stacked.add(id(node))
        elif any(id(child) in stacked for child in node.args):
            value = _spaced(value)
            stacked.add(id(node))
        values[id(node)] = value
    result = values[id(problem.tree)]
    if id(problem.tree) not in stacked:  # a constant expression: the same for every case
        result = _spaced(result.expand(next(iter(tensors.values())).shape[:1] + result.shape).contiguous())
    return result


def _sum_of_one(value: torch.Tensor) -> torch.Tensor:
    """``value``, whose gradient comes back as alone it would from a sum of one element: -0.0 as 0.0."""
    return _sum_of_one_function().apply(value)


@cache
def _sum_of_one_function() -> Any:
    import torch

    class SumOfOne(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
            return tensor.view_as(tensor)

        @staticmethod
        def backward(ctx: Any, gradient: torch.Tensor) -> torch.Tensor:
            return gradient + 0.0

    return SumOfOne


def _spaced(value: torch.Tensor) -> torch.Tensor:
    """The same values, each case's row followed by one unused element (see the module docstring)."""
    import torch

    rows = value.reshape(value.shape[0], -1)
    size = rows.shape[1]
    # The gap holds a constant: a gradient flowing back through it would add 0.0 to -0.0.
    gap = rows.new_zeros((rows.shape[0], 1), requires_grad=False)
    return torch.cat([rows, gap], dim=1)[:, :size].view(value.shape)
