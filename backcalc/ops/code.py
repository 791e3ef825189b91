"""How an operation is written in emitted code (``backcalc grad --emit numpy|torch``): each record's
``numpy_code`` and ``torch_code``, a :class:`Code` (or its template alone, as a string).

A template is a format string over the arguments' code (``{0}``, ``{1}``, or ``{args}`` for all of
them, comma-separated) and the record's keywords (``{dim}`` and the options, written as Python
literals: ``{keepdim}`` is ``True``, ``{reduction}`` is ``'mean'``), or a function of the arguments'
code and the keywords' values that returns the code. A template written as an operator
(``"{0} + {1}"``) says its precedence, so that the emitter parenthesizes its arguments as Python
needs; a call needs none. Where the code calls a function of its own (a softmax along a dimension),
the function's source is a helper, emitted once in a file that uses it; its name starts with ``_``.

The emitted code runs on its own: it may use only NumPy (``np``) or torch (``torch``) and its helpers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The targets of emitted code, and the name each imports.
TARGETS = {"numpy": "np", "torch": "torch"}


@dataclass(frozen=True)
class Code:
    """One operation's code in one target."""

    template: str | Callable[..., str]
    helpers: tuple[str, ...] = ()  # sources of the functions the template calls, each defined once
    precedence: int | None = None  # an operator's (as ops' levels: 1 sum ... 5 atom); None: a call

    def write(self, args: list[str], keywords: dict[str, Any]) -> str:
        """The code of one node, from its arguments' code and its keywords' values."""
        if callable(self.template):
            return self.template(*args, **keywords)
        literals = {name: repr(value) for name, value in keywords.items()}
        return self.template.format(*args, args=", ".join(args), **literals)


def as_code(value: Code | str | None) -> Code | None:
    """A record's field as a :class:`Code` (a string is a call's template)."""
    return Code(value) if isinstance(value, str) else value


def helper_name(source: str) -> str:
    """The name a helper's source defines."""
    found = re.match(r"def (_\w+)\(", source)
    if found is None:
        raise ValueError(f"a helper must define one function whose name starts with _: {source[:40]!r}")
    return found.group(1)


def operator(template: str, precedence: int) -> Code:
    """An operator's code, written as Python writes it: ``{0} + {1}``."""
    return Code(template, precedence=precedence)


# Helpers more than one record calls.

#: A reduction over all elements with every dimension kept, of size 1 (torch's has no keepdim there).
TORCH_KEPT = """def _kept(x, function):
    return getattr(torch, function)(x).reshape((1,) * x.dim())"""


def torch_reduction(function: str) -> Code:
    """torch's ``torch.function(x)`` or ``torch.function(x, dim=d)``, with keepdim."""

    def write(x: str, dim: int | None = None, keepdim: bool = False) -> str:
        if dim is None:
            return f"_kept({x}, {function!r})" if keepdim else f"torch.{function}({x})"
        return f"torch.{function}({x}, dim={dim}" + (", keepdim=True)" if keepdim else ")")

    return Code(write, (TORCH_KEPT,))


def numpy_reduction(function: str) -> Code:
    """NumPy's ``np.function(x, axis=dim, keepdims=keepdim)``."""

    def write(x: str, dim: int | None = None, keepdim: bool = False) -> str:
        axis = "" if dim is None else f", axis={dim}"
        return f"np.{function}({x}{axis}" + (", keepdims=True)" if keepdim else ")")

    return Code(write)
