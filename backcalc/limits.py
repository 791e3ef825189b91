"""The documented bounds on what one input may cost, each checked before the work it guards, and the
wall-clock budget (:func:`deadline`, :func:`run_budget`) for work that cannot bound itself (sympy's
differentiation and printing)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import LimitError

MAX_EXPRESSION_LENGTH = 10_000
"""Characters in an expression."""

MAX_DEPTH = 100
"""Nesting depth of the expression tree (parentheses, operators, function calls)."""

MAX_NODES = 5_000
"""Nodes (numbers, names, operations) in the expression tree."""

MAX_FORMULA_NODES = 5_000
"""Nodes of a derived formula written out as text (a program's steps by their names): a gradient
through many steps that each use the one before twice would double at every step. Beyond, the formula
is not printed; its values still are."""

MAX_EMITTED_NODES = 50_000
"""Distinct nodes (operations, numbers, names) of the formulas ``--emit`` writes: a node shared by
several formulas is one assignment, so the code grows with these, not with the formulas written out."""

MAX_NUMBER_LENGTH = 64
"""Characters in one number literal."""

MAX_CONSTANT_DIGITS = 300
"""A constant subexpression (``2**1000``) must stay within float64's range: 10**-300 .. 10**300."""

MAX_COEFFICIENT_DIGITS = 4_000
"""Digits of the exact integers sympy may build by distributing constant powers, like ``(2*x)**1000``."""

MAX_ELEMENTS = 10_000_000
"""Elements in one input tensor, and in the broadcast output."""

MAX_NDIM = 32
"""Dimensions of one input tensor."""

MAX_FILE_BYTES = 256 * 2**20
"""Bytes in one ``@file`` value (at most this many are ever read, whatever the file claims), and in one
line of ``batch`` input."""

MAX_JSON_DEPTH = MAX_NDIM + 2
"""Nesting of arrays and objects in JSON input (a value file or a ``batch`` line): a line's object and
its ``inputs`` object around a value of :data:`MAX_NDIM` dimensions."""

MAX_VALUE_TEXT = 1_000_000
"""Characters of one literal value typed on the command line (use ``@file`` for more)."""

RECURSION_LIMIT = 20_000
"""Python's recursion limit while a tree is parsed or evaluated: depth 100 takes several frames a level
in the parser and many more inside sympy."""

MAX_SYMBOLIC_ELEMENTS = 400
"""Input elements (all inputs together) up to which an expression that mixes elements (``@``,
reductions, softmax) is also differentiated by sympy element by element, each element its own symbol:
the witness of the formula in matrix notation, and the Jacobians and Hessians. Beyond, there is no
witness (the formula still answers), and Jacobians and Hessians are refused."""

MAX_DERIVATIVE_ENTRIES = 10_000
"""Entries of a Jacobian (output elements x input elements) or a Hessian (variables squared)."""

MAX_FD_EVALUATIONS = 20_000
"""Evaluations of the whole expression that finite differences may take when it mixes elements
(``@``, reductions): two per element of the input."""

MAX_WORK = 20_000_000_000
"""Floating-point operations of one forward pass, estimated before anything runs: the elements of every
operation's result, and 2*m*k*n for each ``@`` of an m x k by a k x n matrix (batched ``@`` too). The
backward pass costs about twice as much again; 20 GFLOP takes a few seconds on one core."""

MAX_WORK_BYTES = 2 * 2**30
"""Memory of the intermediate tensors of one run, estimated before anything runs: the elements of every
input and every operation's result, at 8 bytes each, twice (the forward pass keeps each result for the
backward pass, which makes a gradient of the same size)."""

MAX_MATRIX_DERIVATIVE_ENTRIES = MAX_ELEMENTS
"""Entries of a Hessian or a Jacobian in matrix notation (``hessian``, ``jacobian``), as of any tensor:
the formula is evaluated into a matrix of this many float64 numbers at most (80 MB; a Hessian over a
vector of 3,162 elements). A Hessian with respect to a matrix is a linear map and is not written out
beyond :data:`MAX_DERIVATIVE_ENTRIES`. Up to :data:`MAX_DERIVATIVE_ENTRIES` entries are compared with
torch's one by one and written in the JSON; beyond, torch checks the formula by products with random
vectors."""

SYMBOLIC_SECONDS = 10.0
"""Seconds sympy may spend in one run, all inputs together: converting, differentiating and printing.
Beyond it the symbolic side is skipped (verdict ``unchecked``, with the reason) and autograd answers."""

SIMPLIFY_SECONDS = 2.0
"""Seconds ``--simplify`` may spend on one formula before the unsimplified one is shown instead."""


def describe() -> str:
    """One line per limit, for ``--help`` and the README."""
    return "\n".join(
        [
            f"  expression: {MAX_EXPRESSION_LENGTH:,} characters, depth {MAX_DEPTH}, {MAX_NODES:,} nodes",
            f"  constants: within 1e-{MAX_CONSTANT_DIGITS}..1e{MAX_CONSTANT_DIGITS}; "
            f"exact coefficients up to {MAX_COEFFICIENT_DIGITS:,} digits",
            f"  tensors: {MAX_ELEMENTS:,} elements, {MAX_NDIM} dimensions; files: {MAX_FILE_BYTES // 2**20} MiB",
            f"  work of one run (estimated first): {MAX_WORK / 1e9:g} GFLOP, {MAX_WORK_BYTES / 2**30:g} GiB of tensors",
            f"  @ and reductions: sympy's element-by-element witness up to {MAX_SYMBOLIC_ELEMENTS} input elements; "
            f"{MAX_DERIVATIVE_ENTRIES:,} Jacobian or Hessian entries element by element, "
            f"{MAX_MATRIX_DERIVATIVE_ENTRIES:,} in matrix notation",
            f"  symbolic work: {SYMBOLIC_SECONDS:g} s a run, then the symbolic side is skipped "
            f"(--simplify: {SIMPLIFY_SECONDS:g} s a formula, then unsimplified)",
        ]
    )


# The clock: a wall-clock budget for sympy, which cannot bound its own work.


@contextmanager
def recursion_room(limit: int) -> Iterator[None]:
    """Raise Python's recursion limit to at least ``limit`` inside the block (the depth is bounded)."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


_RUN_END: ContextVar[float | None] = ContextVar("backcalc_run_end", default=None)
_RUN_SECONDS: ContextVar[float] = ContextVar("backcalc_run_seconds", default=0.0)


@contextmanager
def run_budget(seconds: float) -> Iterator[None]:
    """One symbolic time budget for everything inside the block (every input, every step): each
    :func:`deadline` inside gets at most what is left of it. A budget already running is kept."""
    if _RUN_END.get() is not None:
        yield
        return
    end = _RUN_END.set(time.monotonic() + seconds)
    total = _RUN_SECONDS.set(seconds)
    try:
        yield
    finally:
        _RUN_END.reset(end)
        _RUN_SECONDS.reset(total)


@contextmanager
def at_most(seconds: float) -> Iterator[None]:
    """Inside the block, the run's budget ends within ``seconds`` (for optional work, such as a witness)."""
    end, now = _RUN_END.get(), time.monotonic()
    tighter = now + seconds if end is None or now + seconds < end else end
    token = _RUN_END.set(tighter)
    total = _RUN_SECONDS.set(seconds if tighter == now + seconds else _RUN_SECONDS.get())
    try:
        yield
    finally:
        _RUN_END.reset(token)
        _RUN_SECONDS.reset(total)


class _Expired(BaseException):
    # A BaseException, so that no `except Exception` inside sympy can swallow it.
    pass


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`LimitError` if the block runs longer than ``seconds``.

    Uses SIGALRM, so it only guards the main thread on POSIX; elsewhere the block runs unbounded.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return
    end = _RUN_END.get()
    if end is not None:  # one budget for the whole run: what earlier steps spent is gone
        left = end - time.monotonic()
        if left <= 0:
            raise LimitError(f"{what}: the run's symbolic budget of {_RUN_SECONDS.get():g} s is spent; giving up")
        if left < seconds:
            seconds, what = left, f"{what} (the rest of the run's {_RUN_SECONDS.get():g} s budget)"

    def expire(signum: int, frame: object) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise LimitError(f"{what} took longer than {seconds:g} s; giving up") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
