"""Issue 14's target: in a live session (`backcalc repl`), after start-up, the answer for the seed's
3x3 example takes at most 50 ms. Prints numbers; asserts nothing (timings never go in tests).

    .venv/bin/python benchmarks/repl_latency.py [--repeat N]

First through a pseudo-terminal (with pexpect, from the test extra): `backcalc repl` is started, the
input assigned, and the time from sending the line to the next prompt measured, as a user sees it.
Then in process, as the REPL drives it (Session.handle: the line is split, the
session's inputs added, the click group run, the view drawn), with the output drawn for an 80-column
terminal into a buffer. Beside it, in the same process, a hand-written torch + sympy computation of the
same gradient (no parsing, no checks, no view): the ratio says what the session's layers cost.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time

SEED_VALUE = "[[2,3,1],[4,5,3],[7,6,4]]"
SEED_EXPRESSION = "x**3 + x**2"


def hand_written() -> None:
    import numpy as np
    import sympy
    import torch

    values = np.array([[2, 3, 1], [4, 5, 3], [7, 6, 4]], dtype=np.float64)
    x = sympy.Symbol("x", real=True)
    derivative = sympy.diff(x**3 + x**2, x)
    symbolic = sympy.lambdify(x, derivative, "numpy")(values)
    t = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    (t**3 + t**2).sum().backward()
    assert t.grad is not None
    np.testing.assert_allclose(symbolic, t.grad.numpy(), rtol=1.3e-6, atol=1e-5)


def timed(function: object, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    through_a_terminal(args.repeat)

    from backcalc.cli.repl import Session, warm_up

    start = time.perf_counter()
    warm_up()
    startup = (time.perf_counter() - start) * 1000
    buffer = io.StringIO()
    session = Session(echo=lambda text: buffer.write(text + "\n"))
    session.handle(f"x = {SEED_VALUE}")

    def answer() -> None:
        with contextlib.redirect_stdout(buffer):
            session.handle(SEED_EXPRESSION)

    hand_written()  # its imports and first-call costs are not what is compared
    answer()
    assert "agree" in buffer.getvalue(), buffer.getvalue()
    session_ms = statistics.median(timed(answer, args.repeat))
    hand_ms = statistics.median(timed(hand_written, args.repeat))
    print(f"start-up (torch, sympy, views):       {startup:8.1f} ms")
    print(f"session answer, seed 3x3 (median):    {session_ms:8.1f} ms   target <= 50 ms")
    print(f"hand-written torch+sympy (median):    {hand_ms:8.1f} ms")
    print(f"ratio session / hand-written:         {session_ms / hand_ms:8.2f}x")


def through_a_terminal(repeat: int) -> None:
    try:
        import pexpect
    except ImportError:
        print("through a terminal: skipped (pip install pexpect)")
        return
    import os
    import sys
    from pathlib import Path

    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "XDG_STATE_HOME": state, "TERM": "xterm-256color"}
        program = str(Path(sys.executable).parent / "backcalc")
        start = time.perf_counter()
        child = pexpect.spawn(program, ["repl"], env=env, encoding="utf-8", timeout=60, dimensions=(40, 100))
        child.expect_exact("backcalc> ")
        startup = (time.perf_counter() - start) * 1000
        child.delaybeforesend = None  # pexpect waits 50 ms before each send by default
        child.sendline(f"x = {SEED_VALUE}")
        child.expect_exact("backcalc> ")
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            child.sendline(SEED_EXPRESSION)
            child.expect_exact("backcalc> ")
            times.append((time.perf_counter() - start) * 1000)
        assert "agree" in child.before
        child.sendeof()
        child.expect(pexpect.EOF)
    print(f"terminal: start-up to the first prompt:  {startup:8.1f} ms")
    print(f"terminal: answer, seed 3x3 (median):     {statistics.median(times):8.1f} ms   target <= 50 ms")
    print(f"terminal: answer, seed 3x3 (worst):      {max(times):8.1f} ms")


if __name__ == "__main__":
    main()
