"""Issue 25's speed target for Hessians in matrix notation. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/hessian_speed.py [--repeat N] [--n N] [--dtype float64]

For ``x.T@A@x`` and ``sum(softplus(A@x))`` with ``--wrt x`` at n = 2000 (float64 ``.npy`` files in a
temporary folder), ``backcalc hessian`` (the terminal view, which shows the formula, a corner of the
matrix and the check; each run a subprocess, start-up included) beside a hand-written script that loads
the same files and computes the Hessian with ``torch.func.hessian`` (also a subprocess, start-up
included), interleaved in the same run. The ratio is backcalc's wall time over the script's (the
target: at most 0.5), with backcalc's verdict (symbolic against autograd: Hessian-vector products).
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

BACKCALC = str(Path(sys.executable).parent / "backcalc")

HAND_WRITTEN = r"""
import sys

import numpy as np
import torch

case, dtype, folder = sys.argv[1], getattr(torch, sys.argv[2]), sys.argv[3]
A = torch.tensor(np.load(f"{folder}/A.npy"), dtype=dtype)
x = torch.tensor(np.load(f"{folder}/x.npy"), dtype=dtype)
if case == "quadratic":
    H = torch.func.hessian(lambda x: x @ A @ x)(x)
else:
    H = torch.func.hessian(lambda x: torch.nn.functional.softplus(A @ x).sum())(x)
print(H.shape, H[:3, :3])
"""

CASES = {"quadratic": "x.T@A@x", "softplus": "sum(softplus(A@x))"}


def run(command: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    args = parser.parse_args()
    import numpy as np

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.save(folder / "A.npy", rng.standard_normal((args.n, args.n)) / np.sqrt(args.n))
        np.save(folder / "x.npy", rng.standard_normal(args.n))
        hand = folder / "hand.py"
        hand.write_text(HAND_WRITTEN)
        print(f"n = {args.n}, {args.dtype}, cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
        print(f"{'case':<24} {'backcalc s':>10} {'torch s':>8} {'ratio':>6}  verdict")
        for case, expression in CASES.items():
            files = [f"A=@{folder / 'A.npy'}", f"x=@{folder / 'x.npy'}"]
            ours = [BACKCALC, "hessian", expression, *files, "--wrt", "x", "--dtype", args.dtype]
            theirs = [sys.executable, str(hand), case, args.dtype, str(folder)]
            times: dict[str, list[float]] = {"backcalc": [], "torch": []}
            word = ""
            for _ in range(args.repeat):  # interleaved, so that the machine's load falls on both alike
                for who, command in (("backcalc", ours), ("torch", theirs)):
                    elapsed, status, out = run(command)
                    if status != 0:
                        raise SystemExit(f"{who} failed ({status}): {out.strip()[-500:]}")
                    times[who].append(elapsed)
                    if who == "backcalc":
                        word = out.strip().splitlines()[-1].split(":")[0]
            mine, hand_s = statistics.median(times["backcalc"]), statistics.median(times["torch"])
            print(f"{expression:<24} {mine:>10.2f} {hand_s:>8.2f} {mine / hand_s:>6.2f}  {word}")


if __name__ == "__main__":
    main()
