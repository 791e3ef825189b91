"""The JSON text of many arrays at once: what ``json.dumps(numfmt.json_nested(a, dtype))`` writes for
each array ``a`` of a stack, built in NumPy arrays of characters instead of one Python float at a time.

``batch`` writes about a thousand numbers per case of 100-element vectors, and Python's float repr
alone costs more per number than everything else backcalc does for it. Here each float32 number's
shortest round-trip decimal is found for the whole stack at once
(:func:`~backcalc.numfmt.shortest_digits`), and its characters are laid out as
Python's ``repr`` lays them out (positional from 1e-4 up to 1e16, else ``1.5e-05``), with the
brackets and commas of the nested list. Elements where float64 arithmetic cannot decide (an end of
the interval or a tie within about 1e-6 of an integer) and numbers outside 1e-14 to 1e29 are written
by :func:`~backcalc.numfmt.json_number`, one by one; so are all float64 numbers, whose shortest
decimal needs more precision than float64 itself.
"""

from __future__ import annotations

import json
import math
from functools import cache

import numpy as np

from .numfmt import json_nested, json_number, shortest_digits

_E_MIN, _E_MAX = -46, 39  # decimal exponents of float32's finite nonzero numbers
_WIDTH = 20  # "-1234567890123456.0" is the longest; column _WIDTH takes the digits a number does not use
_CHUNK = 1 << 13  # numbers written at a time: arrays this long stay in cache, and malloc reuses them
_LETTERS = "abcdfghij"  # the digits' places in a pattern ("e" is the exponent's)
_SPECIAL = {"zero": "0.0", "-zero": "-0.0", "nan": '"nan"', "inf": '"inf"', "-inf": '"-inf"'}


