"""The short way through ``batch``: a line shaped like one seen before (same options, same names and
shapes of inputs, plain ASCII numbers, nothing any check could refuse) is read by orjson and keyed by
its plan, skipping the per-line checks that line's first of a kind already passed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import limits
from .stack import Plan

GRAD_KEYS = {"expression", "inputs", "wrt", "dtype", "reduce", "rtol", "atol", "check_fd"}
CHECK_KEYS = {"expression", "inputs", "claims"}
#: A line with a run of number characters longer than a number may be takes the checked path: the
#: characters are made one (and "#" with them) and the run looked for as a string, quicker than a regex.
_NUMBER_CHARACTERS = bytes.maketrans(b"-+.0123456789eE", b"#" * 15)
_LONG_NUMBER = b"#" * (limits.MAX_NUMBER_LENGTH + 1)
_NUMBER_TYPES = frozenset((float, int))  # exactly: not bool


@dataclass
class Quick:
    """A line that can share a pass with others of its plan: its values, in the plan's inputs' order,
    not yet cast to the dtype (``compute_stack`` casts them, and checks that the dtype holds them)."""

    line: int
    plan: Plan
    values: list[Any]  # numbers, lists of numbers (checked by ``compute_stack``) or float64 arrays
    raw: bytes | None = None  # the line, when it was taken the short way


def quick_key(raw: bytes) -> tuple[tuple[Any, ...], dict[str, tuple[tuple[int, ...], Any]]] | None:
    """A line like one seen before, taken the short way: ASCII JSON that no check of
    :func:`~backcalc.inputs.jsonin.loads` could refuse, keyed by its options and the names and
    shapes of its inputs (the key of the plan a line like it made), numbers within the dtype's range. Anything
    else (None) takes the checked path, which says what is wrong. Nesting deeper than the checked
    path allows cannot pass: every value is part of the plan's key, which a list makes unhashable
    or of other shapes."""
    if (
        not raw.isascii()  # no digit of another script, no text that is not UTF-8
        or b"\\u" in raw  # no escaped surrogate
        or (len(raw) > limits.MAX_NUMBER_LENGTH and _LONG_NUMBER in raw.translate(_NUMBER_CHARACTERS))
    ):
        return None
    try:
        case = _decode(raw)
        if type(case) is not dict or not case.keys() <= GRAD_KEYS:
            return None
        # json.loads made no other booleans: none is hidden in the inputs as a number
        if case.get("check_fd", False) is not False or (
            raw.count(b"true") + raw.count(b"false") != ("check_fd" in case)
        ):
            return None
        wrt = case.get("wrt")
        numbers = {name: numbers_of(value) for name, value in case["inputs"].items()}
        key = (
            case["expression"],
            case.get("dtype", "float32"),
            case.get("reduce", "sum"),
            tuple(wrt) if type(wrt) is list else wrt,
            case.get("rtol"),
            case.get("atol"),
            *[(name, shape) for name, (shape, _) in numbers.items()],
        )
        hash(key)
    except Exception:  # not hashable, not numbers...: the checked path says what
        return None
    return key, numbers


def _decode(raw: bytes) -> Any:
    """A line taken the short way, parsed by orjson (about ten times quicker than :mod:`json` on a
    line of numbers). It parses what :mod:`json` parses to the same values, but for what it refuses
    (NaN, numbers beyond float64, lone surrogates), which then takes the checked path, and integers
    beyond 64 bits, which it reads as the float that :mod:`json`'s integer becomes later on."""
    import orjson

    return orjson.loads(raw)


def numbers_of(value: Any, check: bool = False) -> tuple[tuple[int, ...], Any]:
    """The shape of a number or nested list of numbers (never a boolean, which the caller rules out)
    and the numbers, as they are or as a float64 array; anything else raises. A long flat list is
    taken as it is, unless asked to ``check`` it: ``compute_stack`` checks all the lists of a stack at
    once."""
    kind = type(value)
    if kind is float or kind is int:
        return (), value
    if kind is not list:
        raise TypeError("not numbers")
    if 0 < len(value) <= 16 and _NUMBER_TYPES.issuperset(map(type, value)):
        return (len(value),), value  # short lists, quicker without NumPy
    if not check and len(value) > 16 and type(value[0]) is not list:
        return (len(value),), value
    array = np.array(value)
    if array.dtype.kind not in "if" or array.size == 0:
        raise TypeError("not numbers")
    return array.shape, array.astype(np.float64)


def holds_numbers(quick: Quick) -> bool:
    """Whether each of a line's inputs is numbers of its plan's shape, looked at one by one."""
    try:
        shapes = [v.shape if isinstance(v, np.ndarray) else numbers_of(v, check=True)[0] for v in quick.values]
    except Exception:
        return False
    return shapes == [value.shape for value in quick.plan.problem.inputs.values()]
