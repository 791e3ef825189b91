"""JSON input held to the command line's bounds."""

from __future__ import annotations

import pytest

from backcalc.errors import InputError, LimitError
from backcalc.inputs.jsonin import JsonError, loads


def test_valid_json_is_read():
    assert loads('{"x": [1, 2.5, NaN], "s": "\\u2028é"}') == {
        "x": [1, 2.5, pytest.approx(float("nan"), nan_ok=True)],
        "s": "\u2028é",
    }


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("[" + "1" * 5000 + "]", LimitError, "5,000 characters"),
        ("1" * 70, LimitError, "70 characters"),
        ("[1." + "0" * 100 + "]", LimitError, "characters"),
        ("[" * 70 + "]" * 70, LimitError, "nested deeper"),
        ('{"a": ' * 70 + "1" + "}" * 70, LimitError, "nested deeper"),
        ('["[[[[", ' + "[" * 35 + "]" * 35 + "]", LimitError, "nested deeper"),
        ("[1e400]", InputError, "too large"),
        ('["\\ud800"]', InputError, "lone surrogate"),
        ('{"\\udfff": 1}', InputError, "lone surrogate"),
        ("[١٢]", InputError, "non-ASCII digit '١'"),
        ('["x*١٢"]', InputError, "U\\+0661"),
        ('{"x": "１２"}', InputError, "non-ASCII digit '１'"),
        ("[1, 2", JsonError, "not valid JSON"),
        (b"[\xff]", JsonError, "not UTF-8"),
    ],
)
def test_refused(text, error, match):
    with pytest.raises(error, match=match):
        loads(text)


def test_brackets_inside_strings_do_not_count():
    assert loads('["' + "[" * 100 + '"]') == ["[" * 100]
