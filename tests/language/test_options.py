"""Keyword and string arguments of a call: the options each record declares, parsed as literals of their
type, held by the tree without their defaults, printed back so that the text round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backcalc import ops
from backcalc.errors import ParseError
from backcalc.language.parser import parse
from backcalc.language.tree import Node, to_latex


@pytest.mark.parametrize(
    ("source", "printed", "options"),
    [
        ("sum(x, 1, keepdim=True)", "sum(x, 1, keepdim=True)", (("keepdim", True),)),
        ("sum(x, keepdim = True)", "sum(x, keepdim=True)", (("keepdim", True),)),
        ("mean(x, 0, keepdim=False)", "mean(x, 0)", ()),  # a default is left out
        ("logsumexp(x, -1, keepdim=True)", "logsumexp(x, -1, keepdim=True)", (("keepdim", True),)),
    ],
)
def test_options_parse_print_and_round_trip(source, printed, options):
    tree = parse(source)
    assert tree.options == options
    assert str(tree) == printed
    assert parse(printed) == tree


def test_options_take_part_in_equality_and_hashing():
    assert parse("sum(x, 1, keepdim=True)") != parse("sum(x, 1)")
    assert parse("sum(x, 1, keepdim=False)") == parse("sum(x, 1)")
    assert len({parse("sum(x, 1, keepdim=True)"), parse("sum(x,1,keepdim=True)")}) == 1


def test_latex_names_the_options():
    assert to_latex(parse("sum(x, 1, keepdim=True)")) == r"\sum x_{\text{dim} 1}\left[\text{keepdim=True}\right]"
    assert to_latex(parse("sum(x, 1)")) == r"\sum x_{\text{dim} 1}"  # as before options existed


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("sum(x, 1, keepdims=True, keepdim=True)", "keepdim= twice", 26),  # keepdims is keepdim, as in torch
        ("sum(x, axis=1)", "no option axis=", 8),
        ("sin(x=1)", "sin() takes no options", 5),
        ("sum(x, 1, keepdim=1)", "keepdim= must be True or False", 19),
        ("sum(x, 1, keepdim=x)", "must be a literal: True or False", 19),
        ("sum(x, 1, keepdim=True*2)", "must be a literal", 23),
        ("sum(x, keepdim=True, keepdim=False)", "keepdim= twice", 22),
        ("sum(keepdim=True, x)", "cannot follow an option", 19),
        ("sum(x, 1, 2)", "takes 1 or 2 arguments", 9),  # at the comma, as before
        ("x = 1", "assignments and comparisons", 3),
        ("sum(x) == 1", "assignments and comparisons", 8),
        ("True + x", "keyword 'True'", 1),
        ("sum(x, 'a')", "strings are not allowed", 8),
        ("sum(x, keepdim='yes')", "keepdim= must be True or False", 16),
    ],
)
def test_bad_options_point_at_the_spot(source, message, column):
    with pytest.raises(ParseError) as info:
        parse(source)
    assert message in info.value.message
    assert info.value.start + 1 == column


def test_keepdims_is_keepdim_as_torch_takes_both():
    assert parse("sum(x, 1, keepdims=True)") == parse("sum(x, 1, keepdim=True)")
    assert str(parse("max(x, 0, keepdims=True)")) == "max(x, 0, keepdim=True)"


# -- a law: every call with options prints to text that parses back to the same tree --------------------
# Calls of tensors whose options are literals drawn below (a subscript's key and arange's count have
# their own tests, in tests/language/test_subscripts.py).
WITH_OPTIONS = [
    op
    for op in ops.all_ops()
    if op.options and op.arity and op.syntax is ops.Syntax.CALL and all(o.valid is None for o in op.options)
]


def _value(option: ops.Option) -> st.SearchStrategy[ops.OptionValue]:
    if option.kind is bool:
        return st.booleans()
    if option.kind is int:
        return st.integers(-5, 5)
    if option.kind is float:
        return st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-6)
    if option.kind is tuple:
        return st.lists(st.integers(-1, 4), min_size=1, max_size=3).map(tuple)
    return st.sampled_from(option.choices)


@st.composite
def calls(draw: st.DrawFn) -> Node:
    op = draw(st.sampled_from(WITH_OPTIONS))
    args = tuple(Node("variable", (), name) for name in ("x", "y", "w")[: op.arity])
    dim = draw(st.sampled_from([None, 0, -1])) if op.takes_dim else None
    given_values = {option.name: draw(_value(option)) for option in op.options if draw(st.booleans())}
    return Node(op.name, args, "", dim, options=op.canonical(given_values))


@given(calls())
def test_a_call_with_options_round_trips(node):
    assert parse(str(node)) == node