def case_texts(stack: np.ndarray, dtype: str) -> list[str]:
    """For a stack of shape (cases, *shape): the JSON text of each case's array, exactly as
    ``json.dumps(json_nested(stack[i], dtype))`` writes it."""
    stack = np.asarray(stack)
    count, shape = stack.shape[0], stack.shape[1:]
    if dtype != "float32" or count == 0 or 0 in shape:
        nested = json_nested(stack, dtype)
        return [json.dumps(item) for item in nested]
    with np.errstate(over="ignore"):  # beyond float32's range is inf, written as text
        values = stack.astype(np.float32).reshape(count, -1)
    step = max(1, _CHUNK // values.shape[1])  # cases at a time: NumPy is quickest on arrays in cache
    texts: list[str] = []
    for start in range(0, count, step):
        texts.extend(_texts(values[start : start + step], shape))
    return texts


def _texts(values: np.ndarray, shape: tuple[int, ...]) -> list[str]:
    """The texts of a few cases: float32 ``values`` of shape (cases, elements per case)."""
    count = values.shape[0]
    rows = _number_rows(values.ravel())
    prefix, suffix = _brackets(shape)
    size = values.shape[1]
    full = np.zeros((count, size, prefix.shape[1] + _WIDTH + suffix.shape[1]), dtype=np.uint8)
    full[:, :, : prefix.shape[1]] = prefix
    full[:, :, prefix.shape[1] : prefix.shape[1] + _WIDTH] = rows.reshape(count, size, _WIDTH)
    full[:, :, prefix.shape[1] + _WIDTH :] = suffix
    characters = full.reshape(count, -1)
    lengths = np.count_nonzero(characters, axis=1)
    text = characters[characters != 0].tobytes().decode("ascii")
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [text[a:b] for a, b in zip(starts, ends, strict=True)]


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


@cache
def _brackets(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The characters before and after each element of an array of ``shape`` (in C order) in its
    JSON text: the brackets it opens, those it closes and the ``", "`` after it."""
    size = max(1, math.prod(shape))
    ndim = len(shape)
    prefix = np.zeros((size, ndim), dtype=np.uint8)
    suffix = np.zeros((size, ndim + 2), dtype=np.uint8)
    for flat, index in enumerate(np.ndindex(*shape) if shape else [()]):
        ends = tuple(n - 1 for n in shape)
        opens = next((ndim - axis for axis in range(ndim) if all(i == 0 for i in index[axis:])), 0)
        closes = next((ndim - axis for axis in range(ndim) if index[axis:] == ends[axis:]), 0)
        before = "[" * opens
        after = "]" * closes + (", " if flat < size - 1 else "")
        prefix[flat, ndim - len(before) :] = np.frombuffer(before.encode(), dtype=np.uint8)
        suffix[flat, : len(after)] = np.frombuffer(after.encode(), dtype=np.uint8)
    return prefix, suffix


def _number_rows(values: np.ndarray) -> np.ndarray:
    """The characters of each float32 number's JSON text, one row of :data:`_WIDTH` bytes per number
    (unused bytes are 0)."""
    table, places = _layouts()
    count = len(values)
    negative = np.signbit(values)
    special = _special_layouts()
    layout = np.full(count, special["zero"], dtype=np.int64)  # numbers left to Python are overwritten
    with np.errstate(invalid="ignore"):
        regular = np.isfinite(values) & (values != 0)
    if regular.all():  # the usual case: no zero, nan or infinity
        numbers = np.arange(count)
        digits, exponent, sure = shortest_digits(values)
    else:
        layout[np.isnan(values)] = special["nan"]
        layout[np.isposinf(values)] = special["inf"]
        layout[np.isneginf(values)] = special["-inf"]
        zero = values == 0
        layout[zero] = np.where(negative[zero], special["-zero"], special["zero"])
        numbers = np.flatnonzero(regular)
        digits, exponent, sure = shortest_digits(values[numbers])
    count_digits = np.ones(len(digits), dtype=np.int64)  # 1 to 9
    for power in range(1, 9):
        count_digits += digits >= 10.0**power
    first = exponent + count_digits - 1  # the decimal exponent of the first digit
    usable = sure & (first >= _E_MIN) & (first <= _E_MAX)
    everything = usable.all()
    main = numbers if everything else numbers[usable]
    if not everything:
        digits, count_digits, first = digits[usable], count_digits[usable], first[usable]
    if everything and len(main) == count:
        layout = _layout_id(negative, count_digits, first)
    else:
        layout[main] = _layout_id(negative[main], count_digits, first)
    rows = np.zeros((count, _WIDTH + 1), dtype=np.uint8)  # the extra column takes unused digits
    rows[:, :_WIDTH] = table[layout]
    backwards = np.empty((len(main), 9), dtype=np.uint8)  # the last digit first
    remaining = digits
    for back in range(9):  # floor(r * 0.1) is r // 10 exactly for integers r below 2**50
        quotient = np.floor(remaining * 0.1)
        backwards[:, back] = remaining - 10 * quotient
        remaining = quotient
    backwards += ord("0")
    rows.reshape(-1)[(main * (_WIDTH + 1))[:, None] + places[layout[main]]] = backwards
    if not everything:
        for index in numbers[~usable].tolist():  # left to Python: rare
            text = json.dumps(json_number(float(values[index]), "float32")).encode()
            rows[index, :] = 0
            rows[index, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    rows[:, _WIDTH] = 0
    return rows[:, :_WIDTH]


def _layout_id(negative: np.ndarray, count_digits: np.ndarray, first: np.ndarray) -> np.ndarray:
    spread = _E_MAX - _E_MIN + 1
    return (negative.astype(np.int64) * 9 + (count_digits - 1)) * spread + (first - _E_MIN)


@cache
def _special_layouts() -> dict[str, int]:
    base = 2 * 9 * (_E_MAX - _E_MIN + 1)
    return {name: base + index for index, name in enumerate(_SPECIAL)}


@cache
def _layouts() -> tuple[np.ndarray, np.ndarray]:
    """For every sign, digit count and decimal exponent: the characters of the number's text with
    the digits left as 0, and the column of each digit, the last one first (:data:`_WIDTH` for
    digits it does not have).
    Then the special numbers (zeros, non-finite)."""
    spread = _E_MAX - _E_MIN + 1
    total = 2 * 9 * spread + len(_SPECIAL)
    table = np.zeros((total, _WIDTH), dtype=np.uint8)
    places = np.full((total, 9), _WIDTH, dtype=np.int8)  # the last digit's column first
    for negative in (0, 1):
        for count_digits in range(1, 10):
            for first in range(_E_MIN, _E_MAX + 1):
                layout = (negative * 9 + count_digits - 1) * spread + (first - _E_MIN)
                text = _pattern(negative, count_digits, first)
                for column, char in enumerate(text):
                    if char.isalpha() and char != "e":  # a digit's place: "a" is the first digit
                        places[layout, count_digits - 1 - _LETTERS.index(char)] = column
                    else:
                        table[layout, column] = ord(char)
    for name, layout in _special_layouts().items():
        text = _SPECIAL[name]
        table[layout, : len(text)] = np.frombuffer(text.encode(), dtype=np.uint8)
    return table, places


def _pattern(negative: int, count_digits: int, first: int) -> str:
    """The text of a number as ``repr`` writes it, with its digits as the letters a, b, c, ...
    (skipping "e"), e.g. ``-a.bcd`` or ``a.bfe-05``."""
    letters = _LETTERS[:count_digits]
    sign = "-" if negative else ""
    if -4 <= first < 16:
        if first >= 0:
            whole = letters[: first + 1].ljust(first + 1, "0")
            fraction = letters[first + 1 :] or "0"
            return f"{sign}{whole}.{fraction}"
        return f"{sign}0.{'0' * (-first - 1)}{letters}"
    mantissa = letters[0] + (f".{letters[1:]}" if count_digits > 1 else "")
    return f"{sign}{mantissa}e{'-' if first < 0 else '+'}{abs(first):02d}"
