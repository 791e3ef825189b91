"""The JSON text of many arrays at once: what ``json.dumps(numfmt.json_nested(a, dtype))`` writes for
each array ``a`` of a stack, written by orjson in compiled code instead of one Python float at a time.

``batch`` writes about a thousand numbers per case of 100-element vectors, and Python's float repr
alone costs more per number than everything else backcalc does for it. orjson writes a NumPy array's
float32 or float64 numbers with the shortest decimal that round-trips in that dtype, the same digits
as Python's ``repr`` of :func:`~backcalc.formats.numfmt.json_number`, and in the same layout but for:

- a comma without the space after it (put back on the whole text at once);
- numbers below 1e-4, which orjson writes ``0.00001`` and ``1e-7`` and Python ``1e-05`` and
  ``1e-07``, and in float32 numbers from 1e13 up to 1e16, which orjson writes ``1.5e+13`` and Python
  ``15000000000000.0``: orjson is given nan in their places (it writes ``null``), and they are
  written apart (:func:`_odd_numbers`) and put there;
- nan and the infinities, which backcalc writes as strings: a case with one is written by
  :func:`json_nested` whole.

:func:`orjson_agrees` checks all of that against Python on numbers of every decade once per process;
where it does not hold (another orjson), every case is written by :func:`json_nested`.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np

from .numfmt import json_nested, shortest_digits

_CHUNK = 1 << 16  # numbers written by one call: the text stays in cache
_POWERS = 10.0 ** np.arange(10)
_EXPONENT_TEXTS = np.array([f"e-{n:02d}" for n in range(100)], dtype=object)  # Python's, by -exponent
_DIGIT_TEXTS = np.array([str(n) for n in range(-9, 10)], dtype=object)  # by the digit + 9
_ODD_LAYOUT = {"float32": (1.1e-4, 9e12, 1.1e16), "float64": (1.1e-4, np.inf, np.inf)}  # below, from, to


def case_texts(stack: np.ndarray, dtype: str) -> list[str]:
    """For a stack of shape (cases, *shape): the JSON text of each case's array, exactly as
    ``json.dumps(json_nested(stack[i], dtype))`` writes it."""
    stack = np.asarray(stack)
    if 0 in stack.shape or not orjson_agrees():
        return [json.dumps(item) for item in json_nested(stack, dtype)]
    return _case_texts(stack, dtype)


def _case_texts(stack: np.ndarray, dtype: str) -> list[str]:
    count, shape = stack.shape[0], stack.shape[1:]
    with np.errstate(over="ignore"):  # beyond float32's range is inf, written as text below
        values = np.ascontiguousarray(stack, dtype=np.float32 if dtype == "float32" else np.float64)
    flat = values.reshape(count, -1)
    finite = np.isfinite(flat)
    step = max(1, _CHUNK // flat.shape[1])
    texts: list[str] = []
    for start in range(0, count, step):
        texts.extend(_texts(flat[start : start + step], finite[start : start + step], shape, dtype))
    for index in np.flatnonzero(~finite.all(axis=1)).tolist():
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


def _texts(flat: np.ndarray, finite: np.ndarray, shape: tuple[int, ...], dtype: str) -> list[str]:
    """The texts of the cases of ``flat`` (cases, elements per case), each case of ``shape``; a case
    with a number that is not ``finite`` is written again by the caller."""
    import orjson

    below, low, high = _ODD_LAYOUT[dtype]
    magnitude = np.abs(np.where(finite, flat, 0))
    odd = ((magnitude < below) & (magnitude > 0)) | ((magnitude >= low) & (magnitude < high))
    written = np.where(odd, np.nan, np.where(finite, flat, 0))  # orjson writes null for nan: for the odd
    whole = orjson.dumps(written, option=orjson.OPT_SERIALIZE_NUMPY).replace(b",", b", ").decode("ascii")
    parts = whole[2:-2].split("], [")  # each case's numbers, without its brackets
    if odd.any():  # in the cases that have them, in order
        numbers, ends = _odd_numbers(flat[odd], dtype)
        counts = np.count_nonzero(odd, axis=1)
        done = 0
        for case in np.flatnonzero(counts).tolist():
            count = int(counts[case])
            joined = [""] * (3 * count + 1)  # each piece, number and its exponent in turn
            joined[0::3] = parts[case].split("null")
            joined[1::3], joined[2::3] = numbers[done : done + count], ends[done : done + count]
            parts[case] = "".join(joined)
            done += count
    if not shape:
        return parts
    if len(shape) == 1:
        return ["[" + part + "]" for part in parts]
    return [_nested(part.split(", "), shape) for part in parts]


def _odd_numbers(values: np.ndarray, dtype: str) -> tuple[list[str], list[str]]:
    """Python's text of finite numbers that orjson lays out otherwise, each in two parts (joined, the
    text). Below 1e-4 in float32 (gradients that vanish can be many): the mantissa of the shortest
    decimal, found by :func:`~backcalc.formats.numfmt.shortest_digits` and written by orjson as a number from
    1 to 10 (a single digit from a table), and the exponent after it; the rest by Python."""
    import orjson

    numbers = np.empty(len(values), dtype=object)
    ends = np.full(len(values), "", dtype=object)
    quick = np.zeros(len(values), dtype=bool)
    if dtype == "float32":
        digits, exponent, sure = shortest_digits(values)
        count = np.searchsorted(_POWERS, digits, side="right")  # of digits: 10**(count-1) <= digits
        first = exponent + count - 1  # the decimal exponent: Python writes an exponent below -4
        quick = sure & (first < -4) & (first > -100)
    if quick.any():
        mantissa = np.copysign(digits[quick] / _POWERS[count[quick] - 1], values[quick])  # one rounding
        numbers[quick] = orjson.dumps(mantissa, option=orjson.OPT_SERIALIZE_NUMPY).decode("ascii")[1:-1].split(",")
        one = quick & (count == 1)  # orjson's 2.0 is Python's 2e-05
        numbers[one] = _DIGIT_TEXTS[(np.copysign(digits[one], values[one]) + 9).astype(np.int64)]
        ends[quick] = _EXPONENT_TEXTS[-first[quick]]
    if not quick.all():
        numbers[~quick] = json.dumps(json_nested(values[~quick], dtype))[1:-1].split(", ")
    return numbers.tolist(), ends.tolist()


def _nested(numbers: list[str], shape: tuple[int, ...]) -> str:
    """The text of one case's numbers (in C order) as nested lists of ``shape``."""
    for size in reversed(shape):
        numbers = ["[" + ", ".join(numbers[i : i + size]) + "]" for i in range(0, len(numbers), size)]
    return numbers[0]


@cache
def orjson_agrees() -> bool:
    """Whether this process's orjson, with the numbers it lays out otherwise written apart, writes
    what Python writes: numbers of every decade of both dtypes, both signs, with few digits and with
    many, zeros and the non-finite."""
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
