"""Labels as values: whole numbers become int64, anything else is refused naming the input."""

from __future__ import annotations

import numpy as np
import pytest

from backcalc.errors import InputError
from backcalc.inputs.values import parse_value, to_labels


def test_whole_numbers_become_int64():
    labels = to_labels(parse_value("[2, 0, 1.0]", "y"), "y")
    assert labels.dtype == np.int64 and labels.tolist() == [2, 0, 1]
    assert to_labels(parse_value("-3", "y"), "y").tolist() == -3


@pytest.mark.parametrize("text", ["[2, 0.5]", "[nan, 1]", "[inf]", "1e300"])
def test_anything_else_is_refused_naming_the_input(text):
    with pytest.raises(InputError, match=r"^y is used as an index or class label and must hold whole numbers"):
        to_labels(parse_value(text, "y"), "y")
