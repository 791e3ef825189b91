"""The rich view printed into a fixed console, compared as text (as rich's own tests do)."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

import backcalc
from backcalc.render.json_view import dumps
from backcalc.render.tensors import tensor_text
from backcalc.render.terminal import make_console, render_gradient, show


def draw(result, color_system=None, **console_options) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=color_system, **console_options)
    show(console, lambda c: render_gradient(result, c))
    return console.file.getvalue()


def test_seed_view_at_fixed_width():
    result = backcalc.gradient("(w*x - y)**2", w=1, x=1, y=2, wrt="w")
    assert draw(result) == (
        "Expression                     (w*x - y)**2\n"
        "Inputs      w  float32 scalar  1.0\n"
        "            x  float32 scalar  1.0\n"
        "            y  float32 scalar  2.0\n"
        "Output         float32 scalar  1.0\n"
        "Loss                           output (already a scalar) = 1.0\n"
        "\n"
        "d loss / d w   float32 scalar\n"
        "symbolic (sympy)  autograd (torch)\n"
        "2*x*(w*x - y)     backward pass\n"
        "-2.0              -2.0\n"
        "agree  max |diff| = 0.0\n"
        "\n"
        "agree: symbolic and autograd agree on 1 gradient (rtol 1.3e-06, atol 1e-05)\n"
    )


def test_disagreement_is_spelled_out(broken_sin):
    out = draw(backcalc.gradient("sin(x)", x=[1.0, 2.0]))
    assert "DISAGREE  max |diff| = 0.01" in out
    assert "2 element(s) differ for no known reason" in out
    assert out.splitlines()[-1].startswith("DISAGREE: symbolic and autograd disagree on x")


def test_rounding_is_not_disagreement():
    # float32's 0.1 is not 1/10: with zero tolerance the sides differ, and torch's own float64
    # gradient shows the difference is float32 rounding.
    out = draw(backcalc.gradient("0.1*x", x=[1.0, 2.0], rtol=0, atol=0))
    assert "rounding  max |diff| = 1.4901161e-09" in out
    assert "float32 rounding: torch's own float64 gradient matches the symbolic one here" in out
    assert out.splitlines()[-1].startswith("rounding: symbolic and autograd agree on 1 gradient, within float")


def test_edges_are_explained():
    out = draw(backcalc.gradient("relu(x)", x=[-1.0, 0.0, 1.0], check_fd=True))
    assert "finite differences" in out
    assert "1 element differs where the derivative is undefined:" in out
    assert "[1]  symbolic 0.5  autograd 0.0  finite difference 0.5" in out
    assert "kink: relu(x) at 0" in out
    assert out.splitlines()[-1].startswith("edge: ")


def test_terminal_view_uses_marks_and_a_rule():
    result = backcalc.gradient("x**2", x=3)
    out = draw(result, color_system="standard", force_terminal=True)
    assert "✓ agree" in out and "─" in out and "\x1b[" in out


def test_no_color_removes_colour_only(monkeypatch):
    # no-color.org: NO_COLOR removes colour; the marks and the rule under the headings stay.
    monkeypatch.setenv("NO_COLOR", "1")
    console = make_console(io.StringIO(), 100, force_terminal=True)
    show(console, lambda c: render_gradient(backcalc.gradient("x**2", x=3), c))
    out = console.file.getvalue()
    assert "✓ agree" in out and "─" in out and "\x1b[" not in out


def test_large_tensors_are_summarised():
    text = tensor_text(np.arange(10000.0).reshape(100, 100), "float64")
    assert "..." in text
    assert len(text.splitlines()) < 16
    out = draw(backcalc.gradient("x**2", x=np.ones((200, 300))))
    assert len(out.splitlines()) < 40


def test_a_summarised_label_tensor_shows_whole_numbers():
    labels = np.arange(96).reshape(32, 3)
    text = tensor_text(labels, "float64", 40)
    assert text.splitlines()[0] == "[[ 0,  1,  2],"
    assert "." not in text.split("showing")[0].replace("...", "")
    assert tensor_text(np.array(7), "float64") == "7"


def test_json_is_one_line_and_strict():
    data = backcalc.gradient("log(x)", x=[0.0, 1.0]).to_dict()
    text = dumps(data)
    assert "\n" not in text and "NaN" not in text and "Infinity" not in text
