"""The symbolic side for expressions that mix elements (``@``, ``.T``, reductions, softmax): every
element of every input is its own real symbol, the output is an array of sympy expressions, and each
gradient element is the exact derivative of the loss (their sum) with respect to one symbol. Bounded
by ``limits.MAX_SYMBOLIC_ELEMENTS``. Where sympy can also derive a formula in matrix notation
(:mod:`backcalc.matrix_calculus`), it is shown instead of the first element's formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy

from . import limits
from .deadline import deadline, recursion_room
from .errors import SymbolicSizeError
from .symbolic import _FUNCTIONS, Compiled, Derived, formula_latex, formula_text, present, to_sympy
from .tree import Node


def element_symbols(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """An object array of real symbols per input: ``W_0_1`` for ``W[0, 1]``, ``x`` for a scalar."""
    taken = set(shapes)
    result = {}
    for name, shape in shapes.items():
        sep = "_"
        while any(f"{name}{sep}" in other for other in taken if other != name):
            sep += "_"  # an input called W_0 must not collide with element W[0]
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
        for index in np.ndindex(*array.shape):
            env[cells[name][index]] = float(array[index])
    return env


def _vectorized(function: Callable[[Any], Any]) -> Callable[[np.ndarray], np.ndarray]:
    apply = np.vectorize(function, otypes=[object])
    return lambda cells: np.asarray(apply(cells), dtype=object)


def _add_along(cells: np.ndarray, axis: int | None) -> np.ndarray:
    """sympy's Add over all elements or along one axis (flat sums, not pairwise ones)."""
    cells = np.asarray(cells, dtype=object)
    if axis is None:
        return np.asarray(sympy.Add(*cells.flat), dtype=object)
    moved = np.moveaxis(cells, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    sums = np.empty(rows.shape[0], dtype=object)
    for i, row in enumerate(rows):
        sums[i] = sympy.Add(*row)
    return sums.reshape(moved.shape[:-1])


def to_sympy_array(node: Node, cells: Mapping[str, np.ndarray]) -> np.ndarray:
    """The node as an object array of sympy expressions, element by element."""
    # numpy turns 0-d object results into bare objects: keep everything an array.
    return np.asarray(_to_sympy_array(node, cells), dtype=object)


def _to_sympy_array(node: Node, cells: Mapping[str, np.ndarray]) -> Any:
    from .parser import dimension

    op = node.op
    if op in ("number", "constant"):
        return np.asarray(to_sympy(node, {}), dtype=object)
    if op == "variable":
        return cells[node.text]
    if op == "call" and node.text == "dot":
        a, b = (to_sympy_array(arg, cells) for arg in node.args)
        return _add_along(a * b, None)
    args = (
        [to_sympy_array(arg, cells) for arg in node.args[:1]]
        if op == "call"
        else [to_sympy_array(arg, cells) for arg in node.args]
    )
    if op == "call":
        x = args[0]
        dim = dimension(node.args[1]) if len(node.args) == 2 else None
        name = node.text
        if name == "sum":
            return _add_along(x, dim)
        if name == "mean":
            count = x.size if dim is None else x.shape[dim]
            return _add_along(x, dim) * sympy.Rational(1, count)
        if name == "logsumexp":
            return _vectorized(sympy.log)(_add_along(_vectorized(sympy.exp)(x), dim))
        if name == "softmax":
            if x.ndim == 0:
                return np.asarray(sympy.Integer(1), dtype=object)
            powers = _vectorized(sympy.exp)(x)
            return powers / np.expand_dims(_add_along(powers, x.ndim - 1), -1)
        if name == "norm":
            return _vectorized(sympy.sqrt)(_add_along(x * x, None))
        return _vectorized(_FUNCTIONS[name])(x)
    if op == "neg":
        return -args[0]
    if op == "transpose":
        return np.transpose(args[0])
    a, b = args
    if op == "matmul":
        return np.asarray(np.matmul(a, b), dtype=object)
    if op == "pow":
        return np.asarray(np.power(a, b), dtype=object)
    operation = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op]
    return np.asarray(operation(a, b), dtype=object)


class ElementDifferentiator:
    """sympy's side, element by element, for expressions that mix elements. Same interface as
    :class:`Differentiator`; the formula shown is the derivative with respect to the first element."""

    def __init__(self, tree: Node, shapes: Mapping[str, tuple[int, ...]]) -> None:
        total = sum(math.prod(shape) for shape in shapes.values())
        if total > limits.MAX_SYMBOLIC_ELEMENTS:
            raise SymbolicSizeError(
                f"sympy would work element by element here, and the inputs have {total:,} elements; "
                f"the limit is {limits.MAX_SYMBOLIC_ELEMENTS:,}"
            )
        self.shapes = dict(shapes)
        self.tree = tree
        self._matrix: dict[tuple[str, int], Any] = {}
        with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "symbolic conversion"):
            self.cells = element_symbols(shapes)
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

    def derive(
        self,
        inputs: Mapping[str, np.ndarray],
        wrt: list[str],
        output_shape: tuple[int, ...],
        count: int,
        simplify: bool = False,
    ) -> dict[str, Derived]:
        """As :meth:`Differentiator.derive`; the formula is in matrix notation where sympy finds one that
        equals the element-by-element gradient at these inputs, else that of the first element."""
        from .matrix_calculus import matrix_gradient

        results = {}
        for name in wrt:
            values = self.values(name, inputs, output_shape, count)
            key = (name, count)
            if key not in self._matrix:
                self._matrix[key] = matrix_gradient(self.tree, inputs, name, count, values)
            matrix = self._matrix[key]
            if matrix is not None:
                checked = "matrix notation: vectors are columns, checked against the element-by-element gradient"
                results[name] = Derived(formula_text(matrix), formula_latex(matrix), values, checked)
            else:
                text, latex, note = self.text(name, count, simplify)
                results[name] = Derived(text, latex, values, note)
        return results
