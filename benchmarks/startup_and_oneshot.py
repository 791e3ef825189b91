"""Timings for issue 2's targets. Prints numbers; asserts nothing (timings never go in tests).

    .venv/bin/python benchmarks/startup_and_oneshot.py [--repeat N]

1. `backcalc --help` and a parse error: wall time (target: under 0.3 s).
2. A one-shot `backcalc grad` beside a minimal hand-written torch+sympy script doing the same work:
   on the seed's 3x3 example (target: within 1.15x) and on a 1000x1000 float64 input read from .npy,
   `tanh(x)*log(x)` (target: within 1.5x), with the peak memory (max RSS) of each process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BACKCALC = [str(BIN / "backcalc")]

HAND_WRITTEN = r"""
import sys
import numpy as np
import sympy
import torch

expression, path, dtype = sys.argv[1], sys.argv[2], getattr(torch, sys.argv[3])
values = np.load(path, allow_pickle=False)
x = sympy.Symbol("x", real=True)
f = sympy.sympify(expression, locals={"x": x})          # trusted text: this is the baseline
derivative = sympy.diff(f, x)
symbolic = sympy.lambdify(x, derivative, "numpy")(values)
t = torch.tensor(values, dtype=dtype, requires_grad=True)
y = eval(expression, {"tanh": torch.tanh, "log": torch.log, "x": t})
loss = y.sum()
loss.backward()
auto = t.grad.numpy()
print(float(loss), derivative, np.max(np.abs(auto - symbolic)), np.allclose(auto, symbolic))
"""


def run(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one run of ``command``."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1, 2):
        raise SystemExit(f"failed: {command}")
    return elapsed, usage.ru_maxrss // 1024


def measure(command: list[str], repeat: int) -> tuple[float, int]:
    runs = [run(command) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed.npy"
        np.save(seed, np.array([[2, 3, 1], [4, 5, 3], [7, 6, 4]], dtype=np.float32))
        big = Path(tmp) / "big.npy"
        np.save(big, np.random.default_rng(0).uniform(0.5, 3.0, size=(1000, 1000)))
        hand = Path(tmp) / "hand.py"
        hand.write_text(HAND_WRITTEN)

        print(f"{'case':<44} {'median s':>9} {'peak MiB':>9}")
        for label, command in [
            ("backcalc --help", [*BACKCALC, "--help"]),
            ("backcalc --version", [*BACKCALC, "--version"]),
            ("backcalc parse error", [*BACKCALC, "sine(x)", "x=1"]),
        ]:
            seconds, peak = measure(command, args.repeat)
            print(f"{label:<44} {seconds:>9.3f} {peak:>9}   (target < 0.3 s)")

        cases = [
            ("seed 3x3 x**3 + x**2, float32", "x**3 + x**2", seed, "float32", 1.15),
            ("1000x1000 tanh(x)*log(x), float64, .npy", "tanh(x)*log(x)", big, "float64", 1.5),
        ]
        for label, expression, path, dtype, target in cases:
            ours, our_peak = measure([*BACKCALC, "grad", expression, f"x=@{path}", "--dtype", dtype], args.repeat)
            base, base_peak = measure([sys.executable, str(hand), expression, str(path), dtype], args.repeat)
            print(f"\n{label}")
            print(f"  {'backcalc grad (one shot)':<42} {ours:>9.3f} {our_peak:>9}")
            print(f"  {'hand-written torch+sympy script':<42} {base:>9.3f} {base_peak:>9}")
            print(f"  {'ratio':<42} {ours / base:>9.2f}x   (target <= {target}x)")


if __name__ == "__main__":
    main()
