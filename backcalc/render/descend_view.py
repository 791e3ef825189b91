"""Gradient descent for people: a live view while it runs (in a terminal), then a table of selected
steps and the loss curve as a sparkline; and a real plot with matplotlib (``--plot``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from ..analyses.descend import Descent, Step
from ..errors import OutputError
from ..formats.numfmt import text
from .brief import brief
from .tensors import tensor_text
from .terminal import fancy, verdict_word

_BARS = "▁▂▃▄▅▆▇█"
ROWS = 12  # steps shown in the final table


def sparkline(values: list[float], width: int = 60) -> str:
    """The loss curve in block characters (log scale when every value is positive)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    if len(values) > width:  # sample evenly, keeping the first and the last
        picks = np.linspace(0, len(values) - 1, width).round().astype(int)
        values = [values[i] for i in picks]
    use_log = all(v > 0 for v in finite)
    scaled = [math.log10(v) if use_log and math.isfinite(v) else v for v in values]
    finite_scaled = [v for v in scaled if math.isfinite(v)]
    low, high = min(finite_scaled), max(finite_scaled)
    span = high - low or 1.0
    return "".join(
        _BARS[min(len(_BARS) - 1, int((v - low) / span * (len(_BARS) - 1) + 0.5))] if math.isfinite(v) else "!"
        for v in scaled
    )


def selected(steps: list[Step], rows: int = ROWS) -> list[Step]:
    """The first and last few steps, and evenly spaced ones between."""
    if len(steps) <= rows:
        return steps
    picks = sorted(set(np.linspace(0, len(steps) - 1, rows).round().astype(int)))
    return [steps[i] for i in picks]


@contextmanager
def live_view(descent_steps: int, wrt: list[str], dtype: str, console: Console) -> Iterator[Any]:
    """A progress bar with the current loss and parameters, refreshed as steps arrive."""
    progress = Progress(TextColumn("descending"), BarColumn(), MofNCompleteColumn(), console=console, transient=True)
    task = progress.add_task("steps", total=descent_steps)
    status = Text("")

    def update(step: Step) -> None:
        params = "  ".join(f"{name} = {brief(step.params[name], dtype)}" for name in wrt)
        status.plain = f"step {step.step}  loss = {text(step.loss, dtype)}  {params}"
        progress.update(task, completed=step.step)

    with Live(Group(progress, status), console=console, transient=True, refresh_per_second=12):
        yield update


def _cell(value: np.ndarray, dtype: str) -> str:
    """A scalar as its number; a tensor as its norm (its heading says |NAME|), so a cell holds one number."""
    array = np.asarray(value)
    if array.ndim == 0:
        return text(float(array), dtype)
    return text(float(np.linalg.norm(array.astype(np.float64))), dtype)


def step_table(descent: Descent, width: int, rich_output: bool) -> tuple[Table, list[str]]:
    """The selected steps in columns that fit ``width`` without cutting a digit: the check column,
    then the gradient columns, then the parameter columns (rightmost first) are left out while the
    table is too wide, and the notes say which."""
    dtype = descent.dtype
    steps = selected(descent.steps)
    names = list(descent.final_params)
    tensors = {n for n in names if np.asarray(descent.final_params[n]).ndim > 0}

    def label(name: str) -> str:
        return f"|{name}|" if name in tensors else name

    columns: list[tuple[str, list[Any]]] = [
        ("step", [str(s.step) for s in steps]),
        ("loss", [text(s.loss, dtype) for s in steps]),
        *((label(n), [_cell(s.params[n], dtype) for s in steps]) for n in names),
        *(
            (f"|d loss/d {n}|" if n in tensors else f"d loss/d {n}", [_cell(s.grads[n], dtype) for s in steps])
            for n in names
        ),
        ("sympy = torch", [verdict_word("agree" if s.agree else "disagree", rich_output) for s in steps]),
    ]

    def needed(column: tuple[str, list[Any]]) -> int:
        return max([len(column[0]), *(len(cell.plain if isinstance(cell, Text) else cell) for cell in column[1])])

    def total(chosen: list[tuple[str, list[Any]]]) -> int:
        return sum(needed(c) for c in chosen) + 2 * (len(chosen) - 1)

    notes = []
    dropped: list[str] = []
    # Drop order: the check column, then gradients, then parameters, each rightmost first.
    order = [len(columns) - 1, *range(len(columns) - 2, 1, -1)]
    chosen = list(columns)
    for index in order:
        if total(chosen) <= width:
            break
        column = columns[index]
        chosen.remove(column)
        dropped.append(column[0])
    if "sympy = torch" in dropped:
        bad = sum(not s.agree for s in descent.steps)
        notes.append("sympy = torch at every step" if not bad else f"sympy and torch disagreed at {bad} step(s)")
        dropped.remove("sympy = torch")
    if dropped:
        notes.append(f"left out at this width: {', '.join(reversed(dropped))} (--json has every value)")
    if tensors:
        notes.append(f"|{sorted(tensors)[0]}| is a tensor's norm (sqrt of the sum of squares); the final values follow")
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_edge=False)
    for heading, _ in chosen:
        right = heading != "sympy = torch"
        table.add_column(heading, justify="right" if right else "left", no_wrap=True, min_width=needed((heading, [])))
    for row in range(len(steps)):
        table.add_row(*(cells[row] for _, cells in chosen))
    return table, notes


