"""d loss / d each step of a program: the formula by backprop on the program's graph (each record's
rule, in matrix notation, written in the step names: ``d loss / d s = 2*s``), evaluated with NumPy in
float64, beside torch's own gradient of that step (``retain_grad``), compared and judged as the input
gradients are."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BackcalcError
from ..language.tree import Node, printable, to_latex, to_text
from ..numeric.compare import compare
from ..numeric.numpy_eval import evaluate
from ..numeric.verdict import UNCHECKED, Verdict, judge
from ..symbolic.matrix import TOO_LONG
from .gradient_result import StepGradient
from .problem import Backward, Problem

UNUSED = "not used by the loss"
CONSTANT = "a constant of the program: nothing is differentiated with respect to it"


def step_gradients(problem: Problem, passed: Backward, witness: Any) -> dict[str, StepGradient]:
    """Every named step's gradient, in program order; ``witness`` gives the edges and torch's float64
    gradients when a difference asks for them."""
    if not problem.steps:
        return {}
    formulas, note = _formulas(problem)
    unused = {step.name for step in problem.program.unused()} if problem.program is not None else set()
    result = {}
    values: dict[int, Any] = {}  # the formulas share their nodes: each is evaluated and counted once
    sizes: dict[int, Any] = {}
    for step in problem.steps:
        value = passed.steps[step.name]
        auto = passed.step_gradients[step.name]
        base = {"name": step.name, "expr": step.expression, "value": value}
        if step.name in unused or step.node.is_constant() or auto is None:
            why, word = (UNUSED, "unused") if step.name in unused else (CONSTANT, "constant")
            result[step.name] = StepGradient(**base, verdict=None, note=why, ungraded=word)
            continue
        formula = formulas.get(step.name)
        if formula is None:
            result[step.name] = StepGradient(**base, autograd=auto, verdict=UNCHECKED, note=note)
            continue
        with np.errstate(all="ignore"):
            found = evaluate(formula, problem.inputs, known=values)
            symbolic = np.array(np.broadcast_to(found, value.shape), dtype=np.float64)
        comparison = compare(symbolic, auto, witness.tolerance)
        shown = printable(formula, sizes)
        result[step.name] = StepGradient(
            **base,
            formula=to_text(formula, named=True) if shown else None,
            latex=to_latex(formula) if shown else None,
            note=None if shown else TOO_LONG,
            symbolic=symbolic,
            autograd=auto,
            comparison=comparison,
            verdict=_verdict(problem, step.name, symbolic, auto, comparison, witness),
        )
    return result


def _formulas(problem: Problem) -> tuple[dict[str, Node], str | None]:
    """d loss / d step as formulas, or none and the reason."""
    from ..symbolic.formulas import Backprop

    try:
        backprop = Backprop(problem.tree, problem.shapes, "mean" if problem.reduction == "mean" else "sum")
    except (NotImplementedError, BackcalcError) as exc:
        return {}, f"no formula in matrix notation ({exc}): autograd answers alone"
    found = {step.name: backprop.grads.get(id(step.node)) for step in problem.steps}
    return {name: formula for name, formula in found.items() if formula is not None}, None


def _verdict(
    problem: Problem, name: str, symbolic: np.ndarray, auto: np.ndarray, comparison: Any, witness: Any
) -> Verdict:
    sides = {"symbolic": symbolic, "autograd": auto.astype(np.float64)}
    flagged = comparison.outside.any() or not all(np.isfinite(side).all() for side in sides.values())
    if not flagged:
        return judge(comparison.outside, sides, [], problem.output_shape)
    reference = witness.step_reference(name) if comparison.mismatches else None
    # An edge anywhere below the loss may move a step's gradient: every one is a candidate reason.
    return judge(comparison.outside, sides, witness.edges(), problem.output_shape, coarse=True, reference=reference)
