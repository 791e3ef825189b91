"""Every refusal of a foreign spelling names the fix to type (backcalc.language.hints)."""

from __future__ import annotations

import pytest

from backcalc.errors import ParseError
from backcalc.language.hints import rewrite, suggest
from backcalc.language.parser import parse

FIXES = [
    ("np.exp(x)", "exp(x)"),
    ("numpy.log(x) + 1", "log(x) + 1"),
    ("math.log(x)", "log(x)"),
    ("mean(x, axis=-1)", "mean(x, -1)"),
    ("max(0, x)", "relu(x)"),  # max(x, 0) is torch's max along dimension 0
    ("min(0, x)", "-relu(-x)"),
    ("max(x, 0.5)", "maximum(x, 0.5)"),
    ("np.max(x, axis=1)", "max(x, 1)"),
    ("torch.clamp(x, min=0)", "relu(x)"),
    ("x.clamp(min=0)", "relu(x)"),
    ("np.maximum(0, x)", "relu(x)"),
    ("|x|", "abs(x)"),
    ("|x - 1| + 2", "abs(x - 1) + 2"),
    ("x − 1", "x - 1"),
    ("2×x", "2*x"),
    ("2·x", "2*x"),
    ("x²", "x**2"),
    ("x³ + y²", "x**3 + y**2"),
    ("x⁻¹", "x**(-1)"),
    ("√x", "sqrt(x)"),
    ("√(x + 1)", "sqrt(x + 1)"),
    ("π*x", "pi*x"),
    ("σ(x)", "sigmoid(x)"),
    ("Exp(x)", "exp(x)"),
    ("ReLU(x)", "relu(x)"),
    ("sin x", "sin(x)"),
    ("x y", "x*y"),
    ("(x+1)(x-1)", "(x+1)*(x-1)"),
    ("y = x**2", "x**2"),
    ("f(x) = x**2", "x**2"),
    ("x.T()", "x.T"),
    ("np.dot(a, b)", "dot(a, b)"),
    ("np.linalg.norm(x)", "norm(x)"),
    ("np.pi * x", "pi * x"),
    ("np.exp(x.pow(2))", "exp(x**2)"),
    ("np.arctan(x)", "atan(x)"),
    ("\\frac{1}{x}", "(1)/(x)"),
    ("log2(x)", "log(x)/log(2)"),
    ("x**2;", "x**2"),
    ("exp^x", "exp(x)"),
    ("exp^(-x)", "exp(-x)"),
    ("tanh(x", "tanh(x)"),
    ("d/dx x**2", "x**2"),
    ("lambda x: x**2", "x**2"),
    ("x₁ + x₂", "x1 + x2"),
    ("½x", "0.5x"),
    ("np.sum(x, 1, keepdims=True)", "sum(x, 1, keepdim=True)"),
    # PyTorch's spellings the language does not read (its methods and functions it does: test_torch_paste).
    ("x.item()", "x"),
    ("x.leaky_relu(0.1)", "leaky_relu(x, 0.1)"),
    ("torch.linalg.norm(x)", "norm(x)"),
]


@pytest.mark.parametrize(("typed", "fixed"), FIXES)
def test_a_foreign_spelling_is_refused_with_its_fix(typed, fixed):
    with pytest.raises(ParseError) as caught:
        parse(typed)
    assert caught.value.help == f"try '{fixed}'"
    assert caught.value.one_line().endswith(f"; help: try '{fixed}'")
    parse(fixed)  # the fix is in the language


def test_no_help_without_a_known_fix():
    with pytest.raises(ParseError) as caught:
        parse("x[::-1]")
    assert caught.value.help is None
    assert "help" not in caught.value.one_line()


def test_the_help_replaces_a_wrong_did_you_mean():
    with pytest.raises(ParseError) as caught:
        parse("fmax(x, 0)")  # the parser's own guess would be 'max'
    assert caught.value.one_line() == ("unknown function 'fmax' (at column 1 of the expression); help: try 'relu(x)'")


def test_a_long_expression_gets_its_fix_shortened():
    typed = "np.exp(x) + " + " + ".join(f"x{i}" for i in range(30))
    help_text = suggest(typed, parse)
    assert help_text is not None and help_text.startswith("try 'exp(x) + x0") and help_text.endswith("...'")


def test_valid_expressions_are_left_alone():
    for text in ("x**2", "sum(x, 0)", "x.T @ y", "2x + 3(x+1)", "relu(x)"):
        assert rewrite(text) == text
