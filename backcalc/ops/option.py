"""The options a call of the language accepts (``keepdim=True``, ``approximate="tanh"``, ``stride=(2, 1)``):
their type, how a value is checked and how it is written back. The records of :mod:`.record` hold them."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The value of an option: a literal of the language (a number, True or False, a short string, a tuple
#: of integers: a shape).
OptionValue = bool | int | float | str | tuple[int, ...]
#: The options of one call, as a node holds them: (name, value) pairs in the record's order, defaults left out.
Options = tuple[tuple[str, OptionValue], ...]


class OptionError(ValueError):
    """Raised when an option's value is not of its type or not among its choices; the parser points at it."""


@dataclass(frozen=True)
class Option:
    """An option a call accepts, as torch names it: its default gives its type (bool, int, float or str)."""

    name: str
    default: OptionValue
    choices: tuple[OptionValue, ...] = ()  # the values it may take (of its default's type, or beside it: ord)
    positional: bool = False  # may also be written without its name, after the tensors: leaky_relu(x, 0.1)
    valid: Callable[[Any], bool] | None = None  # a further check of a value (raises OptionError to refuse it)
    pair: bool = False  # an integer or a tuple of integers, as torch's stride=2 or stride=(2, 1)
    aliases: tuple[str, ...] = ()  # other names torch accepts for it (keepdims for keepdim)

    @property
    def kind(self) -> type:
        return type(self.default)

    def wanted(self) -> str:
        """What a value must be, in words."""
        if self.pair:
            return "an integer or a tuple of integers, as 2 or (2, 1)"
        if self.kind is bool:
            return "True or False"
        if self.kind is int:
            return "an integer"
        if self.kind is float:
            return "a number"
        if self.kind is tuple:
            return "a tuple of integers, as (2, -1)"
        if not self.choices:
            return "a quoted text"
        return "one of " + ", ".join(option_text(choice) for choice in self.choices)

    def check(self, value: OptionValue) -> OptionValue:
        """``value`` as this option holds it (an integer for a float option becomes a float)."""
        given = type(value)
        if self.choices and given is not bool and value in self.choices:
            return next(choice for choice in self.choices if choice == value)  # 2.0 is the choice 2
        whole = given is int or (isinstance(value, tuple) and all(type(item) is int for item in value))
        if self.kind is float and isinstance(value, int | float) and given is not bool:
            value, given = float(value), float  # then checked as a float
        if (given is not self.kind or (self.choices and value not in self.choices)) and not (self.pair and whole):
            hint = ""
            if isinstance(value, str) and self.choices:
                near = difflib.get_close_matches(value, [c for c in self.choices if type(c) is str], n=1, cutoff=0.5)
                hint = f'; did you mean "{near[0]}"?' if near else ""
            raise OptionError(f"{self.name}= must be {self.wanted()}{hint}")
        if self.valid is not None:
            self.valid(value)
        return value


def option_text(value: OptionValue) -> str:
    """An option's value as the language writes it: ``True``, ``0.1``, ``-1.0``, ``"tanh"``."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    return str(value)
