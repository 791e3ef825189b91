"""The JSON text of many arrays at once: what ``json.dumps(numfmt.json_nested(a, dtype))`` writes for
each array ``a`` of a stack, written by orjson in compiled code instead of one Python float at a time.

``batch`` writes about a thousand numbers per case of 100-element vectors, and Python's float repr
alone costs more per number than everything else backcalc does for it. orjson writes a NumPy array's
float32 or float64 numbers with the shortest decimal that round-trips in that dtype, the same digits
as Python's ``repr`` of :func:`~backcalc.numfmt.json_number`; only the layout differs, and it is put
right here on the whole text at once:

- a comma without the space after it;
- exponents without a leading zero (``1e-7``, Python's ``1e-07``);
- positional text from 1e-6 up to 1e-4 (``0.00001``, Python's ``1e-05``);
- in float32, exponents from 1e13 up to 1e16 (``1.5e+13``, Python's ``15000000000000.0``) and
  ``null`` for nan and the infinities, which backcalc writes as strings: a case with such a number is
  written by :func:`json_nested`.

:func:`orjson_agrees` checks all of that against Python on numbers of every decade once per process;
where it does not hold (another orjson), every case is written by :func:`json_nested`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache

import numpy as np

from .numfmt import json_nested

_SMALL = re.compile(rb"0\.0000(0*)([1-9])([0-9]*)")  # positional below 1e-4 (matched where found)
_CHUNK = 1 << 16  # numbers written by one call: the text stays in cache
_FLOAT32_LAYOUT = (9e12, 1.1e16)  # float32 numbers that orjson writes with an exponent and Python does not


def case_texts(stack: np.ndarray, dtype: str) -> list[str]:
    """For a stack of shape (cases, *shape): the JSON text of each case's array, exactly as
    ``json.dumps(json_nested(stack[i], dtype))`` writes it."""
    stack = np.asarray(stack)
    if stack.shape[0] == 0 or 0 in stack.shape or not orjson_agrees():
        return [json.dumps(item) for item in json_nested(stack, dtype)]
    return _case_texts(stack, dtype)


def _case_texts(stack: np.ndarray, dtype: str) -> list[str]:
    count, shape = stack.shape[0], stack.shape[1:]
    with np.errstate(over="ignore"):  # beyond float32's range is inf, written as text below
        values = np.ascontiguousarray(stack, dtype=np.float32 if dtype == "float32" else np.float64)
    flat = values.reshape(count, -1)
    odd = ~np.isfinite(flat).all(axis=1)
    if dtype == "float32":
        low, high = _FLOAT32_LAYOUT
        with np.errstate(invalid="ignore"):
            magnitude = np.abs(flat)
            odd |= ((magnitude >= low) & (magnitude < high)).any(axis=1)
    step = max(1, _CHUNK // flat.shape[1])
    texts: list[str] = []
    for start in range(0, count, step):
        texts.extend(_texts(flat[start : start + step], shape))
    for index in np.flatnonzero(odd).tolist():
        texts[index] = json.dumps(json_nested(values[index], dtype))
    return texts


def case_texts_many(stacks: list[np.ndarray], dtypes: list[str]) -> list[list[str]]:
    """:func:`case_texts` of each stack, written together: stacks of one dtype and one shape per
    case are joined into one stack first (writing costs per call as well as per number)."""
    groups: dict[tuple[str, tuple[int, ...]], list[int]] = {}
    for index, (stack, dtype) in enumerate(zip(stacks, dtypes, strict=True)):
        groups.setdefault((dtype, np.shape(stack)[1:]), []).append(index)
    results: list[list[str]] = [[] for _ in stacks]
    for (dtype, _), members in groups.items():
        texts = case_texts(np.concatenate([np.asarray(stacks[index], dtype=np.float64) for index in members]), dtype)
        start = 0
        for index in members:
            end = start + len(stacks[index])
            results[index] = texts[start:end]
            start = end
    return results


def _texts(flat: np.ndarray, shape: tuple[int, ...]) -> list[str]:
    """The texts of the cases of ``flat`` (cases, elements per case), each case of ``shape``."""
    import orjson

    whole = _python_layout(orjson.dumps(flat, option=orjson.OPT_SERIALIZE_NUMPY).replace(b",", b", "))
    parts = whole.decode("ascii")[2:-2].split("], [")  # each case's numbers, without its brackets
    if not shape:
        return parts
    if len(shape) == 1:
        return ["[" + part + "]" for part in parts]
    return [_nested(part.split(", "), shape) for part in parts]


def _nested(numbers: list[str], shape: tuple[int, ...]) -> str:
    """The text of one case's numbers (in C order) as nested lists of ``shape``."""
    for size in reversed(shape):
        numbers = ["[" + ", ".join(numbers[i : i + size]) + "]" for i in range(0, len(numbers), size)]
    return numbers[0]


def _python_layout(text: bytes) -> bytes:
    """orjson's text of numbers laid out as Python's ``repr`` lays them out (the module says how
    they differ), but for the float32 numbers :func:`case_texts` leaves to :func:`json_nested`.
    The places are found by ``bytes.find``, far quicker than a regular expression's search."""
    if b"0.0000" in text:
        text = _rewrite(text, b"0.0000", _small)
    if b"e-" in text:
        text = _rewrite(text, b"e-", _short_exponent)
    return text


def _rewrite(text: bytes, marker: bytes, fix: Callable[[bytes, int], tuple[bytes, int]]) -> bytes:
    """``text`` with each place where ``marker`` is found given to ``fix``, which says what to write
    instead of the text from there and where the rest of the text goes on."""
    pieces: list[bytes] = []
    done = 0
    at = text.find(marker)
    while at >= 0:
        new, end = fix(text, at)
        pieces += (text[done:at], new)
        done = end
        at = text.find(marker, end)
    pieces.append(text[done:])
    return b"".join(pieces)


def _small(text: bytes, at: int) -> tuple[bytes, int]:
    """``0.0000123`` as ``1.23e-05``; the end of a larger number (``10.00001``) as it is."""
    match = _SMALL.match(text, at)
    assert match is not None  # the marker is there, and orjson writes digits after it
    if at and text[at - 1] in b"0123456789.":
        return match.group(), match.end()
    zeros, first, rest = match.groups()
    mantissa = first + (b"." + rest if rest else b"")
    return mantissa + b"e-%02d" % (len(zeros) + 5), match.end()


def _short_exponent(text: bytes, at: int) -> tuple[bytes, int]:
    """``e-7`` as ``e-07``; a two-digit exponent as it is."""
    if text[at + 3 : at + 4].isdigit():
        return b"e-", at + 2
    return b"e-0", at + 2


@cache
def orjson_agrees() -> bool:
    """Whether this process's orjson, laid out by :func:`_python_layout`, writes what Python writes:
    numbers of every decade of both dtypes, both signs, with few digits and with many."""
    try:
        import orjson  # noqa: F401
    except ImportError:
        return False
    rng = np.random.default_rng(0)
    for dtype, low, high in (("float32", -45, 39), ("float64", -323, 309)):
        decades = 10.0 ** np.arange(low, high).astype(np.float64)
        with np.errstate(over="ignore"):
            probe = np.concatenate([decades, decades * rng.uniform(1, 10, size=decades.size), decades * 1.25])
            probe = np.concatenate([probe, -probe, [0.0, -0.0, 0.5, np.nan, np.inf]])
        if "[" + ", ".join(_case_texts(probe, dtype)) + "]" != json.dumps(json_nested(probe, dtype)):
            return False
    return True
