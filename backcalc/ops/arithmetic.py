"""The arithmetic operators: ``-a``, ``a + b``, ``a - b``, ``a * b``, ``a / b``, ``a ** b`` (also ``a ^ b``).

All broadcast as torch does. Literal exponents stay Python numbers in torch (``x**2`` is
``torch.pow(x, 2.0)``, with torch's own backward rule: ``x**0`` has gradient 0 even at 0).
"""

from __future__ import annotations

import math
from typing import Any

from ..limits import MAX_CONSTANT_DIGITS
from .code import operator
from .record import Growth, Op, OutOfRangeError, Syntax, constant, register

#: The operator of each precedence level, loosest first: sum, product, sign, power.
LEVELS = ("add", "mul", "neg", "pow")


constant("pi", math.pi, "pi", r"\pi")
constant("e", math.e, "E", "e")


def _fold_power(base: float, exponent: float) -> float:
    if base == 0 or exponent == 0 or abs(base) == 1:
        return math.nan if base == 0 and exponent < 0 else (base**exponent if base != 0 else 0.0)
    digits = exponent * math.log10(abs(base))
    if abs(digits) > MAX_CONSTANT_DIGITS:
        raise OutOfRangeError(f"is about 10**{digits:,.0f}, out of range (beyond 1e±{MAX_CONSTANT_DIGITS})")
    if base < 0 and exponent != int(exponent):
        return math.nan  # a real power of a negative number, as torch gives it
    return float(base**exponent)


def _fold_divide(a: float, b: float) -> float:
    # Division by zero gives inf or nan, as in torch.
    return a / b if b != 0 else (math.copysign(math.inf, a) if a != 0 else math.nan)


def _division_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    return [("pole", f"{text} with a zero denominator", args[1] == 0)]


def _power_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    base, exponent = args
    # With a variable exponent, d/d exponent is base**exponent * log(base): undefined for base <= 0.
    varies = not constant[1]
    fractional = (exponent != np.round(exponent)) | varies
    return [
        ("pole", f"{text} with base 0 and exponent below 1", (base == 0) & ((exponent < 1) & (exponent != 0) | varies)),
        ("domain", f"{text}: a non-integer or variable power of a negative number", (base < 0) & fractional),
    ]


NEG = register(
    Op(
        "neg",
        "negation: -a",
        syntax=Syntax.PREFIX,
        symbols=("-",),
        precedence=3,
        latex="-{0}",
        fold=lambda a: -a,
        local=("-1",),
        sympy=lambda sp, a: -a,
        torch=lambda torch, a: -a,
        numpy_code=operator("-{0}", 3),
        torch_code=operator("-{0}", 3),
        numpy=lambda np, a: np.negative(a),
    )
)

ADD = register(
    Op(
        "add",
        "addition: a + b",
        confused_with="sub",
        syntax=Syntax.INFIX,
        arity=2,
        symbols=("+",),
        precedence=1,
        latex="{0} + {1}",
        fold=lambda a, b: a + b,
        growth=Growth.SUM,
        local=("1", "1"),
        sympy=lambda sp, a, b: a + b,
        torch=lambda torch, a, b: a + b,
        numpy_code=operator("{0} + {1}", 1),
        torch_code=operator("{0} + {1}", 1),
        numpy=lambda np, a, b: np.add(a, b),
        sympy_classes=("Add",),
    )
)

SUB = register(
    Op(
        "sub",
        "subtraction: a - b",
        confused_with="add",
        syntax=Syntax.INFIX,
        arity=2,
        symbols=("-",),
        precedence=1,
        latex="{0} - {1}",
        fold=lambda a, b: a - b,
        growth=Growth.SUM,
        local=("1", "-1"),
        sympy=lambda sp, a, b: a - b,
        torch=lambda torch, a, b: a - b,
        numpy_code=operator("{0} - {1}", 1),
        torch_code=operator("{0} - {1}", 1),
        numpy=lambda np, a, b: np.subtract(a, b),
    )
)

MUL = register(
    Op(
        "mul",
        "multiplication, element by element: a * b (also 2x right after a number)",
        confused_with="div",
        syntax=Syntax.INFIX,
        arity=2,
        symbols=("*",),
        precedence=2,
        latex=r"{0} \cdot {1}",
        fold=lambda a, b: a * b,
        growth=Growth.PRODUCT,
        local=("v", "u"),
        sympy=lambda sp, a, b: a * b,
        torch=lambda torch, a, b: a * b,
        numpy_code=operator("{0} * {1}", 2),
        torch_code=operator("{0} * {1}", 2),
        numpy=lambda np, a, b: np.multiply(a, b),
        sympy_classes=("Mul",),
    )
)

DIV = register(
    Op(
        "div",
        "division: a / b",
        confused_with="mul",
        syntax=Syntax.INFIX,
        arity=2,
        symbols=("/",),
        precedence=2,
        latex=r"\frac{{{0}}}{{{1}}}",
        fold=_fold_divide,
        growth=Growth.PRODUCT,
        local=("1/v", "-u/v**2"),
        edges=_division_edges,
        sympy=lambda sp, a, b: a / b,
        torch=lambda torch, a, b: a / b,
        numpy_code=operator("{0} / {1}", 2),
        torch_code=operator("{0} / {1}", 2),
        numpy=lambda np, a, b: np.divide(a, b),
    )
)

POW = register(
    Op(
        "pow",
        "power: a ** b or a ^ b (right-associative, binds tighter than a sign: -x**2 is -(x**2))",
        syntax=Syntax.INFIX,
        arity=2,
        symbols=("**", "^"),
        precedence=4,
        latex="{{{0}}}^{{{1}}}",
        fold=_fold_power,
        growth=Growth.POWER,
        local=("v*u**(v - 1)", "u**v*log(u)"),
        edges=_power_edges,
        sympy=lambda sp, a, b: a**b,
        torch=lambda torch, a, b: torch.pow(a, b),
        numpy_code=operator("{0} ** {1}", 4),
        torch_code=operator("{0} ** {1}", 4),
        numpy=lambda np, a, b: np.power(a, b),
        sympy_classes=("Pow",),
        literal_exponent=True,
    )
)
