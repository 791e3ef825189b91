"""The human view of a gradient result, with rich. Plain text, no colour and no box drawing when the
output is not a terminal or ``NO_COLOR`` is set; the words carry the verdicts either way."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..numfmt import text
from ..result import Gradient, GradientResult
from .tensors import shape_text, tensor_text


def make_console(file: IO[str] | None = None, width: int | None = None, **options: Any) -> Console:
    """The console for people: with ``NO_COLOR`` set, no styles at all (not even bold)."""
    if os.environ.get("NO_COLOR"):
        options["color_system"] = None
    return Console(file=file, width=width, highlight=False, soft_wrap=False, **options)


def show(console: Console, draw: Callable[[Console], None]) -> None:
    """Draw on ``console``; off a terminal, without the padding rich adds at the end of lines."""
    if console.is_terminal:
        draw(console)
        return
    with console.capture() as captured:
        draw(console)
    console.file.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")


def fancy(console: Console) -> bool:
    """Box drawing and symbols only for a colour-capable terminal."""
    return console.is_terminal and not os.environ.get("NO_COLOR") and console.color_system is not None


def render_gradient(result: GradientResult, console: Console) -> None:
    rich_output = fancy(console)
    width = max(40, console.width - 20)
    dtype = result.dtype

    facts = Table.grid(padding=(0, 2))
    for style in ("bold", "cyan", "dim", None):
        facts.add_column(style=style, no_wrap=style is not None)
    facts.add_row("Expression", "", "", Text(result.parsed))
    for index, (name, value) in enumerate(result.inputs.items()):
        facts.add_row(
            "Inputs" if index == 0 else "", name, shape_text(value.shape, dtype), tensor_text(value, dtype, width)
        )
    facts.add_row("Output", "", shape_text(result.output.shape, dtype), tensor_text(result.output, dtype, width))
    how = f"{result.reduce}(output)" if result.reduce else "output (already a scalar)"
    facts.add_row("Loss", "", "", Text.assemble(f"{how} = ", (text(result.loss, dtype), "bold")))
    console.print(facts)

    for gradient in result.gradients.values():
        console.print()
        console.print(_gradient_table(gradient, dtype, (console.width - 4) // 2, rich_output))
        console.print(_gradient_verdict(gradient, dtype, rich_output))

    console.print()
    console.print(_verdict(result, rich_output))


def _gradient_table(gradient: Gradient, dtype: str, width: int, rich_output: bool) -> Table:
    table = Table(
        title=Text.assemble("d loss / d ", (gradient.name, "cyan"), f"   {shape_text(gradient.symbolic.shape, dtype)}"),
        title_justify="left",
        box=box.SIMPLE_HEAD if rich_output else None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0),
    )
    table.add_column("symbolic (sympy)", overflow="fold")
    table.add_column("autograd (torch)", overflow="fold")
    table.add_row(Text(gradient.formula, style="italic"), Text("backward pass", style="dim"))
    table.add_row(tensor_text(gradient.symbolic, dtype, width), tensor_text(gradient.autograd, dtype, width))
    return table


def _gradient_verdict(gradient: Gradient, dtype: str, rich_output: bool) -> Text:
    comparison = gradient.comparison
    detail = f"  max |diff| = {text(comparison.max_abs_diff, dtype)}"
    if comparison.mismatches:
        detail += f", {comparison.mismatches} of {gradient.symbolic.size} elements outside the tolerance"
    return Text.assemble(_word(gradient.agree, rich_output), detail)


def _word(agree: bool, rich_output: bool) -> Text:
    if agree:
        return Text("✓ agree" if rich_output else "agree", style="bold green")
    return Text("✗ DISAGREE" if rich_output else "DISAGREE", style="bold red")


def _verdict(result: GradientResult, rich_output: bool) -> Group:
    tol = f"rtol {result.tolerance.rtol:g}, atol {result.tolerance.atol:g}"
    count = len(result.gradients)
    if count == 0:
        return Group(Text(f"No input to differentiate: the loss is a constant ({tol})."))
    bad = [name for name, g in result.gradients.items() if not g.agree]
    if not bad:
        message = f"symbolic and autograd agree on {count} gradient{'s' if count > 1 else ''} ({tol})"
        mark = Text("✓ " if rich_output else "agree: ", style="bold green")
    else:
        message = f"symbolic and autograd disagree on {', '.join(bad)} ({tol})"
        mark = Text("✗ " if rich_output else "DISAGREE: ", style="bold red")
    return Group(Text.assemble(mark, message))
