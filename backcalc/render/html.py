"""Results as HTML for Jupyter (``_repr_html_``) and as LaTeX for MathJax (``_repr_latex_``).

Everything shown is escaped: the expression, the names and the claims are text a user typed.
Formulas appear as ``\\( ... \\)`` for MathJax, escaped like the rest (MathJax reads the text).
An explanation's graph is inline SVG when Graphviz's ``dot`` is installed, a table otherwise; a
descent's loss curve is a small SVG drawn here (no plotting library needed).
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any, assert_never

import numpy as np

from ..analyses.check.grade import CheckResult
from ..analyses.derivatives import Derivatives
from ..analyses.descend import Descent
from ..analyses.explain import Explanation
from ..analyses.gradient_result import GradientResult
from ..formats.numfmt import text
from ..numeric.verdict import Word
from .brief import brief
from .messages import explanation_message, gradient_message
from .tensors import shape_text, tensor_text


def _look(word: Word) -> tuple[str, str]:
    """(text, colour) of a verdict word, as the terminal shows it."""
    match word:
        case Word.AGREE:
            return "✓ agree", "#1a7f37"
        case Word.ROUNDING:
            return "✓ rounding", "#1a7f37"
        case Word.UNCHECKED:
            return "? unchecked", "#9a6700"
        case Word.EDGE:
            return "~ edge", "#9a6700"
        case Word.DISAGREE:
            return "✗ DISAGREE", "#cf222e"
        case _:
            assert_never(word)


_STYLE = "border-collapse:collapse;text-align:left;margin:0.3em 0"
_CELL = "padding:0.15em 0.8em 0.15em 0;vertical-align:top;text-align:left"


def verdict_html(word: Word | str) -> str:
    """The verdict word in its colour, as in the terminal."""
    word = Word(word)
    text, colour = _look(word)
    style = f"color:{colour};font-weight:bold"
    return f'<span class="backcalc-verdict-{word.value}" style="{style}">{text}</span>'


def _math(latex: str | None) -> str:
    return "" if not latex else f'<span class="backcalc-math">\\({escape(latex)}\\)</span>'


def _pre(array: np.ndarray | None, dtype: str) -> str:
    if array is None:
        return "-"
    return f'<pre style="margin:0">{escape(tensor_text(array, dtype, 60))}</pre>'


def _table(rows: Iterable[Sequence[str]], head: Sequence[str] | None = None, cls: str = "") -> str:
    """A table of cells that are already HTML."""
    out = [f'<table class="backcalc-table {cls}" style="{_STYLE}">']
    if head:
        out.append("<thead><tr>" + "".join(f'<th style="{_CELL}">{escape(h)}</th>' for h in head) + "</tr></thead>")
    out.append("<tbody>")
    out.extend("<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>" for row in rows)
    out.append("</tbody></table>")
    return "".join(out)


def _wrap(kind: str, body: Iterable[str]) -> str:
    return f'<div class="backcalc backcalc-{kind}">' + "".join(body) + "</div>"


def _final(word: Word | str, message: str) -> str:
    return f'<p class="backcalc-final">{verdict_html(word)} {escape(message)}</p>'


def _tol(result: Any) -> str:
    return f"rtol {result.tolerance.rtol:g}, atol {result.tolerance.atol:g}"


def gradient_html(result: GradientResult) -> str:
    dtype = result.dtype
    label = "<b>Program</b>" if result.intermediates else "<b>Expression</b>"
    facts = [[label, f"<code>{escape(result.parsed)}</code>", ""]]
    for index, (name, value) in enumerate(result.inputs.items()):
        facts.append(
            [
                "<b>Inputs</b>" if index == 0 else "",
                f"<code>{escape(name)}</code> {escape(shape_text(value.shape, dtype))}",
                _pre(value, dtype),
            ]
        )
    facts.append(["<b>Output</b>", escape(shape_text(result.output.shape, dtype)), _pre(result.output, dtype)])
    how = f"{result.reduce}(output)" if result.reduce else "output (already a scalar)"
    facts.append(["<b>Loss</b>", escape(how), f'<b class="backcalc-loss">{escape(text(result.loss, dtype))}</b>'])
    body = [_table(facts, cls="backcalc-facts"), *_steps_html(result)]
    for gradient in result.gradients.values():
        title = f"d loss / d {gradient.name}   {shape_text(gradient.autograd.shape, dtype)}"
        head = ["symbolic (sympy)", "autograd (torch)"]
        formula = (
            _math(gradient.latex) + f"<br><code>{escape(gradient.formula)}</code>" if gradient.formula else "skipped"
        )
        rows = [[formula, "backward pass"], [_pre(gradient.symbolic, dtype), _pre(gradient.autograd, dtype)]]
        if gradient.finite_difference is not None:
            head.append("finite differences")
            rows[0].append("central, float64")
            rows[1].append(_pre(gradient.finite_difference, "float64"))
        body.append(f'<p style="margin:0.6em 0 0"><b>{escape(title)}</b></p>')
        body.append(_table(rows, head, cls="backcalc-gradient"))
        detail = ""
        if gradient.comparison is not None:
            detail = f" max |diff| = {text(gradient.comparison.max_abs_diff, dtype)}"
        notes = "" if not gradient.note else f"<br><i>note: {escape(gradient.note)}</i>"
        edges = ""
        if gradient.verdict.edge_count:
            edges = f"<br>{gradient.verdict.edge_count} element(s) differ where the derivative is undefined"
        body.append(f"<p>{verdict_html(gradient.verdict.word)}{escape(detail)}{edges}{notes}</p>")
    body.append(_final(result.verdict, gradient_message(result)))
    return _wrap("gradient", body)


def _steps_html(result: GradientResult) -> list[str]:
    """A program's steps: each one's value and d loss / d step, the formula beside retain_grad."""
    if not result.intermediates:
        return []
    dtype = result.dtype
    rows = []
    for step in result.intermediates.values():
        formula = f"<code>{escape(step.formula)}</code>" if step.formula else "-"
        verdict = escape(step.note or "") if step.verdict is None else verdict_html(step.verdict.word)
        symbolic = "-" if step.symbolic is None else _pre(step.symbolic, dtype)
        autograd = "-" if step.autograd is None else _pre(step.autograd, dtype)
        name = f"<code>{escape(step.name)}</code>"
        rows.append(
            [name, f"<code>{escape(step.expr)}</code>", _pre(step.value, dtype), formula, symbolic, autograd, verdict]
        )
    head = ["step", "expression", "value", "d loss / d step", "symbolic", "autograd (retain_grad)", "verdict"]
    return ['<p style="margin:0.6em 0 0"><b>Steps</b></p>', _table(rows, head, cls="backcalc-steps")]


def _svg_graph(explanation: Explanation) -> str | None:
    from . import graphviz

    program = graphviz.dot_program()
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-Tsvg"], input=graphviz.to_dot(explanation), text=True, capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    start = done.stdout.find("<svg")
    return done.stdout[start:] if done.returncode == 0 and start >= 0 else None


def explanation_html(explanation: Explanation) -> str:
    dtype = explanation.dtype
    root = explanation.output.node.id
    how = f"{explanation.reduce}({root})" if explanation.reduce else f"{root} (already a scalar)"
    body = [
        f"<p><b>Expression</b> <code>{escape(explanation.parsed)}</code>"
        f" &nbsp; <b>loss</b> = {escape(how)} = "
        f'<b class="backcalc-loss">{escape(text(explanation.loss, dtype))}</b></p>'
    ]
    svg = _svg_graph(explanation)
    if svg is not None:
        body.append(f'<div class="backcalc-graph">{svg}</div>')
    rows = []
    for item in explanation.nodes:
        node = item.node
        definition = "" if node.op == "input" else _math(item.definition[1])
        word = verdict_html(item.verdict.word) if item.verdict else "-"
        rows.append(
            [
                f"<code>{escape(node.id)}</code>",
                escape(node.op),
                definition,
                escape(brief(item.value, dtype)),
                escape(brief(item.grad, dtype)),
                escape(brief(item.autograd_grad, dtype)),
                word,
            ]
        )
    head = ["node", "op", "definition", "value", "d loss/d node (chain rule)", "autograd", "verdict"]
    body.append(_table(rows, head, cls="backcalc-graph-table"))
    local = [
        [f"d {escape(item.node.id)} / d {escape(child)}", _math(gradient.latex), escape(brief(gradient.value, dtype))]
        for item in explanation.nodes
        for child, gradient in item.local.items()
    ]
    if local:
        body.append('<p style="margin:0.6em 0 0"><b>Local gradients</b></p>')
        body.append(_table(local, ["edge", "formula", "value"], cls="backcalc-local"))
    body.append(_final(explanation.verdict, explanation_message(explanation)))
    return _wrap("explain", body)


def loss_curve_svg(losses: Sequence[float], width: int = 360, height: int = 120) -> str:
    """The loss per step as an SVG polyline (log scale when every loss is positive)."""
    finite = [v for v in losses if math.isfinite(v)]
    if len(finite) < 2:
        return ""
    use_log = all(v > 0 for v in finite)
    ys = [math.log10(v) if use_log else v for v in finite]
    low, high = min(ys), max(ys)
    span = high - low or 1.0
    pad = 6
    step = (width - 2 * pad) / (len(ys) - 1)
    points = " ".join(
        f"{pad + i * step:.1f},{pad + (high - y) / span * (height - 2 * pad):.1f}" for i, y in enumerate(ys)
    )
    scale = "log scale" if use_log else "linear scale"
    return (
        f'<svg class="backcalc-loss-curve" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img"><title>loss per step ({scale})</title>'
        f'<rect width="{width}" height="{height}" fill="none" stroke="#ccc"/>'
        f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{points}"/></svg>'
    )


def descent_html(descent: Descent) -> str:
    dtype = descent.dtype
    from .descend_view import selected

    how = f"{descent.reduce}(output)" if descent.reduce else "output"
    body = [
        f"<p><b>Descent</b> <code>{escape(descent.parsed)}</code> &nbsp; loss = {escape(how)},"
        f" {escape(descent.optimizer)}, lr {descent.lr:g}, {escape(dtype)}</p>"
    ]
    losses = [step.loss for step in descent.steps] + [descent.final_loss]
    curve = loss_curve_svg(losses)
    if curve:
        body.append(
            f"<div>{curve}<br><small>loss {escape(text(losses[0], dtype))} &rarr; {escape(text(losses[-1], dtype))}"
            f" over {len(descent.steps)} step(s)</small></div>"
        )
    names = list(descent.final_params)
    rows = [
        [
            str(step.step),
            escape(text(step.loss, dtype)),
            *(escape(brief(step.params[n], dtype)) for n in names),
            *(escape(brief(step.grads[n], dtype)) for n in names),
            verdict_html("agree" if step.agree else "disagree"),
        ]
        for step in selected(descent.steps)
    ]
    head = ["step", "loss", *names, *(f"d loss/d {n}" for n in names), "sympy = torch"]
    body.append(_table(rows, head, cls="backcalc-steps"))
    finals = ", ".join(f"{n} = {brief(v, dtype)}" for n, v in descent.final_params.items())
    body.append(f"<p><b>final</b> loss = {escape(text(descent.final_loss, dtype))}; {escape(finals)}</p>")
    word = "disagree" if descent.diverged or not descent.agree else "agree"
    body.append(_final(word, descent.message))
    return _wrap("descend", body)


def check_html(result: CheckResult) -> str:
    proof = {True: "sympy proves them equal", False: "sympy finds them different", None: "sympy could not decide"}
    body = [f"<p><b>Expression</b> <code>{escape(result.parsed)}</code></p>"]
    rows = []
    for claim in result.claims.values():
        counter = ""
        if claim.counterexample:
            c = claim.counterexample
            point = ", ".join(f"{n}={text(v, 'float64')}" for n, v in c.point.items())
            counter = f"at {point}: claimed {text(c.claimed, 'float64')}, actual {text(c.actual, 'float64')}"
        rows.append(
            [
                f"<code>{escape(claim.name)}</code>",
                f"<code>{escape(claim.parsed)}</code>",
                f"<code>{escape(claim.formula)}</code>",
                escape(proof[claim.equivalent]),
                str(claim.points),
                escape(counter),
                verdict_html("agree" if claim.right else "disagree"),
            ]
        )
    head = ["d/d", "claimed", "sympy", "symbolic", "points", "counterexample", "verdict"]
    body.append(_table(rows, head, cls="backcalc-claims"))
    body.append(
        _final(
            "agree" if result.right else "disagree", "every claim is right" if result.right else "some claim is wrong"
        )
    )
    return _wrap("check", body)


def _maybe(values: Any, dtype: str) -> str:
    """A tensor, or a dash where it was not computed (a large derivative checked by products)."""
    return "-" if values is None else _pre(values, dtype)


def derivatives_html(result: Derivatives) -> str:
    problem, dtype = result.problem, result.problem.dtype
    label = "Program" if problem.steps else "Expression"
    body = [
        f"<p><b>{label}</b> <code>{escape(problem.parsed)}</code> &nbsp; <b>Output</b>"
        f" {escape(shape_text(result.output.shape, dtype))}</p>"
    ]
    for name, side in result.sides.items():
        if result.kind == "jacobian":
            title = f"Jacobian d output / d {name}   {shape_text(side.shape, dtype)}"
        else:
            title = f"Hessian of the loss = {text(result.loss or 0.0, dtype)} over {', '.join(result.variables)}"
        body.append(f'<p style="margin:0.6em 0 0"><b>{escape(title)}</b></p>')
        if side.formula is not None and side.formula.text is not None:
            along = f"[{side.formula.direction}]" if side.formula.direction else ""
            letter = "J" if result.kind == "jacobian" else "H"
            formula = f"{letter}{along} = {side.formula.text}"
            body.append(f"<p><code>{escape(formula)}</code> ({escape(side.checked_by)})</p>")
        body.append(
            _table(
                [[_maybe(side.symbolic, dtype), _maybe(side.autograd, dtype)]],
                ["symbolic (sympy)", "autograd (torch)"],
                cls="backcalc-derivative",
            )
        )
        word = "agree" if side.comparison.agree else "disagree"
        body.append(f"<p>{verdict_html(word)} max |diff| = {escape(text(side.comparison.max_abs_diff, dtype))}</p>")
    what = "Jacobians" if result.kind == "jacobian" else "Hessians"
    word = "agree" if result.agree else "disagree"
    body.append(_final(word, f"the symbolic and autograd {what} {word} ({_tol(result)})"))
    return _wrap(result.kind, body)


def to_html(result: Any) -> str:
    """The HTML view of any result."""
    if isinstance(result, GradientResult):
        return gradient_html(result)
    if isinstance(result, Explanation):
        return explanation_html(result)
    if isinstance(result, Descent):
        return descent_html(result)
    if isinstance(result, CheckResult):
        return check_html(result)
    if isinstance(result, Derivatives):
        return derivatives_html(result)
    raise TypeError(f"no view for {type(result).__name__}")


def to_latex(result: Any) -> str | None:
    """The formulas for MathJax: each gradient's, or an explanation's chain rule; None for the rest."""
    if isinstance(result, GradientResult):
        lines = [
            rf"\frac{{\partial \mathcal{{L}}}}{{\partial {g.name}}} &= {g.latex}"
            for g in result.gradients.values()
            if g.latex
        ]
        return None if not lines else "$$\\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$$"
    if isinstance(result, Explanation):
        from .latex import explanation_latex

        body = "\n".join(line for line in explanation_latex(result).splitlines() if not line.startswith("%"))
        return "$$" + body.replace("align*", "aligned") + "$$"
    return None
