"""Programs of named steps: statements, comments, one graph with each step shared, and bad programs
refused with the line and column."""

from __future__ import annotations

import pytest

from backcalc.errors import ParseError
from backcalc.language.parser import parse
from backcalc.language.program import parse_program
from backcalc.language.tree import to_text

SEED = "y_hat = w*x; s = y_hat - y; loss = s**2"


def test_the_seed_as_steps():
    program = parse_program(SEED)
    assert [step.name for step in program.steps] == ["y_hat", "s", "loss"]
    assert [step.expression for step in program.steps] == ["w*x", "y_hat - y", "s**2"]
    assert program.variables() == ["w", "x", "y"]
    assert program.output.name == "loss"
    assert program.text() == SEED


def test_one_expression_is_parsed_as_before():
    for text in ["(w*x - y)**2", "sum(W@x)", "x**3 + x**2"]:
        program = parse_program(text)
        assert program.is_expression
        assert to_text(program.output) == to_text(parse(text))


def test_newlines_comments_and_a_bare_last_expression():
    program = parse_program(
        "# a two-layer net\n"
        "h = tanh(W1@x +   # a comment inside the parentheses\n"
        "         b1)\n"
        "\n"
        "z = W2@h; sum(z**2)  # the loss\n"
    )
    assert [step.name for step in program.steps] == ["h", "z", ""]
    assert program.text() == "h = tanh(W1@x + b1); z = W2@h; sum(z**2)"


def test_a_step_used_twice_is_one_shared_node():
    program = parse_program("a = w*x; b = a*a + a; b")
    a = program.steps[0].node
    uses = [arg for node in program.output.walk() for arg in node.args if arg is a]
    assert len(uses) == 3  # a*a (twice) and + a: the same object, visited once
    assert sum(1 for node in program.output.walk() if node is a) == 1


def test_formulas_print_steps_by_name():
    program = parse_program("h = tanh(x); loss = sum(h**2)")
    assert to_text(program.output) == "sum(h**2)"
    assert to_text(program.output, named=True) == "loss"


@pytest.mark.parametrize(
    ("source", "message", "where"),
    [
        ("b = a*2; a = x*3; b", "a is used before it is defined (line 1 assigns it)", "line 1, column 5"),
        ("s = s*2; s", "s is used in its own definition", "line 1, column 5"),
        ("a = x*2\na = 3*x\na", "a is assigned twice (first at line 1)", "line 2, column 1"),
        ("exp = x*2; exp", "a step cannot be named exp: exp is a function", "line 1, column 1"),
        ("pi = x*2; pi", "a step cannot be named pi: pi is a constant", "line 1, column 1"),
        ("# only a comment\n\n", "the program is empty", "line 1, column 1"),
        ("a = 2\nb = a*3", "the program's output does not depend on any input", "line 2, column 5"),
        ("x*2; y = x", "only the last statement may be a bare expression", "line 1, column 1"),
        ("a.b = x; a", "the left of '=' must be a step's name", "line 1, column 1"),
        ("h = x*\nh", "the expression ends too early", "line 1, column 7"),
        ("h = tanh(x)\nz = h @@ x\nz", "expected a number, a name or '('", "line 2, column 8"),
        ("h = x\nh*2", "h = x only gives x another name", "line 1, column 5"),
        ("a = x*2; b = a; b*2", "b = a only gives a another name", "line 1, column 14"),
        ("a = ; a", "nothing after '='", "line 1, column 3"),
    ],
)
def test_bad_programs_point_at_the_line_and_column(source, message, where):
    with pytest.raises(ParseError) as caught:
        parse_program(source)
    line = caught.value.one_line()
    assert message in line
    assert f"(at {where} of the program)" in line
    assert "\n" not in line


def test_the_limits_hold_for_the_program_as_a_whole():
    deep = "\n".join(["a0 = x"] + [f"a{i} = (a{i - 1} + x)*2" for i in range(1, 60)])
    with pytest.raises(ParseError, match=r"the program nests \d+ levels deep"):
        parse_program(deep.replace("a0 = x", "a0 = x*1"))
    many = "\n".join(f"a{i} = " + "+".join(["x"] * 40) for i in range(70)) + "\na69"
    with pytest.raises(ParseError, match="more than 5,000 nodes"):
        parse_program(many)
    with pytest.raises(ParseError, match="limit is 10,000"):
        parse_program("a = x\n" + "b = " + "x+" * 6000 + "x\nb")
    with pytest.raises(ParseError, match="out of range"):  # a constant that grows from step to step
        parse_program("a = 10**200; b = a*a*x; b")


def test_a_doubling_program_stays_linear():
    # Each step uses the one before twice: written out, 2**61 nodes; as a graph, one a step.
    source = "; ".join(["a0 = x*x"] + [f"a{i} = a{i - 1}*a{i - 1}" for i in range(1, 60)])
    program = parse_program(source)
    assert sum(1 for _ in program.output.walk()) == 62  # x, x, then one node a step
    assert len(program.text()) < 1000


def test_a_comment_ends_at_a_bare_carriage_return():
    # Old Mac files end their lines with \r alone: the comment ends there, the next step is kept.
    program = parse_program("a = w*x  # first step\rloss = (a - 2)**2\r")
    assert program.text() == "a = w*x; loss = (a - 2)**2"


def test_a_step_the_loss_does_not_use_is_bounded_too():
    deep = "a0 = x*w; " + "".join(f"a{i} = sin(a{i - 1}); " for i in range(1, 300)) + "loss = x*w"
    with pytest.raises(ParseError, match="the program nests 101 levels deep"):
        parse_program(deep)


def test_the_limits_speak_of_the_program():
    with pytest.raises(ParseError) as caught:
        parse_program("a = 10**200; b = a*a*x; b")
    assert "(at line 1, column 18 of the program)" in caught.value.one_line()
    with pytest.raises(ParseError, match=r"the program is 10,0\d\d characters long"):
        parse_program("a = x\n# " + "c" * 10_000 + "\na")


def test_dim_by_name_as_torch_writes_it():
    assert to_text(parse_program("sum(x, dim=1, keepdim=True)").output) == "sum(x, 1, keepdim=True)"
    with pytest.raises(ParseError, match="given its dimension twice"):
        parse_program("sum(x, 0, dim=1)")


@pytest.mark.parametrize("source", ["x**2;", "x**2  # a comment", "; x**2", "x**2\n"])
def test_one_expression_with_a_comment_or_a_stray_separator(source):
    program = parse_program(source)
    assert program.is_expression and program.text() == "x**2"
