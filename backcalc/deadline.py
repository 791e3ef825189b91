"""A wall-clock budget for work that cannot bound itself (sympy's differentiation and printing)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import LimitError


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
