"""The verdict on hand-derived gradients, for people."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..check import CheckResult
from ..numfmt import text
from .terminal import fancy, verdict_word


def render_check(result: CheckResult, console: Console) -> None:
    rich_output = fancy(console)
    console.print(Text.assemble(("Expression  ", "bold"), result.parsed))
    for claim in result.claims.values():
        console.print()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(f"d/d{claim.name} claimed", claim.parsed)
        grid.add_row(f"d/d{claim.name} (sympy)", claim.formula)
        proof = {True: "sympy proves them equal", False: "sympy finds them different", None: "sympy could not decide"}
        grid.add_row("symbolic", proof[claim.equivalent])
        grid.add_row("numeric", f"{claim.points} point(s) checked")
        if claim.counterexample:
            c = claim.counterexample
            point = ", ".join(f"{n}={text(v, 'float64')}" for n, v in c.point.items())
            autograd = "" if c.autograd is None else f", autograd {text(c.autograd, 'float64')}"
            grid.add_row(
                "counterexample",
                f"at {point}: claimed {text(c.claimed, 'float64')}, actual {text(c.actual, 'float64')}{autograd}",
            )
        console.print(grid)
        word = verdict_word("agree" if claim.right else "disagree", rich_output)
        console.print(Text.assemble(word, "  the claim is " + ("right" if claim.right else "wrong")))
    console.print()
    right = result.right
    console.print(
        Text.assemble(
            verdict_word("agree" if right else "disagree", rich_output, mark_only=True),
            "every claim is right" if right else "some claim is wrong",
        )
    )
