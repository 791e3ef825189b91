"""Code export: the loss, the gradient and the Hessian as a self-contained Python file in NumPy or
torch (``backcalc grad --emit numpy|torch``). :func:`emit` writes the file from formula trees
(:mod:`.source`, by the generic walker of :mod:`.writer`, each operation written by its record);
:func:`emit_gradient` takes them from a prepared problem: backprop's formulas in matrix notation
(:class:`~backcalc.symbolic.formulas.Backprop`), those whose values backcalc shows.
"""

from __future__ import annotations

from collections.abc import Mapping

from ... import limits
from ..._version import __version__
from ...errors import InputError, LimitError
from ...language.tree import NUMBER, Node
from ...symbolic.formulas import Backprop
from ..problem import Problem
from .source import Signature, emit

__all__ = ["Signature", "emit", "emit_gradient", "emit_hessian"]


def emit_gradient(
    problem: Problem, target: str, command: str = "grad", hessian: Node | Mapping[str, Node] | None = None
) -> str:
    """The file of ``problem``'s loss and gradient (each input of ``wrt``), and of ``hessian``'s formula
    when given, in ``target``."""
    try:  # the reduction matters only for an output that is not a scalar
        backward = Backprop(problem.tree, problem.shapes, problem.reduce)
    except NotImplementedError as exc:
        raise InputError(f"--emit needs the gradient in matrix notation, which backcalc has not here: {exc}") from None
    gradients = {}
    for name in problem.wrt:
        formula = backward.gradient(name)
        gradients[name] = formula if formula is not None else Node(NUMBER, (), "0")
    distinct = {id(node) for formula in [problem.tree, *gradients.values()] for node in formula.walk()}
    if len(distinct) > limits.MAX_EMITTED_NODES:
        raise LimitError(
            f"the formulas have {len(distinct):,} distinct nodes, over the {limits.MAX_EMITTED_NODES:,} "
            "that --emit writes"
        )
    return emit(target, problem.tree, gradients, signature(problem, target, command), hessian)


def emit_hessian(problem: Problem, target: str, hessian: Node | Mapping[str, Node] | None = None) -> str:
    """The file of ``problem``'s loss, gradient and Hessian (its formula in matrix notation, which
    must be known: until backcalc derives one, none is)."""
    if hessian is None:
        raise InputError(
            "hessian --emit needs the Hessian in matrix notation, which backcalc does not have for this "
            "expression yet (grad --emit writes the loss and the gradient)"
        )
    return emit_gradient(problem, target, "hessian", hessian)


def emit_hessian_of(problem: Problem, target: str) -> str:
    """The file of ``problem``'s loss, gradient and Hessian, the Hessian from its formula in matrix notation
    (with ``diag(v) @ M`` written as a scaling, as backcalc evaluates it)."""
    from ...symbolic.lowering import for_numpy
    from .. import second_order

    try:
        formula = second_order.hessian_formula(problem)
    except NotImplementedError as exc:
        raise InputError(f"hessian --emit needs the Hessian in matrix notation, and there is none here: {exc}") from (
            None
        )
    if formula.direction is not None:
        raise InputError(
            "hessian --emit writes the Hessian of a vector (or scalar) input as a matrix; of a matrix input "
            f"it is a linear map ({formula.text or 'its formula'} along {formula.direction}): --wrt a vector"
        )
    return emit_hessian(problem, target, for_numpy(formula.tree, problem.shapes))


def signature(problem: Problem, target: str, command: str = "grad") -> Signature:
    """What the file of ``problem`` takes and says."""
    reduction = problem.reduction
    loss = f"the {reduction} of the output" if reduction else "the output itself (a scalar)"
    description = [
        f"Emitted by backcalc {__version__} (`backcalc {command} --emit {target}`), computing in float64.",
        f"The loss is {loss} of:",
        *(f"    {line}" for line in problem.parsed.splitlines()),
        f"The gradient of each of {', '.join(problem.wrt) or 'no input'}: backprop's formulas, in matrix notation.",
    ]
    return Signature(
        shapes=problem.shapes,
        labels=list(problem.labels),
        reduce=reduction,
        description=description,
        values=problem.cast_inputs(),
    )
