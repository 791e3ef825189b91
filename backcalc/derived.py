"""What a symbolic side gives for one input: plain data, whichever side made it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Derived:
    """The symbolic gradient of the loss with respect to one input."""

    text: str  # the formula: d loss / d element (one formula), or d loss / d input (matrix notation)
    latex: str
    values: np.ndarray  # evaluated at the inputs, with the input's shape (float64)
    note: str | None = None
    by: str = "sympy"  # who derived it: "sympy", or "backprop" (matrix notation, by backprop on the tree)
