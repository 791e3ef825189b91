"""The tokens of backcalc's expression language: numbers, names, the registry's operator symbols, the
punctuation of calls (``(``, ``)``, ``,`` and the ``=`` of an option), of subscripts (``[``, ``]``,
``:``, ``...`` and ``None``) and of PyTorch's methods and modules (``.``: ``x.sum(1)``, ``torch.exp``),
and short strings (an option's value, ``"tanh"``). Every other character is refused here, with what a
user most likely meant by it. No dependencies beyond the standard library.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from .. import ops
from ..errors import ParseError

#: The only Python keywords a token may be: the values of a True/False option, right after its "=".
BOOLEANS = {"True": True, "False": False}
#: The longest string an option's value may be (the choices are short words: "tanh", "mean").
MAX_STRING = 30
#: A subscript's key as an option (put_at's at=": , #"): its characters, and its longest length.
_KEY = r"[A-Za-z_0-9:,. #()\-]"
MAX_KEY = 80


def _operator_pattern() -> str:
    """Every operator symbol of the registry, longest first (``**`` before ``*``), and the punctuation."""
    # "+" is also the unary plus, which is no operation; "." is a method's (x.sum(1)) or a module's (torch.exp)
    symbols = {"(", ")", ",", "+", "[", "]", ":", "...", "."}
    for op in ops.all_ops():
        symbols.update(op.symbols)
    ordered = sorted(symbols, key=len, reverse=True)
    escaped = [re.escape(s) + ("(?![A-Za-z_0-9])" if s[-1].isalpha() else "") for s in ordered]
    return "|".join([*escaped, "=(?!=)"])  # an option's "=", never "==" (refused below)


_TOKEN = re.compile(
    rf"(?P<string>\"[A-Za-z_0-9]{{1,{MAX_STRING}}}\"|'[A-Za-z_0-9]{{1,{MAX_STRING}}}'"
    rf"|\"{_KEY}{{1,{MAX_KEY}}}\"|'{_KEY}{{1,{MAX_KEY}}}')"
    r"|(?P<number>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)"  # ASCII digits: int("١٢") is 12
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    rf"|(?P<op>{_operator_pattern()})"
    r"|(?P<space>\s+)"
)

# Characters that are never part of the language, with what a user most likely meant by them.
_FORBIDDEN = {
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
    ";": "statements are not allowed",
    "#": "comments are not allowed",
    "\\": "backslashes are not allowed",
}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number | name | op | string | end
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
        none = match.group() == "None" and bool(tokens) and tokens[-1].text in ("[", ",")  # x[None]
        if (
            kind == "name"
            and keyword.iskeyword(match.group())
            and not _option_value(tokens, match.group())
            and not none
        ):
            raise ParseError(f"Python keyword {match.group()!r} is not allowed", source, pos, match.end())
        if kind == "string" and not _option_value(tokens, match.group()):
            raise ParseError(_FORBIDDEN[match.group()[0]], source, pos)
        if kind == "op" and match.group() == "=" and not _option_name(tokens):
            raise ParseError(_FORBIDDEN["="], source, pos)
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos, match.end()))
        pos = match.end()
    tokens.append(Token("end", "", len(source), len(source)))
    return tokens


def _option_name(tokens: list[Token]) -> bool:
    """Whether an ``=`` here names an option: it follows a name that opens an argument (``f(x, keepdim=``)."""
    return len(tokens) >= 2 and tokens[-1].kind == "name" and tokens[-2].text in ("(", ",")


def _option_value(tokens: list[Token], text: str) -> bool:
    """Whether a string or True/False here is an option's value (right after its ``=``); anywhere else the
    tokenizer refuses them as before options existed, at the first character that is not the language's."""
    is_value = text in BOOLEANS or text[0] in "'\""
    if text[1:-1] in _POSITIONAL_WORDS and tokens and tokens[-1].text == ",":
        return True  # a positional option's word: norm(x, "fro")
    return is_value and bool(tokens) and tokens[-1].kind == "op" and tokens[-1].text == "="


#: The quoted words a positional option may take without its name.
_POSITIONAL_WORDS = {
    choice
    for op in ops.all_ops()
    for option in op.positional_options()
    for choice in option.choices
    if isinstance(choice, str)
}
