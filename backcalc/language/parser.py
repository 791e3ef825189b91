"""A whitelist parser for backcalc's expression language. No dependencies beyond the standard library.

Grammar (``^`` and ``**`` are both power; power is right-associative and binds tighter than unary
minus, so ``-x**2`` is ``-(x**2)`` and ``2**-1`` is allowed)::

    expression := sum EOF
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "@") unary | <implicit> power)*
    unary      := ("-" | "+") unary | power
    power      := postfix (("**" | "^") unary)?
    postfix    := atom (".T")*
    atom       := NUMBER | CONSTANT | VARIABLE | FUNCTION "(" sum ("," sum)* ")" | "(" sum ")"

    NUMBER     := digits ["." digits] [("e" | "E") ["+" | "-"] digits]   (also "2." and ".5")
    CONSTANT   := "pi" | "e"
    FUNCTION   := a call name of the operation registry (:mod:`backcalc.ops`), with as many arguments
                  as its record says; for a record that takes a dimension, one more argument may
                  follow, an integer literal (``sum(x, 0)``, ``softmax(x, -1)``)
    VARIABLE   := any other ASCII identifier that is not a Python keyword

The operator symbols, their precedence levels and the postfix ``.T`` (the only attribute there is) come
from the registry too; this module knows only the shape of the grammar.

``<implicit>`` is multiplication without ``*`` right after a number: ``2x``, ``3(x+1)``, ``2pi``.
Scientific notation wins over it: ``2e3`` is 2000, while ``2e`` is ``2*e``. Implicit products sit at
the level of ``*`` and ``/``, so ``1/2x`` is ``(1/2)*x``.

Anything else (attributes, subscripts, strings, comparisons, keywords, unknown functions) is refused
with a :class:`~backcalc.errors.ParseError` that points at the offending characters. Tokens carry their
start and end offsets. Every bound in :mod:`backcalc.limits` that concerns the text is checked here.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import limits, ops
from ..errors import ParseError
from ..limits import recursion_room
from . import hints
from .cost import check_cost
from .tree import CONSTANT, NUMBER, VARIABLE, Node


def _operator_pattern() -> str:
    """Every operator symbol of the registry, longest first (``**`` before ``*``), and the punctuation."""
    symbols = {"(", ")", ",", "+"}  # "+" is also the unary plus, which is no operation
    for op in ops.all_ops():
        symbols.update(op.symbols)
    ordered = sorted(symbols, key=len, reverse=True)
    escaped = [re.escape(s) + ("(?![A-Za-z_0-9])" if s[-1].isalpha() else "") for s in ordered]
    return "|".join(escaped)


_TOKEN = re.compile(
    r"(?P<number>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)"  # ASCII digits: int("١٢") is 12
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    rf"|(?P<op>{_operator_pattern()})"
    r"|(?P<space>\s+)"
)

# Characters that are never part of the language, with what a user most likely meant by them.
_FORBIDDEN = {
    ".": "attribute access is not allowed (only .T, the transpose)",
    "[": "subscripts and lists are not allowed",
    "]": "subscripts and lists are not allowed",
    "{": "sets and dictionaries are not allowed",
    "}": "sets and dictionaries are not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "=": "assignments and comparisons are not allowed",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "!": "comparisons are not allowed",
    "&": "bitwise operators are not allowed",
    "|": "bitwise operators are not allowed",
    "~": "bitwise operators are not allowed",
    "%": "'%' (modulo) is not supported",
    ":": "statements and slices are not allowed",
    ";": "statements are not allowed",
    "#": "comments are not allowed",
    "\\": "backslashes are not allowed",
}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number | name | op | end
    text: str
    start: int
    end: int


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens, ending with an ``end`` token; refuse any character off the list."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            reason = _FORBIDDEN.get(char, f"unexpected character {char!r}")
            if char.isdigit():  # a digit of another script, which int() and float() would accept
                reason = f"non-ASCII digit {char!r} (U+{ord(char):04X}): write numbers with the digits 0-9"
            raise ParseError(reason, source, pos)
        kind = match.lastgroup or ""
        if kind == "op" and match.group() == "/" and source.startswith("//", pos):
            raise ParseError("'//' (floor division) is not supported", source, pos, pos + 2)
        if kind == "name" and keyword.iskeyword(match.group()):
            raise ParseError(f"Python keyword {match.group()!r} is not allowed", source, pos, match.end())
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos, match.end()))
        pos = match.end()
    tokens.append(Token("end", "", len(source), len(source)))
    return tokens


def parse(source: str) -> Node:
    """Parse ``source`` into the project's expression tree, or raise :class:`ParseError`."""
    if not isinstance(source, str):
        raise ParseError("the expression must be text", "", 0)
    if len(source) > limits.MAX_EXPRESSION_LENGTH:
        raise ParseError(
            f"expression is {len(source):,} characters long; the limit is {limits.MAX_EXPRESSION_LENGTH:,}",
            source[:200],
            0,
            1,
        )
    if not source.strip():
        raise ParseError("the expression is empty", source, 0)
    try:
        with recursion_room(limits.RECURSION_LIMIT):
            tree = _Parser(source, tokenize(source)).parse()
        _check_size(tree, source)
        check_cost(tree, source)
    except ParseError as exc:
        # Every refusal passes here, so the fix to type is found in one place (backcalc.language.hints).
        raise exc.with_help(hints.suggest(source, parse, exc.start, exc.end, exc.message)) from None
    return tree


