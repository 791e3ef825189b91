"""Many cases of one element-wise expression in one pass on each side (``batch``'s fast path).

Cases that share the expression, dtype, wrt, reduction, tolerances and input shapes are stacked along
a new leading dimension. torch runs forward and backward once: the loss is the sum of each case's
loss, and the cases share no parameters, so each case's gradient is its slice of the gradient of the
sum. The compiled sympy derivative is evaluated once over the stack (it broadcasts over the new
dimension), and the comparison is one array operation.

The answer must be byte for byte what the line-by-line path gives, and torch's CPU kernels do not
compute an element alone: an element in a run of 32 contiguous ones takes the SIMD code, one in the
tail of a short tensor the scalar code, and the two differ in the last bit for ``sigmoid`` or a
fractional power. So every tensor of the stacked pass is laid out with a gap between cases (rows one
element longer than a case), which keeps torch from merging the cases into one long run: each case's
elements then meet the same code, scalar or SIMD, as they do alone; and torch runs on one thread, so
that no case is split between threads. A case whose sides differ anywhere is not judged here: it goes
back to the line-by-line path, which explains its differences (edges, rounding, disagreement).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__, limits
from .compare import Tolerance
from .deadline import recursion_room, run_budget
from .numfmt import json_nested
from .problem import REDUCTIONS, Problem
from .verdict import Word

if TYPE_CHECKING:
    import torch

#: Elements of one case's output beyond which a case runs alone: torch splits a tensor of more than
#: 32,768 elements between threads, and the line-by-line path would meet other kernel boundaries.
MAX_CASE_ELEMENTS = 4096
#: Elements of the output of one stacked pass, so that its tensors (a value and a gradient for each
#: node of the tree) stay within a few hundred megabytes.
MAX_STACK_ELEMENTS = 2**18


def chunks(cases: Sequence[Case]) -> list[Sequence[Case]]:
    """Cases of one key cut into stacks of at most :data:`MAX_STACK_ELEMENTS` output elements."""
    size = max(2, MAX_STACK_ELEMENTS // max(1, math.prod(cases[0].problem.output_shape)))
    return [cases[start : start + size] for start in range(0, len(cases), size)]


@dataclass
class Case:
    """A line ready to run: the checked problem and the line's options."""

    line: int
    problem: Problem
    rtol: float | None
    atol: float | None
    check_fd: bool
    differentiator: Any  # the cached symbolic side, or None when it could not be made

    def key(self) -> tuple[Any, ...] | None:
        """What cases must share to be stacked; None for a case that runs alone."""
        problem = self.problem
        if self.check_fd or not stackable(problem, self.differentiator):
            return None
        shapes = tuple((name, value.shape) for name, value in problem.inputs.items())
        return (problem.expression, problem.dtype, tuple(problem.wrt), problem.reduce, self.rtol, self.atol, shapes)


def stackable(problem: Problem, differentiator: Any) -> bool:
    """An element-wise expression with its one-formula symbolic side, small enough per case."""
    from .sympy_formula import Differentiator

    if not isinstance(differentiator, Differentiator) or not problem.inputs:
        return False
    if math.prod(problem.output_shape) > MAX_CASE_ELEMENTS:
        return False
    tree = problem.tree
    known = _ELEMENTWISE.get(id(tree))
    if known is None or known[0] is not tree:
        walk = not tree.mixes_elements() and not any(not n.is_leaf and n.record.takes_dim for n in tree.walk())
        known = _ELEMENTWISE[id(tree)] = (tree, walk)
        if len(_ELEMENTWISE) > 1024:
            _ELEMENTWISE.popitem(last=False)
    return known[1]


_ELEMENTWISE: OrderedDict[int, tuple[Any, bool]] = OrderedDict()  # a tree (kept alive) -> stackable


def compute_stack(cases: Sequence[Case]) -> list[dict[str, Any] | None]:
    """The JSON object of each case, as :func:`~backcalc.api.compute`'s result gives it; None for a
    case whose sides differ somewhere or whose loss is not finite (the caller runs it alone, to explain
    why)."""
    first = cases[0].problem
    count = len(cases)
    tolerance = Tolerance.for_dtype(first.dtype, cases[0].rtol, cases[0].atol)
    ndim = len(first.output_shape)
    stacked = {name: np.stack([case.problem.inputs[name] for case in cases]) for name in first.inputs}
    aligned = {name: _align(value, ndim) for name, value in stacked.items()}
    with run_budget(limits.SYMBOLIC_SECONDS), recursion_room(limits.RECURSION_LIMIT):
        symbolic = {name: _symbolic(cases[0].differentiator, first, name, aligned, count) for name in first.wrt}
        output, losses, autograd = _torch_pass(first, aligned, stacked, count)
    sides = {name: _Sides(symbolic[name][2], autograd[name], tolerance) for name in first.wrt}
    alone = ~np.isfinite(losses)
    for side in sides.values():
        alone |= side.flagged
    dtype = first.dtype
    # Numbers are written for the whole stack at once: json_nested of a stack is the list of what it
    # gives for each case.
    inputs = {name: json_nested(value.astype(first.numpy_dtype), dtype) for name, value in stacked.items()}
    outputs = json_nested(output, dtype)
    loss_numbers = json_nested(losses, dtype)  # json_nested gives json_number of each element
    gradients = {
        name: (
            json_nested(side.symbolic, dtype),
            json_nested(side.autograd, dtype),
            json_nested(side.max_abs_diff, dtype),
        )
        for name, side in sides.items()
    }
    head: dict[str, Any] = {"backcalc": __version__, "expression": "", "parsed": first.parsed, "dtype": dtype}
    head["reduce"] = first.reduction
    results: list[dict[str, Any] | None] = []
    for index, case in enumerate(cases):
        if alone[index]:
            results.append(None)
            continue
        data: dict[str, Any] = {**head, "expression": case.problem.expression}
        data["inputs"] = {
            name: {"shape": list(value.shape[1:]), "value": inputs[name][index]} for name, value in stacked.items()
        }
        data["output"] = {"shape": list(first.output_shape), "value": outputs[index]}
        data["loss"] = loss_numbers[index]
        data["gradients"] = {name: _gradient(symbolic[name], sides[name], gradients[name], index) for name in sides}
        data["tolerance"] = {"rtol": tolerance.rtol, "atol": tolerance.atol}
        data.update(check_fd=False, agree=True, verdict=Word.AGREE.value, notes=[])
        results.append(data)
    return results


