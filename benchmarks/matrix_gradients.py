"""Timings for issue 11's targets. Prints numbers; asserts nothing (timings never go in tests).

    .venv/bin/python benchmarks/matrix_gradients.py [--repeat N]

1. On a 1000x1000 `W` (float64 `.npy` files in a temporary folder), `backcalc grad --json` (and, in
   the rows marked "view", the terminal view, which summarises large tensors) of
   `sum((W@x - y)**2)` and of `sum(sigmoid(W@x))`, each a subprocess (start-up included), beside a
   hand-written torch script that loads the same files, computes the same gradients and prints them
   as JSON (also a subprocess), in the same run and interleaved; target: a symbolic verdict (not
   `unchecked`) within 1.5x. On a shared machine the wall time varies with the load, so the ratio of
   CPU time (user + system) is printed beside it. In float32 (backcalc's default) and in float64. backcalc does more: it
   also evaluates the formula in matrix notation with NumPy, compares the two sides and writes the
   inputs, the output and both sides of every gradient in its JSON.
2. `backcalc explain` of a two-layer network with 256x256 weights, `sum(sigmoid(W2@relu(W1@x)))`:
   its time (the issue asks for seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BACKCALC = str(BIN / "backcalc")

HAND_WRITTEN = r"""
import json
import sys

import numpy as np
import torch

case, dtype, folder = sys.argv[1], getattr(torch, sys.argv[2]), sys.argv[3]
names = ["W", "x", "y"] if case == "least_squares" else ["W", "x"]
t = {n: torch.tensor(np.load(f"{folder}/{n}.npy"), dtype=dtype, requires_grad=True) for n in names}
if case == "least_squares":
    loss = ((t["W"] @ t["x"] - t["y"]) ** 2).sum()
else:
    loss = torch.sigmoid(t["W"] @ t["x"]).sum()
loss.backward()
print(json.dumps({"loss": loss.item(), "gradients": {n: t[n].grad.tolist() for n in names}}))
"""

CASES = {
    "least_squares": ("sum((W@x - y)**2)", ["W", "x", "y"]),
    "sigmoid_layer": ("sum(sigmoid(W@x))", ["W", "x"]),
}
NETWORK = "sum(sigmoid(W2@relu(W1@x)))"


def run(command: list[str], output: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), exit status and standard error of one run, its
    standard output written to ``output``."""
    with output.open("wb") as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        err.seek(0)
        message = err.read().decode(errors="replace")
    return elapsed, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), message


def verdict(output: Path) -> str:
    text = output.read_text()
    if not text.startswith("{"):  # the terminal view: its closing line starts with the verdict
        return text.strip().splitlines()[-1].split(":")[0]
    data = json.loads(text)
    words = {name: g["verdict"] for name, g in data["gradients"].items()}
    return f"{data['verdict']} ({', '.join(f'{n}: {w}' for n, w in words.items())})"


def compare_with_torch(folder: Path, repeat: int) -> None:
    hand = folder / "hand.py"
    hand.write_text(HAND_WRITTEN)
    out = folder / "out.json"
    print(f"{'case':<24} {'backcalc s':>10} {'torch s':>8} {'ratio':>6} {'CPU ratio':>9}  verdict")
    for dtype, view in (("float32", "--json"), ("float64", "--json"), ("float32", "view")):
        for case, (expression, names) in CASES.items():
            files = [f"{n}=@{folder / n}.npy" for n in names]
            ours = [BACKCALC, "grad", expression, *files, "--dtype", dtype, *([view] if view == "--json" else [])]
            theirs = [sys.executable, str(hand), case, dtype, str(folder)]
            wall: dict[str, list[float]] = {"backcalc": [], "torch": []}
            cpu: dict[str, list[float]] = {"backcalc": [], "torch": []}
            word = ""
            for _ in range(repeat):  # interleaved, so that the machine's load falls on both alike
                for who, command in (("backcalc", ours), ("torch", theirs)):
                    elapsed, seconds, status, err = run(command, out)
                    if status != 0:
                        raise SystemExit(f"{who} failed ({status}): {err.strip()}")
                    wall[who].append(elapsed)
                    cpu[who].append(seconds)
                    if who == "backcalc" and not word:
                        word = verdict(out)
            ours_s, theirs_s = statistics.median(wall["backcalc"]), statistics.median(wall["torch"])
            cpu_ratio = statistics.median(cpu["backcalc"]) / statistics.median(cpu["torch"])
            label = f"{case} {dtype}" + (" view" if view == "view" else "")
            print(f"{label:<24} {ours_s:>10.2f} {theirs_s:>8.2f} {ours_s / theirs_s:>6.2f} {cpu_ratio:>9.2f}  {word}")


def time_explain(folder: Path) -> None:
    files = [f"{n}=@{folder / n}.npy" for n in ("W1", "W2", "x256")]
    files[-1] = files[-1].replace("x256=", "x=")
    elapsed, _, status, err = run([BACKCALC, "explain", NETWORK, *files, "--json"], folder / "explain.json")
    if status == 2:
        print(f"explain {NETWORK} (256x256): refused: {err.strip()}")
    else:
        print(f"explain {NETWORK} (256x256): {elapsed:.2f} s (exit status {status})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import numpy as np

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        arrays = {
            "W": rng.normal(size=(1000, 1000)) / np.sqrt(1000),
            "x": rng.normal(size=1000),
            "y": rng.normal(size=1000),
            "W1": rng.normal(size=(256, 256)) / 16,
            "W2": rng.normal(size=(256, 256)) / 16,
            "x256": rng.normal(size=256),
        }
        for name, value in arrays.items():
            np.save(folder / f"{name}.npy", value)
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, median of {args.repeat} runs")
        compare_with_torch(folder, args.repeat)
        time_explain(folder)


if __name__ == "__main__":
    main()
