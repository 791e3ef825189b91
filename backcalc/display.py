"""Results that show themselves: as HTML and LaTeX in Jupyter, as the terminal view in
``rich.print(result)``, and as one line in a plain ``repr``.

Every result dataclass takes :class:`Display` as a base (with ``repr=False`` so that the dataclass
keeps this ``__repr__``). The views live in the render layer, which imports the results; so, as
pandas' ``_repr_html_`` does, the methods look the views up by name when a result is displayed: no
module of the library imports the render layer, importing a result stays free of rich, and the results
stay plain data.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console, ConsoleOptions, RenderableType


class Display:
    """Jupyter's ``_repr_html_`` and ``_repr_latex_``, rich's ``__rich_console__``, a one-line ``__repr__``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(_view("one_line")(self))

    def _repr_html_(self) -> str:
        return str(_view("to_html")(self))

    def _repr_latex_(self) -> str | None:
        latex: str | None = _view("to_latex")(self)
        return latex

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterable[RenderableType]:
        yield _view("terminal_view")(self, console, options)


def _view(name: str) -> Any:
    """A view of the render layer (:mod:`backcalc.render.views`), found by name at display time."""
    return getattr(importlib.import_module("backcalc.render.views"), name)
