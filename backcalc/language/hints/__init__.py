"""The fix for a refused expression, in the style of rustc's and ruff's ``help: try ...``.

People arrive with the spellings of Python (``x.pow(2)``, ``max(0, x)``), NumPy and torch
(``np.exp(x)``, ``torch.sin(x)``, ``x.sum(dim=0)``), ``math`` (``math.log(x)``), paper (``|x|``,
``x²``, ``2·x``, ``√x``, ``−``) and LaTeX (``\\frac{a}{b}``). :func:`suggest` rewrites every such
spelling it knows into backcalc's language and returns the whole corrected expression, when the
rewrite parses (the parser passes itself in, and attaches the fix to its error)::

    >>> from backcalc.language.parser import parse
    >>> suggest("x.pow(2) + np.exp(x)", parse)
    "try 'x**2 + exp(x)'"
    >>> suggest("max(0, x)", parse)
    "try 'relu(x)'"
    >>> suggest("|x| − 1", parse)
    "try 'abs(x) - 1'"

No dependencies beyond the standard library and the language's own name lists.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import BackcalcError
from .calls import apply, calls
from .typography import latex, typography, words

_REWRITES: list[Callable[[str], str]] = [
    latex,
    typography,
    words,
    lambda s: apply(s, calls(s)),
]


def rewrite(source: str) -> str:
    """``source`` with every foreign spelling :mod:`hints` knows replaced by the language's."""
    text = source
    for _ in range(4):  # nested spellings (np.exp(x.sum())) take a round each
        before = text
        for step in _REWRITES:
            text = step(text)
        if text == before:
            break
    return text


_busy = False


def _parses(text: str, parse: Callable[[str], object]) -> bool:
    try:
        parse(text)
    except (BackcalcError, RecursionError):
        return False
    return True


def _quote(text: str) -> str:
    return f'"{text}"' if "'" in text else f"'{text}'"


def suggest(
    source: str, parse: Callable[[str], object], start: int = 0, end: int | None = None, message: str = ""
) -> str | None:
    """``try '...'``: the expression as the language spells it, or None when no known fix parses
    (``parse`` is the parser itself, passed in by it: this module sits below the parser)."""
    global _busy
    if _busy or not isinstance(source, str) or not source.strip() or len(source) > 2000:
        return None
    _busy = True  # parsing the candidate may raise ParseErrors, which must not ask for hints again
    try:
        return _suggest(source, parse, start, end if end is not None else start + 1, message)
    finally:
        _busy = False


def _suggest(source: str, parse: Callable[[str], object], start: int, end: int, message: str) -> str | None:
    candidate = rewrite(source)
    if candidate == source and message.startswith("missing operator before") and start > 0:
        # Two operands side by side (x y, (x+1)(x-1)): the product was meant.
        candidate = source[:start].rstrip() + "*" + source[start:]
    if candidate == source and message.startswith("expected ')'") and source.count("(") > source.count(")"):
        candidate = source.rstrip() + ")" * (source.count("(") - source.count(")"))
    if candidate != source and _parses(candidate, parse):
        if len(candidate) <= 70:
            return f"try {_quote(candidate)}"
        return f"try {_quote(candidate[:67] + '...')}"
    return None


def missing_name(missing: list[str], given: list[str]) -> str | None:
    """A value given under another case (``X`` in the expression, ``x=`` on the command line)."""
    for name in missing:
        for other in given:
            if other != name and other.lower() == name.lower():
                return f"names are case-sensitive: try {name}=... instead of {other}=..."
    return None


def wrt_hint(name: str, inputs: list[str]) -> str | None:
    """``--wrt X`` for the input ``x``, or a near miss: the --wrt to type."""
    import difflib

    same = [other for other in inputs if other.lower() == name.lower()]
    near = same or difflib.get_close_matches(name, inputs, n=1, cutoff=0.6)
    return f"try --wrt {near[0]}" if near else None
