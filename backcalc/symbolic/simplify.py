"""Light simplification of formula trees in backcalc's own language, as backprop composes them: constant
folding, the neutral elements (``1*e``, ``e + 0``, ``e**1``, ``eye_like(u) @ e``), numbers gathered in
front of a product, scalars pulled out of ``@`` and ``outer``, and ``ones_like(u)`` dropped from a
product that already has its shape. Every rule keeps the value and the shape of the tree; shapes come from the inputs'.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

from .. import ops
from ..language.shapes import infer
from ..language.tree import NUMBER, Node
from ..ops.arithmetic import ADD, DIV, MUL, NEG, POW, SUB
from ..ops.functions import EXP, ONES_LIKE
from ..ops.linalg import DIAG, EYE, EYE_LIKE
from ..ops.rules import broadcast
from ..ops.softmax import LOG_SOFTMAX, SOFTMAX
from ..ops.tensors import MATMUL, OUTER, SUM, TRANSPOSE, UNSQUEEZE

Shape = tuple[int, ...]

_MUL, _DIV, _ADD, _SUB, _POW, _NEG = (op.name for op in (MUL, DIV, ADD, SUB, POW, NEG))
_MATMUL, _ONES, _OUTER, _TRANSPOSE, _UNSQUEEZE = (op.name for op in (MATMUL, ONES_LIKE, OUTER, TRANSPOSE, UNSQUEEZE))
_SUM, _EXP, _SOFTMAX, _LOG_SOFTMAX = (op.name for op in (SUM, EXP, SOFTMAX, LOG_SOFTMAX))
_IDENTITIES = (EYE.name, EYE_LIKE.name)
_DIAG = DIAG.name


def number(value: float) -> Node:
    """The literal of a value: ``2``, ``0.5``, ``-2`` as a negation of ``2``."""
    if value < 0:
        return Node(_NEG, (number(-value),))
    text = str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    return Node(NUMBER, (), text)


def _is_ones(node: Node) -> bool:
    """A tensor of ones: ones_like(u), and ones with a dimension added or transposed."""
    if node.op == _ONES:
        return True
    return node.op in (_UNSQUEEZE, _TRANSPOSE) and _is_ones(node.args[0])


def _value(node: Node) -> float | None:
    """The value of a literal (or a negated one)."""
    return node.literal()


def _is_diagonal_of_vector(simplify: Simplifier, node: Node) -> bool:
    return node.op == _DIAG and len(simplify.shape(node.args[0])) == 1


class Simplifier:
    """Simplifies trees over inputs of known shapes (``shape`` of any subtree on demand)."""

    def __init__(self, input_shapes: Mapping[str, Shape]) -> None:
        self.input_shapes = dict(input_shapes)
        self._shapes: dict[int, tuple[Node, Shape]] = {}
        self._done: dict[int, tuple[Node, Node]] = {}  # id -> (node, simplified), the node kept alive

    def shape(self, node: Node) -> Shape:
        cached = self._shapes.get(id(node))
        if cached is None or cached[0] is not node:
            # Every shape found is kept: a new formula node costs its own rule, not its whole subgraph.
            return infer(node, self.input_shapes, self._shapes)[id(node)]
        return cached[1]

    def __call__(self, node: Node) -> Node:
        if node.is_leaf or node.name:  # a program's step is the user's, and stays as written (by name)
            return node
        done = self._done.get(id(node))
        if done is not None and done[0] is node:  # formulas share their upstream gradients: once each
            return done[1]
        args = tuple(self(arg) for arg in node.args)
        result = self._rule(Node(node.op, args, node.text, node.dim, options=node.options))
        self._done[id(node)] = (node, result)
        self._done[id(result)] = (result, result)
        return result

    def _rule(self, node: Node) -> Node:
        folded = self._fold(node)
        if folded is not None:
            return folded
        op, args = node.op, node.args
        if op == _MUL or (op == _DIV and _value(args[1]) is not None):
            return self._product(node)
        if op == _ADD:
            if args[0] == args[1]:
                return self._product(Node(_MUL, (number(2), args[0])))
            if _value(args[0]) == 0 and self.shape(args[1]) == self.shape(node):
                return args[1]
            if _value(args[1]) == 0 and self.shape(args[0]) == self.shape(node):
                return args[0]
        if op == _SUB and _value(args[1]) == 0 and self.shape(args[0]) == self.shape(node):
            return args[0]
        if op == _NEG and args[0].op == _NEG:
            return args[0].args[0]
        if op == _POW and _value(args[1]) == 1:
            return args[0]
        if op == _TRANSPOSE and args[0].op in (_TRANSPOSE, *_IDENTITIES):
            return args[0] if args[0].op in _IDENTITIES else args[0].args[0]
        if op == _MATMUL and (args[0].op in _IDENTITIES or args[1].op in _IDENTITIES):
            return args[1] if args[0].op in _IDENTITIES else args[0]  # the shape rule made them fit: I @ e is e
        if op == _ADD and args[1].op == _NEG:  # a + (-b) is a - b
            return self._rule(Node(_SUB, (args[0], args[1].args[0])))
        if op == _SUB and args[1].op == _NEG:  # a - (-b) is a + b
            return self._rule(Node(_ADD, (args[0], args[1].args[0])))
        if op == _SUM and node.dim is not None and not node.options and len(self.shape(args[0])) == 1:
            return self._rule(Node(_SUM, args))  # over the one dimension there is: over everything
        if op == _SUM and node.dim == 0 and not node.options and _is_diagonal_of_vector(self, args[0]):
            return args[0].args[0]  # a diagonal matrix's column sums: its vector
        if op == _EXP and args[0].op == _LOG_SOFTMAX:  # exp(log_softmax(u)) is softmax(u)
            return Node(_SOFTMAX, args[0].args, dim=args[0].dim)
        if op in (_MATMUL, _OUTER, _SUM, _UNSQUEEZE):
            return self._scalars_out(node)
        return node

    def to_shape(self, node: Node, shape: Shape) -> Node:
        """``node`` as the gradient of an input of ``shape``: its value is broadcast to that shape when
        evaluated, so a factor of ones that only gives it that shape can go."""
        if node.op not in (_MUL, _DIV):
            return node
        factors = self._factors(node)
        kept = [(f, divides) for f, divides in factors if not _is_ones(f)]
        fits = broadcast([self.shape(node), shape]) == shape  # the whole already broadcasts to the input
        if not fits or not kept or len(kept) == len(factors):
            return node
        if broadcast([*(self.shape(f) for f, _ in kept), shape]) != shape:
            return node
        product = number(1)
        for factor, divides in kept:  # a divisor stays a divisor
            product = Node(_DIV if divides else _MUL, (product, factor))
        return self._product(product)

    def _fold(self, node: Node) -> Node | None:
        """A constant operation on literals, folded when the result is exact enough to print."""
        fold = node.record.fold
        values = [_value(arg) for arg in node.args]
        if fold is None or any(v is None for v in values) or node.op == _NEG:
            return None
        try:
            result = fold(*values)
        except (ops.OutOfRangeError, OverflowError, ZeroDivisionError):
            return None
        if not math.isfinite(result) or (not float(result).is_integer() and len(repr(result)) > 8):
            return None  # keep 1/3 as 1/3
        return number(result)

    def _product(self, node: Node) -> Node:
        """A product with its numbers gathered (a coefficient in front, a divisor behind) and the
        factors of ones dropped where the other factors already have the product's shape."""
        coefficient, divisor, rest = 1.0, 1.0, []
        for factor, divides in self._factors(node):
            value = _value(factor)
            if value is None:
                rest.append(factor)
            elif divides:
                divisor *= value
            else:
                coefficient *= value
        full = self.shape(node)
        rest = [self._squeezed(f, rest, full) for f in rest]
        kept = [f for f in rest if not _is_ones(f)]
        if kept and broadcast([self.shape(f) for f in kept]) == full:
            rest = kept
        if (coefficient == 0 or divisor == 0) and rest:
            return node  # 0*nan is nan, and c/0 a pole: keep the product as it is
        if divisor != 1 and (coefficient / divisor).is_integer():
            coefficient, divisor = coefficient / divisor, 1.0
        body = functools.reduce(lambda a, b: Node(_MUL, (a, b)), rest) if rest else None
        if body is None:
            result = number(coefficient)
        elif coefficient == 1:
            result = body
        elif coefficient == -1:
            result = Node(_NEG, (body,))
        else:
            result = Node(_MUL, (number(coefficient), body))
        return result if divisor == 1 else Node(_DIV, (result, number(divisor)))

    def _squeezed(self, factor: Node, factors: list[Node], full: Shape) -> Node:
        """unsqueeze(s, d) of a scalar s is s itself in a product that keeps its shape without it."""
        if factor.op != _UNSQUEEZE or self.shape(factor.args[0]) != ():
            return factor
        others = [self.shape(f) for f in factors if f is not factor]
        return factor.args[0] if broadcast([*others, ()]) == full else factor

    def _factors(self, node: Node) -> list[tuple[Node, bool]]:
        """The factors of a product, each with whether it divides (a program's step is one factor)."""
        if node.name:
            return [(node, False)]
        if node.op == _MUL:
            return self._factors(node.args[0]) + self._factors(node.args[1])
        if node.op == _DIV and _value(node.args[1]) is not None:
            return [*self._factors(node.args[0]), (node.args[1], True)]
        if node.op == _NEG and node.args[0].op != NUMBER:
            return [(number(-1), False), *self._factors(node.args[0])]
        return [(node, False)]

    def _scalars_out(self, node: Node) -> Node:
        """(c*A) @ B and A @ (c*B) are c*(A @ B) for a number c; the same for outer."""
        scale: list[tuple[Node, bool]] = []
        args = []
        for arg in node.args:
            if arg.name:  # a program's step stays whole
                pass
            elif arg.op == _MUL and _value(arg.args[0]) is not None:
                scale.append((arg.args[0], False))
                arg = arg.args[1]
            elif arg.op == _DIV and _value(arg.args[1]) is not None:
                scale.append((arg.args[1], True))
                arg = arg.args[0]
            elif arg.op == _NEG:
                scale.append((number(-1), False))
                arg = arg.args[0]
            args.append(arg)
        if not scale:
            return node
        product = Node(node.op, tuple(args), node.text, node.dim, options=node.options)
        for factor, divides in scale:
            product = Node(_DIV if divides else _MUL, (product, factor) if divides else (factor, product))
        return self._product(product)
