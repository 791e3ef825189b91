"""A wall-clock budget for work that cannot bound itself (sympy's differentiation and printing)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
