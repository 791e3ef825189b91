"""Jacobians and Hessians, symbolic (sympy, element by element) beside autograd
(``torch.autograd.functional.jacobian`` and ``hessian``): the result types, and the element-by-element
path, which answers where the matrix notation (:mod:`.derivatives`) has no rule yet and witnesses it
where the inputs are small."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import limits
from .._version import __version__
from ..errors import LimitError
from ..formats.numfmt import json_nested, json_number
from ..language.tree import Node
from ..limits import deadline, recursion_room, run_budget
from ..numeric.compare import Comparison, Tolerance, compare
from ..numeric.edges import find_edges
from ..numeric.verdict import Word, judge, overall
from .gradient_result import tensor_dict
from .problem import Problem

if TYPE_CHECKING:
    from .second_order import Formula


@dataclass(frozen=True, eq=False)
class Side:
    """One derivative tensor, both ways: entry by entry, or (too large for that) by products with
    random vectors, when ``autograd`` is None and ``symbolic`` may be too (a linear map not written out)."""

    symbolic: np.ndarray | None
    autograd: np.ndarray | None
    comparison: Comparison
    word: Word = Word.AGREE  # a difference at a kink, pole or domain edge is an edge, not a disagreement
    shape: tuple[int, ...] = ()
    checked_by: str = "entries"  # or "hessian-vector products", "Jacobian-vector products"
    products: int = 0  # how many, when checked by products
    formula: Formula | None = None  # the derivative in matrix notation, when derived so
    note: str = ""

    @property
    def shown(self) -> bool:
        """The entries are written out (in the JSON, in full in the terminal)."""
        return math.prod(self.shape) <= limits.MAX_DERIVATIVE_ENTRIES

    def to_dict(self, dtype: str) -> dict[str, Any]:
        def entries(values: np.ndarray | None) -> Any:
            return json_nested(values, dtype) if values is not None and self.shown else None

        data = {
            "shape": list(self.shape),
            "symbolic": entries(self.symbolic),
            "autograd": entries(self.autograd),
            "max_abs_diff": json_number(self.comparison.max_abs_diff, dtype),
            "agree": self.comparison.agree,
            "verdict": self.word.value,
            "formula": None if self.formula is None else self.formula.text,
            "checked_by": self.checked_by,
        }
        if self.formula is not None and self.formula.direction is not None:
            data["direction"] = self.formula.direction  # the formula is the map's value at this input
        if self.products:
            data["products"] = self.products
        if not self.shown:
            data["entries"] = f"{math.prod(self.shape):,} entries: not written (over {limits.MAX_DERIVATIVE_ENTRIES:,})"
        if self.note:
            data["note"] = self.note
        return data


def _side(
    problem: Problem,
    symbolic: np.ndarray,
    autograd: np.ndarray,
    tolerance: Tolerance,
    wide: Callable[[], np.ndarray],
) -> Side:
    """Both ways, compared; differences explained by the edges of the expression (coarsely: an edge
    anywhere may move any entry of a Jacobian or a Hessian), or in float32 by torch's float64
    derivative (``wide``, computed only then): rounding and float32's range are not disagreement."""
    comparison = compare(symbolic, autograd, tolerance)
    if comparison.agree and np.isfinite(symbolic).all():
        return Side(symbolic, autograd, comparison, shape=autograd.shape)
    edges = find_edges(problem.tree, problem.inputs, problem.numpy_dtype)
    sides = {"symbolic": symbolic, "autograd": autograd.astype(np.float64)}
    reference = wide() if problem.dtype != "float64" and comparison.mismatches else None
    verdict = judge(comparison.outside, sides, edges, problem.output_shape, coarse=True, reference=reference)
    return Side(symbolic, autograd, comparison, verdict.word, shape=autograd.shape)


