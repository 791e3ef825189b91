"""What a claim is graded against: the true gradient of the loss with respect to each input and each
step of a program, at the given inputs and at random points of their shapes, and the values a claim's
``dNAME`` (the gradient of the loss with respect to ``NAME``, as a student writes a backward pass)
stands for there."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ...errors import InputError
from ...language.shapes import infer
from ...language.tree import VARIABLE, Node, printable, to_text
from ...numeric.numpy_eval import evaluate
from ..problem import Problem
from .result import ATOL, GIVEN, RTOL

_SCALE_RTOL = 1e-9  # float64 sums of many terms round relative to the largest element, not each one

Point = dict[str, np.ndarray]
Source = Callable[[str, int], np.ndarray]  # (name, point's index) -> d loss / d name there
UPSTREAM = "d"  # dNAME: d loss / d NAME


def upstream_of(variable: str, known: set[str]) -> str | None:
    """The name whose gradient ``variable`` stands for (``dW`` -> ``W``), or None."""
    if variable in known or not variable.startswith(UPSTREAM):
        return None
    name = variable[len(UPSTREAM) :]
    return name if name in known else None


class Truth:
    """The true gradient of the problem's loss (its sum), per input or step, at any point of the
    same shapes; each value computed once per point."""

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
        self.known = {*problem.shapes, *self.steps}
        self._step_formulas: dict[str, Node] | None = None
        self._backprop: Any = None
        self._values: dict[tuple[str, int], np.ndarray] = {}

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of an input, or of a program's step."""
        if name in self.steps:
            return infer(self.steps[name].node, self.problem.shapes)[id(self.steps[name].node)]
        return self.problem.shapes[name]

    def shapes_for(self, tree: Node) -> dict[str, tuple[int, ...]]:
        """The shapes of the inputs and of the upstream gradients ``tree`` uses."""
        shapes = dict(self.problem.shapes)
        for variable in tree.variables():
            name = upstream_of(variable, self.known)
            if name is not None:
                shapes[variable] = self.shape(name)
        return shapes

    def step_formula(self, name: str) -> Node:
        """d loss / d step, by backprop on the program (as ``grad`` gives it)."""
        if self._step_formulas is None:
            backprop = self.backprop()
            self._step_formulas = {
                step: formula for step, item in self.steps.items() if (formula := backprop.grads.get(id(item.node)))
            }
        if name not in self._step_formulas:
            if self.steps[name].node.is_constant():
                raise InputError(
                    f"claim for {name}: {name} is a constant of the program: no gradient is derived for it"
                )
            raise InputError(f"claim for {name}: the loss does not depend on the step {name}, so it has no gradient")
        return self._step_formulas[name]

    def backprop(self) -> Any:
        """The backward pass of the loss (its sum) on the program's graph, made once."""
        if self._backprop is None:
            from ...symbolic.formulas import Backprop

            self._backprop = Backprop(self.problem.tree, self.problem.shapes)
        return self._backprop

    def uses(self, name: str) -> list[tuple[str, Node]]:
        """What each use of ``name`` (a step or an input) passes back to it, by backprop's rule, with
        the parent's ``dNAME`` where the parent is a step: the terms of its gradient."""
        backprop = self.backprop()
        node = self.steps[name].node if name in self.steps else None
        found = []
        for edge in backprop.edges:
            arg = edge.parent.args[edge.index]
            if arg is not node and not (node is None and arg.is_variable and arg.text == name):
                continue
            parent = edge.parent
            upstream = backprop.grads[id(parent)]
            if parent.name:
                upstream = Node(VARIABLE, (), UPSTREAM + parent.name)
                backprop.simplify.input_shapes[upstream.text] = self.shape(parent.name)
            found.append((parent.name or to_text(parent), backprop.contribution(edge.rule, parent, upstream, arg)))
        return found

    def formula(self, name: str) -> str:
        if name in self.steps:
            return shown(self.step_formula(name))
        if self.derivation == "backprop":
            return shown(self.side.formula(name, 1))
        return str(self.side.text(name, 1, False)[0])

    def values(self, name: str, point: Mapping[str, np.ndarray], key: int | None = None) -> np.ndarray:
        """d loss / d ``name`` at ``point`` (the ``key``-th point: remembered)."""
        if key is not None and (name, key) in self._values:
            return self._values[(name, key)]
        if name in self.steps:
            value = np.array(np.broadcast_to(evaluate(self.step_formula(name), point), self.shape(name)), dtype=float)
        else:
            value = np.asarray(self.side.values(name, point, self.problem.output_shape, 1), dtype=np.float64)
        if key is not None:
            self._values[(name, key)] = value
        return value

    def bindings(
        self, tree: Node, point: Point, key: int, source: Callable[[str, int], np.ndarray] | None = None
    ) -> Point:
        """``point`` with a value for each ``dNAME`` of ``tree``: the true gradient of ``NAME``, or
        what ``source`` says (the student's own claims)."""
        bound = dict(point)
        for variable in tree.variables():
            name = upstream_of(variable, self.known)
            if name is not None:
                bound[variable] = source(name, key) if source is not None else self.values(name, point, key)
        return bound


def shown(formula: Node) -> str:
    from ...symbolic.matrix import TOO_LONG

    return to_text(formula, named=True) if printable(formula) else f"({TOO_LONG})"


def points(problem: Problem, samples: int, seed: int, given: bool) -> list[tuple[str, Point]]:
    """The given inputs, then random points of their shapes inside the expression's domain (its value is
    finite there): ``samples + 1`` points in all, from a bounded number of draws."""
    chosen = [(GIVEN, dict(problem.inputs))] if given else []
    for at, point in _draws(problem, samples, seed):
        if len(chosen) > samples:
            break
        with np.errstate(all="ignore"):
            if np.all(np.isfinite(evaluate(problem.tree, point))):
                chosen.append((at, point))
    return chosen


def _draws(problem: Problem, samples: int, seed: int) -> Iterator[tuple[str, Point]]:
    """Even draws from (0.1, 3), where logs and roots are defined, odd ones from (-3, 3). Draw K depends
    only on the seed and K, so that a counterexample can be drawn again. Labels keep their given values."""
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


def first_difference(claimed: np.ndarray, actual: np.ndarray) -> tuple[int, ...] | None:
    """The first element where the claim is not the gradient, or None."""
    with np.errstate(all="ignore"):
        finite = np.abs(actual[np.isfinite(actual)])
        scale = float(finite.max()) if finite.size else 0.0
        close = np.abs(claimed - actual) <= ATOL + RTOL * np.abs(actual) + _SCALE_RTOL * scale
    same = close | (np.isnan(actual) & np.isnan(claimed)) | (actual == claimed)
    if same.all():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(~same)[0]), actual.shape))
