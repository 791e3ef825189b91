"""JSON from users (a value file, a ``batch`` line) held to the same bounds as the command line.

Python's :mod:`json` accepts what the command line refuses: integers of thousands of digits (slow to
convert, and over Python's own digit limit an internal error), nesting as deep as the recursion
limit, strings with lone surrogates (``"\\ud800"``) that cannot be written back out, and, through
``int()``/``float()`` later on, digits of any script. :func:`loads` refuses each before or while
parsing, with a message that says which.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .. import limits
from ..errors import InputError, LimitError

_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[][{}]', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonError(InputError):
    """Text that is not valid JSON."""

    kind = "json"


def non_ascii_digit(text: str) -> str | None:
    """A message naming the first non-ASCII digit in ``text`` (``١``, ``１``, ``²``), or None."""
    if text.isascii():
        return None
    for column, char in enumerate(text, 1):
        if not char.isascii() and char.isdigit():
            return f"non-ASCII digit {char!r} (U+{ord(char):04X}) at column {column}: write numbers with the digits 0-9"
    return None


def loads(text: str | bytes | bytearray, what: str = "the JSON") -> Any:
    """Parse JSON text within backcalc's limits, or raise :class:`JsonError` / :class:`LimitError`."""
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonError(f"{what} is not UTF-8 text (byte {exc.start + 1})") from None
    message = non_ascii_digit(text)
    if message:
        raise InputError(f"{what}: {message}")
    _check_depth(text, what)
    try:
        data = json.loads(text, parse_int=_integer(what), parse_float=_float(what))
    except json.JSONDecodeError as exc:
        raise JsonError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:  # cannot happen below the depth limit; kept as a guard
        raise LimitError(f"{what} is nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        _check_strings(data, what)
    return data


def _check_depth(text: str, what: str) -> None:
    depth = 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > limits.MAX_JSON_DEPTH:
                raise LimitError(f"{what} is nested deeper than {limits.MAX_JSON_DEPTH} levels")
        elif char in "]}":
            depth -= 1


def _integer(what: str) -> Any:
    def parse(text: str) -> int:
        if len(text) > limits.MAX_NUMBER_LENGTH:
            raise LimitError(f"{what}: a number of {len(text):,} characters; the limit is {limits.MAX_NUMBER_LENGTH}")
        return int(text)

    return parse


def _float(what: str) -> Any:
    def parse(text: str) -> float:
        if len(text) > limits.MAX_NUMBER_LENGTH:
            raise LimitError(f"{what}: a number of {len(text):,} characters; the limit is {limits.MAX_NUMBER_LENGTH}")
        value = float(text)
        if math.isinf(value):
            raise InputError(f"{what}: {text} is too large for a float")
        return value

    return parse


def _check_strings(data: Any, what: str) -> None:
    """Refuse a string (key or value) that is not valid Unicode, such as a lone surrogate."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"{what}: a string holds a lone surrogate ({item!r}), which is not text") from None
