"""A whitelist parser for backcalc's expression language. No dependencies beyond the standard library.

Grammar (``^`` and ``**`` are both power; power is right-associative and binds tighter than unary
minus, so ``-x**2`` is ``-(x**2)`` and ``2**-1`` is allowed)::

    expression := comparison EOF
    comparison := sum (("<" | "<=" | ">" | ">=") sum)?        (a mask of 0 and 1; no chains)
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "@") unary | <implicit> power)*
    unary      := ("-" | "+") unary | power
    power      := postfix (("**" | "^") unary)?
    postfix    := atom (".T" | subscript)*          (subscript: see :mod:`.subscripts`)
    atom       := NUMBER | CONSTANT | VARIABLE | FUNCTION "(" arguments ")" | "(" comparison ")"
                | LISTED "(" "[" comparison ("," comparison)* "]" ["," ["dim" "="] INTEGER] ")"
    arguments  := comparison ("," comparison)* ("," OPTION "=" LITERAL)*
                | OPTION "=" LITERAL ("," OPTION "=" LITERAL)*

    NUMBER     := digits ["." digits] [("e" | "E") ["+" | "-"] digits]   (also "2." and ".5")
    CONSTANT   := "pi" | "e"
    FUNCTION   := a call name of the operation registry (:mod:`backcalc.ops`), with as many arguments
                  as its record says; for a record that takes a dimension, one more argument may
                  follow, an integer literal (``sum(x, 0)``, ``softmax(x, -1)``); then the record's
                  positional options (``leaky_relu(x, 0.1)``), or, where the record says so, between
                  its tensors, as torch orders them (``layer_norm(x, (3,), w, b)``)
    OPTION     := a name among the options the record declares (``keepdim``, ``approximate``)
    LITERAL    := ["-"] NUMBER | "True" | "False" | a short quoted word (``"tanh"``)
                | "(" INTEGER ("," INTEGER)* ")" (a shape), of the option's type; a size option
                  takes an integer or a tuple (``stride=2``, ``stride=(2, 1)``)
    LISTED     := a call name whose record takes a list of tensors (``cat``, ``stack``)
    VARIABLE   := any other ASCII identifier that is not a Python keyword

The operator symbols, their precedence levels and the postfix ``.T`` (the only attribute there is) come
from the registry too; this module knows only the shape of the grammar.

``<implicit>`` is multiplication without ``*`` right after a number: ``2x``, ``3(x+1)``, ``2pi``.
Scientific notation wins over it: ``2e3`` is 2000, while ``2e`` is ``2*e``. Implicit products sit at
the level of ``*`` and ``/``, so ``1/2x`` is ``(1/2)*x``.

Anything else (attributes, strings outside an option, ``==`` and chained comparisons, keywords but
``None`` in a subscript, negative slice steps, unknown functions and options) is refused with a
:class:`~backcalc.errors.ParseError` that points at the offending characters. Tokens carry their start
and end offsets. Every bound in :mod:`backcalc.limits` that concerns the text is checked here.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping

from .. import limits, ops
from ..errors import ParseError
from ..limits import recursion_room
from . import hints
from .cost import check_cost, check_size
from .methods import ROOTS, MethodRules
from .subscripts import SubscriptRules
from .tokens import BOOLEANS, Token, tokenize
from .tree import CONSTANT, NUMBER, VARIABLE, Node


def parse(source: str, known: Mapping[str, int] | None = None) -> Node:
    """Parse ``source`` into the project's expression tree, or raise :class:`ParseError`. ``known``: the
    names whose integer value is known when the text is read (a program's step ``n = 4``, an input given
    one whole number), for the places that need an integer there (``range(n)``, ``x.view(n, -1)``)."""
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
            tree = _Parser(source, tokenize(source), known).parse()
        check_size(tree, source)
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


# Tokens that are only allowed inside a call's options, refused elsewhere as the tokenizer refused them
# before options had them (the same words, so that a message seen once stays true).
_STRAY = {"=": "assignments and comparisons are not allowed", "string": "strings are not allowed"}

_IMPLICIT = ops.infix_at(ops.PRODUCT)["*"]  # 2x is 2*x
_PREFIX = {symbol: op for symbol in "-" if (op := ops.prefix(symbol)) is not None}


class _Parser(SubscriptRules, MethodRules):  # the subscripts rules first: they hold what the methods use
    def __init__(self, source: str, tokens: list[Token], known: Mapping[str, int] | None = None) -> None:
        self.source = source
        self.tokens = [*tokens, tokens[-1], tokens[-1]]  # a look ahead past the end reads the end again
        self.known = {} if known is None else known  # integers known before any value (n = 4): sizes, range(n)
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
        node = self.comparison()
        token = self.token
        if token.kind != "end":
            if self.at(")"):
                raise self.error("unmatched ')'")
            if self.at(","):
                raise self.error("unexpected ',' outside a function call")
            if self.at("="):
                raise self.error(_STRAY["="])
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
        while self.token.kind == "op" and (ops.postfix(self.token.text) or self.at("[", ".")):
            if self.at("[", "."):
                node = self.subscript(node) if self.at("[") else self.method(node)
                continue
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
            inner = self.comparison()
            self.depth -= 1
            if not self.at(")"):
                raise self.error(
                    "expected ')'" if self.token.kind == "end" else f"expected ')' before {self.token.text!r}"
                )
            close = self.advance()
            # The span covers the parentheses, so errors about the group underline all of it.
            return Node(inner.op, inner.args, inner.text, inner.dim, token.start, close.end, options=inner.options)
        if token.kind == "string" or self.at("="):
            raise self.error(_STRAY["string" if token.kind == "string" else "="])
        if token.kind == "end":
            raise self.error("the expression ends too early: expected a number, a name or '('")
        if self.at(")"):
            raise self.error("expected a number, a name or '(' before ')'")
        raise self.error(f"expected a number, a name or '(' but found {token.text!r}")

    def name(self) -> Node:
        token = self.advance()
        name = token.text
        if name in ROOTS and self.at(".") and (call := self.module_call(token)) is not None:
            return call  # torch.exp(x), F.cross_entropy(z, y)
        calls = self.at("(")
        if name == "range":
            raise self.error("range(n) is only for a subscript (x[range(3), y]); elsewhere write arange(n)", token)
        record = ops.function(name)
        if record is not None:
            if not calls:
                raise self.error(f"{name!r} is a function: write {name}(...)", token)
            return self.listed_call(token, record) if record.listed else self.call(token, record)
        if calls:
            if ops.is_constant_name(name):
                raise self.error(f"{name!r} is a constant, not a function: write {name}*(...)", token)
            hint = ops.closest_function(name)
            known = ", ".join(ops.function_names())
            suggestion = f"; did you mean {hint!r}?" if hint else f"; known functions: {known}"
            raise self.error(f"unknown function {name!r}{suggestion}", token)
        if name in BOOLEANS:
            raise self.error(f"Python keyword {name!r} is not allowed (only as an option's value)", token)
        if name == "None":
            raise self.error("Python keyword 'None' is not allowed (only in a subscript: x[None])", token)

        kind = CONSTANT if ops.is_constant_name(name) else VARIABLE
        return Node(kind, (), name, start=token.start, end=token.end)

    def call(self, name: Token, op: ops.Op, first: Node | None = None) -> Node:
        """``f(arguments)``; a method's tensor (``x`` of ``x.sum(1)``) comes as ``first``, its first argument."""
        wanted = op.call_name_count()
        tensors = op.arity + op.extra_tensors + (1 if op.takes_dim else 0)  # the tensors, then the dimension
        positional = op.positional_options()
        lead = tensors if op.options_after is None else op.options_after  # the tensors before the options
        slots: list[ops.Option | None] = [None] * lead + [*positional] + [None] * (tensors - lead)  # None: a tensor
        self.advance()  # "("
        if self.at(")") and first is None:
            raise self.error(f"{name.text}() needs {wanted}", self.token)
        self.enter()
        arguments: list[Node] = [] if first is None else [first]  # the tensors and the dimension
        given: dict[str, ops.OptionValue] = {}
        count = len(arguments)  # the arguments without a name so far (tensors, dimension, positional options)
        named = False  # an option was given by name: no argument without one may follow
        while first is None or not self.at(")"):
            if self._keyword_ahead() and self.token.text == "dim" and op.takes_dim and op.option("dim") is None:
                arguments.append(self._dim_keyword(name, op, count))  # dim=1, as torch writes it
                count += 1
                named = True
            elif self._keyword_ahead():
                key, value = self.keyword(name, op, given)
                given[key] = value
                named = True
            elif named:
                raise self.error(f"{name.text}(): an argument without a name cannot follow an option")
            elif count >= len(slots):
                raise self.error(f"{name.text}() takes {wanted}")  # a method's tensor filled the first place
            elif slots[count] is None:
                arguments.append(self.comparison())
                count += 1
                if self.at("="):
                    raise self.error(_STRAY["="])
            else:
                option = slots[count]
                assert option is not None
                given[option.name] = self.literal(name, option)
                count += 1
            if not self.at(","):
                break
            comma = self.advance()
            if count == len(slots) and not self._keyword_ahead():
                raise self.error(f"{name.text}() takes {wanted}", comma)
        self.depth -= 1
        if not self.at(")"):
            raise self.error("expected ')'" if self.token.kind == "end" else f"expected ')' before {self.token.text!r}")
        close = self.advance()
        if len(arguments) < op.arity or (op.needs_dim and len(arguments) == op.arity):
            raise self.error(f"{name.text}() needs {wanted}", close)
        dim = None
        if len(arguments) > op.arity + op.extra_tensors or (op.takes_dim and len(arguments) > op.arity):
            last = arguments.pop()
            dim = _dimension(last)
            if dim is None:
                raise ParseError(
                    f"the dimension of {name.text}() must be an integer like 0 or -1", self.source, last.start, last.end
                )
        options = op.canonical(given)
        return Node(op.name, tuple(arguments), "", dim, name.start, close.end, options=options)

    def _dim_keyword(self, name: Token, op: ops.Op, count: int) -> Node:
        """``dim=d``: the dimension argument, given by name after the tensors."""
        key = self.advance()
        if count != op.arity:
            given = "twice" if count > op.arity else "before the tensors"
            raise self.error(f"{name.text}() is given its dimension {given}", key)
        self.advance()  # "="
        return self.sum()

    def _keyword_ahead(self) -> bool:
        return self.token.kind == "name" and self.tokens[self.pos + 1].text == "="

    def keyword(self, name: Token, op: ops.Op, given: dict[str, ops.OptionValue]) -> tuple[str, ops.OptionValue]:
        """``option=value``: a name the record declares, once, with a literal of its type."""
        key = self.advance()
        option = op.option(key.text)
        if option is None:
            known = [option.name for option in op.options]
            if not known:
                raise self.error(f"{name.text}() takes no options, and {key.text}= is none", key)
            near = difflib.get_close_matches(key.text, known, n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]}=?" if near else f"; its options: {', '.join(known)}"
            raise self.error(f"{name.text}() has no option {key.text}={hint}", key)
        if option.name in given:
            raise self.error(f"{name.text}() is given {option.name}= twice", key)
        self.advance()  # "="
        return option.name, self.literal(name, option)

    def literal(self, name: Token, option: ops.Option) -> ops.OptionValue:
        """The value of an option: a (negated) number, True or False, or a quoted word."""
        first = self.token
        if (option.kind is tuple and not option.pair) or (option.pair and self.at("(")):
            return self.integers(name, option)
        negative = self.at("-")
        if negative:
            self.advance()
        token = self.token
        value: ops.OptionValue
        what = f"{option.name}= of {name.text}()"
        if token.kind == "number" and math.isfinite(float(token.text)) and len(token.text) <= limits.MAX_NUMBER_LENGTH:
            value = -float(token.text) if negative else float(token.text)
            if token.text.isdigit():
                value = int(token.text) * (-1 if negative else 1)
        elif token.kind == "string" and not negative:
            value = token.text[1:-1]
        elif token.kind == "name" and token.text in BOOLEANS and not negative:
            value = BOOLEANS[token.text]
        else:
            raise self.error(f"{what} must be a literal: {option.wanted()}", token)
        self.advance()
        if not self.at(",", ")"):
            raise self.error(f"{what} must be a literal: {option.wanted()}", self.token)
        try:
            return option.check(value)
        except ops.OptionError as exc:
            raise ParseError(f"{name.text}(): {exc}", self.source, first.start, token.end) from None

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