def _gradient(
    symbolic: tuple[str, str, np.ndarray, str | None], side: _Sides, numbers: tuple[Any, Any, Any], index: int
) -> dict[str, Any]:
    """What :meth:`~backcalc.result.Gradient.to_dict` gives for an agreeing gradient of one case."""
    formula, latex, _, note = symbolic
    data = {
        "formula": formula,
        "symbolic_by": "sympy",  # stacked cases are element-wise: sympy's one formula
        "latex": latex,
        "shape": list(side.autograd.shape[1:]),
        "symbolic": numbers[0][index],
        "autograd": numbers[1][index],
        "max_abs_diff": numbers[2][index],
        "mismatches": 0,
        "agree": True,
        "verdict": Word.AGREE.value,
        "edges": [],
        "edge_count": 0,
    }
    if note:
        data["note"] = note
    return data


def _align(value: np.ndarray, ndim: int) -> np.ndarray:
    """A stack of inputs of shape (cases, *shape) with ones inserted after the first dimension, so that
    the per-case shapes broadcast as they do alone."""
    return value.reshape(value.shape[:1] + (1,) * (ndim - value.ndim + 1) + value.shape[1:])


def _symbolic(
    differentiator: Any, problem: Problem, name: str, aligned: dict[str, np.ndarray], count: int
) -> tuple[str, str, np.ndarray, str | None]:
    """The formula, its LaTeX, its values for every case (cases, *input shape) and its note."""
    from .broadcasting import sum_to_shape

    text, latex, note = differentiator.text(name, problem.count, False)
    _, compiled = differentiator.derivative(name)
    evaluated = compiled({differentiator.symbols[n]: value for n, value in aligned.items()})
    full = np.broadcast_to(evaluated, (count, *problem.output_shape))
    shape = problem.inputs[name].shape
    with np.errstate(all="ignore"):  # inf - inf in a sum is nan, and the verdict says so
        if shape == problem.output_shape:
            values = full
        else:  # summed back case by case, in the order the line-by-line path sums
            values = np.stack([sum_to_shape(full[index], shape) for index in range(count)])
        if problem.count > 1:
            values = values / problem.count
    return text, latex, values, note


def _torch_pass(
    problem: Problem, aligned: dict[str, np.ndarray], stacked: dict[str, np.ndarray], count: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """torch's outputs, losses and gradients for every case, from one forward and one backward pass."""
    import torch

    from .autograd import DTYPES

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


def _forward(problem: Problem, tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    """The tree evaluated over the stack by each record's torch implementation, as
    :func:`~backcalc.autograd.evaluate` does for one case, each result spaced out again."""
    from .autograd import step

    values: dict[int, Any] = {}
    stacked: set[int] = set()  # nodes whose value has the cases' dimension (not constants)
    for node in problem.tree.postorder():
        value = step(node, values, tensors, dtype)
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


def _spaced(value: torch.Tensor) -> torch.Tensor:
    """The same values, each case's row followed by one unused element (see the module docstring)."""
    import torch

    rows = value.reshape(value.shape[0], -1)
    size = rows.shape[1]
    # The gap holds a constant: a gradient flowing back through it would add 0.0 to -0.0.
    gap = rows.new_zeros((rows.shape[0], 1), requires_grad=False)
    return torch.cat([rows, gap], dim=1)[:, :size].view(value.shape)


class _Sides:
    """Both sides of one input's gradient for every case, compared as
    :func:`~backcalc.compare.compare` compares one case."""

    def __init__(self, symbolic: np.ndarray, autograd: np.ndarray, tolerance: Tolerance) -> None:
        count = autograd.shape[0]
        self.symbolic = symbolic
        self.autograd = autograd
        expected = np.asarray(symbolic, dtype=np.float64)
        actual = autograd.astype(np.float64)
        finite = np.isfinite(expected) & np.isfinite(actual)
        with np.errstate(all="ignore"):
            diff = np.where(finite, np.abs(actual - expected), 0.0)
            close = diff <= tolerance.atol + tolerance.rtol * np.abs(expected)
        same_nonfinite = (expected == actual) | (np.isnan(expected) & np.isnan(actual))
        self.outside = ~np.where(finite, close, same_nonfinite)
        self.max_abs_diff = diff.reshape(count, -1).max(axis=1)
        # A difference, or a value that is not finite, needs the line-by-line path's explanation.
        self.flagged = (self.outside | ~finite).reshape(count, -1).any(axis=1)
