"""``hessian`` and ``jacobian``: in matrix notation (:mod:`.second_order`), checked entry by entry
against torch's matrix (and sympy's elements, its witness) where the matrix is small
(``limits.MAX_DERIVATIVE_ENTRIES``), else by products with seeded random vectors. Where a record has no
rule in matrix notation yet, the element-by-element path answers within its own limit."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import limits
from ..errors import LimitError
from ..numeric.compare import Tolerance, compare
from ..numeric.verdict import Word
from . import second_order
from .element_derivatives import (
    Derivatives,
    Side,
    _element_hessian,
    _element_jacobian,
    _hessian_variables,
    _side,
    _sympy_hessian,
    _sympy_jacobians,
    _torch_hessian,
    _torch_jacobians,
    _wide,
)
from .problem import Problem

_BY = "matrix notation, by forward mode"  # over the gradient formula (a Hessian) or the expression (a Jacobian)


def _fallback(
    problem: Problem, tolerance: Tolerance, kind: str, why: str, entries: int, element: Callable[..., Derivatives]
) -> Derivatives:
    """The element-by-element answer where the matrix notation has no rule, within its limit."""
    reason = f"{kind} in matrix notation: {why}"
    if entries > limits.MAX_DERIVATIVE_ENTRIES:
        most = limits.MAX_DERIVATIVE_ENTRIES
        raise LimitError(f"{reason}; element by element, at most {most:,} entries, not {entries:,}")
    result = element(problem, tolerance)
    sides = {key: replace(side, note=f"{reason}: element by element (sympy)") for key, side in result.sides.items()}
    return replace(result, sides=sides)


__all__ = ["Derivatives", "Side", "hessian", "jacobian"]


def hessian(problem: Problem, rtol: float | None = None, atol: float | None = None) -> Derivatives:
    """d² loss / d v d w over the elements of the ``wrt`` inputs, flattened in order: in matrix notation
    for one input where the records' rules allow, else element by element."""
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    count = sum(problem.inputs[name].size for name in problem.wrt)
    try:
        formula = second_order.hessian_formula(problem)
    except NotImplementedError as exc:
        return _fallback(problem, tolerance, "hessian", str(exc), count * count, _element_hessian)
    (name,) = problem.wrt
    size = problem.inputs[name].size
    variables = _hessian_variables(problem) if size <= limits.MAX_DERIVATIVE_ENTRIES else []
    shape = (size, size)
    if size * size <= limits.MAX_DERIVATIVE_ENTRIES:
        values, note = _witnessed(problem, formula.matrix(problem.inputs).reshape(shape), _sympy_hessian)
        output, loss, auto = _torch_hessian(problem)
        side = _side(problem, values, auto, tolerance, lambda: _torch_hessian(_wide(problem))[2])
        side = replace(side, formula=formula, note=note)
    else:
        matrix = formula.matrix(problem.inputs).reshape(shape) if formula.direction is None else None
        vectors = second_order.random_vectors(formula.in_shape)
        ours = [formula.product(problem.inputs, matrix, vector) for vector in vectors]
        output, loss, theirs = second_order.torch_hvps(problem, vectors)
        wide = lambda: second_order.torch_hvps(_wide(problem), vectors)[2]  # noqa: E731
        side = _by_products(problem, ours, theirs, tolerance, wide, "hessian-vector products")
        side = replace(side, symbolic=matrix, shape=shape, formula=formula, note=f"{_BY}; {_products_note(side)}")
    return Derivatives("hessian", problem, output, loss, {"hessian": side}, variables, tolerance)


