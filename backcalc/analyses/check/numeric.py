"""``check`` by the numbers, at any size the limits allow: for expressions or claims that mix elements
(``@``, ``.T``, reductions, softmax), for programs of named steps, and for claims written as a backward
pass (``dNAME``: the gradient of the loss with respect to ``NAME``).

The shapes are those of the given inputs. Each claim is evaluated with NumPy
(:mod:`backcalc.numeric.numpy_eval`) at the inputs and at random points of the same shapes, against the true
gradient (:mod:`.truth`): the formula in matrix notation that backprop composes, or sympy's derivative
element by element where there is none (a batched ``@``). A claim's ``dNAME`` is given the true
gradient of ``NAME``, so one wrong step does not make every later one wrong; ``propagated`` says
whether it is right with the student's own upstream claims instead. No symbolic proof is attempted
(``equivalent`` is None): a claim is right when no point tells it apart from the gradient, wrong with a
counterexample (torch's gradient there as a third opinion), or wrong when its shape cannot be the
gradient's. A wrong claim is searched for the one edit that makes it right (:mod:`.diagnose`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ...errors import InputError, LimitError
from ...language import workload
from ...language.shapes import output_shape
from ...language.tree import Node, to_text
from ...numeric.numpy_eval import evaluate
from ..problem import Problem, backward, prepare
from .diagnose import diagnose
from .result import GIVEN, ClaimResult, Counterexample, Numbers
from .truth import Point, Truth, first_difference, points, upstream_of

ALLCLOSE = (1e-5, 1e-8)  # torch.allclose's rtol and atol: "approximate", as the ninja's cmp says


def check_numerically(
    problem: Problem,
    claim_trees: Mapping[str, Node],
    claims: Mapping[str, str],
    samples: int,
    seed: int,
    given: bool = True,
) -> dict[str, ClaimResult]:
    """Each claim against the true gradient at the problem's inputs (unless they only stand for the
    shapes: ``given`` False) and at ``samples`` random points, in backward order."""
    truth = Truth(problem)
    at = points(problem, samples, seed, given)
    order = backward_order(problem, claim_trees)
    with workload.memory_guard():
        results = {name: _check_claim(problem, truth, name, claim_trees[name], claims[name], at) for name in order}
        propagated = _propagated(truth, claim_trees, order, at)
    return {name: replace(result, propagated=propagated.get(name)) for name, result in results.items()}


def backward_order(problem: Problem, claims: Mapping[str, Any]) -> list[str]:
    """The claimed names in the order a backward pass reaches them: the steps from the loss back, then
    the inputs (the last used first)."""
    if not problem.steps and not any(
        upstream_of(v, set(problem.shapes)) for t in claims.values() for v in t.variables()
    ):
        return list(claims)  # an expression's inputs, as given: no backward pass to follow
    steps = [step.name for step in reversed(problem.steps)]
    inputs = list(reversed(problem.program.variables() if problem.program is not None else list(problem.shapes)))
    rank = {name: index for index, name in enumerate([*steps, *inputs])}
    return sorted(claims, key=lambda name: rank.get(name, len(rank)))


def _check_claim(
    problem: Problem, truth: Truth, name: str, tree: Node, text: str, at: list[tuple[str, Point]]
) -> ClaimResult:
    shape = truth.shape(name)
    shapes = truth.shapes_for(tree)

    def result(checked: int, counterexample: Counterexample | None = None, **more: Any) -> ClaimResult:
        base = ClaimResult(name, text, to_text(tree, named=True), truth.formula(name), None, checked, counterexample,
                           truth.derivation, shape, **more)  # fmt: skip
        return base if base.right else replace(base, diagnosis=diagnose(truth, name, tree, at))

    try:
        claimed_shape = output_shape(tree, shapes)
    except LimitError:
        raise
    except InputError as exc:  # the claim's own shapes do not fit: it cannot be the gradient
        return result(0, claimed_shape=None, mismatch=f"the claim does not fit the inputs' shapes: {exc.message}")
    if not _broadcasts(claimed_shape, shape):
        return result(
            0,
            claimed_shape=claimed_shape,
            mismatch=f"the claim has shape {list(claimed_shape)}, which does not broadcast to "
            f"{name}'s shape {list(shape)}",
        )
    workload.check(tree, shapes)  # the claim is untrusted text too: refused before any work
    checked = 0
    numbers = None
    for key, (where, point) in enumerate(at):
        actual = truth.values(name, point, key)
        with np.errstate(all="ignore"):
            claimed = np.broadcast_to(evaluate(tree, truth.bindings(tree, point, key)), shape)
        if numbers is None:
            numbers = compared(claimed, actual)
        if where != GIVEN and not (np.isfinite(actual).all() and np.isfinite(claimed).all()):
            continue  # outside the domain of the claim or its gradient: the next point
        checked += 1
        index = first_difference(claimed, actual)
        if index is not None:
            found = Counterexample(
                dict(point), float(claimed[index]), float(actual[index]), _autograd_at(problem, point, name, index),
                index, where,
            )  # fmt: skip
            return result(checked, found, claimed_shape=claimed_shape, numbers=numbers)
    return result(checked, claimed_shape=claimed_shape, numbers=numbers)


def compared(claimed: np.ndarray, actual: np.ndarray) -> Numbers:
    """The ninja's ``cmp``: exactly equal, ``torch.allclose``, and the largest difference."""
    with np.errstate(all="ignore"):
        difference = np.abs(claimed - actual)
        largest = float(np.max(difference)) if difference.size else 0.0
    rtol, atol = ALLCLOSE
    return Numbers(bool(np.array_equal(claimed, actual)), bool(np.allclose(claimed, actual, rtol, atol)), largest)


def _propagated(
    truth: Truth, trees: Mapping[str, Node], order: list[str], at: list[tuple[str, Point]]
) -> dict[str, bool]:
    """Whether each claim that uses an upstream gradient is right when that is the student's own claim
    (evaluated in backward order) instead of the true one."""
    own: dict[tuple[str, int], np.ndarray] = {}

    def source(name: str, key: int) -> np.ndarray:
        return own.get((name, key), truth.values(name, at[key][1], key))

    found = {}
    for name in order:
        tree = trees[name]
        uses = any(upstream_of(v, truth.known) for v in tree.variables())
        right = True
        for key, (_, point) in enumerate(at):
            try:
                with np.errstate(all="ignore"):
                    value = np.broadcast_to(evaluate(tree, truth.bindings(tree, point, key, source)), truth.shape(name))
            except ValueError:  # the claim's shape does not fit
                right = False
                break
            own[(name, key)] = np.asarray(value, dtype=np.float64)
            if first_difference(own[(name, key)], truth.values(name, point, key)) is not None:
                right = False
        if uses:
            found[name] = right
    return found


def _broadcasts(claimed: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(claimed, shape) == shape
    except ValueError:
        return False


def _autograd_at(problem: Problem, point: Mapping[str, np.ndarray], name: str, index: tuple[int, ...]) -> float | None:
    """torch's own gradient at the counterexample's element, as a third opinion."""
    try:
        if problem.program is not None:
            at = prepare(problem.expression, point, None, "float64", program=problem.program)
            passed = backward(at)
            found = passed.step_gradients[name] if name in passed.step_gradients else passed.gradients[name]
            return None if found is None else float(np.broadcast_to(found, found.shape)[index])
        at = prepare(problem.expression, point, [name], "float64", tree=problem.tree)
        return float(backward(at).gradients[name][index])
    except InputError:
        return None
