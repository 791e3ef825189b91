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
    FUNCTION   := exp log ln sqrt abs sin cos tan asin acos atan sinh cosh tanh sigmoid relu softplus
                  (element-wise, one argument)
                | sum mean logsumexp (one argument, or two: the second an integer dimension)
                | softmax norm transpose (one argument) | dot (two arguments)
    VARIABLE   := any other ASCII identifier that is not a Python keyword

``@`` is torch's matmul and ``.T`` the transpose, the only attribute there is.

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
from dataclasses import dataclass

from . import limits
from .cost import check_cost
from .deadline import recursion_room
from .errors import ParseError
from .tree import ALIASES, ALL_FUNCTIONS, CONSTANTS, TENSOR_FUNCTIONS, Node

_TOKEN = re.compile(
    r"(?P<number>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)"  # ASCII digits: int("١٢") is 12
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|\.T(?![A-Za-z_0-9])|[-+*/^(),@])"
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
    with recursion_room(limits.RECURSION_LIMIT):
        tree = _Parser(source, tokenize(source)).parse()
    _check_size(tree, source)
    check_cost(tree, source)
    return tree


def dimension(node: Node) -> int | None:
    """The integer of a dimension argument (``0``, ``-1``), or None if it is not an integer literal."""
    if node.op == "number" and node.text.isdigit():
        return int(node.text)
    if node.op == "neg" and node.args[0].op == "number" and node.args[0].text.isdigit():
        return -int(node.args[0].text)
    return None


def closest_function(name: str) -> str | None:
    """The known function name nearest to ``name``, for "did you mean" hints."""
    import difflib

    matches = difflib.get_close_matches(name.lower(), [*ALL_FUNCTIONS, *ALIASES], n=1, cutoff=0.5)
    return matches[0] if matches else None


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

    def sum(self) -> Node:
        node = self.product()
        while self.at("+", "-"):
            op = self.advance()
            right = self.product()
            node = Node("add" if op.text == "+" else "sub", (node, right), "", node.start, right.end)
        return node

    def product(self) -> Node:
        node = self.unary()
        while True:
            if self.at("*", "/", "@"):
                op = self.advance()
                right = self.unary()
                kind = {"*": "mul", "/": "div", "@": "matmul"}[op.text]
                node = Node(kind, (node, right), "", node.start, right.end)
            elif self.tokens[self.pos - 1].kind == "number" and (self.token.kind == "name" or self.at("(")):
                # Implicit multiplication right after a number: 2x, 3(x+1), 2pi.
                right = self.power()
                node = Node("mul", (node, right), "", node.start, right.end)
            else:
                return node

    def unary(self) -> Node:
        if self.at("-", "+"):
            op = self.advance()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            if op.text == "+":
                return operand
            return Node("neg", (operand,), "", op.start, operand.end)
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("**", "^"):
            self.advance()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return Node("pow", (base, exponent), "", base.start, exponent.end)
        return base

    def postfix(self) -> Node:
        node = self.atom()
        while self.at(".T"):
            close = self.advance()
            node = Node("transpose", (node,), "", node.start, close.end)
        return node

    def atom(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Node("number", (), self.number_text(token), token.start, token.end)
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
            return Node(inner.op, inner.args, inner.text, token.start, close.end)
        if token.kind == "end":
            raise self.error("the expression ends too early: expected a number, a name or '('")
        if self.at(")"):
            raise self.error("expected a number, a name or '(' before ')'")
        raise self.error(f"expected a number, a name or '(' but found {token.text!r}")

    def name(self) -> Node:
        token = self.advance()
        name = token.text
        calls = self.at("(")
        canonical = ALIASES.get(name, name)
        if canonical in ALL_FUNCTIONS:
            if not calls:
                raise self.error(f"{name!r} is a function: write {name}(...)", token)
            return self.call(token, canonical)
        if calls:
            if name in CONSTANTS:
                raise self.error(f"{name!r} is a constant, not a function: write {name}*(...)", token)
            hint = closest_function(name)
            suggestion = f"; did you mean {hint!r}?" if hint else f"; known functions: {', '.join(ALL_FUNCTIONS)}"
            raise self.error(f"unknown function {name!r}{suggestion}", token)
        if name in CONSTANTS:
            return Node("constant", (), name, token.start, token.end)
        return Node("variable", (), name, token.start, token.end)

    def call(self, name: Token, function: str) -> Node:
        fewest, most = TENSOR_FUNCTIONS.get(function, (1, 1))
        wanted = f"{fewest} argument{'s' if fewest > 1 else ''}" if fewest == most else f"{fewest} or {most} arguments"
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
        if len(arguments) < fewest:
            raise self.error(f"{name.text}() needs {wanted}", close)
        if function != "dot" and len(arguments) == 2 and dimension(arguments[1]) is None:
            dim = arguments[1]
            raise ParseError(
                f"the dimension of {name.text}() must be an integer like 0 or -1", self.source, dim.start, dim.end
            )
        if function == "transpose":
            return Node("transpose", (arguments[0],), "", name.start, close.end)
        return Node("call", tuple(arguments), function, name.start, close.end)

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
