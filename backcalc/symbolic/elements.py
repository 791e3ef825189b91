"""The sympy side, element by element, for expressions that mix elements (``@``, ``.T``, reductions,
softmax): every element of every input is its own real symbol, the output is an object array of sympy
expressions (each record's sympy implementation, element-wise ones applied to every element), and
each gradient element is the exact derivative of the loss (their sum) with respect to one symbol.
Bounded by ``limits.MAX_SYMBOLIC_ELEMENTS``. It witnesses the formulas in matrix notation of
:mod:`backcalc.symbolic.matrix`, stands in for them where there is none (a batched ``@``), and gives the
Jacobians and Hessians.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy

from .. import limits
from ..errors import SymbolicSizeError
from ..language.tree import Node
from ..limits import deadline, recursion_room
from .derived import SympySide
from .elementwise import Compiled, leaf, present


def element_symbols(
    shapes: Mapping[str, tuple[int, ...]], labels: Mapping[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """An object array of real symbols per input: ``W_0_1`` for ``W[0, 1]``, ``x`` for a scalar. A
    label is data, not a variable: its own whole numbers, which index the symbols of the others."""
    labels = labels or {}
    taken = set(shapes)
    result = {}
    for name, shape in shapes.items():
        sep = "_"
        while any(f"{name}{sep}" in other for other in taken if other != name):
            sep += "_"  # an input called W_0 must not collide with element W[0]
        if name in labels:
            result[name] = np.asarray(labels[name])
            continue
        cells = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            label = name if not shape else name + sep + sep.join(map(str, index))
            cells[index] = sympy.Symbol(label, real=True)
        result[name] = cells
    return result


def element_values(cells: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> dict[Any, float]:
    """Each element symbol's value at ``inputs``."""
    env: dict[Any, float] = {}
    for name, value in inputs.items():
        array = np.asarray(value)
        if array.dtype.kind == "i":
            continue  # a label: its values are in the expressions already
        for index in np.ndindex(*array.shape):
            env[cells[name][index]] = float(array[index])
    return env


def _scalar(value: Any) -> np.ndarray:
    cell = np.empty((), dtype=object)
    cell[()] = value
    return cell


def to_sympy_array(tree: Node, cells: Mapping[str, np.ndarray]) -> np.ndarray:
    """The tree as an object array of sympy expressions, element by element."""
    values: dict[int, np.ndarray] = {}
    for node in tree.postorder():
        if node.is_variable:
            value = cells[node.text]
        elif node.is_leaf:
            value = _scalar(leaf(node))
        else:
            op = node.record
            args = [values[id(child)] for child in node.args]
            extra = op.keywords(node.dim, node.options)
            if op.elementwise:
                apply = np.frompyfunc(lambda *a, op=op, extra=extra: op.sympy(sympy, *a, **extra), op.arity, 1)
                value = apply(*args)
            else:
                value = op.sympy(sympy, np, *args, **extra)  # type: ignore[misc]
        # numpy turns 0-d object results into bare objects: keep everything an array.
        values[id(node)] = value if isinstance(value, np.ndarray) else _scalar(value)
    return values[id(tree)]


class ElementDifferentiator(SympySide):
    """sympy's side, element by element, for expressions that mix elements. Same interface as
    :class:`Differentiator`; the formula shown is the derivative with respect to the first element."""

    def __init__(
        self, tree: Node, shapes: Mapping[str, tuple[int, ...]], labels: Mapping[str, np.ndarray] | None = None
    ) -> None:
        total = sum(math.prod(shape) for shape in shapes.values())
        if total > limits.MAX_SYMBOLIC_ELEMENTS:
            raise SymbolicSizeError(
                f"sympy would work element by element here, and the inputs have {total:,} elements; "
                f"the limit is {limits.MAX_SYMBOLIC_ELEMENTS:,}"
            )
        self.shapes = dict(shapes)
        self.tree = tree
        with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "symbolic conversion"):
            self.cells = element_symbols(shapes, labels)
            self.output = to_sympy_array(tree, self.cells)
            self.loss = sympy.Add(*self.output.flat)
        self._derivatives: dict[str, tuple[np.ndarray, list[Compiled]]] = {}
        self._texts: dict[tuple[str, int, bool], tuple[str, str, str | None]] = {}

    def derivative(self, name: str) -> tuple[np.ndarray, list[Compiled]]:
        if name not in self._derivatives:
            with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "symbolic differentiation"):
                cells = self.cells[name]
                exprs = np.empty(cells.shape, dtype=object)
                for index in np.ndindex(*cells.shape):
                    exprs[index] = sympy.diff(self.loss, cells[index])
                compiled = [Compiled(expr) for expr in exprs.flat]
            self._derivatives[name] = (exprs, compiled)
        return self._derivatives[name]

    def text(self, name: str, count: int, simplify: bool) -> tuple[str, str, str | None]:
        key = (name, count, simplify)
        if key not in self._texts:
            text, latex, note = present(self.derivative(name)[0].flat[0], count, simplify)
            shape = self.shapes[name]
            if shape:  # a scalar input's formula is the whole gradient: nothing to add
                where = f"{name}[{', '.join(['0'] * len(shape))}]"
                symbol = self.cells[name].flat[0]
                element = f"element by element: the formula is d loss / d {where}, with {symbol} for {where}"
                note = element if note is None else f"{element}; {note}"
            self._texts[key] = (text, latex, note)
        return self._texts[key]

    def values(
        self, name: str, inputs: Mapping[str, np.ndarray], output_shape: tuple[int, ...], count: int
    ) -> np.ndarray:
        _, compiled = self.derivative(name)
        env = element_values(self.cells, inputs)
        values = np.array([function(env) for function in compiled], dtype=np.float64).reshape(self.shapes[name])
        return values / count if count > 1 else values
