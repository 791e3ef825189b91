"""Refuse expressions whose exact constants would make sympy do unbounded big-integer arithmetic.

sympy evaluates integer and rational arithmetic eagerly: ``9**9**9`` is computed digit by digit and
``(2*x)**100000`` distributes into ``2**100000 * x**100000``. Both are estimated here in floating point,
on the project's own tree, before sympy sees anything. The estimates are in decimal digits (log10).
"""

from __future__ import annotations

import math

from . import limits
from .errors import ParseError
from .tree import Node, to_text

_LOG2 = math.log10(2.0)


def check_cost(tree: Node, source: str) -> None:
    """Raise :class:`ParseError` at the first constant that is out of range or grows too large."""
    _Estimator(source).digits(tree)


class _Estimator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.values: dict[int, float | None] = {}

    def refuse(self, node: Node, message: str) -> ParseError:
        return ParseError(message, self.source, node.start, node.end)

    def value(self, node: Node) -> float | None:
        key = id(node)
        if key not in self.values:
            self.values[key] = self._value(node)
        return self.values[key]

    def _value(self, node: Node) -> float | None:
        """The float value of a constant subtree made of numbers and arithmetic; None otherwise.

        Results out of float64's range are refused: sympy would compute them exactly, and no float
        dtype could hold them anyway. Division by zero and domain errors give inf or nan, as in torch.
        """
        op = node.op
        if op == "number":
            return float(node.text)
        if op == "constant":
            return math.pi if node.text == "pi" else math.e
        if op in ("variable", "call", "transpose", "matmul"):
            return None
        values = [self.value(child) for child in node.args]
        if any(v is None for v in values):
            return None
        if op == "neg":
            return -values[0]  # type: ignore[operator]
        a, b = values[0], values[1]
        assert a is not None and b is not None
        if not (math.isfinite(a) and math.isfinite(b)):
            return math.nan
        if op == "pow":
            return self.power(node, a, b)
        if op == "div":
            return a / b if b != 0 else (math.copysign(math.inf, a) if a != 0 else math.nan)
        result = a + b if op == "add" else a - b if op == "sub" else a * b
        if abs(result) > 10.0**limits.MAX_CONSTANT_DIGITS or (
            result != 0 and abs(result) < 10.0**-limits.MAX_CONSTANT_DIGITS
        ):
            raise self.refuse(
                node, f"constant {to_text(node)} is out of range (beyond 1e±{limits.MAX_CONSTANT_DIGITS})"
            )
        return result

    def power(self, node: Node, base: float, exponent: float) -> float:
        if base == 0 or exponent == 0 or abs(base) == 1:
            return math.nan if base == 0 and exponent < 0 else (base**exponent if base != 0 else 0.0)
        digits = exponent * math.log10(abs(base))
        if abs(digits) > limits.MAX_CONSTANT_DIGITS:
            raise self.refuse(
                node,
                f"constant {to_text(node)} is about 10**{digits:,.0f}, "
                f"out of range (beyond 1e±{limits.MAX_CONSTANT_DIGITS})",
            )
        if base < 0 and exponent != int(exponent):
            return math.nan  # a real power of a negative number, as torch gives it
        return float(base**exponent)

    def digits(self, node: Node) -> float:
        """An upper bound on the digits of the exact coefficients sympy may build below ``node``."""
        op = node.op
        if op == "variable":
            return 0.0
        if op in ("number", "constant"):
            value = self.value(node)
            assert value is not None
            return abs(math.log10(abs(value))) if value != 0 else 0.0
        parts = [self.digits(child) for child in node.args]
        if op != "call":
            self.value(node)  # a constant subtree must stay in float64's range
        if op in ("neg", "call", "transpose"):
            return max(parts)
        if op in ("add", "sub"):
            return max(parts) + _LOG2
        if op in ("mul", "div", "matmul"):
            result = parts[0] + parts[1]
        else:  # pow
            exponent = self.value(node.args[1])
            result = abs(exponent) * parts[0] if exponent is not None and math.isfinite(exponent) else max(parts)
        if result > limits.MAX_COEFFICIENT_DIGITS:
            raise self.refuse(
                node,
                f"{to_text(node)} would make sympy build integers of about {result:,.0f} digits "
                f"(the limit is {limits.MAX_COEFFICIENT_DIGITS:,})",
            )
        return result
