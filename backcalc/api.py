"""The library entry point: :func:`gradient`. Cheap checks first (:func:`prepare`, no torch or sympy),
then the two independent evaluators and their comparison (:func:`compute`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import __version__, limits, numeric, shapes
from .compare import DEFAULT_TOLERANCES, FD_TOLERANCE, Tolerance, compare
from .deadline import recursion_room
from .errors import InputError, SymbolicSizeError
from .hints import missing_name, wrt_hint
from .numeric import Edge
from .parser import parse
from .result import Gradient, GradientResult
from .tree import Node, to_text
from .values import check_name, to_array
from .verdict import UNCHECKED, Verdict, judge

DTYPE_NAMES = tuple(DEFAULT_TOLERANCES)
REDUCTIONS = ("sum", "mean")
NUMPY_DTYPES: dict[str, type[np.floating]] = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True, eq=False)
class Problem:
    """A checked request: a parsed expression, its inputs cast to the dtype, what to differentiate."""

    expression: str
    tree: Node
    inputs: dict[str, np.ndarray]  # float64 arrays holding values exactly representable in the dtype
    wrt: list[str]
    dtype: str
    reduce: str
    output_shape: tuple[int, ...]


def prepare(
    expression: str,
    inputs: Mapping[str, Any] | None = None,
    wrt: Iterable[str] | None = None,
    dtype: str = "float32",
    reduce: str = "sum",
    tree: Node | None = None,
) -> Problem:
    """Parse and check everything the user gave, without importing torch or sympy. ``tree`` is the
    expression already parsed (``batch`` parses a repeated expression once)."""
    if dtype not in DTYPE_NAMES:
        raise InputError(f"dtype must be one of {', '.join(DTYPE_NAMES)}, not {dtype!r}")
    if reduce not in REDUCTIONS:
        raise InputError(f"reduce must be one of {', '.join(REDUCTIONS)}, not {reduce!r}")
    if tree is None:
        tree = parse(expression)
    variables = tree.variables()
    given = dict(inputs or {})
    arrays = {check_name(str(name)): to_array(value, str(name)) for name, value in given.items()}

    missing = [name for name in variables if name not in arrays]
    if missing:
        listed = ", ".join(f"{name}=VALUE" for name in missing)
        raise InputError(f"no value for {', '.join(missing)}: give {listed}", help=missing_name(missing, list(arrays)))
    unused = [name for name in arrays if name not in variables]
    if unused:
        raise InputError(f"{', '.join(unused)} given but not used in the expression {to_text(tree)!r}")

    chosen = list(dict.fromkeys(variables if wrt is None else wrt))
    for name in chosen:
        if name not in arrays:
            known = ", ".join(variables) or "none"
            raise InputError(
                f"--wrt {name}: no input is called {name!r} (inputs: {known})", help=wrt_hint(name, variables)
            )

    # Keep the expression's order of first appearance; cast once, so both sides see the same numbers.
    cast = NUMPY_DTYPES[dtype]
    ordered = {name: arrays[name].astype(cast).astype(np.float64) for name in variables}
    shape = shapes.output_shape(tree, {name: value.shape for name, value in ordered.items()})
    return Problem(expression, tree, ordered, chosen, dtype, reduce, shape)


def compute(
    problem: Problem,
    rtol: float | None = None,
    atol: float | None = None,
    *,
    check_fd: bool = False,
    simplify: bool = False,
    differentiator: Any = None,
) -> GradientResult:
    """Run sympy and torch (and, with ``check_fd``, finite differences) on the checked problem and
    judge their agreement, explaining differences at kinks, poles and domain edges. A
    :class:`~backcalc.symbolic.Differentiator` made for the same expression may be passed in to reuse
    its derivatives (``batch`` does)."""
    from . import autograd, symbolic

    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    scalar = problem.output_shape == ()
    count = math.prod(problem.output_shape)
    scale = 1.0 / count if problem.reduce == "mean" and not scalar else 1.0
    skipped = None
    if differentiator is None:
        try:
            differentiator = symbolic.differentiator_for(problem.tree, {n: v.shape for n, v in problem.inputs.items()})
        except SymbolicSizeError as exc:
            skipped = f"symbolic side skipped: {exc.one_line()}"
    derived = (
        differentiator.derive(problem.inputs, problem.wrt, problem.output_shape, 1 if scale == 1.0 else count, simplify)
        if differentiator is not None
        else {}
    )
    mixing = problem.tree.mixes_elements()
    with recursion_room(limits.RECURSION_LIMIT):
        passed = autograd.backward(problem.tree, problem.inputs, problem.wrt, problem.dtype, problem.reduce)
        edges: list[Edge] | None = None
        gradients = {}
        for name in problem.wrt:
            formula = derived.get(name)
            auto = passed.gradients[name]
            fd = (
                numeric.finite_difference(problem.tree, problem.inputs, name, problem.output_shape, scale)
                if check_fd
                else None
            )
            sides = {"autograd": auto.astype(np.float64)}
            comparison = fd_comparison = None
            outside = np.zeros(auto.shape, dtype=bool)
            if formula is not None:
                sides = {"symbolic": formula.values, **sides}
                comparison = compare(formula.values, auto, tolerance)
                outside = comparison.outside
            if fd is not None:
                sides["finite_difference"] = fd
                # Finite differences witness the symbolic gradient, or autograd's when there is none.
                fd_comparison = compare(formula.values if formula else auto, fd, Tolerance(*FD_TOLERANCE))
                outside = outside | fd_comparison.outside
            if outside.any() and edges is None:
                edges = []
                numeric.evaluate(problem.tree, problem.inputs, edges, NUMPY_DTYPES[problem.dtype])
            verdict = judge(outside, sides, edges or [], problem.output_shape, coarse=mixing)
            if formula is None and fd is None:
                verdict = Verdict(UNCHECKED, (), 0, 0)
            gradients[name] = Gradient(
                name=name,
                formula=formula.text if formula else None,
                latex=formula.latex if formula else None,
                symbolic=formula.values if formula else None,
                autograd=auto,
                comparison=comparison,
                verdict=verdict,
                finite_difference=fd,
                fd_comparison=fd_comparison,
                note=formula.note if formula else skipped,
            )
    cast = NUMPY_DTYPES[problem.dtype]
    return GradientResult(
        version=__version__,
        expression=problem.expression,
        parsed=to_text(problem.tree),
        dtype=problem.dtype,
        reduce=passed.reduce,
        inputs={name: value.astype(cast) for name, value in problem.inputs.items()},
        output=passed.output,
        loss=passed.loss,
        gradients=gradients,
        tolerance=tolerance,
        check_fd=check_fd,
    )


def gradient(
    expression: str,
    inputs: Mapping[str, Any] | None = None,
    wrt: Iterable[str] | str | None = None,
    dtype: str = "float32",
    reduce: str = "sum",
    *,
    rtol: float | None = None,
    atol: float | None = None,
    check_fd: bool = False,
    simplify: bool = False,
    **named: Any,
) -> GradientResult:
    """The gradient of ``expression``'s loss with respect to its inputs, symbolic beside autograd.

    Inputs are a mapping or keyword arguments: numbers, nested lists, numpy arrays, torch tensors,
    or text as typed on the command line (``"[[1, 2]]"``, ``"@data.npy"``)::

        >>> r = gradient("x**3 + x**2", x=[[2, 3, 1]])
        >>> r.loss, r.gradients["x"].symbolic.tolist(), r.agree
        (50.0, [[16.0, 33.0, 5.0]], True)
    """
    merged = {**(inputs or {}), **named}
    if isinstance(wrt, str):
        wrt = [wrt]
    problem = prepare(expression, merged, wrt, dtype, reduce)
    return compute(problem, rtol, atol, check_fd=check_fd, simplify=simplify)
