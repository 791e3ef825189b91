"""Jacobians and Hessians side by side, for people."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..jacobian_hessian import Derivatives, Side
from ..numfmt import text
from ..verdict import Word
from .tensors import shape_text, tensor_text
from .terminal import fancy, verdict_word


def _side_table(side: Side, dtype: str, width: int, rich_output: bool) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD if rich_output else None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0),
    )
    table.add_column("symbolic (sympy)", overflow="fold")
    table.add_column("autograd (torch)", overflow="fold")
    cell = (width - 4) // 2
    table.add_row(tensor_text(side.symbolic, dtype, cell), tensor_text(side.autograd, dtype, cell))
    return table


def render_derivatives(result: Derivatives, console: Console) -> None:
    rich_output = fancy(console)
    problem, dtype = result.problem, result.problem.dtype
    console.print(Text.assemble(("Expression  ", "bold"), result.to_dict()["parsed"]))
    output = tensor_text(result.output, dtype, 60)
    console.print(Text.assemble(("Output      ", "bold"), shape_text(result.output.shape, dtype), "  ", output))
    for name, side in result.sides.items():
        console.print()
        if result.kind == "jacobian":
            shape = shape_text(side.autograd.shape, dtype)
            title = f"Jacobian d output / d {name}   {shape} (output dims, then {name}'s)"
        else:
            how = "the output" if problem.output_shape == () else f"{problem.reduce}(output)"
            title = f"Hessian of the loss = {how} = {text(result.loss or 0.0, dtype)}"
            console.print(Text(f"variables: {', '.join(result.variables)}"))
        console.print(Text(title, style="bold"))
        console.print(_side_table(side, dtype, console.width, rich_output))
        word = verdict_word("agree" if side.comparison.agree else "disagree", rich_output)
        console.print(Text.assemble(word, f"  max |diff| = {text(side.comparison.max_abs_diff, dtype)}"))
    console.print()
    tol = f"rtol {result.tolerance.rtol:g}, atol {result.tolerance.atol:g}"
    what = "Jacobians" if result.kind == "jacobian" else "Hessians"
    verdict = Word.AGREE if result.agree else Word.DISAGREE
    message = f"the symbolic and autograd {what} {verdict} ({tol})"
    console.print(Text.assemble(verdict_word(verdict, rich_output, mark_only=True), message))
