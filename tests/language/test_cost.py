from __future__ import annotations

import pytest

from backcalc.errors import ParseError
from backcalc.language.parser import parse


@pytest.mark.parametrize(
    "source",
    [
        "9**9**9",
        "2**(10**10)",
        "9**9**9**9",
        "((9**9)**9999)**9999",
        "10**300*10**300",
        "(1/9)**(9**9)",
        "x + 2^1000",
        "(2*x)**100000",
        "(10**300*x)**100",
        "exp(x)*(3x)**(10**6)",
    ],
)
def test_huge_constants_are_refused_before_any_big_integer_arithmetic(source):
    with pytest.raises(ParseError):  # the arithmetic itself would not end: refused, it never starts
        parse(source)


@pytest.mark.parametrize(
    "source",
    ["2**100 * x", "(2x)**1000", "x**(10**10)", "1/0 + x", "(-8)**(1/3) * x", "exp(1000)**2 * x", "0**-1 + x"],
)
def test_large_but_bounded_constants_are_accepted(source):
    parse(source)
