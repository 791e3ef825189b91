"""The symbolic side for expressions that mix elements (``@``, reductions, softmax), at any size: one
formula per input in matrix notation, in backcalc's own language, by backprop on the tree
(:mod:`backcalc.symbolic.formulas`), evaluated with NumPy.

Where the inputs are small enough for sympy to work element by element
(``limits.MAX_SYMBOLIC_ELEMENTS``), sympy's exact derivative of every element is an independent
witness: the formula must match it at the inputs and at random points, or it is not used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import limits
from ..errors import LimitError, SymbolicError
from ..language.shapes import infer
from ..language.tree import Node, printable, to_latex, to_text
from ..limits import at_most
from ..numeric.numpy_eval import evaluate
from .derived import Derived
from .formulas import Backprop

WITNESS_POINTS = 3  # random points, besides the inputs, where the formula must match sympy's elements
WITNESS_SECONDS = 4.0  # of the run's symbolic budget, at most this for the witness (it is optional)
_RNG_SEED = 0
TOO_LONG = f"the formula written out has over {limits.MAX_FORMULA_NODES:,} nodes: not printed (its values are)"


class MatrixDifferentiator:
    """Formulas in matrix notation for every input, made once per expression and input shapes."""

    def __init__(
        self, tree: Node, shapes: Mapping[str, tuple[int, ...]], labels: Mapping[str, np.ndarray] | None = None
    ) -> None:
        self.tree = tree
        self.shapes = dict(shapes)
        self.labels = dict(labels or {})  # integer inputs: the same at every point
        self._formulas: dict[tuple[str, int], Node] = {}
        self._backprops: dict[int, Backprop] = {}
        self._witness: Any = None
        self._witness_note: str | None = None
        small = sum(math.prod(shape) for shape in self.shapes.values()) <= limits.MAX_SYMBOLIC_ELEMENTS
        self._wants_witness = small
        if not small:
            self._witness_note = beyond_limit(tree, self.shapes)
        self.formula(next(iter(self.shapes), ""), 1) if self.shapes else None  # NotImplementedError: no rule

    def formula(self, name: str, count: int) -> Node:
        key = (name, count)
        if key not in self._formulas:
            if count not in self._backprops:  # one backward pass gives every input's formula
                self._backprops[count] = Backprop(self.tree, self.shapes, "mean" if count > 1 else "sum")
            gradient = self._backprops[count].gradient(name)
            self._formulas[key] = gradient if gradient is not None else Node("number", (), "0")
        return self._formulas[key]

    def values(
        self, name: str, inputs: Mapping[str, np.ndarray], output_shape: tuple[int, ...], count: int
    ) -> np.ndarray:
        """The formula at ``inputs``, with the input's shape (float64)."""
        value = evaluate(self.formula(name, count), inputs)
        try:
            return np.array(np.broadcast_to(value, self.shapes[name]), dtype=np.float64)
        except ValueError:
            raise SymbolicError(
                f"the formula for {name} has shape {list(value.shape)}, not {list(self.shapes[name])}"
            ) from None

    def derive(
        self,
        inputs: Mapping[str, np.ndarray],
        wrt: list[str],
        output_shape: tuple[int, ...],
        count: int,
        simplify: bool = False,
    ) -> dict[str, Derived]:
        """Each input's formula and its values; checked against sympy's elements where they are small."""
        results = {}
        for name in wrt:
            formula = self.formula(name, count)
            values = self.values(name, inputs, output_shape, count)
            note = "matrix notation, by backprop on the expression"
            witnessed = self._witnessed(name, inputs, output_shape, count, values)
            if isinstance(witnessed, np.ndarray):
                values, note = (
                    witnessed,
                    (
                        "the matrix formula did not match sympy's element-by-element derivative: "
                        "the values shown are sympy's"
                    ),
                )
            elif witnessed:
                note += f"; {witnessed}"
            if not printable(formula):
                note += f"; {TOO_LONG}"
                results[name] = Derived(None, None, values, note, "backprop")
                continue
            results[name] = Derived(to_text(formula, named=True), to_latex(formula), values, note, "backprop")
        return results

    def _witnessed(
        self, name: str, inputs: Mapping[str, np.ndarray], output_shape: tuple[int, ...], count: int, values: np.ndarray
    ) -> np.ndarray | str:
        """What sympy's elements say of the formula: a note, or sympy's own values if they differ."""
        try:
            with at_most(WITNESS_SECONDS):
                witness = self._element_witness()
                if witness is None:
                    return self._witness_note or ""
                expected = witness.values(name, inputs, output_shape, count)
                points = [dict(inputs)]
                rng = np.random.default_rng(_RNG_SEED)
                points += [
                    {
                        n: self.labels[n] if n in self.labels else rng.uniform(-1.0, 1.0, size=shape)
                        for n, shape in self.shapes.items()
                    }
                    for _ in range(WITNESS_POINTS)
                ]
                pairs = [(values, expected)] + [
                    (self.values(name, p, output_shape, count), witness.values(name, p, output_shape, count))
                    for p in points[1:]
                ]
        except LimitError as exc:
            largest = largest_mixing(self.tree, self.shapes)
            return f"not witnessed by sympy element by element{f' ({largest})' if largest else ''}: {exc.one_line()}"
        differs = [not _same(formula, sympy_values) for formula, sympy_values in pairs]
        if differs[0]:
            return expected
        if any(differs):
            return expected
        overflowed = int(np.count_nonzero(~np.isfinite(expected) & np.isfinite(values)))
        if overflowed:
            return f"sympy's element-by-element evaluation overflowed at {overflowed} element(s): witnessed elsewhere"
        return f"matches sympy's element-by-element derivative at the inputs and {WITNESS_POINTS} random points"

    def _element_witness(self) -> Any:
        if self._wants_witness and self._witness is None and self._witness_note is None:
            from .elements import ElementDifferentiator

            try:
                self._witness = ElementDifferentiator(self.tree, self.shapes, self.labels)
            except LimitError as exc:
                self._witness_note = f"not witnessed by sympy element by element: {exc.one_line()}"
        return self._witness


