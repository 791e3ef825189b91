"""The symbolic evaluator: the project's tree to sympy, its derivative, and a vectorised numpy
evaluation of that derivative. Independent of torch: agreement with autograd means something.

sympy is only ever handed objects built here from the whitelisted tree (never text), and its results
are evaluated by walking the expression (no ``lambdify``, no generated code). Input symbols are real,
so ``d|x|/dx`` is ``sign(x)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from . import limits, numeric
from .deadline import deadline, recursion_room
from .errors import LimitError, SymbolicError
from .tree import Node


class sigmoid(sympy.Function):  # noqa: N801 - printed as the function users type
    """The logistic function 1/(1 + exp(-x)), differentiated as sigmoid(x)*(1 - sigmoid(x))."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return 1 / (1 + sympy.exp(-x))


class softplus(sympy.Function):  # noqa: N801
    """log(1 + exp(x)), differentiated as sigmoid(x)."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.log(1 + sympy.exp(x))


class real_abs(sympy.Function):  # noqa: N801
    """|u| for an argument that is real here but that sympy cannot prove real (``asin(w)``, ``w**w``).

    sympy's ``Abs`` of such an argument differentiates through ``re``, ``im`` and ``atan2``; inputs
    are real in backcalc, so d|u|/du is ``sign(u)``. Printed as ``Abs`` (sympy reads it back as such).
    """

    is_extended_nonnegative = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.sign(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return f"Abs({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return rf"\left|{{{printer._print(self.args[0])}}}\right|"


def absolute(u: sympy.Expr) -> sympy.Expr:
    """sympy's own Abs where sympy knows ``u`` is real (it simplifies there), :class:`real_abs` elsewhere."""
    return sympy.Abs(u) if u.is_extended_real or u.is_number else real_abs(u)


def elementary(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with sigmoid and softplus written out in exp and log, so that sympy can compare it."""
    expr = expr.replace(sigmoid, lambda u: 1 / (1 + sympy.exp(-u)))
    return expr.replace(softplus, lambda u: sympy.log(1 + sympy.exp(u)))


_FUNCTIONS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": absolute,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: sympy.Max(0, x),
    "softplus": softplus,
}


def symbols_for(names: list[str]) -> dict[str, sympy.Symbol]:
    """One real sympy symbol per input name (built directly: no name is looked up in sympy)."""
    return {name: sympy.Symbol(name, real=True) for name in names}


def to_sympy(node: Node, symbols: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """The sympy expression of ``node``; numbers become exact integers and rationals."""
    op = node.op
    if op == "number":
        return sympy.Integer(int(node.text)) if node.text.isdigit() else sympy.Rational(node.text)
    if op == "constant":
        return sympy.pi if node.text == "pi" else sympy.E
    if op == "variable":
        return symbols[node.text]
    args = [to_sympy(child, symbols) for child in node.args]
    if op == "call":
        return _FUNCTIONS[node.text](args[0])
    if op == "neg":
        return -args[0]
    a, b = args
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        return a**b
    raise SymbolicError(f"no symbolic rule for {op!r}")


def formula_text(expr: sympy.Expr) -> str:
    """sympy's own text form (readable back by sympy)."""
    return sympy.sstr(expr)


def formula_latex(expr: sympy.Expr) -> str:
    return sympy.latex(expr)


# ---------------------------------------------------------------------------------------------------
# Numeric evaluation of a sympy expression with numpy, element-wise over broadcast arrays (float64).
# Real-valued semantics as in torch: a fractional power of a negative number is nan, log(0) is -inf.


def _heaviside(x: np.ndarray, h0: np.ndarray | float = 0.5) -> np.ndarray:
    return np.heaviside(x, h0)


def _fold(function: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        result = args[0]
        for arg in args[1:]:
            result = function(result, arg)
        return result

    return apply


_NUMPY: dict[type, Callable[..., Any]] = {
    sympy.Add: _fold(np.add),
    sympy.Mul: _fold(np.multiply),
    sympy.Pow: np.power,  # see _power_rule
    sympy.exp: np.exp,
    sympy.log: np.log,
    sympy.sin: np.sin,
    sympy.cos: np.cos,
    sympy.tan: np.tan,
    sympy.asin: np.arcsin,
    sympy.acos: np.arccos,
    sympy.atan: np.arctan,
    sympy.sinh: np.sinh,
    sympy.cosh: np.cosh,
    sympy.tanh: np.tanh,
    sympy.Abs: np.abs,
    real_abs: np.abs,
    # Real semantics for what sympy may still write for a value it cannot prove real: any truly
    # complex value is nan, as torch gives it.
    sympy.re: lambda x: x,
    sympy.im: np.zeros_like,
    sympy.conjugate: lambda x: x,
    sympy.atan2: np.arctan2,
    sympy.sign: np.sign,
    sympy.Heaviside: _heaviside,
    sympy.Max: _fold(np.maximum),
    sympy.Min: _fold(np.minimum),
    sigmoid: numeric.sigmoid,
    softplus: numeric.softplus,
}


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
            elif node.is_Number or node.is_NumberSymbol or node is sympy.I:
                self.steps.append((None, (), _constant(node)))
            elif not expanded:
                if type(node) not in _NUMPY:
                    raise SymbolicError(f"cannot evaluate sympy's {type(node).__name__} numerically")
                stack.append((node, True))
                stack.extend((arg, False) for arg in reversed(node.args) if arg not in index)
                continue
            elif isinstance(node, sympy.Pow):
                self.steps.append((_power_rule(node.exp), (index[node.base], index[node.exp]), None))
            else:
                self.steps.append((_NUMPY[type(node)], tuple(index[arg] for arg in node.args), None))
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


@dataclass(frozen=True, eq=False)
class Derived:
    """The symbolic gradient of the loss with respect to one input."""

    text: str  # sympy's text of d loss / d element
    latex: str
    values: np.ndarray  # evaluated at the inputs, summed to the input's shape (float64)
    note: str | None = None


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


class Differentiator:
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
        summed = numeric.sum_to_shape(np.broadcast_to(evaluated, output_shape), inputs[name].shape)
        return summed / count if count > 1 else summed

    def derive(
        self,
        inputs: Mapping[str, np.ndarray],
        wrt: list[str],
        output_shape: tuple[int, ...],
        count: int,
        simplify: bool = False,
    ) -> dict[str, Derived]:
        """Differentiate the loss (the sum of the output, divided by ``count`` for a mean) with respect
        to each input in ``wrt``, and evaluate the derivative at ``inputs``."""
        results = {}
        for name in wrt:
            text, latex, note = self.text(name, count, simplify)
            results[name] = Derived(text, latex, self.values(name, inputs, output_shape, count), note)
        return results


def differentiator_for(tree: Node, shapes: Mapping[str, tuple[int, ...]]) -> Any:
    """One formula for all elements when the expression is element-wise; element by element otherwise
    (:class:`backcalc.elements.ElementDifferentiator`)."""
    if tree.mixes_elements():
        from .elements import ElementDifferentiator

        return ElementDifferentiator(tree, shapes)
    return Differentiator(tree, list(shapes))
