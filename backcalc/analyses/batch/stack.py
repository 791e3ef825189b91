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

Writing the answers is most of the cost per case, so it is done the same way: every answer of a stack
is one template (the JSON both sides' text shares, dumped once) with slots where each case's numbers
go, and :func:`write` writes the numbers of many stacks at once (:mod:`backcalc.formats.numtext`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import limits
from ..._version import __version__
from ...formats.jsonout import dumps
from ...formats.numtext import case_texts_many
from ...limits import recursion_room, run_budget
from ...numeric.compare import Tolerance
from ...numeric.verdict import Word
from ..problem import NUMPY_DTYPES, Problem
from .stack_torch import torch_pass

if TYPE_CHECKING:
    pass

#: Elements of one case's output beyond which a case runs alone: torch splits a tensor of more than
#: 32,768 elements between threads, and the line-by-line path would meet other kernel boundaries.
MAX_CASE_ELEMENTS = 4096
#: Elements of the output of one stacked pass, so that its tensors (a value and a gradient for each
#: node of the tree) stay within a few hundred megabytes.
MAX_STACK_ELEMENTS = 2**18


def chunks(plan: Plan, count: int) -> list[slice]:
    """A group of ``count`` cases of one plan cut into stacks of at most :data:`MAX_STACK_ELEMENTS`
    output elements."""
    size = max(2, MAX_STACK_ELEMENTS // max(1, math.prod(plan.problem.output_shape)))
    return [slice(start, min(count, start + size)) for start in range(0, count, size)]


@dataclass
class Case:
    """A line ready to run: the checked problem and the line's options."""

    line: int
    problem: Problem
    rtol: float | None
    atol: float | None
    check_fd: bool
    differentiator: Any  # the cached symbolic side, or None when it could not be made


@dataclass(eq=False)
class Plan:
    """What the lines that can share one pass share: the first such line's problem (its expression,
    tree, inputs' order and shapes, wrt, dtype, reduction), its tolerances and its symbolic side."""

    problem: Problem
    rtol: float | None
    atol: float | None
    differentiator: Any
    template: tuple[list[str], list[str]] | None = None  # made by the first stack, kept for the next

    def case(self, line: int, values: Sequence[Any]) -> Case:
        """The :class:`Case` of one line of this plan, its values (in the order of the plan's inputs)
        cast to the dtype, to run alone."""
        first = self.problem
        cast = first.numpy_dtype
        inputs = {
            name: np.asarray(value, dtype=np.float64).astype(cast).astype(np.float64)
            for name, value in zip(first.inputs, values, strict=True)
        }
        problem = Problem(
            first.expression, first.tree, inputs, list(first.wrt), first.dtype, first.reduce, first.output_shape
        )
        return Case(line, problem, self.rtol, self.atol, False, self.differentiator)


def plan_for(case: Case) -> Plan | None:
    """The plan a case can share a pass under; None for a case that runs alone."""
    if case.check_fd or not stackable(case.problem, case.differentiator):
        return None
    return Plan(case.problem, case.rtol, case.atol, case.differentiator)


def stackable(problem: Problem, differentiator: Any) -> bool:
    """An element-wise expression with its one-formula symbolic side, small enough per case."""
    from ...symbolic.elementwise import Differentiator

    if not isinstance(differentiator, Differentiator) or not problem.inputs or problem.steps:
        return False  # a program's steps are reported one case at a time
    if math.prod(problem.output_shape) > MAX_CASE_ELEMENTS:
        return False
    tree = problem.tree
    if tree.mixes_elements() or any(not n.is_leaf and n.record.takes_dim for n in tree.walk()):
        return False
    # NumPy raises an array to a power of 2, 0.5 or -1 by a shortcut (square, sqrt, reciprocal) when
    # the exponent is one number, as an input of one element is alone but not in the stack: a derivative
    # with such an exponent (sympy's own x**y, or exp(y*log(x)) made one) is not stacked.
    symbols = differentiator.symbols
    scalars = {symbols[name] for name, value in problem.inputs.items() if value.size == 1 and name in symbols}
    if not scalars:
        return True
    import sympy

    try:
        derivatives = [differentiator.derivative(name)[0] for name in problem.wrt]
    except Exception:  # out of time or recursion: the line alone says so
        return False
    return not any(power.exp.free_symbols & scalars for d in derivatives for power in d.atoms(sympy.Pow))


@dataclass
class Stacked:
    """One stack's answers before their numbers are written (:func:`write`, which writes the
    numbers of many stacks at once): the template of its output lines, and for each slot in it the
    lines' texts or the stacked numbers to write there."""

    lines: list[int]
    alone: np.ndarray  # the cases to run alone: sides that differ somewhere, a loss that is not finite
    recheck: np.ndarray  # the cases whose numbers the dtype cannot hold: the checked path says why
    pieces: list[str]
    columns: list[list[str] | np.ndarray | tuple[int, np.ndarray, np.ndarray]]
    dtype: str


def compute_stack(plan: Plan, lines: Sequence[int], values: Sequence[Sequence[Any]]) -> Stacked:
    """Both sides of every case in one pass each; :func:`write` then gives each case's output line,
    byte for byte what :func:`~backcalc.analyses.gradient.compute`'s result gives, with ``"line"`` first.
    ``values[i]`` holds line ``lines[i]``'s inputs in the order of the plan's: numbers, lists of
    numbers or arrays, of the plan's shapes."""
    first = plan.problem
    count = len(lines)
    tolerance = Tolerance.for_dtype(first.dtype, plan.rtol, plan.atol)
    ndim = len(first.output_shape)
    cast = first.numpy_dtype
    largest = float(np.finfo(cast).max)
    recheck = np.zeros(count, dtype=bool)
    stacked = {}
    for index, (name, value) in enumerate(first.inputs.items()):
        given = _given([case[index] for case in values], (count, *value.shape))
        with np.errstate(invalid="ignore"):
            recheck |= ~(np.abs(given) <= largest).reshape(count, -1).all(axis=1)  # nan, inf, beyond the dtype
        stacked[name] = np.where(recheck.reshape((count,) + (1,) * (given.ndim - 1)), 0.0, given)
        stacked[name] = stacked[name].astype(cast).astype(np.float64)
    aligned = {name: _align(value, ndim) for name, value in stacked.items()}
    with run_budget(limits.SYMBOLIC_SECONDS), recursion_room(limits.RECURSION_LIMIT):
        symbolic = {name: _symbolic(plan.differentiator, first, name, aligned, count) for name in first.wrt}
        output, losses, autograd = torch_pass(first, aligned, stacked, count)
    sides = {name: _Sides(symbolic[name][2], autograd[name], tolerance) for name in first.wrt}
    alone = ~np.isfinite(losses)
    for side in sides.values():
        alone |= side.flagged
    if plan.template is None:
        plan.template = _template(plan, symbolic, tolerance)
    pieces, slots = plan.template
    numbers: dict[str, Any] = {"line": [str(line) for line in lines]}
    for name, value in stacked.items():
        numbers[f"input {name}"] = value
    numbers["output"] = output
    numbers["loss"] = losses
    for name, side in sides.items():
        numbers[f"autograd {name}"] = side.autograd
        numbers[f"symbolic {name}"] = (slots.index(f"autograd {name}"), side.symbolic, side.autograd)
        numbers[f"max_abs_diff {name}"] = side.max_abs_diff
    return Stacked(list(lines), alone, recheck, pieces, [numbers[slot] for slot in slots], first.dtype)


class NotNumbersError(ValueError):
    """A case of a stack holds something other than numbers of the plan's shape where an input goes."""


def _given(values: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    """One input of every case of a stack as a float64 array of ``shape``, its numbers checked here:
    NumPy tells the kind of all of them at once, quicker than a look at each one. Booleans are ruled
    out before (they would be numbers to NumPy)."""
    try:
        given = np.array(values)
    except (ValueError, TypeError, OverflowError):  # lists of other lengths, nested otherwise, huge integers
        raise NotNumbersError from None
    if given.dtype.kind not in "if" or given.shape != shape:
        raise NotNumbersError
    return given.astype(np.float64)


def write(stacks: Sequence[Stacked]) -> list[list[str | None]]:
    """The output line of each case of each stack (None for a case to run alone or recheck), the
    numbers of all the stacks written together. The symbolic side mostly rounds to autograd's
    numbers: a case whose numbers are the same in the dtype, bit for bit, reuses autograd's text."""
    arrays: list[np.ndarray] = []
    dtypes: list[str] = []
    differing: dict[tuple[int, int], np.ndarray] = {}  # (stack, slot) -> the cases whose text differs
    for at_stack, stack in enumerate(stacks):
        for at, column in enumerate(stack.columns):
            if isinstance(column, tuple):
                _, values, shown = column
                differing[at_stack, at] = differ = np.flatnonzero(~_same(values, shown, stack.dtype))
                column = np.asarray(values)[differ]
            if isinstance(column, np.ndarray):
                arrays.append(column)
                dtypes.append(stack.dtype)
    texts = iter(case_texts_many(arrays, dtypes))
    answers = []
    for at_stack, stack in enumerate(stacks):
        columns = [column if isinstance(column, list) else next(texts) for column in stack.columns]
        for at, column in enumerate(stack.columns):
            if isinstance(column, tuple):
                own = columns[at]
                columns[at] = list(columns[column[0]])
                for index, text in zip(differing[at_stack, at].tolist(), own, strict=True):
                    columns[at][index] = text
        template = "%s".join(piece.replace("%", "%%") for piece in stack.pieces)
        results: list[str | None] = [template % row for row in zip(*columns, strict=True)]
        for index in np.flatnonzero(stack.alone | stack.recheck).tolist():
            results[index] = None
        answers.append(results)
    return answers


def _same(values: np.ndarray, shown: np.ndarray, dtype: str) -> np.ndarray:
    """Whether each case's ``values`` are ``shown``'s numbers in the dtype, bit for bit."""
    kind = np.uint32 if dtype == "float32" else np.uint64
    with np.errstate(over="ignore", invalid="ignore"):
        bits = np.asarray(values).astype(NUMPY_DTYPES[dtype]).view(kind)
    return (bits == np.asarray(shown).astype(NUMPY_DTYPES[dtype]).view(kind)).reshape(len(bits), -1).all(axis=1)


def _template(
    plan: Plan, symbolic: dict[str, tuple[str, str, np.ndarray, str | None]], tolerance: Tolerance
) -> tuple[list[str], list[str]]:
    """The text every output line of a stack shares, cut where a case's own text goes: the pieces
    between the slots and the name of each slot, in order."""
    first = plan.problem
    slots: list[str] = []

    def slot(name: str) -> str:
        slots.append(name)
        return f"\x00{len(slots) - 1}\x00"

    data: dict[str, Any] = {"line": slot("line"), "backcalc": __version__, "expression": first.expression}
    data.update(parsed=first.parsed, dtype=first.dtype, reduce=first.reduction)
    data["inputs"] = {
        name: {"shape": list(value.shape), "value": slot(f"input {name}")} for name, value in first.inputs.items()
    }
    data["output"] = {"shape": list(first.output_shape), "value": slot("output")}
    data["loss"] = slot("loss")
    data["gradients"] = {name: _gradient(name, symbolic[name], first.inputs[name].shape, slot) for name in first.wrt}
    data["tolerance"] = {"rtol": tolerance.rtol, "atol": tolerance.atol}
    data.update(check_fd=False, agree=True, verdict=Word.AGREE.value, notes=[])
    text = dumps(data)
    text.encode("utf-8")  # a lone surrogate fails here, and the stack goes line by line
    cut = _SLOT.split(text)
    pieces, order = cut[0::2], cut[1::2]
    return pieces, [slots[int(number)] for number in order]


_SLOT = re.compile(r'"\\u0000(\d+)\\u0000"')


def _gradient(
    name: str, symbolic: tuple[str, str, np.ndarray, str | None], shape: tuple[int, ...], slot: Any
) -> dict[str, Any]:
    """What :meth:`~backcalc.analyses.gradient_result.Gradient.to_dict` gives for an agreeing gradient, its numbers
    left as slots."""
    formula, latex, _, note = symbolic
    data = {
        "formula": formula,
        "symbolic_by": "sympy",  # stacked cases are element-wise: sympy's one formula
        "latex": latex,
        "shape": list(shape),
        "symbolic": slot(f"symbolic {name}"),
        "autograd": slot(f"autograd {name}"),
        "max_abs_diff": slot(f"max_abs_diff {name}"),
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
    from ...numeric.broadcasting import sum_to_shape

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


class _Sides:
    """Both sides of one input's gradient for every case, compared as
    :func:`~backcalc.numeric.compare.compare` compares one case."""

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