@dataclass(frozen=True, eq=False, repr=False)
class Derivatives:
    """A Jacobian per input (``kind == "jacobian"``) or one Hessian over all of them."""

    kind: str
    problem: Problem
    output: np.ndarray
    loss: float | None
    sides: dict[str, Side]  # input name -> Jacobian; or {"hessian": ...}
    variables: list[str]  # for a Hessian: the flattened elements it is over
    tolerance: Tolerance

    @property
    def formula_trees(self) -> dict[str, Node]:
        """The derivatives in matrix notation as backcalc trees, by input (the Hessian's by its one
        input); a tree in a ``direction`` is the linear map's value along it."""
        names = self.problem.wrt if self.kind == "hessian" else list(self.sides)
        pairs = zip(names, self.sides.values(), strict=True)
        return {name: side.formula.tree for name, side in pairs if side.formula is not None}

    @property
    def agree(self) -> bool:
        return all(side.comparison.agree for side in self.sides.values())

    @property
    def verdict(self) -> Word:
        return overall([side.word for side in self.sides.values()])

    def to_dict(self) -> dict[str, Any]:
        problem, dtype = self.problem, self.problem.dtype
        data: dict[str, Any] = {
            "backcalc": __version__,
            "expression": problem.expression,
            "parsed": problem.parsed,
            "dtype": dtype,
            "inputs": {name: tensor_dict(value, dtype) for name, value in problem.cast_inputs().items()},
            "output": tensor_dict(self.output, dtype),
        }
        if self.kind == "jacobian":
            data["jacobian"] = {name: side.to_dict(dtype) for name, side in self.sides.items()}
        else:
            data["reduce"] = problem.reduction
            data["loss"] = json_number(self.loss if self.loss is not None else math.nan, dtype)
            data["hessian"] = {"variables": self.variables, **self.sides["hessian"].to_dict(dtype)}
        data["tolerance"] = {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol}
        data["agree"] = self.agree
        data["verdict"] = self.verdict.value
        return data


def _symbolic_setup(problem: Problem) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
    import sympy

    from ..symbolic.elements import element_symbols, to_sympy_array

    shapes = problem.shapes
    total = sum(math.prod(shape) for shape in shapes.values())
    if total > limits.MAX_SYMBOLIC_ELEMENTS:
        raise LimitError(
            f"the inputs have {total:,} elements; sympy works element by element up to {limits.MAX_SYMBOLIC_ELEMENTS:,}"
        )
    with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "symbolic conversion"):
        cells = element_symbols(shapes, problem.labels)
        output = to_sympy_array(problem.tree, cells)
    return sympy, cells, output


def _evaluate_all(exprs: np.ndarray, problem: Problem, cells: dict[str, np.ndarray]) -> np.ndarray:
    from ..symbolic.elements import element_values
    from ..symbolic.elementwise import Compiled

    env = element_values(cells, problem.inputs)
    flat = [Compiled(expr)(env) for expr in exprs.flat]
    return np.array(flat, dtype=np.float64).reshape(exprs.shape)


@run_budget(limits.SYMBOLIC_SECONDS)
def _sympy_jacobians(problem: Problem) -> dict[str, np.ndarray]:
    """sympy's Jacobian of the output, element by element, for every input in ``wrt``."""
    sympy, cells, output_cells = _symbolic_setup(problem)
    out_size = output_cells.size
    for name in problem.wrt:
        entries = out_size * problem.inputs[name].size
        if entries > limits.MAX_DERIVATIVE_ENTRIES:
            raise LimitError(
                f"the Jacobian for {name} has {entries:,} entries; the limit is {limits.MAX_DERIVATIVE_ENTRIES:,}"
            )
    symbolic: dict[str, np.ndarray] = {}
    with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "the symbolic Jacobian"):
        for name in problem.wrt:
            inputs = cells[name]
            exprs = np.empty(output_cells.shape + inputs.shape, dtype=object)
            for o in np.ndindex(*output_cells.shape):
                for i in np.ndindex(*inputs.shape):
                    exprs[o + i] = sympy.diff(output_cells[o], inputs[i])
            symbolic[name] = _evaluate_all(exprs, problem, cells)
    return symbolic


def _element_jacobian(problem: Problem, tolerance: Tolerance) -> Derivatives:
    """d output / d input for every input in ``problem.wrt``: shape output.shape + input.shape."""
    symbolic = _sympy_jacobians(problem)
    output, matrices = _torch_jacobians(problem)
    wide: dict[str, np.ndarray] = {}  # torch's float64 Jacobians, made once if a difference asks

    def reference(name: str) -> np.ndarray:
        if not wide:
            wide.update(_torch_jacobians(_wide(problem))[1])
        return wide[name]

    sides = {
        name: _side(problem, symbolic[name], matrices[name], tolerance, functools.partial(reference, name))
        for name in problem.wrt
    }
    return Derivatives("jacobian", problem, output, None, sides, [], tolerance)


