"""Results that show themselves: as HTML and LaTeX in Jupyter, as the terminal view in
``rich.print(result)``, and as one line in a plain ``repr``.

Every result dataclass takes :class:`Display` as a base (with ``repr=False`` so that the dataclass
keeps this ``__repr__``). The methods import the render layer when called, so importing a result
module stays free of rich, and the results stay plain data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console, ConsoleOptions, RenderableType


class Display:
    """Jupyter's ``_repr_html_`` and ``_repr_latex_``, rich's ``__rich_console__``, a one-line ``__repr__``."""

    __slots__ = ()

    def __repr__(self) -> str:
        from .render.views import one_line

        return one_line(self)

    def _repr_html_(self) -> str:
        from .render.html import to_html

        return to_html(self)

    def _repr_latex_(self) -> str | None:
        from .render.html import to_latex

        return to_latex(self)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterable[RenderableType]:
        from .render.views import terminal_view

        yield terminal_view(self, console, options)
