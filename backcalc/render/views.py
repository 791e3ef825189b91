"""Which view draws which result: the terminal view for ``rich.print(result)``, and the one line of
``repr(result)``."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, cast

from rich.console import Console, ConsoleOptions
from rich.text import Text

from ..analyses.check.grade import CheckResult
from ..analyses.derivatives import Derivatives
from ..analyses.descend import Descent
from ..analyses.explain import Explanation
from ..analyses.gradient_result import GradientResult
from ..formats.numfmt import text
from .check_view import render_check
from .derivatives_view import render_derivatives
from .descend_view import render_descent
from .explain_view import render_explanation
from .html import to_html, to_latex
from .terminal import render_gradient

#: The terminal view of each kind of result (``backcalc grad``'s, ``explain``'s, ...).
DRAWERS: dict[type, Callable[[Any, Console], None]] = {
    GradientResult: render_gradient,
    Explanation: render_explanation,
    Descent: render_descent,
    CheckResult: render_check,
    Derivatives: render_derivatives,
}


def _drawer(result: Any) -> Callable[[Any, Console], None]:
    try:
        return DRAWERS[type(result)]
    except KeyError:
        raise TypeError(f"no view for {type(result).__name__}") from None


def terminal_view(result: Any, console: Console, options: ConsoleOptions) -> Text:
    """The command's view of ``result``, drawn for ``console`` at the width rich offers."""
    # The views print line by line on a console; draw on a twin console writing to a string (same
    # colours, same terminal-ness, so the same symbols) and hand rich the styled text.
    twin = Console(
        file=io.StringIO(),
        width=options.max_width,
        color_system=cast(Any, console.color_system),  # the name of the system, which Console accepts
        force_terminal=console.is_terminal,
        no_color=console.no_color,
        highlight=False,
        soft_wrap=False,
        markup=False,  # as the command's own console: [nan, 4.] is a tensor, not a style tag
    )
    _drawer(result)(result, twin)
    output = twin.file.getvalue()  # type: ignore[attr-defined]
    if not console.is_terminal:
        output = "\n".join(line.rstrip() for line in output.splitlines()) + "\n"
    return Text.from_ansi(output.removesuffix("\n"), no_wrap=True)


def _number(value: float | None, dtype: str) -> str:
    return "None" if value is None else text(value, dtype)


def one_line(result: Any) -> str:
    """``GradientResult('x**3 + x**2', loss=50, verdict='agree')``: what, the loss and the verdict."""
    name = type(result).__name__
    if isinstance(result, GradientResult | Explanation):
        facts = f"loss={_number(result.loss, result.dtype)}, verdict={str(result.verdict)!r}"
    elif isinstance(result, Descent):
        verdict = (
            "diverged"
            if result.diverged
            else "interrupted"
            if result.interrupted
            else "agree"
            if result.agree
            else "disagree"
        )
        facts = f"loss={_number(result.final_loss, result.dtype)}, steps={len(result.steps)}, verdict={verdict!r}"
    elif isinstance(result, CheckResult):
        facts = f"claims={list(result.claims)!r}, verdict={'right' if result.right else 'wrong'!r}"
    elif isinstance(result, Derivatives):
        expression = result.problem.expression
        loss = f"loss={_number(result.loss, result.problem.dtype)}, " if result.kind == "hessian" else ""
        verdict = "agree" if result.agree else "disagree"
        return f"{name}({result.kind!r}, {expression!r}, {loss}verdict={verdict!r})"
    else:
        raise TypeError(f"no view for {name}")
    return f"{name}({result.expression!r}, {facts})"


__all__ = ["one_line", "terminal_view", "to_html", "to_latex"]
