"""The human view of a gradient result, with rich. Plain text, no colour and no box drawing when the
output is not a terminal or ``NO_COLOR`` is set; the words carry the verdicts either way."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, Any, assert_never

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..analyses.gradient_result import Gradient, GradientResult
from ..formats.numfmt import text
from ..numeric.verdict import Word
from .brief import brief
from .messages import gradient_message
from .tensors import fits, shape_text, tensor_text


def make_console(file: IO[str] | None = None, width: int | None = None, **options: Any) -> Console:
    """The console for people: with ``NO_COLOR`` set, no styles at all (not even bold)."""
    if os.environ.get("NO_COLOR"):
        options["color_system"] = None
    # No markup: tensors print as [nan, 4.], which rich would read as a style tag.
    console = Console(file=file, width=width, highlight=False, soft_wrap=False, markup=False, **options)
    if console.width < MIN_WIDTH:  # COLUMNS=0 or a sliver of a window: lines wrap, nothing is lost
        console.width = MIN_WIDTH
    return console


MIN_WIDTH = 50


def show(console: Console, draw: Callable[[Console], None]) -> None:
    """Draw on ``console``; off a terminal, without the padding rich adds at the end of lines."""
    if console.is_terminal:
        draw(console)
        return
    with console.capture() as captured:
        draw(console)
    console.file.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")


def fancy(console: Console) -> bool:
    """Box drawing and marks (✓ ✗) in a terminal. ``NO_COLOR`` removes colour only, as no-color.org
    asks: the marks and rules stay."""
    return console.is_terminal and not console.is_dumb_terminal


SIDE_BY_SIDE = 80  # narrower than this, the sides of a gradient are stacked, in order


def render_gradient(result: GradientResult, console: Console, full: bool = False) -> None:
    rich_output = fancy(console)
    dtype = result.dtype

    facts = Table.grid(padding=(0, 2))
    for style in ("bold", "cyan", "dim", None):
        facts.add_column(style=style, no_wrap=style is not None)
    # The tensors get the width their cell really has: what the three columns before it leave.
    names = max((len(name) for name in result.inputs), default=0)
    shapes = max(len(shape_text(v.shape, dtype)) for v in [*result.inputs.values(), result.output])
    width = console.width - (len("Expression") + names + shapes + 3 * 2)
    if result.intermediates:  # a program: a statement a line
        facts.add_row("Program", "", "", Text(result.parsed.replace("; ", "\n")))
    else:
        facts.add_row("Expression", "", "", Text(result.parsed))
    for index, (name, value) in enumerate(result.inputs.items()):
        facts.add_row(
            "Inputs" if index == 0 else "",
            name,
            shape_text(value.shape, "int64" if value.dtype.kind == "i" else dtype),
            tensor_text(value, dtype, width, full),
        )
    facts.add_row("Output", "", shape_text(result.output.shape, dtype), tensor_text(result.output, dtype, width, full))
    how = f"{result.reduce}(output)" if result.reduce else "output (already a scalar)"
    facts.add_row("Loss", "", "", Text.assemble(f"{how} = ", (text(result.loss, dtype), "bold")))
    console.print(facts)
    for table in _steps_tables(result, rich_output) if result.intermediates else []:
        console.print()
        console.print(table)

    for gradient in result.gradients.values():
        console.print()
        console.print(_gradient_table(gradient, dtype, console.width, rich_output, full))
        console.print(_gradient_verdict(gradient, dtype, rich_output))

    console.print()
    console.print(_verdict(result, rich_output))


def _steps_tables(result: GradientResult, rich_output: bool) -> list[Table]:
    """A program's steps, in order: the forward pass (each step's value), then d loss / d step by
    backprop's formula (in the step names) beside torch's ``retain_grad``."""
    dtype = result.dtype
    forward = _steps_table("Steps", ("step", "expression", "shape", "value"), rich_output)
    backward = _steps_table(
        "d loss / d step",
        ("step", "formula (backprop)", "symbolic", "autograd (retain_grad)", "verdict"),
        rich_output,
    )
    for step in result.intermediates.values():
        name = Text(step.name, style="cyan")
        shape = shape_text(step.value.shape, dtype).removeprefix(f"{dtype} ")
        forward.add_row(name, step.expr, shape, brief(step.value, dtype))
        if step.verdict is None:
            backward.add_row(name, Text("-", style="dim"), "-", "-", Text(step.note or "", style="dim"))
            continue
        backward.add_row(
            name,
            Text(step.formula, style="italic") if step.formula else Text("-", style="dim"),
            "-" if step.symbolic is None else brief(step.symbolic, dtype),
            "-" if step.autograd is None else brief(step.autograd, dtype),
            verdict_word(step.verdict.word, rich_output),
        )
    return [forward, backward]


def titled_table(title: str, rich_output: bool) -> Table:
    """A table with its title on the left, ruled under the headings in a terminal only."""
    return Table(
        title=Text(title, style="bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD if rich_output else None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0),
    )


def _steps_table(title: str, headings: tuple[str, ...], rich_output: bool) -> Table:
    table = titled_table(title, rich_output)
    for heading in headings:
        table.add_column(heading, overflow="fold", no_wrap=heading in ("step", "shape", "verdict"))
    return table


def _gradient_table(gradient: Gradient, dtype: str, width: int, rich_output: bool, full: bool = False) -> Group:
    """The sides of one gradient side by side (stacked, in order, below 80 columns). A skipped
    symbolic side keeps no column: one line says it was skipped."""
    title = Text.assemble("d loss / d ", (gradient.name, "cyan"), f"   {shape_text(gradient.autograd.shape, dtype)}")
    sides: list[tuple[str, Text, np.ndarray, str]] = []
    lines: list[Any] = [title]
    if gradient.symbolic is not None:
        formula = Text(gradient.formula, style="italic") if gradient.formula else Text("-", style="dim")
        by = "backprop on the tree" if gradient.symbolic_by == "backprop" else "sympy"
        sides.append((f"symbolic ({by})", formula, gradient.symbolic, dtype))
    else:
        lines.append(Text("symbolic (sympy): skipped", style="dim"))
    sides.append(("autograd (torch)", Text("backward pass", style="dim"), gradient.autograd, dtype))
    if gradient.finite_difference is not None:
        sides.append(
            ("finite differences", Text("central, float64", style="dim"), gradient.finite_difference, "float64")
        )
    cell_width = (width - 2 * len(sides)) // len(sides)
    texts = [tensor_text(values, kind, cell_width, full) for _, _, values, kind in sides]
    side_by_side = width >= SIDE_BY_SIDE and all(fits(shown, cell_width) for shown in texts)
    if len(sides) > 1 and not side_by_side:
        for heading, note, values, kind in sides:
            lines.append(_sides_table([heading], [note], [tensor_text(values, kind, width, full)], rich_output))
        return Group(*lines)
    lines.append(_sides_table([side[0] for side in sides], [side[1] for side in sides], texts, rich_output))
    return Group(*lines)


def _sides_table(headings: list[str], notes: list[Text], texts: list[str], rich_output: bool) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD if rich_output else None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0),
    )
    for heading in headings:
        table.add_column(heading, overflow="fold")
    table.add_row(*notes)
    table.add_row(*texts)
    return table


def _gradient_verdict(gradient: Gradient, dtype: str, rich_output: bool) -> Group:
    comparison = gradient.comparison
    verdict = gradient.verdict
    detail = f"  max |diff| = {text(comparison.max_abs_diff, dtype)}" if comparison is not None else ""
    if gradient.fd_comparison is not None:
        detail += f"; against finite differences {gradient.fd_comparison.max_abs_diff:.3g}"
    lines = [Text.assemble(verdict_word(verdict.word, rich_output), detail)]
    if verdict.edge_count:
        count = verdict.edge_count
        lines.append(
            Text(
                f"  {count} element{'s differ' if count > 1 else ' differs'} where the derivative is undefined:",
                style="yellow",
            )
        )
        for point in verdict.edges:
            where = f"[{', '.join(map(str, point.index))}]" if point.index else "scalar"
            values = "  ".join(
                f"{side.replace('_', ' ')} {text(value, 'float64' if side == 'finite_difference' else dtype)}"
                for side, value in point.values.items()
            )
            lines.append(Text(f"    {where}  {values}"))
            lines.append(Text(f"    {' ' * len(where)}  {point.kind}: {point.reason}", style="dim"))
        if verdict.edge_count > len(verdict.edges):
            lines.append(Text(f"    ... and {verdict.edge_count - len(verdict.edges)} more"))
    if verdict.unexplained:
        lines.append(Text(f"  {verdict.unexplained} element(s) differ for no known reason", style="red"))
    if gradient.note:
        lines.append(Text(f"  note: {gradient.note}", style="dim"))
    return Group(*lines)


def _word_look(word: Word) -> tuple[str, str, str]:
    """(terminal text, plain text, style) of a verdict word."""
    match word:
        case Word.AGREE:
            return "✓ agree", "agree", "bold green"
        case Word.ROUNDING:
            return "✓ rounding", "rounding", "bold green"
        case Word.UNCHECKED:
            return "? unchecked", "unchecked", "bold yellow"
        case Word.EDGE:
            return "~ edge", "edge", "bold yellow"
        case Word.DISAGREE:
            return "✗ DISAGREE", "DISAGREE", "bold red"
        case _:
            assert_never(word)


def verdict_word(word: Word | str, rich_output: bool, mark_only: bool = False) -> Text:
    """``✓ agree`` in a terminal, ``agree`` elsewhere; ``mark_only`` gives the prefix of a final line."""
    fancy_text, plain_text, style = _word_look(Word(word))
    if mark_only:
        return Text(fancy_text.split()[0] + " " if rich_output else plain_text + ": ", style=style)
    return Text(fancy_text if rich_output else plain_text, style=style)


def _verdict(result: GradientResult, rich_output: bool) -> Text:
    if not result.gradients:
        return Text(gradient_message(result)[0].upper() + gradient_message(result)[1:] + ".")
    return Text.assemble(verdict_word(result.verdict, rich_output, mark_only=True), gradient_message(result))
