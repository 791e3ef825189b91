"""The closing line of each view, in words, once for the terminal and the HTML: what the verdict means
for this result, with the tolerance."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from ..analyses.gradient_result import GradientResult
from ..numeric.verdict import Word

if TYPE_CHECKING:  # explain imports sympy, which a view of a large Hessian or a gradient does not need
    from ..analyses.explain import Explanation


def gradient_message(result: GradientResult) -> str:
    """Who agreed on how many gradients, or where they differ and why; and the result's notes."""
    tol = f"rtol {result.tolerance.rtol:g}, atol {result.tolerance.atol:g}"
    count = len(result.gradients)
    if count == 0:
        return f"no input to differentiate: the loss is a constant ({tol})"
    verdict = result.verdict
    names = ", ".join(name for name, g in result.gradients.items() if g.verdict.word == verdict) or "the loss"
    plural = "s" if count > 1 else ""
    witnesses = _witnesses(result)
    match verdict:
        case Word.AGREE:
            message = f"{witnesses} agree on {count} gradient{plural} ({tol})"
        case Word.ROUNDING:
            message = f"{witnesses} agree on {count} gradient{plural}, within float rounding ({tol})"
        case Word.UNCHECKED:
            message = f"{names}: not checked by a second side (see the notes; try --check-fd) ({tol})"
        case Word.EDGE:
            message = f"differences only where no derivative exists ({tol})"
        case Word.DISAGREE:
            message = f"{witnesses} disagree on {names} ({tol})"
        case _:
            assert_never(verdict)
    return "; ".join([message, *result.notes])


def _witnesses(result: GradientResult) -> str:
    """Who was compared: symbolic and autograd, and finite differences with --check-fd."""
    symbolic = any(g.symbolic is not None for g in result.gradients.values())
    names = (["symbolic"] if symbolic else []) + ["autograd"] + (["finite differences"] if result.check_fd else [])
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


def explanation_message(explanation: Explanation) -> str:
    tol = f"rtol {explanation.tolerance.rtol:g}, atol {explanation.tolerance.atol:g}"
    verdict = explanation.verdict
    match verdict:
        case Word.AGREE:
            return f"the chain rule matches autograd at every node ({tol})"
        case Word.ROUNDING:
            return f"the chain rule matches autograd at every node, within float rounding ({tol})"
        case Word.UNCHECKED:
            return f"some node could not be checked against autograd ({tol})"
        case Word.EDGE:
            return f"the chain rule matches autograd except where no derivative exists ({tol})"
        case Word.DISAGREE:
            return f"the chain rule and autograd disagree at some node ({tol})"
        case _:
            assert_never(verdict)
