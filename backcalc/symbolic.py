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

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        if arg.is_extended_real or arg.is_number:
            return sympy.Abs(arg)  # sympy's own Abs is right (and simplifies) for what it knows real
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.sign(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return f"Abs({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return rf"\left|{{{printer._print(self.args[0])}}}\right|"


_FUNCTIONS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": real_abs,
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
    sympy.Pow: np.power,  # see _power
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


def evaluate(expr: sympy.Expr, env: Mapping[sympy.Symbol, np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` at the arrays in ``env`` (vectorised; shared subexpressions computed once)."""
    cache: dict[sympy.Basic, Any] = {}

    def walk(node: sympy.Basic) -> Any:
        if node in cache:
            return cache[node]
        value: Any
        if isinstance(node, sympy.Symbol):
            value = env[node]
        elif node.is_Number or node.is_NumberSymbol or node is sympy.I:
            value = _constant(node)
        else:
            rule = _NUMPY.get(type(node))
            if rule is None:
                raise SymbolicError(f"cannot evaluate sympy's {type(node).__name__} numerically")
            args = [walk(arg) for arg in node.args]
            value = _power(args[0], args[1], node.exp) if isinstance(node, sympy.Pow) else rule(*args)
        cache[node] = value
        return value

    with np.errstate(all="ignore"):
        return np.asarray(walk(expr), dtype=np.float64)


def _constant(node: sympy.Basic) -> float:
    if node is sympy.zoo or node is sympy.nan or node is sympy.I:
        return math.nan  # complex infinity, undefined, or imaginary: no real value
    if node is sympy.oo:
        return math.inf
    if node is sympy.S.NegativeInfinity:
        return -math.inf
    return float(node)


def _power(base: Any, exponent_value: Any, exponent: sympy.Expr) -> Any:
    # sympy writes 1/x as x**-1 and sqrt(x) as x**(1/2): take the exact operations for those.
    if exponent == -1:
        return np.divide(1.0, base)
    if exponent == sympy.Rational(1, 2):
        return np.sqrt(base)
    if exponent == sympy.Rational(-1, 2):
        return np.divide(1.0, np.sqrt(base))
    return np.power(np.asarray(base, dtype=np.float64), exponent_value)


@dataclass(frozen=True, eq=False)
class Derived:
    """The symbolic gradient of the loss with respect to one input."""

    text: str  # sympy's text of d loss / d element
    latex: str
    values: np.ndarray  # evaluated at the inputs, summed to the input's shape (float64)
    note: str | None = None


def derive(
    tree: Node,
    inputs: Mapping[str, np.ndarray],
    wrt: list[str],
    output_shape: tuple[int, ...],
    count: int,
    simplify: bool = False,
) -> dict[str, Derived]:
    """Differentiate the loss (the sum of the output, divided by ``count`` for a mean) with respect
    to each input in ``wrt``, and evaluate the derivative at ``inputs``. Bounded in time."""
    derivatives: dict[str, sympy.Expr] = {}
    values: dict[str, np.ndarray] = {}
    with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "symbolic differentiation"):
        symbols = symbols_for(list(inputs))
        expr = to_sympy(tree, symbols)
        env = {symbols[name]: value for name, value in inputs.items()}
        for name in wrt:
            derivative = sympy.diff(expr, symbols[name])
            if count > 1:
                # d mean / d element = (d y / d element) / N, kept unevaluated so the 1/N stays visible.
                derivative = sympy.Mul(sympy.Rational(1, count), derivative, evaluate=False)
            derivatives[name] = derivative
            evaluated = np.broadcast_to(evaluate(derivative, env), output_shape)
            values[name] = numeric.sum_to_shape(evaluated, inputs[name].shape)
    shown = dict(derivatives)
    notes: dict[str, str | None] = dict.fromkeys(wrt)
    if simplify:
        for name in wrt:
            try:
                with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SIMPLIFY_SECONDS, "simplification"):
                    shown[name] = sympy.simplify(derivatives[name])
            except LimitError:
                notes[name] = f"simplification took longer than {limits.SIMPLIFY_SECONDS:g} s: shown unsimplified"
    with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "printing the formulas"):
        return {
            name: Derived(formula_text(shown[name]), formula_latex(shown[name]), values[name], notes[name])
            for name in wrt
        }
