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

from ..descend import Descent, Step
from ..errors import InputError
from ..numfmt import text
from .brief import brief
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


def render_descent(descent: Descent, console: Console) -> None:
    rich_output = fancy(console)
    dtype = descent.dtype
    how = f"{descent.reduce}(output)" if descent.reduce else "output"
    console.print(
        Text.assemble(
            ("Descent  ", "bold"),
            f"{descent.parsed}   loss = {how}, {descent.optimizer}, lr {descent.lr:g}, {dtype}",
        )
    )
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_edge=False)
    names = list(descent.final_params)
    for heading in ["step", "loss", *names, *(f"d loss/d {n}" for n in names), "sympy = torch"]:
        table.add_column(heading, justify="right" if heading != "sympy = torch" else "left")
    for step in selected(descent.steps):
        table.add_row(
            str(step.step),
            text(step.loss, dtype),
            *(brief(step.params[n], dtype) for n in names),
            *(brief(step.grads[n], dtype) for n in names),
            verdict_word("agree" if step.agree else "disagree", rich_output),
        )
    console.print(table)
    losses = [step.loss for step in descent.steps] + [descent.final_loss]
    ends = f"  {text(losses[0], dtype)} -> {text(losses[-1], dtype)}"
    width = max(10, console.width - len("loss curve  ") - len(ends) - 1)
    console.print(Text.assemble(("loss curve  ", "bold"), sparkline(losses, width), ends))
    finals = "  ".join(f"{n} = {brief(v, dtype)}" for n, v in descent.final_params.items())
    console.print(Text.assemble(("final  ", "bold"), f"loss = {text(descent.final_loss, dtype)}  {finals}"))
    style = "bold red" if descent.diverged else "bold green" if descent.converged else "bold"
    console.print(Text(descent.message, style=style))
    if not descent.agree:
        bad = sum(not step.agree for step in descent.steps)
        console.print(Text(f"symbolic and autograd disagreed at {bad} step(s)", style="bold red"))


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
        raise InputError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(figure)
