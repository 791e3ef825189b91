"""Results that show themselves: the one-line repr, rich.print, and the HTML and LaTeX for Jupyter."""

from __future__ import annotations

import dataclasses
import io
import re
from html.parser import HTMLParser

import pytest
from rich.console import Console

import backcalc
from backcalc.analyses import derivatives as derivatives
from backcalc.analyses.check.grade import check
from backcalc.analyses.descend import descend
from backcalc.analyses.explain import explain
from backcalc.api import prepare
from backcalc.render import graphviz
from backcalc.render.terminal import render_gradient, show

SEED = [[2, 3, 1], [4, 5, 3], [7, 6, 4]]


@pytest.fixture(scope="module")
def results():
    scalar = prepare("(w*x - y)**2", {"w": 1, "x": 1, "y": 2}, ["w"])
    return {
        "gradient": backcalc.gradient("x**3 + x**2", x=SEED),
        "explain": explain(prepare("(w*x - y)**2", {"w": 1, "x": 1, "y": 2})),
        "descend": descend(scalar, 0.1, 100, 1e-10, "sgd", None, None),
        "check": check("x**3 + x**2", {"x": "3x^2 + x"}),
        "jacobian": derivatives.jacobian(prepare("W@x", {"W": [[1, 2], [3, 4], [5, 6]], "x": [1, -1]}, ["x"])),
        "hessian": derivatives.hessian(prepare("x**3*y", {"x": 2, "y": 3})),
    }


def test_repr_is_one_line_with_expression_loss_and_verdict(results):
    assert repr(results["gradient"]) == "GradientResult('x**3 + x**2', loss=1040.0, verdict='agree')"
    assert repr(results["explain"]) == "Explanation('(w*x - y)**2', loss=1.0, verdict='agree')"
    assert repr(results["descend"]) == "Descent('(w*x - y)**2', loss=1.3096724e-10, steps=51, verdict='agree')"
    assert repr(results["check"]) == "CheckResult('x**3 + x**2', claims=['x'], verdict='wrong')"
    assert repr(results["jacobian"]) == "Derivatives('jacobian', 'W@x', verdict='agree')"
    assert repr(results["hessian"]) == "Derivatives('hessian', 'x**3*y', loss=24.0, verdict='agree')"


def test_a_large_result_still_has_a_short_repr():
    result = backcalc.gradient("x**2", x=[[1.0] * 100] * 100)
    assert repr(result) == "GradientResult('x**2', loss=10000.0, verdict='agree')"


def test_rich_print_shows_the_terminal_view(results):
    result = results["gradient"]
    printed = Console(width=100, file=io.StringIO(), color_system=None)
    printed.print(result)
    drawn = Console(width=100, file=io.StringIO(), color_system=None)
    show(drawn, lambda console: render_gradient(result, console))
    assert printed.file.getvalue() == drawn.file.getvalue()
    assert "agree: symbolic and autograd agree on 1 gradient" in printed.file.getvalue()


@pytest.mark.parametrize(
    ("kind", "module", "function"),
    [
        ("explain", "explain_view", "render_explanation"),
        ("descend", "descend_view", "render_descent"),
        ("check", "check_view", "render_check"),
        ("jacobian", "derivatives_view", "render_derivatives"),
        ("hessian", "derivatives_view", "render_derivatives"),
    ],
)
def test_rich_print_shows_each_commands_view(results, kind, module, function):
    import importlib

    render = getattr(importlib.import_module(f"backcalc.render.{module}"), function)
    printed = Console(width=80, file=io.StringIO(), color_system=None)
    printed.print(results[kind])
    drawn = Console(width=80, file=io.StringIO(), color_system=None)
    show(drawn, lambda console: render(results[kind], console))
    assert printed.file.getvalue() == drawn.file.getvalue()
    assert "tolerance=" not in printed.file.getvalue()


def test_rich_print_in_a_terminal_keeps_the_colours(results):
    console = Console(width=100, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(results["gradient"])
    text = console.file.getvalue()
    assert "✓ agree" in text and "\x1b[1;32m" in text


class _Balanced(HTMLParser):
    VOID = frozenset({"br", "meta", "img", "input", "hr", "rect", "polyline", "path", "polygon", "ellipse", "text"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def _balanced(html: str) -> bool:
    parser = _Balanced()
    parser.feed(html)
    parser.close()
    return not parser.stack


@pytest.mark.parametrize("kind", ["gradient", "explain", "descend", "check", "jacobian", "hessian"])
def test_html_is_balanced_and_names_its_kind(results, kind):
    html = results[kind]._repr_html_()
    assert _balanced(html)
    assert html.startswith(f'<div class="backcalc backcalc-{kind}">')


def test_gradient_html_has_loss_formula_both_sides_and_a_coloured_verdict(results):
    html = results["gradient"]._repr_html_()
    assert '<b class="backcalc-loss">1040.0</b>' in html
    assert r"\(3 x^{2} + 2 x\)" in html
    assert "<th" in html and "symbolic (sympy)" in html and "autograd (torch)" in html
    assert "[161., 120.,  56.]]" in html
    assert re.search(r'class="backcalc-verdict-agree" style="color:#1a7f37;font-weight:bold">✓ agree<', html)


def test_html_escapes_what_the_user_typed(results):
    hostile = dataclasses.replace(results["gradient"], parsed="<script>alert(1)</script>")
    html = hostile._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_wrong_claim_is_red_with_its_counterexample(results):
    html = results["check"]._repr_html_()
    assert "backcalc-verdict-disagree" in html and "#cf222e" in html
    assert "some claim is wrong" in html and "claimed" in html


def test_descent_html_draws_the_loss_curve(results):
    html = results["descend"]._repr_html_()
    curve = re.search(r'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="([^"]+)"/>', html)
    assert curve is not None
    points = [tuple(map(float, p.split(","))) for p in curve.group(1).split()]
    assert len(points) == 52  # 51 steps and the final loss
    assert points[0][1] < points[-1][1]  # the loss falls: y grows downwards in SVG


def test_explain_html_is_a_table_without_graphviz(results, monkeypatch):
    monkeypatch.setattr(graphviz, "dot_program", lambda: None)
    html = results["explain"]._repr_html_()
    assert "<svg" not in html
    assert 'class="backcalc-table backcalc-graph-table"' in html
    assert "<code>n3</code>" in html


@pytest.mark.skipif(graphviz.dot_program() is None, reason="Graphviz's dot is not installed")
def test_explain_html_embeds_the_graph_as_svg_with_graphviz(results):
    html = results["explain"]._repr_html_()
    assert '<div class="backcalc-graph"><svg' in html


def test_latex_for_mathjax(results):
    assert results["gradient"]._repr_latex_() == (
        r"$$\begin{aligned}\frac{\partial \mathcal{L}}{\partial x} &= 3 x^{2} + 2 x\end{aligned}$$"
    )
    latex = results["explain"]._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert "%" not in latex
    assert results["descend"]._repr_latex_() is None


def test_results_stay_frozen_plain_data(results):
    with pytest.raises(dataclasses.FrozenInstanceError):
        results["gradient"].loss = 0.0  # type: ignore[misc]
    assert results["gradient"].to_dict()["verdict"] == "agree"


def test_explain_html_embeds_what_dot_draws(results, monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\ncat > /dev/null\necho '<?xml version=\"1.0\"?>'\necho '<svg id=\"drawn\"></svg>'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(graphviz, "dot_program", lambda: str(fake))
    html = results["explain"]._repr_html_()
    assert '<div class="backcalc-graph"><svg id="drawn"></svg>\n</div>' in html
    assert "<?xml" not in html
