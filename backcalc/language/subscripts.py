"""The grammar of comparisons (``a < b``, one per expression part) and of a subscript, a part of the
whitelist parser (:mod:`.parser`)::

    postfix    := atom (".T" | "[" item ("," item)* "]")*
    item       := INTEGER | [INTEGER] ":" [INTEGER] [":" [STEP]] | "None" | "..." | "range(" N ")"
                | "arange(" N ")" | sum
    INTEGER    := ["-"] digits;  STEP := digits (a positive step, as torch)
    N          := digits | a program's step that is an integer literal (``n = 4``: ``range(n)``)

A subscript node is the registry's subscript record on the tensor and its tensor indices (an item
that is an expression: an integer input, ``arange(n)``), its key the option ``at`` in the language's own
text, a tensor index written ``#``. Here too: a tuple of integers, the literal of a shape option
(``reshape(x, (2, -1))``), and a list of tensors, the first argument of ``cat`` and ``stack``
(``cat([a, b], 0)``). No dependencies beyond the standard library.
"""

from __future__ import annotations

from .. import limits, ops
from ..errors import ParseError
from .cursor import Cursor
from .tokens import Token
from .tree import Node

_SUBSCRIPT = next(op for op in ops.all_ops() if op.syntax is ops.Syntax.SUBSCRIPT)
#: range(n) and arange(n) in a subscript: the integers 0 to n-1, a static part of the key.
_RANGES = ("range", *(op.name for op in ops.all_ops() if op.integer_output))
SUBSCRIPT_TENSOR = "#"  # a tensor index in a subscript's key
_COMPARISONS = ops.infix_at(min(op.precedence for op in ops.all_ops() if op.syntax is ops.Syntax.INFIX))
MAX_LISTED = 16  # tensors in the list of cat([a, b], 0)


