r"""``batch`` as a stream: input read as it comes, a window of lines at a time, answered in order by
this process or by several (``--jobs``).

A window holds at most :data:`WINDOW_LINES` lines and about :data:`WINDOW_BYTES` bytes, so memory
stays bounded however long the input. On a pipe, a window is also cut when no line has come for
:data:`QUIET_SECONDS`: a pipe that never closes still gets its answers. Ctrl-C while reading answers
the lines already read, then stops.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import stat
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any, BinaryIO

from ... import limits
from ...inputs.files import FileAccess
from .lines import Batch, Tally

WINDOW_LINES = 8192
WINDOW_BYTES = 4 * 2**20
QUIET_SECONDS = 0.05  # a window waits at most this long for its next line

Window = list[tuple[int, bytes | None]]


def windows(stream: BinaryIO) -> Iterator[tuple[Window, bool]]:
    """The numbered lines of ``stream`` a window at a time, each with whether it must be answered at
    once (it was cut by a quiet pipe, or is the last)."""
    try:
        fd = stream.fileno()
        piped = os.name == "posix" and not stat.S_ISREG(os.fstat(fd).st_mode)  # select() needs POSIX
    except (AttributeError, OSError, ValueError):  # an in-memory stream: never waits
        piped = False
    lines = _PipeLines(fd).lines() if piped else ((raw, False) for raw in read_lines(stream))
    window: Window = []
    size = 0
    number = 0
    try:
        for raw, quiet in lines:
            if quiet:  # nothing came for a while: answer what is waiting
                if window:
                    yield window, True
                    window, size = [], 0
                continue
            window.append((number, raw))
            number += 1
            size += len(raw or b"")
            if len(window) >= WINDOW_LINES or size >= WINDOW_BYTES:
                yield window, False
                window, size = [], 0
    except KeyboardInterrupt:
        if window:
            yield window, True
        raise
    if window:
        yield window, True


class _PipeLines:
    r"""Lines of a pipe or a terminal split on ``\n`` as :func:`~backcalc.analyses.batch.lines.read_lines` splits
    them, read with ``select`` so that a wait can end after :data:`QUIET_SECONDS`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.partial = bytearray()
        self.too_long = False

    def lines(self) -> Iterator[tuple[bytes | None, bool]]:
        """Each line (None for one over the limit) and False; or None and True after a quiet spell
        (only when something was read since the last one)."""
        waiting = False
        tick = time.monotonic()
        while True:
            ready, _, _ = select.select([self.fd], [], [], QUIET_SECONDS if waiting else None)
            if not ready or (waiting and time.monotonic() - tick > 2 * QUIET_SECONDS):
                # Quiet, or lines trickling in: answer what is waiting at least this often.
                waiting = False
                tick = time.monotonic()
                yield None, True
                if not ready:
                    continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                if self.partial or self.too_long:
                    yield self._take(), False
                return
            waiting = True
            *complete, rest = chunk.split(b"\n")
            for piece in complete:
                self._add(piece)
                yield self._take(), False
            self._add(rest)

    def _add(self, piece: bytes) -> None:
        if not self.too_long:
            self.partial += piece
            if len(self.partial) > limits.MAX_FILE_BYTES:  # skipped without being held
                self.too_long = True
                self.partial = bytearray()

    def _take(self) -> bytes | None:
        line = None if self.too_long else bytes(self.partial)
        self.partial = bytearray()
        self.too_long = False
        return line


class BatchRun:
    """A whole batch: iterate to get, for each window, how many lines it held and its output lines;
    :attr:`tally` counts what was answered so far."""

    def __init__(self, stream: BinaryIO, files: FileAccess | None = None, jobs: int = 1) -> None:
        self.stream = stream
        self.files = files
        self.jobs = jobs if jobs > 0 else len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        self.tally = Tally()

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        if self.jobs == 1:
            runner = Batch(self.files)
            self.tally = runner.tally
            collector = Collector()
            for window, _ in windows(self.stream):
                yield len(window), collector.answer(runner.answer, window)
            return
        yield from self._shared()

    def _shared(self) -> Iterator[tuple[int, list[str]]]:
        """Windows shared among worker processes, answered in input order; at most two per worker in
        flight, so that memory stays bounded."""
        import multiprocessing

        # fork is quick and safe while this process has not loaded torch (it only reads and writes).
        method = "fork" if "torch" not in sys.modules and "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        with context.Pool(self.jobs, initializer=_start_worker, initargs=(self.files,)) as pool:
            flight: deque[tuple[int, Any]] = deque()
            for window, urgent in windows(self.stream):
                flight.append((len(window), pool.apply_async(_answer, (window,))))
                while flight and (urgent or len(flight) > 2 * self.jobs or flight[0][1].ready()):
                    yield self._collect(*flight.popleft())
            while flight:
                yield self._collect(*flight.popleft())

    def _collect(self, lines: int, pending: Any) -> tuple[int, list[str]]:
        outputs, tally = pending.get()
        for item in fields(Tally):
            setattr(self.tally, item.name, getattr(self.tally, item.name) + getattr(tally, item.name))
        return lines, outputs


class Collector:
    """Python's cyclic garbage collector kept out of the windows' way. A window makes many
    containers that live a moment (each line's parsed JSON), which reference counting frees; each of
    them counts towards the next collection, and a full one walks every object of torch and sympy
    (about a third of a window's time with 100-element vectors). So the collector is off while a
    window is answered and collects the young generations after it; what the first window leaves
    (the imports, the first plans) is frozen out of later collections; and every
    :data:`FULL_EVERY` windows a full collection finds any cycle that has come loose since."""

    FULL_EVERY = 32

    def __init__(self) -> None:
        self.windows = 0

    def answer(self, answer: Callable[[Window], list[str]], window: Window) -> list[str]:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return answer(window)
        finally:
            self.windows += 1
            if enabled:
                gc.enable()
                gc.collect(2 if self.windows % self.FULL_EVERY == 0 else 1)
                if self.windows == 1:
                    gc.freeze()


_WORKER: Batch | None = None
_COLLECTOR = Collector()


def _start_worker(files: FileAccess | None) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER = Batch(files)


def _answer(window: Window) -> tuple[list[str], Tally]:
    assert _WORKER is not None
    _WORKER.tally = Tally()
    outputs = _COLLECTOR.answer(_WORKER.answer, window)
    return outputs, _WORKER.tally


def read_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """The lines of ``stream``, split on ``\\n`` only, each without its ``\\n``; None for a line over
    :data:`~backcalc.limits.MAX_FILE_BYTES` (skipped without being held in memory)."""
    most = limits.MAX_FILE_BYTES
    while True:
        raw = stream.readline(most + 1)
        if not raw:
            return
        if len(raw) > most and not raw.endswith(b"\n"):
            while True:  # skip the rest of the long line
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield raw[:-1] if raw.endswith(b"\n") else raw
