"""Results that show themselves: as HTML and LaTeX in Jupyter, as the terminal view in
``rich.print(result)``, and as one line in a plain ``repr``.

The results are plain data and know nothing of this layer; importing this module installs the hooks
(``_repr_html_``, ``_repr_latex_``, ``__rich_console__``, ``__repr__``) on each result class of
:data:`RESULTS`, as pandas and xarray attach their own. Each hook looks its view up in
:mod:`.views` when a result is displayed, so installing them loads neither rich nor the views.
``backcalc.gradient`` (:mod:`backcalc.api`) and the notebook magic import this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..analyses.check.result import CheckResult
from ..analyses.derivatives import Derivatives
from ..analyses.descend import Descent
from ..analyses.explain import Explanation
from ..analyses.gradient_result import GradientResult

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console, ConsoleOptions, RenderableType

#: Every result class a user can hold; :mod:`.views` has a drawer for each.
RESULTS: tuple[type, ...] = (GradientResult, Explanation, Descent, CheckResult, Derivatives)


def _repr(self: Any) -> str:
    from .views import one_line

    return one_line(self)


def _repr_html_(self: Any) -> str:
    from .views import to_html

    return str(to_html(self))


def _repr_latex_(self: Any) -> str | None:
    from .views import to_latex

    latex: str | None = to_latex(self)
    return latex


def __rich_console__(self: Any, console: Console, options: ConsoleOptions) -> Iterable[RenderableType]:  # noqa: N807
    from .views import terminal_view

    yield terminal_view(self, console, options)


def install(classes: Iterable[type] = RESULTS) -> None:
    """Attach the display hooks to ``classes`` (done once, when this module is imported)."""
    for cls in classes:
        cls.__repr__ = _repr  # type: ignore[assignment,method-assign]
        cls._repr_html_ = _repr_html_  # type: ignore[attr-defined]
        cls._repr_latex_ = _repr_latex_  # type: ignore[attr-defined]
        cls.__rich_console__ = __rich_console__  # type: ignore[attr-defined]


install()
