"""Tensors as compact text for a cell of a given width, summarised when large (like torch's and
pandas' printing), saying which part is shown.

A tensor that fits its cell is printed as NumPy prints it. A larger one is cut into whole elements,
never digits: the first and last rows and as many of the first and last columns as the width takes,
with ``...`` for the rest, and a line that says what is shown (``rows 0-2 and 7-9 of 10, columns 0-1
and 8-9 of 10``); ``full=True`` prints every element, wrapping inside the cell at element boundaries.
"""

from __future__ import annotations

import re
import sys

import numpy as np

from ..formats.numfmt import text

THRESHOLD = 64  # more elements than this are summarised with "..."
EDGE_ITEMS = 3
_PRECISION = {"float32": 6, "float64": 8}


def tensor_text(array: np.ndarray, dtype: str, width: int = 60, full: bool = False) -> str:
    """The tensor in at most ``width`` columns (a lone number may be wider), with a line saying what
    is left out when something is."""
    array = np.asarray(array)
    if array.ndim == 0:
        return text(array.item(), dtype)  # an int64 label stays a whole number
    width = max(width, 12)
    if full or array.size <= THRESHOLD:
        plain = np.array2string(
            array,
            separator=", ",
            precision=_PRECISION[dtype],
            threshold=sys.maxsize if full else THRESHOLD,
            edgeitems=EDGE_ITEMS,
            max_line_width=width,
            floatmode="maxprec",
        )
        if all(len(line) <= width for line in plain.splitlines()) or full:
            return plain
    return _grid(array, dtype, width)


def fits(shown: str, width: int) -> bool:
    """Whether ``shown`` (from :func:`tensor_text`) keeps within ``width`` and shows at least two
    columns of a matrix: a narrower cell is better given up for a stacked layout."""
    lines = shown.splitlines()
    note = lines[-1] if lines and lines[-1].startswith("showing ") else ""
    if note:
        lines = lines[:-1]
    return all(len(line) <= width for line in lines) and not re.search(r"(columns|elements) 0 of", note)


def _spans(picked: list[int], total: int) -> str:
    """``0-2 and 7-9`` for the indices picked out of ``total``."""
    runs: list[list[int]] = []
    for index in picked:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return " and ".join(f"{run[0]}" if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _grid(array: np.ndarray, dtype: str, width: int) -> str:
    """A 1-d tensor as one row, a 2-d one as its matrix, more dimensions as the matrix of rows of
    the last dimension; the first and last rows and the columns that fit."""
    shape = array.shape
    matrix = array.reshape(1, -1) if array.ndim == 1 else array.reshape(-1, shape[-1])
    rows, cols = matrix.shape
    row_picks = list(range(rows)) if rows <= 2 * EDGE_ITEMS else [*range(EDGE_ITEMS), *range(rows - EDGE_ITEMS, rows)]
    cells = {
        (r, c): text(matrix[r, c].item(), dtype) for r in row_picks for c in range(cols) if c < 50 or c >= cols - 50
    }

    def column_width(c: int) -> int:
        return max(len(cells[(r, c)]) for r in row_picks)

    def line_width(picks: list[int]) -> int:
        gap = 5 if len(picks) < cols else 0  # ", ..." between the halves
        return 2 + sum(column_width(c) for c in picks) + 2 * (len(picks) - 1) + gap + 2

    col_picks = list(range(cols))
    if cols > 100 or line_width(col_picks) > width:
        col_picks = [0, cols - 1] if cols > 1 and line_width([0, cols - 1]) <= width else [0]
        edge = 1
        while 2 * (edge + 1) < cols:
            wider = [*range(edge + 1), *range(cols - edge - 1, cols)]
            if line_width(wider) > width:
                break
            col_picks, edge = wider, edge + 1
    cut = next((i for i in range(1, len(col_picks)) if col_picks[i] != col_picks[i - 1] + 1), None)
    if cut is None and len(col_picks) < cols:
        cut = len(col_picks)  # only the first column fits: "..." after it
    widths = {c: column_width(c) for c in col_picks}

    def row_text(r: int) -> str:
        parts = [cells[(r, c)].rjust(widths[c]) for c in col_picks]
        if cut is not None:
            parts.insert(cut, "...")
        return ", ".join(parts)

    one_row = array.ndim == 1
    lines = []
    for position, r in enumerate(row_picks):
        if position == EDGE_ITEMS and len(row_picks) < rows:
            lines.append(" ...,")
        opening = "[" if one_row else ("[[" if position == 0 else " [")
        closing = "]" if one_row else ("]]" if position == len(row_picks) - 1 else "],")
        lines.append(opening + row_text(r) + closing)
    shown = []
    if len(row_picks) < rows:
        shown.append(f"rows {_spans(row_picks, rows)} of {rows}")
    if len(col_picks) < cols:
        what = "elements" if one_row else "columns"
        shown.append(f"{what} {_spans(col_picks, cols)} of {cols}")
    if shown:
        note = "showing " + ", ".join(shown)
        if array.ndim > 2:
            note += f" (rows: the last dimension of {'x'.join(map(str, shape))})"
        lines.append(note + "; --full for all")
    return "\n".join(lines)


def shape_text(shape: tuple[int, ...] | list[int], dtype: str) -> str:
    return f"{dtype} scalar" if len(shape) == 0 else f"{dtype} [{', '.join(map(str, shape))}]"