def _same(formula: np.ndarray, sympy_values: np.ndarray) -> bool:
    """The formula matches sympy's values wherever sympy's evaluation has a finite value (sympy's
    element-wise evaluation overflows where the formula's stable one does not: logsumexp at 1000)."""
    a, b = np.asarray(formula, dtype=np.float64), np.asarray(sympy_values, dtype=np.float64)
    with np.errstate(all="ignore"):
        close = np.isclose(a, b, rtol=1e-9, atol=1e-12)
    return bool(np.all(close | ~np.isfinite(b)))


def largest_mixing(tree: Node, shapes: Mapping[str, tuple[int, ...]]) -> str | None:
    """The operation that mixes the most elements, where it is written and its size: "conv2d in step
    `h` (2,304 output elements)"; None if no operation mixes elements."""
    sizes = infer(tree, shapes)
    found: list[tuple[int, str]] = []
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(tree, "")]
    while stack:
        node, step = stack.pop()
        if id(node) in seen or node.is_leaf:
            continue
        seen.add(id(node))
        step = node.name or step  # a program's step is the node its expression ends in
        if not node.record.elementwise:
            where = f"in step `{step}`" if step else "in the expression"
            count = math.prod(sizes[id(node)])
            found.append((count, f"{node.record.name} {where} ({count:,} output element{'s' * (count != 1)})"))
        stack.extend((child, step) for child in reversed(node.args))
    return max(found, key=lambda item: item[0])[1] if found else None


def beyond_limit(tree: Node, shapes: Mapping[str, tuple[int, ...]]) -> str:
    """Why sympy does not witness the formula: the inputs are over its element-by-element limit."""
    total = sum(math.prod(shape) for shape in shapes.values())
    largest = largest_mixing(tree, shapes)
    where = f"{largest}: " if largest else ""
    return (
        f"not witnessed by sympy element by element: {where}the inputs have {total:,} elements, over sympy's "
        f"limit of {limits.MAX_SYMBOLIC_ELEMENTS:,}; backprop's formula checked by torch instead"
    )
