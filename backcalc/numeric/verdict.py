"""The verdict on one gradient, and the exit status it maps to.

Every element where the two sides differ (or where neither has a finite value) is explained, in this
order, by the first reason that fits:

1. an **edge** of calculus found by an operation's edge rule at that element (a kink, a pole, a domain
   edge): no derivative exists there, or the two sides take different one-sided ones;
2. **no finite value** on either side (``sin(x)/x`` at 0: both nan, though the limit may exist): an
   edge too, never silent agreement;
3. the **symbolic evaluation overflowed** float64 where autograd has a finite value: the element is
   not checked (``unchecked``), and nothing is said about the derivative;
4. **rounding**: a documented torch convention found by an edge rule (softplus's threshold), or, in
   float32, a difference that torch's own float64 gradient shows to be float32 rounding (the float64
   gradient matches the symbolic one, and the float32 one is as far from both);
5. anything else **disagrees**.

The word of a gradient is the gravest among its elements: ``disagree`` > ``edge`` > ``unchecked`` >
``rounding`` > ``agree``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, assert_never

import numpy as np

from ..errors import ExitStatus
from ..formats.numfmt import json_number
from .broadcasting import seen_from
from .edges import Edge

MAX_REPORTED = 10
CONVENTIONS = ("convention",)  # edge-rule kinds that are conventions, not edges of calculus


class Word(enum.StrEnum):
    """The verdict on a gradient (or on a whole result), gravest last."""

    AGREE = "agree"  #: within tolerance everywhere
    ROUNDING = "rounding"  #: differences explained by float rounding or a documented torch convention
    UNCHECKED = "unchecked"  #: some elements (or all) could not be checked by a second side
    EDGE = "edge"  #: differences at kinks, poles, domain edges or where no side has a finite value
    DISAGREE = "disagree"  #: a difference nothing explains

    @property
    def agrees(self) -> bool:
        """The sides agree, exactly or within rounding."""
        return self in (Word.AGREE, Word.ROUNDING)


_GRAVITY = list(Word)


def exit_status(word: Word) -> ExitStatus:
    """The exit status a verdict ends the command with."""
    match word:
        case Word.AGREE | Word.ROUNDING | Word.UNCHECKED | Word.EDGE:
            return ExitStatus.OK
        case Word.DISAGREE:
            return ExitStatus.DISAGREE
        case _:
            assert_never(word)


def overall(words: list[Word]) -> Word:
    """The gravest of several verdicts (``agree`` for none)."""
    return max(words, key=_GRAVITY.index, default=Word.AGREE)


@dataclass(frozen=True)
class EdgePoint:
    """One element where the sides differ for a known reason."""

    index: tuple[int, ...]
    values: dict[str, float]  # side -> value, e.g. {"symbolic": 0.5, "autograd": 0.0}
    kind: str  # an edge rule's kind, or "nonfinite", "overflow", "rounding"
    reason: str

    def to_dict(self, dtype: str) -> dict[str, Any]:
        return {
            "index": list(self.index),
            # finite differences are always float64; the two other sides are in the dtype.
            **{
                side: json_number(value, "float64" if side in ("finite_difference", "autograd_float64") else dtype)
                for side, value in self.values.items()
            },
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Verdict:
    word: Word
    edges: tuple[EdgePoint, ...]  # the first MAX_REPORTED explained elements
    edge_count: int  # how many elements were explained in all
    unexplained: int  # elements that differ for no known reason
    note: str | None = None  # why a whole gradient is unchecked, or what else the reader must know


UNCHECKED = Verdict(Word.UNCHECKED, (), 0, 0)


@dataclass(frozen=True)
class _Reason:
    mask: np.ndarray
    word: Word
    kind: str
    text: str


def judge(
    outside: np.ndarray,
    sides: dict[str, np.ndarray],
    edges: list[Edge],
    output_shape: tuple[int, ...],
    coarse: bool = False,
    reference: np.ndarray | None = None,
) -> Verdict:
    """Explain the elements in ``outside`` (a mask over the input's shape, from the comparison) and
    those where no side is finite. ``sides`` maps each side's name to its values, the first being the
    symbolic (or chain-rule) side and the second autograd. ``coarse``: the expression mixes elements,
    so an edge anywhere may move every element. ``reference``: torch's float64 gradient beside a
    float32 run, the witness of rounding."""
    shape = outside.shape
    first, second = list(sides.values())[:2]
    finite = [np.isfinite(side) for side in sides.values()]
    none_finite = ~np.logical_or.reduce(finite)
    flagged = outside | none_finite
    if not flagged.any():
        return Verdict(Word.AGREE, (), 0, 0)
    reasons = _reasons(shape, first, second, edges, output_shape, coarse, reference, none_finite)
    explained = np.zeros(shape, dtype=bool)
    words: list[Word] = []
    points: list[EdgePoint] = []
    for reason in reasons:
        here = reason.mask & flagged & ~explained
        if not here.any():
            continue
        explained |= here
        words.append(reason.word)
        for flat in np.flatnonzero(here)[: MAX_REPORTED - len(points)]:
            index = tuple(int(i) for i in np.unravel_index(flat, shape))
            values = {side: float(array[index]) for side, array in sides.items()}
            if reason.word is Word.ROUNDING and reference is not None:
                values["autograd_float64"] = float(reference[index])
            points.append(EdgePoint(index, values, reason.kind, reason.text))
    unexplained = int(np.count_nonzero(flagged & ~explained))
    if unexplained:
        words.append(Word.DISAGREE)
    points.sort(key=lambda point: point.index)
    return Verdict(overall(words), tuple(points), int(np.count_nonzero(explained)), unexplained)


def _reasons(
    shape: tuple[int, ...],
    first: np.ndarray,
    second: np.ndarray,
    edges: list[Edge],
    output_shape: tuple[int, ...],
    coarse: bool,
    reference: np.ndarray | None,
    none_finite: np.ndarray,
) -> list[_Reason]:
    """The known reasons for a difference, in the order they are tried."""
    reasons = []
    for edge in edges:
        mask = np.full(shape, True) if coarse else seen_from(edge.mask, output_shape, shape)
        word = Word.ROUNDING if edge.kind in CONVENTIONS else Word.EDGE
        reasons.append(_Reason(mask, word, edge.kind, edge.reason))
    reasons.append(_Reason(none_finite, Word.EDGE, "nonfinite", _NONFINITE))
    reasons.append(_Reason(~np.isfinite(first) & np.isfinite(second), Word.UNCHECKED, "overflow", _OVERFLOW))
    if reference is not None:
        beyond = ~np.isfinite(second) & np.isfinite(first) & _exact(first, reference)
        reasons.append(_Reason(beyond, Word.ROUNDING, "range", _RANGE))
        reasons.append(_Reason(_rounding(first, second, reference), Word.ROUNDING, "rounding", _ROUNDING))
    return reasons


_NONFINITE = "no side has a finite value here: the derivative has no value (its limit may still exist)"
_OVERFLOW = "the symbolic evaluation overflowed float64 here: this element is not checked"
_ROUNDING = "float32 rounding: torch's own float64 gradient matches the symbolic one here"
_RANGE = "beyond float32's range: torch's float32 gradient overflows here; its float64 one matches the symbolic one"


def _exact(symbolic: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Where torch's float64 gradient matches the symbolic one."""
    with np.errstate(all="ignore"):
        return np.asarray(np.abs(reference - symbolic) <= 1e-7 + 1e-6 * np.abs(symbolic))


def _rounding(symbolic: np.ndarray, autograd: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Where the float32 gradient's distance from the symbolic one is what float32 evaluation of this
    tree makes (its distance from torch's float64 gradient), and the float64 gradient is exact."""
    with np.errstate(all="ignore"):
        exact = _exact(symbolic, reference)
        error = np.abs(autograd - reference)
        return exact & (np.abs(autograd - symbolic) <= 2 * error + 1e-5 + 1.3e-6 * np.abs(symbolic))
