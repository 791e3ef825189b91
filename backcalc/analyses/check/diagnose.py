"""What kind of mistake a wrong claim is: the one edit of the claim's tree that makes it right at every
test point, as a teacher would name it.

The kinds, tried in this order: ``sign`` (the whole claim negated), ``factor`` (off by a constant,
read off the numbers), ``transpose`` (an operand or the result should be transposed), ``swapped``
(the operands of ``@`` or ``outer`` in the wrong order), ``missing_sum`` (a broadcast dimension not
summed back), ``missing_term`` (one use of the node left out of the sum over its uses),
``extra_term`` (a term that does not belong), ``wrong_function`` (a derivative rule swapped: ``+`` for
``-``, ``sin`` for ``cos``: each record names the operation it is confused with), and last ``sign``
inside (one subexpression negated).
The fix is the repaired formula in backcalc's language, which ``check`` accepts as right. The search
is bounded (:data:`MAX_EDITS` edits, :data:`SECONDS`); a search cut short says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from ... import ops
from ...errors import BackcalcError
from ...language.shapes import output_shape
from ...language.tree import NUMBER, Node, rebuilt, rewrite, to_text
from ...numeric.numpy_eval import evaluate
from ...ops.arithmetic import ADD, DIV, MUL, NEG, SUB
from ...ops.tensors import MATMUL, OUTER, SUM, TRANSPOSE
from .result import Diagnosis
from .truth import Point, Truth, first_difference

MAX_EDITS = 400  # candidate edits tried for one claim
SECONDS = 3.0  # and at most this long
_ADD, _SUB, _MUL, _DIV, _NEG = (op.name for op in (ADD, SUB, MUL, DIV, NEG))
_MATMUL, _OUTER, _SUM, _T = (op.name for op in (MATMUL, OUTER, SUM, TRANSPOSE))

Edit = tuple[str, Node, str]  # kind, the repaired tree, what was wrong (one line)


def diagnose(truth: Truth, name: str, tree: Node, at: list[tuple[str, Point]]) -> Diagnosis | None:
    """The single edit that makes the claim for ``name`` right at every point, or None (with the
    search's extent in a Diagnosis of kind None when it was cut short)."""
    if not at:
        return None
    search = _Search(truth, name, at)
    started = time.monotonic()
    tried = 0
    for tried, (kind, fixed, what) in enumerate(_edits(tree, search), start=1):
        if tried > MAX_EDITS or time.monotonic() - started > SECONDS:
            message = f"no single fix found in the {tried - 1} edits tried (the search was cut short)"
            return Diagnosis(None, None, message, tried - 1, True)
        if search.right(fixed):
            fix = to_text(_tidy(fixed, search), named=True)
            return Diagnosis(kind, fix, f"{what}; the fix: {name}={fix}", tried, False)
    return None


def _tidy(fixed: Node, search: _Search) -> Node:
    """The fix simplified as backprop's formulas are (``-(-2*s)`` is ``2*s``), if that keeps it right."""
    from ...symbolic.simplify import Simplifier

    try:
        tidy = Simplifier(search.truth.shapes_for(fixed))(fixed)
    except (BackcalcError, KeyError, ValueError):
        return fixed
    return tidy if search.right(tidy) else fixed


class _Search:
    """The true gradient at each point, and whether a candidate matches it everywhere."""

    def __init__(self, truth: Truth, name: str, at: list[tuple[str, Point]]) -> None:
        self.truth = truth
        self.name = name
        self.shape = truth.shape(name)
        self.at = at
        self.actual = [truth.values(name, point, key) for key, (_, point) in enumerate(at)]

    def shape_of(self, tree: Node) -> tuple[int, ...] | None:
        try:
            return output_shape(tree, self.truth.shapes_for(tree))
        except BackcalcError:
            return None

    def values(self, tree: Node) -> list[np.ndarray] | None:
        """The candidate at every point, with the true upstream gradients; None if it does not fit."""
        shape = self.shape_of(tree)
        if shape is None:
            return None
        try:
            np.broadcast_shapes(shape, self.shape)
        except ValueError:
            return None
        found = []
        with np.errstate(all="ignore"):
            for key, (_, point) in enumerate(self.at):
                value = evaluate(tree, self.truth.bindings(tree, point, key))
                try:
                    found.append(np.broadcast_to(value, self.shape))
                except ValueError:
                    return None
        return found

    def right(self, tree: Node) -> bool:
        values = self.values(tree)
        return values is not None and all(
            first_difference(np.asarray(value, dtype=np.float64), actual) is None
            for value, actual in zip(values, self.actual, strict=True)
        )


def _edits(tree: Node, search: _Search) -> Iterator[Edit]:
    """Every candidate edit, the likeliest kinds first."""
    yield from _whole_sign(tree)
    yield from _factor(tree, search)
    spots = list(tree.walk())
    yield from _transposes(tree, spots, search)
    yield from _swaps(tree, spots)
    yield from _missing_sums(tree, search)
    yield from _missing_terms(tree, search)
    yield from _extra_terms(tree)
    yield from _wrong_functions(tree, spots)
    for spot in spots[1:]:
        yield "sign", _replaced(tree, spot, Node(_NEG, (spot,))), f"a sign is wrong: {_quote(spot)} should be negated"


def _whole_sign(tree: Node) -> Iterator[Edit]:
    if tree.op == _NEG and not tree.name:
        yield "sign", tree.args[0], "the sign is wrong: the claim is the negative of the gradient"
    else:
        yield "sign", Node(_NEG, (tree,)), "the sign is wrong: the claim is the negative of the gradient"


def _factor(tree: Node, search: _Search) -> Iterator[Edit]:
    """A constant ratio between the gradient and the claim, read off the numbers."""
    values = search.values(tree)
    if values is None:
        return
    ratios = []
    for value, actual in zip(values, search.actual, strict=True):
        with np.errstate(all="ignore"):
            mask = (np.abs(value) > 1e-12) & np.isfinite(value) & np.isfinite(actual)
            ratios.extend((actual[mask] / value[mask]).ravel().tolist())
    if not ratios or not np.allclose(ratios, ratios[0], rtol=1e-6) or abs(ratios[0] - 1) < 1e-9 or ratios[0] == 0:
        return
    factor = Fraction(ratios[0]).limit_denominator(1000)
    numerator, denominator = abs(factor.numerator), factor.denominator
    if numerator != 1 and denominator != 1:
        return  # a factor forgotten is a whole number (2, the batch size) or one over one; 2/3 is something else
    scaled = tree if numerator == 1 else Node(_MUL, (_number(numerator), tree))
    scaled = scaled if denominator == 1 else Node(_DIV, (scaled, _number(denominator)))
    scaled = Node(_NEG, (scaled,)) if factor < 0 else scaled
    yield "factor", scaled, f"off by a constant factor: the gradient is {factor} times the claim"


def _transposes(tree: Node, spots: list[Node], search: _Search) -> Iterator[Edit]:
    for spot in spots:
        shape = search.shape_of(spot)
        if shape is None or len(shape) != 2:
            continue
        if spot.op == _T:
            yield "transpose", _replaced(tree, spot, spot.args[0]), f"{_quote(spot)} should not be transposed"
        else:
            where = "the result" if spot is tree else _quote(spot)
            yield "transpose", _replaced(tree, spot, Node(_T, (spot,))), f"{where} should be transposed"


def _swaps(tree: Node, spots: list[Node]) -> Iterator[Edit]:
    for spot in spots:
        if spot.op in (_MATMUL, _OUTER) and not spot.name:
            left, right = spot.args
            swapped = rebuilt(spot, (right, left), name="")
            yield "swapped", _replaced(tree, spot, swapped), f"the operands of {_quote(spot)} are in the wrong order"
            if spot.op == _MATMUL:
                both = rebuilt(spot, (Node(_T, (right,)), Node(_T, (left,))), name="")
                yield "swapped", _replaced(tree, spot, both), f"the operands of {_quote(spot)} are in the wrong order"


def _missing_sums(tree: Node, search: _Search) -> Iterator[Edit]:
    """The claim summed over a dimension that broadcasting added to the input."""
    shape = search.shape_of(tree)
    if shape is None:
        return
    for dim in range(len(shape)):
        keep = len(shape) == len(search.shape) and search.shape[dim] == 1 and shape[dim] != 1
        options = (("keepdim", True),) if keep else ()
        summed = Node(_SUM, (tree,), dim=dim, options=options)
        how = ", keepdim=True" if keep else ""
        yield "missing_sum", summed, f"a broadcast dimension is not summed: sum over dimension {dim}{how}"
    if shape:
        yield "missing_sum", Node(_SUM, (tree,)), "a broadcast dimension is not summed: sum over every element"
    for spot in list(tree.walk()):  # summed, but over the wrong dimension
        inner = search.shape_of(spot.args[0]) if spot.op == _SUM and not spot.name else None
        for dim in range(len(inner or ())):
            for keep in (True, False):
                options = (("keepdim", True),) if keep else ()
                if (dim, options) == (spot.dim, spot.options):
                    continue
                summed = Node(_SUM, spot.args, dim=dim, options=options)
                what = f"{_quote(spot)} sums over the wrong dimension: {_quote(summed)}"
                yield "missing_sum", _replaced(tree, spot, summed), what


def _missing_terms(tree: Node, search: _Search) -> Iterator[Edit]:
    """The claim plus what one use of the node passes back (written with its parent's dNAME)."""
    for parent, term in search.truth.uses(search.name):
        yield (
            "missing_term",
            Node(_ADD, (tree, term)),
            f"a use of the node is missing: add {_quote(term)} (from {parent})",
        )


def _extra_terms(tree: Node) -> Iterator[Edit]:
    terms = _terms(tree)
    if len(terms) < 2:
        return
    for index, (term, _) in enumerate(terms):
        rest = [item for i, item in enumerate(terms) if i != index]
        yield "extra_term", _sum_of(rest), f"an extra term: {_quote(term)} does not belong"


def _wrong_functions(tree: Node, spots: list[Node]) -> Iterator[Edit]:
    """One operation replaced by the one its record says a hand-derived rule confuses it with."""
    for spot in spots:
        if spot.is_leaf or spot.name or not spot.record.confused_with:
            continue
        other = spot.record.confused_with
        if spot.dim is not None and not ops.get(other).takes_dim:
            continue
        changed = Node(other, spot.args, spot.text, spot.dim)
        what = f"a rule is wrong: {_quote(spot)} should be {_quote(changed)}"
        yield "wrong_function", _replaced(tree, spot, changed), what


def _terms(tree: Node, sign: bool = True) -> list[tuple[Node, bool]]:
    """The terms of a sum, each with its sign (True: added)."""
    if tree.op == _ADD and not tree.name:
        return _terms(tree.args[0], sign) + _terms(tree.args[1], sign)
    if tree.op == _SUB and not tree.name:
        return _terms(tree.args[0], sign) + _terms(tree.args[1], not sign)
    return [(tree, sign)]


def _sum_of(terms: list[tuple[Node, bool]]) -> Node:
    first, sign = terms[0]
    total = first if sign else Node(_NEG, (first,))
    for term, added in terms[1:]:
        total = Node(_ADD if added else _SUB, (total, term))
    return total


def _replaced(tree: Node, spot: Node, new: Node) -> Node:
    """``tree`` with the node ``spot`` (by identity) replaced by ``new``."""
    return rewrite(tree, lambda node: new if node is spot else None)


def _number(value: int) -> Node:
    return Node(NUMBER, (), str(value))


def _quote(node: Node) -> str:
    text = to_text(node, named=True)
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"
