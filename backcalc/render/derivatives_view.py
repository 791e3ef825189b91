"""Jacobians and Hessians side by side, for people."""

from __future__ import annotations

from typing import assert_never

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..analyses.derivatives import Derivatives, Side
from ..formats.numfmt import text
from ..numeric.verdict import Word
from .tensors import fits, shape_text, tensor_text
from .terminal import SIDE_BY_SIDE, fancy, verdict_word


def _side_table(side: Side, dtype: str, width: int, rich_output: bool, full: bool) -> Table:
    """Symbolic beside autograd, each fitted to its half; stacked when a half is too narrow."""
    table = Table(
        box=box.SIMPLE_HEAD if rich_output else None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0),
    )
    cell = (width - 4) // 2
    assert side.symbolic is not None and side.autograd is not None  # compared entry by entry
    texts = [tensor_text(side.symbolic, dtype, cell, full), tensor_text(side.autograd, dtype, cell, full)]
    if width >= SIDE_BY_SIDE and all(fits(shown, cell) for shown in texts):
        table.add_column("symbolic (sympy)", overflow="fold")
        table.add_column("autograd (torch)", overflow="fold")
        table.add_row(*texts)
        return table
    table.add_column("symbolic (sympy), then autograd (torch)", overflow="fold")
    table.add_row(tensor_text(side.symbolic, dtype, width, full))
    table.add_row(tensor_text(side.autograd, dtype, width, full))
    return table


def _formula(side: Side, letter: str, console: Console) -> None:
    """The derivative in matrix notation, as it can be pasted back into backcalc."""
    formula = side.formula
    if formula is None:
        return
    shown = formula.text or "(too long to print)"
    if formula.direction is not None:
        console.print(Text(f"{letter}[{formula.direction}] = {shown}   (the linear map at {formula.direction})"))
    else:
        console.print(Text(f"{letter} = {shown}"))


def _by_products(side: Side, dtype: str, console: Console, full: bool) -> None:
    """A derivative too large to compare entry by entry: a corner of it, and torch's products."""
    if side.symbolic is not None:
        console.print(Text(f"{shape_text(side.shape, dtype)}, from the formula:"))
        console.print(Text(tensor_text(side.symbolic, dtype, console.width, full and side.shown)))
    word = verdict_word(side.word, fancy(console))
    how = f"  by {side.products} {side.checked_by} against torch at seeded random vectors"
    console.print(Text.assemble(word, how, f", max |diff| = {text(side.comparison.max_abs_diff, dtype)}"))


def render_derivatives(result: Derivatives, console: Console, full: bool = False) -> None:
    rich_output = fancy(console)
    problem, dtype = result.problem, result.problem.dtype
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(no_wrap=True)
    facts.add_column(overflow="fold")
    shape = shape_text(result.output.shape, dtype)
    facts.add_row("Program" if result.problem.steps else "Expression", "", result.problem.parsed)
    width = console.width - len("Expression") - len(shape) - 4
    facts.add_row("Output", shape, tensor_text(result.output, dtype, width, full))
    console.print(facts)
    for name, side in result.sides.items():
        console.print()
        if result.kind == "jacobian":
            shape = shape_text(side.shape, dtype)
            title = f"Jacobian d output / d {name}   {shape} (output dims, then {name}'s)"
        else:
            how = "the output" if problem.output_shape == () else f"{problem.reduce}(output)"
            title = f"Hessian of the loss = {how} = {text(result.loss or 0.0, dtype)}"
            if side.shown:
                console.print(Text(f"variables: {', '.join(result.variables)}"))
        console.print(Text(title, style="bold"))
        _formula(side, "J" if result.kind == "jacobian" else "H", console)
        if side.autograd is None:
            _by_products(side, dtype, console, full)
            continue
        console.print(_side_table(side, dtype, console.width, rich_output, full))
        word = verdict_word(side.word, rich_output)
        console.print(Text.assemble(word, f"  max |diff| = {text(side.comparison.max_abs_diff, dtype)}"))
    console.print()
    tol = f"rtol {result.tolerance.rtol:g}, atol {result.tolerance.atol:g}"
    what = "Jacobians" if result.kind == "jacobian" else "Hessians"
    verdict = result.verdict
    match verdict:
        case Word.AGREE:
            how = "agree"
        case Word.ROUNDING:
            how = "agree within float rounding"
        case Word.UNCHECKED:
            how = "could not all be compared"
        case Word.EDGE:
            how = "differ only where no derivative exists"
        case Word.DISAGREE:
            how = "disagree"
        case _:
            assert_never(verdict)
    message = f"the symbolic and autograd {what} {how} ({tol})"
    console.print(Text.assemble(verdict_word(verdict, rich_output, mark_only=True), message))
