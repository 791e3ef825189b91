"""Views at 80 columns, compared as exact text: no number is cut, large tensors say what they show."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

import backcalc
from backcalc.analyses.derivatives import jacobian
from backcalc.analyses.descend import descend
from backcalc.api import prepare
from backcalc.render.derivatives_view import render_derivatives
from backcalc.render.descend_view import render_descent
from backcalc.render.tensors import fits, tensor_text
from backcalc.render.terminal import render_gradient, show

TEN = np.arange(100.0).reshape(10, 10) - 50.0


def draw(render, width: int = 80) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    show(console, render)
    return console.file.getvalue()


def test_a_large_matrix_keeps_whole_numbers_and_says_what_it_shows():
    assert tensor_text(TEN * 1.5, "float64", 40) == (
        "[[-75.0, -73.5, ..., -63.0, -61.5],\n"
        " [-60.0, -58.5, ..., -48.0, -46.5],\n"
        " [-45.0, -43.5, ..., -33.0, -31.5],\n"
        " ...,\n"
        " [ 30.0,  31.5, ...,  42.0,  43.5],\n"
        " [ 45.0,  46.5, ...,  57.0,  58.5],\n"
        " [ 60.0,  61.5, ...,  72.0,  73.5]]\n"
        "showing rows 0-2 and 7-9 of 10, columns 0-1 and 8-9 of 10; --full for all"
    )


def test_a_long_vector_and_full():
    assert tensor_text(np.arange(100.0), "float32", 50) == (
        "[0.0, 1.0, 2.0, ..., 97.0, 98.0, 99.0]\nshowing elements 0-2 and 97-99 of 100; --full for all"
    )
    full = tensor_text(np.arange(100.0), "float32", 50, full=True)
    assert "..." not in full and "showing" not in full and all(len(line) <= 50 for line in full.splitlines())


def test_every_line_fits_its_width_whatever_the_numbers():
    rng = np.random.default_rng(0)
    for width in (20, 40, 60, 80):
        for scale in (1e-30, 1.0, 1e30):
            shown = tensor_text(rng.standard_normal((12, 9)) * scale, "float64", width)
            number_lines = [line for line in shown.splitlines() if not line.startswith("showing")]
            # one number per row at the least: a lone float64 may be wider than a very narrow cell
            assert all(len(line) <= max(width, 34) for line in number_lines)


def test_gradient_of_a_10x10_at_80_columns():
    out = draw(lambda c: render_gradient(backcalc.gradient("x**2", x=TEN, dtype="float64"), c))
    assert out == (
        "Expression                       x**2\n"
        "Inputs      x  float64 [10, 10]  [[-50.0, -49.0, ..., -42.0, -41.0],\n"
        "                                  [-40.0, -39.0, ..., -32.0, -31.0],\n"
        "                                  [-30.0, -29.0, ..., -22.0, -21.0],\n"
        "                                  ...,\n"
        "                                  [ 20.0,  21.0, ...,  28.0,  29.0],\n"
        "                                  [ 30.0,  31.0, ...,  38.0,  39.0],\n"
        "                                  [ 40.0,  41.0, ...,  48.0,  49.0]]\n"
        "                                 showing rows 0-2 and 7-9 of 10, columns 0-1 and\n"
        "                                 8-9 of 10; --full for all\n"
        "Output         float64 [10, 10]  [[2500.0, 2401.0, ..., 1764.0, 1681.0],\n"
        "                                  [1600.0, 1521.0, ..., 1024.0,  961.0],\n"
        "                                  [ 900.0,  841.0, ...,  484.0,  441.0],\n"
        "                                  ...,\n"
        "                                  [ 400.0,  441.0, ...,  784.0,  841.0],\n"
        "                                  [ 900.0,  961.0, ..., 1444.0, 1521.0],\n"
        "                                  [1600.0, 1681.0, ..., 2304.0, 2401.0]]\n"
        "                                 showing rows 0-2 and 7-9 of 10, columns 0-1 and\n"
        "                                 8-9 of 10; --full for all\n"
        "Loss                             sum(output) = 83350.0\n"
        "\n"
        "d loss / d x   float64 [10, 10]\n"
        "symbolic (sympy)                        autograd (torch)\n"
        "2*x                                     backward pass\n"
        "[[-100.0, -98.0, ..., -84.0, -82.0],    [[-100.0, -98.0, ..., -84.0, -82.0],\n"
        " [ -80.0, -78.0, ..., -64.0, -62.0],     [ -80.0, -78.0, ..., -64.0, -62.0],\n"
        " [ -60.0, -58.0, ..., -44.0, -42.0],     [ -60.0, -58.0, ..., -44.0, -42.0],\n"
        " ...,                                    ...,\n"
        " [  40.0,  42.0, ...,  56.0,  58.0],     [  40.0,  42.0, ...,  56.0,  58.0],\n"
        " [  60.0,  62.0, ...,  76.0,  78.0],     [  60.0,  62.0, ...,  76.0,  78.0],\n"
        " [  80.0,  82.0, ...,  96.0,  98.0]]     [  80.0,  82.0, ...,  96.0,  98.0]]\n"
        "showing rows 0-2 and 7-9 of 10,         showing rows 0-2 and 7-9 of 10, columns\n"
        "columns 0-1 and 8-9 of 10; --full for   0-1 and 8-9 of 10; --full for all\n"
        "all\n"
        "agree  max |diff| = 0.0\n"
        "\n"
        "agree: symbolic and autograd agree on 1 gradient (rtol 1e-07, atol 1e-07)\n"
    )


def test_below_80_columns_the_sides_stack_in_order():
    out = draw(lambda c: render_gradient(backcalc.gradient("x**2", x=[1.0, 2.0]), c), width=60)
    assert out.splitlines()[5:] == [
        "d loss / d x   float32 [2]",
        "symbolic (sympy)",
        "2*x",
        "[2., 4.]",
        "autograd (torch)",
        "backward pass",
        "[2., 4.]",
        "agree  max |diff| = 0.0",
        "",
        "agree: symbolic and autograd agree on 1 gradient (rtol",
        "1.3e-06, atol 1e-05)",
    ]


def test_a_skipped_symbolic_side_keeps_no_column(monkeypatch):
    from backcalc import limits

    monkeypatch.setattr(limits, "SYMBOLIC_SECONDS", 1e-9)  # sympy's budget is spent before it starts
    result = backcalc.gradient("sin(x)*x", x=np.ones((21, 21)))
    out = draw(lambda c: render_gradient(result, c))
    lines = out.splitlines()
    start = lines.index("d loss / d x   float32 [21, 21]")
    assert lines[start + 1] == "symbolic (sympy): skipped"
    assert lines[start + 2] == "autograd (torch)"
    assert "symbolic (sympy)  " not in out


def test_descend_at_80_columns_drops_columns_not_digits():
    problem = prepare(
        "(w*x + b - y)**2", {"w": 0, "b": 0, "x": [1, 2, 3, 4], "y": [3, 5, 7, 9]}, ["w", "b"], "float64", "mean"
    )
    result = descend(problem, 0.05, 40, None, "adam")
    out = draw(lambda c: render_descent(result, c))
    lines = out.splitlines()
    assert lines[1].split() == ["step", "loss", "w", "b"]
    assert "left out at this width: d loss/d w, d loss/d b (--json has every value)" in lines
    assert "sympy = torch at every step" in lines
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in out
    for step in result.steps[-1:]:
        assert repr(step.loss) in out  # the whole number, exponent and all
    assert lines[-3].startswith("       w     ") and lines[-4].startswith("final  loss  ")
    assert lines[-4].endswith("(after the update of step 40)")


def test_descend_of_tensors_shows_norms_and_the_final_tensors():
    problem = prepare("sum((W@x)**2)", {"W": [[1, 2], [3, 4]], "x": [1, -1]}, ["W"], "float64")
    out = draw(lambda c: render_descent(descend(problem, 0.01, 3, None), c))
    assert out.splitlines()[1].split() == ["step", "loss", "|W|", "|d", "loss/d", "W|", "sympy", "=", "torch"]
    assert "|W| is a tensor's norm (sqrt of the sum of squares); the final values follow" in out
    assert "       W     [[" in out


def test_jacobian_at_80_columns():
    result = jacobian(prepare("softmax(z)", {"z": [1, 2, 3]}))
    out = draw(lambda c: render_derivatives(result, c))
    assert out.splitlines()[:11] == [
        "Expression               softmax(z)",
        "Output      float32 [3]  [0.090031, 0.244728, 0.665241]",
        "",
        "Jacobian d output / d z   float32 [3, 3] (output dims, then z's)",
        "J = diag(softmax(z))@(eye(3) - unsqueeze(ones_like(z), 1)*unsqueeze(softmax(z),",
        "0))",
        "symbolic (sympy)                     autograd (torch)",
        "[[ 0.081925, -0.022033, -0.059892],  [[ 0.081925, -0.022033, -0.059892],",
        " [-0.022033,  0.184836, -0.162803],   [-0.022033,  0.184836, -0.162803],",
        " [-0.059892, -0.162803,  0.222695]]   [-0.059892, -0.162803,  0.222695]]",
        "agree  max |diff| = 1.5630105e-08",
    ]


def test_fits_wants_two_columns_of_a_matrix():
    assert fits(tensor_text(TEN, "float64", 40), 40)
    assert not fits(tensor_text(TEN * 1e10, "float64", 20), 20)
