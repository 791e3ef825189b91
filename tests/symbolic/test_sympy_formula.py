from __future__ import annotations

import numpy as np
import pytest
import sympy

from backcalc.errors import SymbolicError
from backcalc.language.parser import parse
from backcalc.ops.sympy_functions import sigmoid, softplus
from backcalc.symbolic.elementwise import evaluate, formula_text, symbols_for, to_sympy


def derive(source: str, name: str = "x") -> sympy.Expr:
    tree = parse(source)
    symbols = symbols_for(tree.variables())
    return sympy.diff(to_sympy(tree, symbols), symbols[name])


@pytest.mark.parametrize(
    ("source", "formula"),
    [
        ("x**3 + x**2", "3*x**2 + 2*x"),
        ("(w*x - y)**2", "2*w*(w*x - y)"),
        ("log(x)", "1/x"),
        ("ln(x)", "1/x"),
        ("abs(x)", "sign(x)"),
        ("relu(x)", "Heaviside(x)"),
        ("sigmoid(x)", "(1 - sigmoid(x))*sigmoid(x)"),
        ("softplus(x)", "sigmoid(x)"),
        ("0.5*x", "1/2"),
        ("pi*x + e", "pi"),
        ("sqrt(x)", "1/(2*sqrt(x))"),
    ],
)
def test_formulas(source, formula):
    assert formula_text(derive(source)) == formula


def test_numbers_are_exact():
    tree = parse("0.1*x + 3")
    expr = to_sympy(tree, symbols_for(["x"]))
    assert expr.coeff(sympy.Symbol("x", real=True)) == sympy.Rational(1, 10)


def test_sympy_names_do_not_leak():
    # S, N, E, I, Q, O are sympy objects in sympify's namespace; here they are plain real symbols.
    tree = parse("S*N + E*I + Q + O")
    expr = to_sympy(tree, symbols_for(tree.variables()))
    assert all(isinstance(s, sympy.Symbol) for s in expr.free_symbols)
    assert len(expr.free_symbols) == 6


def test_evaluate_is_vectorised_and_real():
    x = sympy.Symbol("x", real=True)
    values = np.array([-1.0, 0.0, 4.0])
    with np.errstate(invalid="ignore"):
        assert np.array_equal(evaluate(sympy.sqrt(x), {x: values}), np.sqrt(values), equal_nan=True)
    assert evaluate(sympy.log(x), {x: values})[1] == -np.inf
    assert np.isnan(evaluate(x ** sympy.Rational(1, 3), {x: values})[0])
    assert evaluate(sympy.Heaviside(x), {x: values}).tolist() == [0.0, 0.5, 1.0]
    assert evaluate(sympy.Integer(3), {}).item() == 3.0


def test_custom_functions_evaluate_stably():
    x = sympy.Symbol("x", real=True)
    values = np.array([-1000.0, 0.0, 1000.0])
    assert evaluate(sigmoid(x), {x: values}).tolist() == [0.0, 0.5, 1.0]
    assert evaluate(softplus(x), {x: values}).tolist() == [0.0, np.log(2.0), 1000.0]
    assert sigmoid(x).rewrite(sympy.exp) == 1 / (1 + sympy.exp(-x))


def test_unknown_sympy_function_is_an_error():
    x = sympy.Symbol("x", real=True)
    with pytest.raises(SymbolicError):
        evaluate(sympy.gamma(x), {x: np.array([1.0])})