def _torch_jacobians(problem: Problem) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The output, and torch's Jacobian of it for every input in ``wrt``."""
    import torch

    fixed = problem.leaves(requires_grad=())
    chosen = tuple(fixed[name] for name in problem.wrt)

    def function(*values: torch.Tensor) -> torch.Tensor:
        return problem.forward({**fixed, **dict(zip(problem.wrt, values, strict=True))})

    with recursion_room(limits.RECURSION_LIMIT):
        output = function(*chosen).detach().numpy()
        result = torch.autograd.functional.jacobian(function, chosen)
    return output, {name: matrix.numpy() for name, matrix in zip(problem.wrt, result, strict=True)}


def _wide(problem: Problem) -> Problem:
    """The same problem in float64: torch's float64 derivatives witness float32 rounding."""
    return replace(problem, dtype="float64")


def _hessian_variables(problem: Problem) -> list[str]:
    """The names of the flattened elements a Hessian is over: x[0], x[1], W[0, 1], ..."""
    variables = []
    for name in problem.wrt:
        shape = problem.inputs[name].shape
        for index in np.ndindex(*shape):
            variables.append(f"{name}[{', '.join(map(str, index))}]" if shape else name)
    return variables


@run_budget(limits.SYMBOLIC_SECONDS)
def _sympy_hessian(problem: Problem) -> np.ndarray:
    """sympy's Hessian of the loss, element by element, over the ``wrt`` inputs' elements."""
    count = sum(problem.inputs[name].size for name in problem.wrt)
    if count * count > limits.MAX_DERIVATIVE_ENTRIES:
        raise LimitError(f"the Hessian has {count * count:,} entries; the limit is {limits.MAX_DERIVATIVE_ENTRIES:,}")
    sympy, cells, output_cells = _symbolic_setup(problem)
    symbols = [cells[name][index] for name in problem.wrt for index in np.ndindex(*problem.inputs[name].shape)]
    with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "the symbolic Hessian"):
        loss = sympy.Add(*output_cells.flat) / problem.count
        matrix = sympy.hessian(loss, symbols)
        exprs = np.empty((count, count), dtype=object)
        for i in range(count):
            for j in range(count):
                exprs[i, j] = matrix[i, j]
        return _evaluate_all(exprs, problem, cells)


def _element_hessian(problem: Problem, tolerance: Tolerance) -> Derivatives:
    """d² loss / d v d w over the elements of every input in ``problem.wrt``, flattened in order."""
    symbolic = _sympy_hessian(problem)
    output, loss_value, auto = _torch_hessian(problem)
    side = _side(problem, symbolic, auto, tolerance, lambda: _torch_hessian(_wide(problem))[2])
    variables = _hessian_variables(problem)
    return Derivatives("hessian", problem, output, loss_value, {"hessian": side}, variables, tolerance)


def _torch_hessian(problem: Problem) -> tuple[np.ndarray, float, np.ndarray]:
    """The output, the loss, and torch's Hessian of the loss over the ``wrt`` inputs' elements."""
    import torch

    fixed = problem.leaves(requires_grad=())
    shapes = [problem.inputs[name].shape for name in problem.wrt]
    sizes = [problem.inputs[name].size for name in problem.wrt]

    def function(flat: torch.Tensor) -> torch.Tensor:
        values, start = {}, 0
        for name, shape, size in zip(problem.wrt, shapes, sizes, strict=True):
            values[name] = flat[start : start + size].reshape(shape)
            start += size
        return problem.loss(problem.forward({**fixed, **values}))

    flat = torch.cat([fixed[name].reshape(-1) for name in problem.wrt])
    with recursion_room(limits.RECURSION_LIMIT):
        loss_value = float(function(flat))
        output = problem.forward(fixed).detach().numpy()
        auto = torch.autograd.functional.hessian(function, flat).detach().numpy()
    return output, loss_value, auto