def _dimension(node: Node) -> int | None:
    """The integer of a dimension argument (``0``, ``-1``), or None if it is not an integer literal."""
    if node.op == NUMBER and node.text.isdigit():
        return int(node.text)
    literal = node.literal()
    if node.op != NUMBER and literal is not None and node.args[0].text.isdigit():
        return int(literal)
    return None


_IMPLICIT = ops.infix_at(ops.PRODUCT)["*"]  # 2x is 2*x
_PREFIX = {symbol: op for symbol in "-" if (op := ops.prefix(symbol)) is not None}


class _Parser:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.token.kind == "op" and self.token.text in texts

    def error(self, message: str, token: Token | None = None) -> ParseError:
        token = token or self.token
        return ParseError(message, self.source, token.start, token.end)

    def enter(self) -> None:
        # Every recursive rule passes through here, so nesting is bounded before Python's stack is.
        self.depth += 1
        if self.depth > limits.MAX_DEPTH:
            raise self.error(f"expression is nested too deeply (more than {limits.MAX_DEPTH} levels)")

    # -- grammar ---------------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.sum()
        token = self.token
        if token.kind != "end":
            if self.at(")"):
                raise self.error("unmatched ')'")
            if self.at(","):
                raise self.error("unexpected ',' outside a function call")
            raise self.error(f"missing operator before {token.text!r}")
        return node

    def binary(self, level: int, operand: Callable[[], Node]) -> Node:
        """A left-associative chain of the infix operators of one precedence level."""
        symbols = ops.infix_at(level)
        node = operand()
        while True:
            if self.at(*symbols):
                op = symbols[self.advance().text]
                right = operand()
            elif (
                level == ops.PRODUCT
                and self.tokens[self.pos - 1].kind == "number"
                and (self.token.kind == "name" or self.at("("))
            ):
                # Implicit multiplication right after a number: 2x, 3(x+1), 2pi.
                op, right = _IMPLICIT, self.power()
            else:
                return node
            node = Node(op.name, (node, right), start=node.start, end=right.end)

    def sum(self) -> Node:
        return self.binary(ops.SUM, self.product)

    def product(self) -> Node:
        return self.binary(ops.PRODUCT, self.unary)

    def unary(self) -> Node:
        if self.at("+", *_PREFIX):
            token = self.advance()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            if token.text == "+":  # a unary plus changes nothing
                return operand
            return Node(_PREFIX[token.text].name, (operand,), start=token.start, end=operand.end)
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        powers = ops.infix_at(ops.POWER)
        if self.at(*powers):
            op = powers[self.advance().text]
            self.enter()
            exponent = self.unary()  # right-associative, and 2**-1 is allowed
            self.depth -= 1
            return Node(op.name, (base, exponent), start=base.start, end=exponent.end)
        return base

    def postfix(self) -> Node:
        node = self.atom()
        while self.token.kind == "op" and ops.postfix(self.token.text):
            close = self.advance()
            node = Node(ops.postfix(close.text).name, (node,), start=node.start, end=close.end)  # type: ignore[union-attr]
        return node

    def atom(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Node(NUMBER, (), self.number_text(token), start=token.start, end=token.end)
        if token.kind == "name":
            return self.name()
        if self.at("("):
            self.advance()
            self.enter()
            inner = self.sum()
            self.depth -= 1
            if not self.at(")"):
                raise self.error(
                    "expected ')'" if self.token.kind == "end" else f"expected ')' before {self.token.text!r}"
                )
            close = self.advance()
            # The span covers the parentheses, so errors about the group underline all of it.
            return Node(inner.op, inner.args, inner.text, inner.dim, token.start, close.end)
        if token.kind == "end":
            raise self.error("the expression ends too early: expected a number, a name or '('")
        if self.at(")"):
            raise self.error("expected a number, a name or '(' before ')'")
        raise self.error(f"expected a number, a name or '(' but found {token.text!r}")

    def name(self) -> Node:
        token = self.advance()
        name = token.text
        calls = self.at("(")
        record = ops.function(name)
        if record is not None:
            if not calls:
                raise self.error(f"{name!r} is a function: write {name}(...)", token)
            return self.call(token, record)
        if calls:
            if ops.is_constant_name(name):
                raise self.error(f"{name!r} is a constant, not a function: write {name}*(...)", token)
            hint = ops.closest_function(name)
            known = ", ".join(ops.function_names())
            suggestion = f"; did you mean {hint!r}?" if hint else f"; known functions: {known}"
            raise self.error(f"unknown function {name!r}{suggestion}", token)
        kind = CONSTANT if ops.is_constant_name(name) else VARIABLE
        return Node(kind, (), name, start=token.start, end=token.end)

    def call(self, name: Token, op: ops.Op) -> Node:
        wanted = op.call_name_count()
        most = op.arity + (1 if op.takes_dim else 0)
        self.advance()  # "("
        if self.at(")"):
            raise self.error(f"{name.text}() needs {wanted}", self.token)
        self.enter()
        arguments = [self.sum()]
        while self.at(","):
            comma = self.advance()
            if len(arguments) == most:
                raise self.error(f"{name.text}() takes {wanted}", comma)
            arguments.append(self.sum())
        self.depth -= 1
        if not self.at(")"):
            raise self.error("expected ')'" if self.token.kind == "end" else f"expected ')' before {self.token.text!r}")
        close = self.advance()
        if len(arguments) < op.arity:
            raise self.error(f"{name.text}() needs {wanted}", close)
        dim = None
        if op.needs_dim and len(arguments) == op.arity:
            raise self.error(f"{name.text}() needs {wanted}", close)
        if len(arguments) > op.arity:
            last = arguments.pop()
            dim = _dimension(last)
            if dim is None:
                raise ParseError(
                    f"the dimension of {name.text}() must be an integer like 0 or -1", self.source, last.start, last.end
                )
        return Node(op.name, tuple(arguments), "", dim, name.start, close.end)

    def number_text(self, token: Token) -> str:
        """The canonical text of a number literal: an integer as digits, anything else as repr(float)."""
        text = token.text
        if len(text) > limits.MAX_NUMBER_LENGTH:
            raise self.error(f"number literal is longer than {limits.MAX_NUMBER_LENGTH} characters", token)
        if text.isdigit():
            return str(int(text))
        value = float(text)
        if not math.isfinite(value):
            raise self.error(f"number {text} is out of float64's range", token)
        if value == 0.0 and any(c in "123456789" for c in text.split("e")[0].split("E")[0]):
            raise self.error(f"number {text} underflows float64 to 0", token)
        return repr(value)


def _check_size(tree: Node, source: str) -> None:
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