class SubscriptRules(Cursor):
    """The subscript rules of the parser; the helpers below are the parser's own."""

    def enter(self) -> None:
        raise NotImplementedError

    def sum(self) -> Node:
        raise NotImplementedError

    def comparison(self) -> Node:
        """A sum, or one comparison of two sums (a mask): they do not chain as Python's do."""
        node = self.sum()
        if not self.at(*_COMPARISONS):
            return node
        op = _COMPARISONS[self.advance().text]
        right = self.sum()
        if self.at(*_COMPARISONS):
            raise self.error("comparisons do not chain: write (a < b)*(b < c)")
        return Node(op.name, (node, right), start=node.start, end=right.end)

    def listed_call(self, name: Token, op: ops.Op) -> Node:
        """``cat([a, b], d)``: a list of tensors, then an optional integer dimension (or ``dim=d``)."""
        self.advance()  # "("
        self.enter()
        if not self.at("["):
            raise self.error(f"{name.text}() takes a list of tensors first: {name.text}([a, b], 0)")
        self.advance()
        tensors = [self.comparison()]
        while self.at(","):
            self.advance()
            tensors.append(self.comparison())
        if not self.at("]"):
            raise self.error("expected ']'" if self.token.kind == "end" else f"expected ']' before {self.token.text!r}")
        self.advance()
        if len(tensors) > MAX_LISTED:
            raise self.error(f"{name.text}() takes at most {MAX_LISTED} tensors")
        dim = None
        if self.at(","):
            self.advance()
            if self.token.text == "dim" and self.tokens[self.pos + 1].text == "=":
                self.pos += 2
            dim = self.integer()
        self.depth -= 1
        if not self.at(")"):
            raise self.error("expected ')'" if self.token.kind == "end" else f"expected ')' before {self.token.text!r}")
        close = self.advance()
        return Node(op.name, tuple(tensors), "", dim, name.start, close.end)

    def subscript(self, node: Node) -> Node:
        """``x[item, ...]``: the items as the key of a subscript node, its tensor indices as arguments."""
        open_ = self.advance()
        self.enter()
        parts: list[str] = []
        tensors: list[Node] = []
        while True:
            part = self.subscript_item()
            if part is None:
                tensors.append(self.sum())
                part = SUBSCRIPT_TENSOR
            parts.append(part)
            if not self.at(","):
                break
            self.advance()
        self.depth -= 1
        if not self.at("]"):
            raise self.error("expected ']'" if self.token.kind == "end" else f"expected ']' before {self.token.text!r}")
        close = self.advance()
        key = ", ".join(parts)
        try:
            given = {"at": _SUBSCRIPT.option("at").check(key)}  # type: ignore[union-attr]
        except ops.OptionError as exc:
            raise ParseError(
                str(exc).removeprefix("at= holds a subscript: "), self.source, open_.start, close.end
            ) from None
        return Node(
            _SUBSCRIPT.name, (node, *tensors), start=node.start, end=close.end, options=_SUBSCRIPT.canonical(given)
        )

    def subscript_item(self) -> str | None:
        """One item of a subscript as the key writes it, or None for a tensor index (parsed after)."""
        token, ahead = self.token, self.tokens[self.pos + 1]
        if token.kind == "name" and token.text == "None":
            self.advance()
            return "None"
        if self.at("..."):
            self.advance()
            return "..."
        if token.kind == "name" and token.text in _RANGES and ahead.text == "(":
            return self.static_range()
        if self.at(":") or self._integer_ahead():
            return self.slice_item()
        return None

    def _integer_ahead(self) -> bool:
        at = self.pos + (1 if self.at("-") else 0)
        token, after = self.tokens[at], self.tokens[at + 1]
        return token.kind == "number" and token.text.isdigit() and after.text in (":", ",", "]")

    def integer(self) -> int:
        negative = self.at("-")
        if negative:
            self.advance()
        token = self.token
        if token.kind != "number" or not token.text.isdigit() or len(token.text) > limits.MAX_NUMBER_LENGTH:
            raise self.error("a subscript's integers are whole numbers like 0 or -1")
        self.advance()
        return -int(token.text) if negative else int(token.text)

    def slice_item(self) -> str:
        """An integer, or a slice ``start:stop:step`` of integers (each may be left out)."""
        start = "" if self.at(":") else str(self.integer())
        if not self.at(":"):
            return start
        self.advance()
        stop = "" if self.at(":", ",", "]") else str(self.integer())
        if not self.at(":"):
            return f"{start}:{stop}"
        self.advance()
        if self.at(",", "]"):
            return f"{start}:{stop}"
        token = self.token
        step = self.integer()
        if step <= 0:
            raise self.error("a slice's step must be positive, as in torch", token)
        return f"{start}:{stop}:{step}"

    def static_range(self) -> str | None:
        start = self.pos
        self.advance()
        self.advance()  # "("
        literal = self.token.kind == "number" and self.token.text.isdigit()
        if (literal or self.token.text in self.known) and self.tokens[self.pos + 1].text == ")":
            count = self.advance().text
            self.advance()
            if self.at(",", "]"):
                return f"range({self.known[count] if count in self.known else int(count)})"
        if self.tokens[start].text == "range":
            raise self.error(
                "range(n) in a subscript takes an integer literal, a step that is one (n = 4) or an input "
                "given one (n=4)",
                self.tokens[start],
            )
        self.pos = start  # arange(...) of something else: an ordinary call
        return None

    def integers(self, name: Token, option: ops.Option) -> ops.OptionValue:
        """A tuple of integers, as torch takes a shape: ``(2, -1)``, ``(3,)``, ``()``."""
        first = self.token
        if not self.at("("):
            raise self.error(f"{option.name}= of {name.text}() must be {option.wanted()}")
        self.advance()
        values: list[int] = []
        while not self.at(")"):
            values.append(self.integer())
            if not self.at(","):
                break
            self.advance()
        if not self.at(")"):
            raise self.error(f"{option.name}= of {name.text}() must be {option.wanted()}")
        close = self.advance()
        if not self.at(",", ")"):
            raise self.error(f"{option.name}= of {name.text}() must be {option.wanted()}")
        try:
            return option.check(tuple(values))
        except ops.OptionError as exc:
            raise ParseError(f"{name.text}(): {exc}", self.source, first.start, close.end) from None
