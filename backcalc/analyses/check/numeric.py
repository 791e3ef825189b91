"""``check`` for expressions, or claims, that mix elements (``@``, ``.T``, reductions, softmax): at any
size the limits allow, by the numbers.

The shapes are those of the given inputs. Each claim is evaluated with NumPy
(:mod:`backcalc.numeric.numpy_eval`) at the inputs and at random points of the same shapes, against the true
gradient: the formula in matrix notation that backprop composes (:mod:`backcalc.symbolic.matrix`), or
sympy's derivative element by element where there is none (a batched ``@``). No symbolic proof is
attempted (``equivalent`` is None): a claim is right when no point tells it apart from the gradient,
wrong with a counterexample (torch's gradient there as a third opinion), or wrong when its shape
cannot be the gradient's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ...errors import InputError, LimitError
from ...language import workload
from ...language.shapes import infer, output_shape
from ...language.tree import Node, printable, to_text
from ...numeric.numpy_eval import evaluate
from ..problem import Problem, backward, prepare
from .result import ATOL, GIVEN, RTOL, ClaimResult, Counterexample

_SCALE_RTOL = 1e-9  # float64 sums of many terms round relative to the largest element, not each one


class _Truth:
    """The true gradient of the problem's loss (its sum), per input, at any point of the same shapes."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        from ...symbolic.matrix import MatrixDifferentiator

        try:
            self.side: Any = MatrixDifferentiator(problem.tree, problem.shapes, problem.labels)
            self.derivation = "backprop"
        except NotImplementedError:  # no matrix rule: sympy element by element, within its limits
            from ...symbolic.elements import ElementDifferentiator

            self.side = ElementDifferentiator(problem.tree, problem.shapes, problem.labels)
            self.derivation = "sympy element by element"

        self.steps = {step.name: step for step in problem.steps}
        self._step_formulas: dict[str, Node] | None = None

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of an input, or of a program's step."""
        if name in self.steps:
            return infer(self.steps[name].node, self.problem.shapes)[id(self.steps[name].node)]
        return self.problem.shapes[name]

    def step_formula(self, name: str) -> Node:
        """d loss / d step, by backprop on the program (as ``grad`` gives it)."""
        if self._step_formulas is None:
            from ...symbolic.formulas import Backprop

            backprop = Backprop(self.problem.tree, self.problem.shapes)
            self._step_formulas = {
                step: formula for step, item in self.steps.items() if (formula := backprop.grads.get(id(item.node)))
            }
        if name not in self._step_formulas:
            raise InputError(f"claim for {name}: the loss does not depend on the step {name}, so it has no gradient")
        return self._step_formulas[name]

    def formula(self, name: str) -> str:
        if name in self.steps:
            return _shown(self.step_formula(name))
        if self.derivation == "backprop":
            return _shown(self.side.formula(name, 1))
        return str(self.side.text(name, 1, False)[0])

    def values(self, name: str, point: Mapping[str, np.ndarray]) -> np.ndarray:
        if name in self.steps:
            value = evaluate(self.step_formula(name), point)
            return np.array(np.broadcast_to(value, self.shape(name)), dtype=np.float64)
        return np.asarray(self.side.values(name, point, self.problem.output_shape, 1), dtype=np.float64)


def _shown(formula: Node) -> str:
    from ...symbolic.matrix import TOO_LONG

    return to_text(formula, named=True) if printable(formula) else f"({TOO_LONG})"


def check_numerically(
    problem: Problem,
    claim_trees: Mapping[str, Node],
    claims: Mapping[str, str],
    samples: int,
    seed: int,
    given: bool = True,
) -> dict[str, ClaimResult]:
    """Each claim against the true gradient at the problem's inputs (unless they only stand for the
    shapes: ``given`` False) and at ``samples`` random points."""
    truth = _Truth(problem)
    with workload.memory_guard():
        return {
            name: _check_claim(problem, truth, name, tree, claims[name], samples, seed, given)
            for name, tree in claim_trees.items()
        }


def _check_claim(
    problem: Problem, truth: _Truth, name: str, tree: Node, text: str, samples: int, seed: int, given: bool
) -> ClaimResult:
    shape = truth.shape(name)

    def result(points: int, counterexample: Counterexample | None = None, **shapes: Any) -> ClaimResult:
        return ClaimResult(
            name, text, to_text(tree), truth.formula(name), None, points, counterexample, truth.derivation, shape,
            **shapes,
        )  # fmt: skip

    try:
        claimed_shape = output_shape(tree, problem.shapes)
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
    workload.check(tree, problem.shapes)  # the claim is untrusted text too: refused before any work
    checked = 0
    for at, point in _points(problem, samples, seed, given):
        if at != GIVEN and not np.all(np.isfinite(evaluate(problem.tree, point))):
            continue  # outside the expression's domain: no derivative to compare there
        actual = truth.values(name, point)
        claimed = np.broadcast_to(evaluate(tree, point), shape)
        if at != GIVEN and not (np.isfinite(actual).all() and np.isfinite(claimed).all()):
            continue  # outside the domain of the expression or of the claim: draw again
        checked += 1
        index = _first_difference(claimed, actual)
        if index is not None:
            found = Counterexample(
                dict(point), float(claimed[index]), float(actual[index]), _autograd_at(problem, point, name, index),
                index, at,
            )  # fmt: skip
            return result(checked, found, claimed_shape=claimed_shape)
        if checked > samples:
            break
    return result(checked, claimed_shape=claimed_shape)


def _broadcasts(claimed: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(claimed, shape) == shape
    except ValueError:
        return False


def _points(problem: Problem, samples: int, seed: int, given: bool) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """The given inputs, then random points of their shapes (a bounded number of draws): even draws
    from (0.1, 3), where logs and roots are defined, odd ones from (-3, 3). Draw K depends only on the
    seed and K, so that a counterexample can be drawn again. Labels keep their given values."""
    if given:
        yield GIVEN, problem.inputs
    labels = problem.labels  # data, the same at every point
    for k in range(2 * samples + 4):
        rng = np.random.default_rng([seed, k])
        low = 0.1 if k % 2 == 0 else -3.0
        yield (
            f"random point {k} (--seed {seed})",
            {
                name: labels[name] if name in labels else rng.uniform(low, 3.0, size=shape)
                for name, shape in problem.shapes.items()
            },
        )


def _first_difference(claimed: np.ndarray, actual: np.ndarray) -> tuple[int, ...] | None:
    """The first element where the claim is not the gradient, or None."""
    with np.errstate(all="ignore"):
        finite = np.abs(actual[np.isfinite(actual)])
        scale = float(finite.max()) if finite.size else 0.0
        close = np.abs(claimed - actual) <= ATOL + RTOL * np.abs(actual) + _SCALE_RTOL * scale
    same = close | (np.isnan(actual) & np.isnan(claimed)) | (actual == claimed)
    if same.all():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(~same)[0]), actual.shape))


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
