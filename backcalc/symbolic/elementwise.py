"""The sympy side for element-wise expressions: the project's tree to one sympy formula, its
derivative with respect to each input, and a vectorised NumPy evaluation of that derivative
(:class:`Compiled`). Independent of torch: agreement with autograd means something.

sympy is only ever handed objects built here from the whitelisted tree (never text), and its results
are evaluated by walking the expression (no ``lambdify``, no generated code). Input symbols are real,
so ``d|x|/dx`` is ``sign(x)``. Expressions that mix elements go to :mod:`backcalc.symbolic.elements`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy

from .. import limits, ops
from ..errors import LimitError, SymbolicError
from ..language.tree import CONSTANT, NUMBER, Node
from ..limits import deadline, recursion_room
from ..numeric.broadcasting import sum_to_shape
from ..ops import sympy_functions
from .derived import SympySide


def symbols_for(names: list[str]) -> dict[str, sympy.Symbol]:
    """One real sympy symbol per input name (built directly: no name is looked up in sympy)."""
    return {name: sympy.Symbol(name, real=True) for name in names}


def leaf(node: Node) -> sympy.Expr:
    """The exact sympy value of a number or constant: integers and rationals stay exact."""
    if node.op == NUMBER:
        return sympy.Integer(int(node.text)) if node.text.isdigit() else sympy.Rational(node.text)
    assert node.op == CONSTANT
    return getattr(sympy, ops.constants()[node.text][1])


def to_sympy(tree: Node, symbols: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """The sympy expression of an element-wise tree, by each record's sympy implementation."""
    values: dict[int, sympy.Expr] = {}
    for node in tree.postorder():
        if node.is_variable:
            value = symbols[node.text]
        elif node.is_leaf:
            value = leaf(node)
        else:
            op = node.record
            if not op.elementwise or op.sympy is None:
                raise SymbolicError(f"{op.name} mixes elements: it has no one-formula sympy form")
            value = op.sympy(sympy, *(values[id(child)] for child in node.args), **op.settings(node.options))
        values[id(node)] = value
    return values[id(tree)]


def formula_text(expr: sympy.Expr) -> str:
    """sympy's own text form (readable back by sympy)."""
    return sympy.sstr(expr)


def formula_latex(expr: sympy.Expr) -> str:
    return sympy.latex(expr)


# ---------------------------------------------------------------------------------------------------
# Numeric evaluation of a sympy expression with numpy, element-wise over broadcast arrays (float64).
# Real-valued semantics as in torch: a fractional power of a negative number is nan, log(0) is -inf.


def _fold(function: Callable[..., Any]) -> Callable[..., Any]:
    """A two-argument function applied across any number of arguments (sympy's Add, Mul, Max are n-ary)."""

    def apply(*args: Any) -> Any:
        result = args[0]
        for arg in args[1:]:
            result = function(result, arg)
        return result

    return apply


def _sympy_class(name: str) -> Any:
    return getattr(sympy_functions, name, None) or getattr(sympy, name)


@functools.cache
def numpy_table() -> dict[type, Callable[..., Any]]:
    """sympy's classes to NumPy functions: each record's NumPy implementation, for the sympy classes it
    names; and the few classes sympy may write for a value it cannot prove real, with real semantics
    (any truly complex value is nan, as torch gives it)."""
    table: dict[type, Callable[..., Any]] = {}
    for op in ops.all_ops():
        for name in op.sympy_classes:
            assert op.numpy is not None
            implementation = functools.partial(op.numpy, np)
            table[_sympy_class(name)] = _fold(implementation) if op.arity == 2 else implementation
    table.update(
        {
            sympy.re: lambda x: x,
            sympy.im: np.zeros_like,
            sympy.conjugate: lambda x: x,
            sympy.atan2: np.arctan2,
            # What sympy rewrites trigonometric and hyperbolic functions into (tan(x + pi/2) = -cot(x)).
            sympy.cot: lambda x: 1 / np.tan(x),
            sympy.sec: lambda x: 1 / np.cos(x),
            sympy.csc: lambda x: 1 / np.sin(x),
            sympy.coth: lambda x: 1 / np.tanh(x),
            sympy.sech: lambda x: 1 / np.cosh(x),
            sympy.csch: lambda x: 1 / np.sinh(x),
            # The derivative of a jump (sign, Heaviside): 0 away from it, no finite value on it.
            sympy.DiracDelta: lambda x, *order: np.where(x == 0, np.inf, 0.0),
            # A comparison's mask and where (backcalc.ops.comparisons): Piecewise over relations.
            sympy.StrictLessThan: np.less,
            sympy.LessThan: np.less_equal,
            sympy.StrictGreaterThan: np.greater,
            sympy.GreaterThan: np.greater_equal,
            sympy.Unequality: np.not_equal,
            type(sympy.true): lambda: True,
            sympy.functions.elementary.piecewise.ExprCondPair: lambda value, condition: (value, condition),
            sympy.Piecewise: _piecewise,
        }
    )
    return table


def _piecewise(*pairs: tuple[Any, Any]) -> Any:
    """The first value whose condition holds, element by element."""
    conditions = [np.asarray(condition, dtype=bool) for _, condition in pairs]
    values = [np.asarray(value, dtype=np.float64) for value, _ in pairs]
    shape = np.broadcast_shapes(*(a.shape for a in conditions + values))
    return np.select([np.broadcast_to(c, shape) for c in conditions], [np.broadcast_to(v, shape) for v in values])