def render_descent(descent: Descent, console: Console, full: bool = False) -> None:
    rich_output = fancy(console)
    dtype = descent.dtype
    how = f"{descent.reduce}(output)" if descent.reduce else "output"
    console.print(
        Text.assemble(
            ("Descent  ", "bold"),
            f"{descent.parsed}   loss = {how}, {descent.optimizer}, lr {descent.lr:g}, {dtype}",
        )
    )
    table, notes = step_table(descent, console.width, rich_output)
    console.print(table)
    for note in notes:
        console.print(Text(note, style="dim"))
    interrupted = descent.interrupted
    losses = [step.loss for step in descent.steps] + ([] if interrupted else [descent.final_loss])
    if losses:
        ends = f"  {text(losses[0], dtype)} -> {text(losses[-1], dtype)}"
        width = max(10, console.width - len("loss curve  ") - len(ends) - 1)
        console.print(Text.assemble(("loss curve  ", "bold"), sparkline(losses, width), ends))
    console.print(_final(descent, console.width, interrupted, full))
    style = "bold red" if descent.diverged else "bold green" if descent.converged else "bold"
    console.print(Text(descent.message, style=style))
    if not descent.agree:
        bad = sum(not step.agree for step in descent.steps)
        console.print(Text(f"symbolic and autograd disagreed at {bad} step(s)", style="bold red"))


def _final(descent: Descent, width: int, interrupted: bool, full: bool = False) -> Table:
    """The loss and parameters the descent ends with, saying which step they belong to."""
    dtype = descent.dtype
    count = len(descent.steps)
    if interrupted:
        when = f"step {count}, before its update" if count else "no step done"
    else:
        when = f"after the update of step {count}" if count else "before any update"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("final", "loss", Text.assemble(text(descent.final_loss, dtype), (f"  ({when})", "dim")))
    names = max((len(n) for n in descent.final_params), default=4)
    for name, value in descent.final_params.items():
        grid.add_row("", name, tensor_text(value, dtype, width - len("final") - max(names, 4) - 4, full))
    return grid


def plot_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def save_plot(descent: Descent, path: str) -> None:
    """Loss and parameters over the steps, as a PNG (matplotlib, the optional `plot` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [s.step for s in descent.steps]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    losses = [s.loss for s in descent.steps]
    top.plot(steps, losses, marker="." if len(steps) < 60 else None)
    if losses and all(v > 0 for v in losses):
        top.set_yscale("log")
    top.set_ylabel("loss")
    top.set_title(f"{descent.parsed}  ({descent.optimizer}, lr {descent.lr:g})")
    for name in descent.final_params:
        series = np.array([s.params[name] for s in descent.steps], dtype=np.float64).reshape(len(steps), -1)
        if series.shape[1] <= 8:
            for k in range(series.shape[1]):
                suffix = f"[{k}]" if series.shape[1] > 1 else ""
                bottom.plot(steps, series[:, k], label=f"{name}{suffix}")
        else:
            bottom.plot(steps, np.linalg.norm(series, axis=1), label=f"|{name}|")
    bottom.set_xlabel("step")
    bottom.set_ylabel("parameters")
    bottom.legend(loc="best")
    figure.tight_layout()
    try:
        figure.savefig(path, format="png", dpi=100)
    except OSError as exc:
        raise OutputError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(figure)
