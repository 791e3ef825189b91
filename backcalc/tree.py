"""The project's own expression tree: what the parser builds and both evaluators read.

A :class:`Node` is an operation (``op``) on child nodes (``args``), with the span of the source text
it came from. Leaves are numbers (``text`` is the literal), constants (``pi``, ``e``) and variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

#: Element-wise functions of the language. ``ln`` is an alias of ``log``.
FUNCTIONS: tuple[str, ...] = (
    "exp",
    "log",
    "sqrt",
    "abs",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
)
ALIASES: dict[str, str] = {"ln": "log"}
CONSTANTS: tuple[str, ...] = ("pi", "e")

#: Functions that mix elements (reductions, softmax, dot products), with their (fewest, most)
#: arguments. A second argument of sum, mean and logsumexp is the dimension, an integer literal.
TENSOR_FUNCTIONS: dict[str, tuple[int, int]] = {
    "sum": (1, 2),
    "mean": (1, 2),
    "logsumexp": (1, 2),
    "softmax": (1, 1),
    "dot": (2, 2),
    "norm": (1, 1),
}
ALL_FUNCTIONS: tuple[str, ...] = (*FUNCTIONS, *TENSOR_FUNCTIONS, "transpose")

BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}
# Binding strength for printing: higher binds tighter.
PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4}
ATOM = 5


@dataclass(frozen=True, slots=True)
class Node:
    """One node of an expression tree.

    ``op`` is ``number``, ``constant``, ``variable``, ``neg``, ``transpose``, one of :data:`BINARY`'s
    keys, or ``call`` (then ``text`` is the function's canonical name, and ``args`` its arguments).
    ``start``/``end`` index the source.
    """

    op: str
    args: tuple[Node, ...] = ()
    text: str = ""
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def walk(self) -> Iterator[Node]:
        """Every node of the tree, parents before children."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.args))

    def variables(self) -> list[str]:
        """The input variables, in order of first appearance."""
        seen: dict[str, None] = {}
        for node in self.walk():
            if node.op == "variable":
                seen.setdefault(node.text)
        return list(seen)

    def is_constant(self) -> bool:
        """True when no variable occurs below this node."""
        return all(node.op != "variable" for node in self.walk())

    def mixes_elements(self) -> bool:
        """True when an output element may depend on several elements of an input (``@``, ``.T``,
        reductions, softmax): then gradients are not element-wise formulas."""
        return any(
            node.op in ("matmul", "transpose") or (node.op == "call" and node.text in TENSOR_FUNCTIONS)
            for node in self.walk()
        )

    def __str__(self) -> str:
        return to_text(self)


def precedence(node: Node) -> int:
    return PRECEDENCE.get(node.op, ATOM)


def to_text(node: Node) -> str:
    """Canonical text: explicit ``*``, ``**`` for powers, fewest parentheses; parses back to ``node``."""
    op = node.op
    if op in ("number", "constant", "variable"):
        return node.text
    if op == "call":
        return f"{node.text}({', '.join(to_text(arg) for arg in node.args)})"
    if op == "transpose":
        # `2.T` would read as `2. T`: a number gets parentheses too.
        child = node.args[0]
        return _wrap(child, precedence(child) < ATOM or child.op == "number") + ".T"
    if op == "neg":
        (child,) = node.args
        # `-x**2` needs no parentheses (power binds tighter); `-(-x)` and `-(a*b)` do.
        return "-" + _wrap(child, precedence(child) <= PRECEDENCE["neg"])
    left, right = node.args
    mine = PRECEDENCE[op]
    if op == "pow":
        # Right-associative: parenthesise a power or negation on the left, a sum or product on the right.
        left_text = _wrap(left, precedence(left) <= mine)
        right_text = _wrap(right, precedence(right) < PRECEDENCE["neg"])
        return f"{left_text}**{right_text}"
    left_text = _wrap(left, precedence(left) < mine)
    # Left-associative: `a - (b - c)` and `a / (b * c)` keep their parentheses.
    right_text = _wrap(right, precedence(right) <= mine)
    # Sums are spaced, products are not: `2*x + 3*y`, `W@x`.
    sep = f" {BINARY[op]} " if mine == PRECEDENCE["add"] else BINARY[op]
    return f"{left_text}{sep}{right_text}"


def _wrap(node: Node, parens: bool) -> str:
    text = to_text(node)
    return f"({text})" if parens else text
