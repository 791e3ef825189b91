"""What the parser's rule mixins (:mod:`.subscripts`, :mod:`.methods`) read of the parser: its tokens,
its position and the rules every part calls. The parser (:mod:`.parser`) defines them; these stubs give
their types. No dependencies beyond the standard library."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ParseError
from .tokens import Token
from .tree import Node


class Cursor:
    """The parser's state and its shared rules, as the mixins see them."""

    source: str
    tokens: list[Token]
    pos: int
    depth: int
    known: Mapping[str, int]  # a program's steps that are integer literals (n = 4), and whole-number inputs

    @property
    def token(self) -> Token:
        raise NotImplementedError

    def advance(self) -> Token:
        raise NotImplementedError

    def at(self, *texts: str) -> bool:
        raise NotImplementedError

    def error(self, message: str, token: Token | None = None) -> ParseError:
        raise NotImplementedError

    def comparison(self) -> Node:
        raise NotImplementedError
