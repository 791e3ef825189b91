"""Refuse expressions whose exact constants would make sympy do unbounded big-integer arithmetic, and
trees beyond the node count and the depth the limits allow (:func:`check_size`).

sympy evaluates integer and rational arithmetic eagerly: ``9**9**9`` is computed digit by digit and
``(2*x)**100000`` distributes into ``2**100000 * x**100000``. Both are estimated here in floating point,
on the project's own tree, before sympy sees anything. The estimates are in decimal digits (log10).
"""

from __future__ import annotations

import math

from .. import limits, ops
from ..errors import ParseError
from .tree import Node, to_text

_LOG2 = math.log10(2.0)


def check_cost(tree: Node, source: str) -> None:
    """Raise :class:`ParseError` at the first constant that is out of range or grows too large."""
    _Estimator(source).digits(tree)


class _Estimator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.values: dict[int, float | None] = {}
        self.counted: dict[int, float] = {}

    def refuse(self, node: Node, message: str) -> ParseError:
        return ParseError(message, self.source, node.start, node.end)

    def value(self, node: Node) -> float | None:
        key = id(node)
        if key not in self.values:
            self.values[key] = self._value(node)
        return self.values[key]

    def _value(self, node: Node) -> float | None:
        """The float value of a constant subtree made of numbers and foldable operations; None otherwise.

        Results out of float64's range are refused: sympy would compute them exactly, and no float
        dtype could hold them anyway. Division by zero and domain errors give inf or nan, as in torch.
        """
        if node.is_variable:
            return None
        if node.is_leaf:
            return node.number()
        fold = node.record.fold
        if fold is None:
            return None
        values = [self.value(child) for child in node.args]
        if any(v is None for v in values):
            return None
        if not all(math.isfinite(v) for v in values):  # type: ignore[arg-type]
            return math.nan
        try:
            result = fold(*values)
        except ops.OutOfRangeError as exc:
            raise self.refuse(node, f"constant {to_text(node)} {exc}") from None
        bound = limits.MAX_CONSTANT_DIGITS
        # inf from a zero argument (1/0, 0**-1) is a pole, as in torch; anything else that large overflowed.
        tiny = result != 0 and abs(result) < 10.0**-bound
        if (abs(result) > 10.0**bound and 0 not in values) or tiny:
            raise self.refuse(node, f"constant {to_text(node)} is out of range (beyond 1e±{bound})")
        return result

    def digits(self, node: Node) -> float:
        """An upper bound on the digits of the exact coefficients sympy may build below ``node``
        (once per node: a program's step is shared by its uses)."""
        key = id(node)
        if key not in self.counted:
            self.counted[key] = self._digits(node)
        return self.counted[key]

    def _digits(self, node: Node) -> float:
        if node.is_variable:
            return 0.0
        if node.is_leaf:
            value = node.number()
            return abs(math.log10(abs(value))) if value != 0 else 0.0
        parts = [self.digits(child) for child in node.args]
        self.value(node)  # a constant subtree must stay in float64's range
        growth = node.record.growth
        if growth is ops.Growth.KEEP:
            return max(parts, default=0.0)  # an operation without arguments (eye(3)) makes no coefficients
        if growth is ops.Growth.SUM:
            return max(parts) + _LOG2
        if growth is ops.Growth.PRODUCT:
            result = sum(parts)
        else:  # a power: the base's digits times a constant exponent
            exponent = self.value(node.args[1])
            result = abs(exponent) * parts[0] if exponent is not None and math.isfinite(exponent) else max(parts)
        if result > limits.MAX_COEFFICIENT_DIGITS:
            raise self.refuse(
                node,
                f"{to_text(node)} would make sympy build integers of about {result:,.0f} digits "
                f"(the limit is {limits.MAX_COEFFICIENT_DIGITS:,})",
            )
        return result


def check_size(tree: Node, source: str) -> None:
    """Bound the node count and the depth of the finished tree (long chains like a+b+c+... nest too)."""
    count = 0
    depth_of: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(tree, False)]
    while stack:
        node, done = stack.pop()
        if done:
            depth_of[id(node)] = 1 + max((depth_of[id(c)] for c in node.args), default=0)
            continue
        count += 1
        if count > limits.MAX_NODES:
            raise ParseError(f"expression has more than {limits.MAX_NODES:,} nodes", source, node.start, node.end)
        stack.append((node, True))
        stack.extend((child, False) for child in node.args)
    depth = depth_of[id(tree)]
    if depth > limits.MAX_DEPTH:
        raise ParseError(
            f"expression is nested too deeply ({depth} levels; the limit is {limits.MAX_DEPTH})",
            source,
            tree.start,
            tree.end,
        )
