"""The verdict on hand-derived gradients, for people."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..analyses.check.result import GIVEN, MAX_POINT_ELEMENTS, CheckResult, ClaimResult, Counterexample
from ..formats.numfmt import text
from .terminal import fancy, verdict_word


def render_check(result: CheckResult, console: Console) -> None:
    rich_output = fancy(console)
    program = result.program
    console.print(Text.assemble(("Program  " if program else "Expression  ", "bold"), result.parsed))
    for claim in result.claims.values():
        console.print()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(f"d/d{claim.name} claimed", claim.parsed)
        grid.add_row(f"d/d{claim.name} ({claim.derivation})", claim.formula)
        grid.add_row("symbolic", _proof(claim, program))
        grid.add_row("numeric", f"{claim.points} point(s) checked")
        if claim.mismatch:
            grid.add_row("shapes", claim.mismatch)
        if claim.counterexample:
            grid.add_row("counterexample", _counterexample(claim.name, claim.counterexample))
        if claim.propagated is not None and claim.right:  # a wrong claim is wrong either way
            grid.add_row(
                "with your dNAME", "right" if claim.propagated else "wrong: an upstream claim it uses is wrong"
            )
        if claim.diagnosis is not None:
            grid.add_row("the mistake", claim.diagnosis.message)
        console.print(grid)
        word = verdict_word("agree" if claim.right else "disagree", rich_output)
        console.print(Text.assemble(word, "  the claim is " + ("right" if claim.right else "wrong")))
    if any(claim.numbers is not None for claim in result.claims.values()):
        console.print()
        console.print(_cmp_lines(result, rich_output))
    console.print()
    right = result.right
    console.print(
        Text.assemble(
            verdict_word("agree" if right else "disagree", rich_output, mark_only=True),
            "every claim is right" if right else "some claim is wrong",
        )
    )


def _cmp_lines(result: CheckResult, rich_output: bool) -> Table:
    """The claims in backward order, as the backprop ninja's ``cmp`` prints them, each graded with the
    true upstream gradients; the first wrong one marked."""
    table = Table.grid(padding=(0, 2))
    for index in range(6):
        table.add_column(no_wrap=index in (0, 2, 3, 4), overflow="fold")
    width = max(len(name) for name in result.claims)
    first = result.first_wrong
    for name, claim in result.claims.items():
        mark = ("✓" if claim.right else "✗") if rich_output else ("right" if claim.right else "wrong")
        numbers = claim.numbers
        notes = (
            [] if numbers is not None else [f"shape {list(claim.claimed_shape or [])}, not {list(claim.shape or [])}"]
        )
        notes += ["first wrong"] if name == first else []
        cells = ["", "", ""] if numbers is None else [
            f"exact: {numbers.exact}", f"approximate: {numbers.approximate}",
            f"max_abs_diff: {numbers.max_abs_diff:.6g}",
        ]  # fmt: skip
        style = "bold green" if claim.right else "bold red"
        table.add_row(Text(mark, style=style), name.ljust(width), *cells, "; ".join(notes))
    return _titled(table)


def summary_row(result: CheckResult) -> str:
    """One row for a teacher's table: right, the first wrong claim, the kind of its mistake."""
    first = result.first_wrong
    diagnosis = result.claims[first].diagnosis if first is not None else None
    kind = diagnosis.kind if diagnosis is not None and diagnosis.kind else "-"
    return "\t".join(["right" if result.right else "wrong", first or "-", kind])


def _titled(table: Table) -> Table:
    outer = Table.grid()
    outer.add_row(Text("Backward order, each claim with the true upstream gradients", style="bold"))
    outer.add_row(table)
    return outer


def _proof(claim: ClaimResult, program: bool) -> str:
    if claim.derivation != "sympy":
        return f"not attempted for {'programs' if program else 'matrix expressions'}: checked by the numbers"
    proof = {True: "sympy proves them equal", False: "sympy finds them different", None: "sympy could not decide"}
    return proof[claim.equivalent]


def _counterexample(name: str, c: Counterexample) -> str:
    autograd = "" if c.autograd is None else f", autograd {text(c.autograd, 'float64')}"
    values = f"claimed {text(c.claimed, 'float64')}, actual {text(c.actual, 'float64')}{autograd}"
    if all(isinstance(v, float) for v in c.point.values()):
        point = ", ".join(f"{n}={text(v, 'float64')}" for n, v in c.point.items())
        return f"at {point}: {values}"
    element = f"{name}[{', '.join(map(str, c.index))}]" if c.index else name
    if c.at != GIVEN and sum(v.size for v in c.point.values()) <= MAX_POINT_ELEMENTS:
        arrays = ", ".join(f"{n}={_array(v)}" for n, v in c.point.items())
        return f"{element} at {c.at} ({arrays}): {values}"
    return f"{element} at {c.at}: {values}"


def _array(value: np.ndarray) -> str:
    return np.array2string(np.asarray(value), precision=6, separator=", ", max_line_width=10**6)