def jacobian(problem: Problem, rtol: float | None = None, atol: float | None = None) -> Derivatives:
    """d output / d input for every input in ``problem.wrt``: shape output.shape + input.shape, in
    matrix notation where the records' rules allow, else element by element."""
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    out_size = math.prod(problem.output_shape)
    largest = max((out_size * problem.inputs[name].size for name in problem.wrt), default=0)
    try:
        formulas = {name: second_order.jacobian_formula(problem, name) for name in problem.wrt}
    except NotImplementedError as exc:
        return _fallback(problem, tolerance, "jacobian", str(exc), largest, _element_jacobian)
    sides: dict[str, Side] = {}
    output = np.zeros(problem.output_shape)
    for name, formula in formulas.items():
        output, sides[name] = _jacobian_side(replace(problem, wrt=[name]), formula, tolerance)
    return Derivatives("jacobian", problem, output, None, sides, [], tolerance)


def _jacobian_side(alone: Problem, formula: second_order.Formula, tolerance: Tolerance) -> tuple[np.ndarray, Side]:
    """The output, and the Jacobian for the one input of ``alone``, checked."""
    (name,) = alone.wrt
    if formula.entries <= limits.MAX_DERIVATIVE_ENTRIES:
        values, note = _witnessed(alone, formula.matrix(alone.inputs), lambda p: _sympy_jacobians(p)[name])
        output, matrices = _torch_jacobians(alone)
        side = _side(alone, values, matrices[name], tolerance, lambda: _torch_jacobians(_wide(alone))[1][name])
        return output, replace(side, formula=formula, note=note)
    matrix = formula.matrix(alone.inputs) if formula.direction is None else None
    vectors = second_order.random_vectors(formula.in_shape)
    ours = [formula.product(alone.inputs, matrix, vector) for vector in vectors]
    output, theirs = second_order.torch_jvps(alone, name, vectors)
    wide = lambda: second_order.torch_jvps(_wide(alone), name, vectors)[1]  # noqa: E731
    side = _by_products(alone, ours, theirs, tolerance, wide, "Jacobian-vector products")
    shape = formula.out_shape + formula.in_shape
    return output, replace(side, symbolic=matrix, shape=shape, formula=formula, note=f"{_BY}; {_products_note(side)}")


def _by_products(
    problem: Problem,
    ours: list[np.ndarray],
    theirs: list[np.ndarray],
    tolerance: Tolerance,
    wide: Callable[[], list[np.ndarray]],
    how: str,
) -> Side:
    """The formula's products beside torch's; in float32, a difference that torch's float64 products do
    not show is rounding."""
    mine, torch_side = np.stack(ours), np.stack(theirs)
    comparison = compare(mine, torch_side, tolerance)
    word = Word.AGREE
    if not comparison.agree:
        word = Word.DISAGREE
        if problem.dtype != "float64" and compare(mine, np.stack(wide()), Tolerance.for_dtype("float64")).agree:
            word = Word.ROUNDING
    return Side(None, None, comparison, word, checked_by=how, products=len(ours))


def _products_note(side: Side) -> str:
    return (
        f"checked against torch by {side.products} {side.checked_by} at seeded random vectors "
        f"(the matrix is too large to compare entry by entry)"
    )


def _witnessed(
    problem: Problem, values: np.ndarray, sympy_values: Callable[[Problem], np.ndarray]
) -> tuple[np.ndarray, str]:
    """The formula's values, or sympy's where they differ, with what sympy's elements said."""
    if sum(value.size for value in problem.inputs.values()) > limits.MAX_SYMBOLIC_ELEMENTS:
        return values, f"{_BY}; not witnessed by sympy (over {limits.MAX_SYMBOLIC_ELEMENTS} input elements)"
    try:
        expected = sympy_values(problem)
    except LimitError as exc:
        return values, f"{_BY}; not witnessed by sympy element by element: {exc.one_line()}"
    with np.errstate(all="ignore"):
        close = np.isclose(values, expected, rtol=1e-9, atol=1e-12) | ~np.isfinite(expected)
    if not close.all():
        return expected, "the matrix formula did not match sympy's element-by-element derivative: values by sympy"
    return values, f"{_BY}; matches sympy's element-by-element derivative"