class Compiled:
    """A sympy expression turned once into a list of numpy steps over its distinct subexpressions
    (shared ones computed once), then run at any inputs: no generated code, no walk per call."""

    def __init__(self, expr: sympy.Expr) -> None:
        self.steps: list[tuple[Callable[..., Any] | None, tuple[int, ...], Any]] = []
        index: dict[sympy.Basic, int] = {}
        # Post-order over distinct subexpressions, without recursion.
        stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
        while stack:
            node, expanded = stack.pop()
            if node in index:
                continue
            if isinstance(node, sympy.Symbol):
                self.steps.append((None, (), node))
            elif not node.args and node.is_number:  # numbers, pi, E, I, zoo, oo, nan
                self.steps.append((None, (), _constant(node)))
            elif not expanded:
                if type(node) not in numpy_table():
                    raise SymbolicError(f"cannot evaluate sympy's {type(node).__name__} numerically")
                stack.append((node, True))
                stack.extend((arg, False) for arg in reversed(node.args) if arg not in index)
                continue
            elif isinstance(node, sympy.Pow):
                self.steps.append((_power_rule(node.exp), (index[node.base], index[node.exp]), None))
            else:
                self.steps.append((numpy_table()[type(node)], tuple(index[arg] for arg in node.args), None))
            index[node] = len(self.steps) - 1

    def __call__(self, env: Mapping[sympy.Symbol, Any]) -> np.ndarray:
        values: list[Any] = []
        with np.errstate(all="ignore"):
            for function, args, payload in self.steps:
                if function is None:
                    values.append(env[payload] if isinstance(payload, sympy.Symbol) else payload)
                else:
                    values.append(function(*(values[a] for a in args)))
        return np.asarray(values[-1], dtype=np.float64)


def evaluate(expr: sympy.Expr, env: Mapping[sympy.Symbol, np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` at the arrays in ``env``, vectorised."""
    return Compiled(expr)(env)


def _constant(node: sympy.Basic) -> float:
    if node is sympy.zoo or node is sympy.nan or node is sympy.I:
        return math.nan  # complex infinity, undefined, or imaginary: no real value
    if node is sympy.oo:
        return math.inf
    if node is sympy.S.NegativeInfinity:
        return -math.inf
    return float(node)


def _power_rule(exponent: sympy.Expr) -> Callable[[Any, Any], Any]:
    # sympy writes 1/x as x**-1 and sqrt(x) as x**(1/2): take the exact operations for those.
    if exponent == -1:
        return lambda base, _: np.divide(1.0, base)
    if exponent == sympy.Rational(1, 2):
        return lambda base, _: np.sqrt(base)
    if exponent == sympy.Rational(-1, 2):
        return lambda base, _: np.divide(1.0, np.sqrt(base))
    return lambda base, value: np.power(np.asarray(base, dtype=np.float64), value)


def present(derivative: sympy.Expr, count: int, simplify: bool) -> tuple[str, str, str | None]:
    """sympy text and LaTeX of a derivative (with the 1/N of a mean), simplified within the budget if
    asked; and a note when the simplification gave up."""
    note = None
    if simplify:
        try:
            with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SIMPLIFY_SECONDS, "simplification"):
                derivative = sympy.simplify(derivative)
        except LimitError:
            note = f"simplification took longer than {limits.SIMPLIFY_SECONDS:g} s: shown unsimplified"
    if count > 1:
        # d mean / d element = (d y / d element) / N, kept unevaluated so the 1/N stays visible.
        derivative = sympy.Mul(sympy.Rational(1, count), derivative, evaluate=False)
    with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "printing the formulas"):
        return formula_text(derivative), formula_latex(derivative), note


class Differentiator(SympySide):
    """sympy's side for one expression: derivatives, their text and their compiled evaluators are
    made once (each within the time budget) and reused for any inputs, as ``batch`` does."""

    def __init__(self, tree: Node, names: list[str]) -> None:
        with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "symbolic conversion"):
            self.symbols = symbols_for(names)
            self.expr = to_sympy(tree, self.symbols)
        self._derivatives: dict[str, tuple[sympy.Expr, Compiled]] = {}
        self._texts: dict[tuple[str, int, bool], tuple[str, str, str | None]] = {}

    def derivative(self, name: str) -> tuple[sympy.Expr, Compiled]:
        if name not in self._derivatives:
            with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "symbolic differentiation"):
                derivative = sympy.diff(self.expr, self.symbols[name])
                self._derivatives[name] = (derivative, Compiled(derivative))
        return self._derivatives[name]

    def text(self, name: str, count: int, simplify: bool) -> tuple[str, str, str | None]:
        """sympy text and LaTeX of d loss / d element (with the 1/N of a mean), and a note if any."""
        key = (name, count, simplify)
        if key not in self._texts:
            self._texts[key] = present(self.derivative(name)[0], count, simplify)
        return self._texts[key]

    def values(
        self, name: str, inputs: Mapping[str, np.ndarray], output_shape: tuple[int, ...], count: int
    ) -> np.ndarray:
        """The derivative at ``inputs``, broadcast to the output, summed back to the input's shape."""
        _, compiled = self.derivative(name)
        # numpy work bounded by the element limits: no time budget needed (nor its signal calls).
        evaluated = compiled({self.symbols[n]: value for n, value in inputs.items()})
        with np.errstate(all="ignore"):  # inf - inf in a sum is nan, which the verdict explains
            summed = sum_to_shape(np.broadcast_to(evaluated, output_shape), inputs[name].shape)
            return summed / count if count > 1 else summed
