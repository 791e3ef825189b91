"""Throughput of `backcalc batch` (issue 5's target: 2,000 cases over 10 distinct expressions in under
5 s wall, start-up included; goal over 2,000 cases/s after start-up). Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/batch_throughput.py [--cases N]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKCALC = str(Path(sys.executable).parent / "backcalc")
EXPRESSIONS = [
    "x**3 + x**2",
    "(w*x - y)**2",
    "log(x)",
    "sigmoid(w*x + b)",
    "tanh(x)*log(x)",
    "exp(-x^2/2)",
    "relu(x) + softplus(y)",
    "sqrt(x) + 1/x",
    "sin(x)*cos(y)",
    "2x^2 + 3(x+1)",
]


def make_cases(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        expression = EXPRESSIONS[i % len(EXPRESSIONS)]
        names = sorted({n for n in ("x", "y", "w", "b") if n in expression.replace("exp", "")})
        inputs = {n: [[round(rng.uniform(0.5, 3.0), 3) for _ in range(3)] for _ in range(2)] for n in names}
        lines.append(json.dumps({"expression": expression, "inputs": inputs}))
    return lines


def timed(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run([BACKCALC, "batch", str(path)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, len(result.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.jsonl"
        one.write_text(make_cases(1)[0] + "\n")
        many = Path(tmp) / "many.jsonl"
        many.write_text("\n".join(make_cases(args.cases)) + "\n")
        startup, _ = min(timed(one) for _ in range(3))
        wall, lines = min(timed(many) for _ in range(3))
    per_second = (args.cases - 1) / max(wall - startup, 1e-9)
    print(f"cases                        {args.cases}  ({len(EXPRESSIONS)} distinct expressions, 2x3 inputs)")
    print(f"output lines                 {lines}")
    print(f"wall, one case (start-up)    {startup:.2f} s")
    print(f"wall, all cases              {wall:.2f} s   (target < 5 s)")
    print(f"cases/s after start-up       {per_second:,.0f}   (goal > 2,000)")


if __name__ == "__main__":
    main()
