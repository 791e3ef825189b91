"""What ``check`` finds, as plain data: one :class:`ClaimResult` per claimed gradient, a
:class:`Counterexample` when a claim is wrong, the whole :class:`CheckResult`. ``to_dict()`` gives the
JSON contract; rendering lives in :mod:`backcalc.render.check_view`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._version import __version__
from ...formats.numfmt import json_nested, json_number

RTOL, ATOL = 1e-6, 1e-9  # float64 agreement between a claim and the true derivative
GIVEN = "the given inputs"  # where a counterexample was found, when not at a random point
MAX_POINT_ELEMENTS = 100  # a counterexample's point is printed in full up to this many input elements


@dataclass(frozen=True)
class Counterexample:
    """Where a claim and the true derivative differ: one element of the input's gradient."""

    point: dict[str, Any]  # the inputs there: numbers (element-wise claims) or arrays (matrix claims)
    claimed: float
    actual: float
    autograd: float | None  # torch's gradient at that element, a third opinion
    index: tuple[int, ...] = ()  # the element of the gradient (and of the input)
    at: str = "a random point"  # "the given inputs" or "random point K (--seed S)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "point": _point_dict(self.point),
            "index": list(self.index),
            "at": self.at,
            "claimed": json_number(self.claimed, "float64"),
            "actual": json_number(self.actual, "float64"),
            "autograd": None if self.autograd is None else json_number(self.autograd, "float64"),
        }


def _point_dict(point: dict[str, Any]) -> dict[str, Any] | None:
    """The point as JSON: every input in full, or None when it is too large to print."""
    if sum(np.size(value) for value in point.values()) > MAX_POINT_ELEMENTS:
        return None
    return {
        name: json_number(value, "float64") if isinstance(value, float) else json_nested(value, "float64")
        for name, value in point.items()
    }


@dataclass(frozen=True)
class Numbers:
    """The ninja's ``cmp`` of a claim at the given inputs (or the first point): equal bit for bit,
    close as ``torch.allclose`` says, and the largest difference."""

    exact: bool
    approximate: bool
    max_abs_diff: float


@dataclass(frozen=True)
class Diagnosis:
    """The one edit that makes a wrong claim right (``kind`` and ``fix``), and how far the search went.
    ``kind`` None: no single edit was found before the search was cut short."""

    kind: str | None  # sign, factor, transpose, swapped, missing_sum, missing_term, extra_term, wrong_function
    fix: str | None  # the repaired formula, in backcalc's language
    message: str  # one line
    edits_tried: int = 0
    cut_short: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fix": self.fix,
            "message": self.message,
            "edits_tried": self.edits_tried,
            "cut_short": self.cut_short,
        }


@dataclass(frozen=True)
class ClaimResult:
    name: str
    claim: str  # as typed
    parsed: str
    formula: str  # the true derivative: sympy text, or a formula in matrix notation
    equivalent: bool | None  # sympy proved it (True), disproved it (False), or could not tell / did not try (None)
    points: int  # numeric points checked
    counterexample: Counterexample | None
    derivation: str = "sympy"  # who derived ``formula``: "sympy", "backprop" or "sympy element by element"
    shape: tuple[int, ...] | None = None  # the input's shape (matrix claims)
    claimed_shape: tuple[int, ...] | None = None  # the claim's shape at the inputs' shapes (matrix claims)
    mismatch: str | None = None  # why the claim cannot be the gradient at these shapes
    numbers: Numbers | None = None  # exact / approximate / max_abs_diff at the given inputs
    propagated: bool | None = None  # right with the student's own upstream claims (None: it uses none)
    diagnosis: Diagnosis | None = None  # what kind of mistake a wrong claim is

    @property
    def right(self) -> bool:
        return self.counterexample is None and self.mismatch is None and self.equivalent is not False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "claim": self.claim,
            "parsed": self.parsed,
            "formula": self.formula,
            "derivation": self.derivation,
            "right": self.right,
            "equivalent": self.equivalent,
            "points": self.points,
            "counterexample": self.counterexample.to_dict() if self.counterexample else None,
        }
        if self.shape is not None:
            data["shape"] = list(self.shape)
            data["claimed_shape"] = None if self.claimed_shape is None else list(self.claimed_shape)
            data["mismatch"] = self.mismatch
        if self.numbers is not None:
            data["exact"] = self.numbers.exact
            data["approximate"] = self.numbers.approximate
            data["max_abs_diff"] = json_number(self.numbers.max_abs_diff, "float64")
        if self.propagated is not None:
            data["propagated"] = self.propagated
        if not self.right or self.diagnosis is not None:
            data["diagnosis"] = self.diagnosis.to_dict() if self.diagnosis is not None else None
        return data


@dataclass(frozen=True, repr=False)
class CheckResult:
    expression: str
    parsed: str
    claims: dict[str, ClaimResult]
    program: bool = False  # a program of named steps, not one expression

    @property
    def right(self) -> bool:
        return all(claim.right for claim in self.claims.values())

    @property
    def first_wrong(self) -> str | None:
        """The first claim, in backward order (the order of ``claims``), whose own rule is wrong."""
        return next((name for name, claim in self.claims.items() if not claim.right), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backcalc": __version__,
            "expression": self.expression,
            "parsed": self.parsed,
            "claims": {name: claim.to_dict() for name, claim in self.claims.items()},
            "right": self.right,
            "first_wrong": self.first_wrong,
        }
