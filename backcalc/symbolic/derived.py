"""What a symbolic side gives for one input: plain data, whichever side made it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Derived:
    """The symbolic gradient of the loss with respect to one input."""

    text: str | None  # d loss / d element (one formula), or d loss / d input (matrix notation); None: too long
    latex: str | None
    values: np.ndarray  # evaluated at the inputs, with the input's shape (float64)
    note: str | None = None
    by: str = "sympy"  # who derived it: "sympy", or "backprop" (matrix notation, by backprop on the tree)


class SympySide:
    """What the two sympy sides share: ``derive`` from their ``text`` and ``values``."""

    def text(self, name: str, count: int, simplify: bool) -> tuple[str, str, str | None]:
        raise NotImplementedError

    def values(
        self, name: str, inputs: Mapping[str, np.ndarray], output_shape: tuple[int, ...], count: int
    ) -> np.ndarray:
        raise NotImplementedError

    def derive(
        self,
        inputs: Mapping[str, np.ndarray],
        wrt: list[str],
        output_shape: tuple[int, ...],
        count: int,
        simplify: bool = False,
    ) -> dict[str, Derived]:
        """Differentiate the loss (the sum of the output, divided by ``count`` for a mean) with respect
        to each input in ``wrt``, and evaluate the derivative at ``inputs``."""
        results = {}
        for name in wrt:
            text, latex, note = self.text(name, count, simplify)
            results[name] = Derived(text, latex, self.values(name, inputs, output_shape, count), note)
        return results
