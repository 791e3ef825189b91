"""Throughput of `backcalc batch` as ratios against a hand-written per-line torch loop run in the same
session (the yardstick: ``json.loads``, build the tensors, forward, ``backward()``, ``json.dumps`` of
the gradients; autograd's half of the work only). Issue 15's goals:

- per case after start-up, at most 1/3 of the loop's time on 20,000 cases over 10 expressions with
  inputs of 1 to 3 elements;
- at most 1/2 on 50,000 cases of one expression with vectors of 100 elements;
- 2,000 cases within 1.2x the loop's total wall time, start-up included;
- ``--jobs 2`` faster than ``--jobs 1`` on 100,000 cases.

Each timing is repeated, the loop and batch in turn (a ratio is of runs made side by side); the best and
the median are printed. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/batch_throughput.py [--repeat N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKCALC = [sys.executable, "-m", "backcalc", "batch"]
EXPRESSIONS = {  # the expression as backcalc reads it, and as the hand-written loop writes it in torch
    "x**3 + x**2": "x**3 + x**2",
    "(w*x - y)**2": "(w*x - y)**2",
    "log(x)": "torch.log(x)",
    "sigmoid(w*x + b)": "torch.sigmoid(w*x + b)",
    "tanh(x)*log(x)": "torch.tanh(x)*torch.log(x)",
    "exp(-x^2/2)": "torch.exp(-x**2/2)",
    "relu(x) + softplus(y)": "torch.relu(x) + torch.nn.functional.softplus(y)",
    "sqrt(x) + 1/x": "torch.sqrt(x) + 1/x",
    "sin(x)*cos(y)": "torch.sin(x)*torch.cos(y)",
    "2x^2 + 3(x+1)": "2*x**2 + 3*(x+1)",
}
LOOP = """
import json, sys, torch
FUNCTIONS = {FUNCTIONS}
DTYPES = {{"float32": torch.float32, "float64": torch.float64}}
out = []
with open(sys.argv[1]) as lines:
    for line in lines:
        case = json.loads(line)
        dtype = DTYPES[case.get("dtype", "float32")]
        tensors = {{n: torch.tensor(v, dtype=dtype, requires_grad=True) for n, v in case["inputs"].items()}}
        output = FUNCTIONS[case["expression"]](**tensors)
        output.sum().backward()
        out.append(json.dumps({{n: t.grad.tolist() for n, t in tensors.items()}}))
sys.stdout.write("\\n".join(out) + "\\n")
"""


def loop_script() -> str:
    functions = ", ".join(
        f"{backcalc!r}: lambda {', '.join(names(backcalc))}: {torch_text}"
        for backcalc, torch_text in EXPRESSIONS.items()
    )
    return LOOP.format(FUNCTIONS="{" + functions + "}")


def names(expression: str) -> list[str]:
    return sorted({n for n in ("x", "y", "w", "b") if n in expression.replace("exp", "")})


def small_cases(count: int, seed: int = 0) -> list[str]:
    """Cases over the 10 expressions, each input of 1 to 3 elements (the same size within a case)."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        expression = list(EXPRESSIONS)[i % len(EXPRESSIONS)]
        size = rng.randint(1, 3)
        inputs = {n: [round(rng.uniform(0.5, 3.0), 3) for _ in range(size)] for n in names(expression)}
        lines.append(json.dumps({"expression": expression, "inputs": inputs}))
    return lines


def vector_cases(count: int, seed: int = 0) -> list[str]:
    """Cases of one expression with vectors of 100 elements."""
    rng = random.Random(seed)
    expression = "sigmoid(w*x + b)"
    return [
        json.dumps(
            {"expression": expression, "inputs": {n: [round(rng.uniform(-3, 3), 4) for _ in range(100)] for n in "bwx"}}
        )
        for _ in range(count)
    ]


def wall(command: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True)
        times.append(time.perf_counter() - start)
        if result.returncode not in (0, 1):
            raise SystemExit(f"{command[:5]} failed: {result.stderr.decode()[-500:]}")
    return times


def files(folder: Path, name: str, lines: list[str]) -> tuple[Path, Path]:
    one, many = folder / f"{name}-1.jsonl", folder / f"{name}.jsonl"
    one.write_text(lines[0] + "\n")
    many.write_text("\n".join(lines) + "\n")
    return one, many


def per_case(folder: Path, name: str, lines: list[str], repeat: int, extra: list[str] | None = None) -> None:
    """Per case after start-up: (wall of all cases - wall of one case) / (cases - 1), both sides, the
    two sides run in turn so that both meet the machine in the same state."""
    one, many = files(folder, name, lines)
    loop = [sys.executable, str(folder / "loop.py")]
    commands = {"loop": loop, "batch": BACKCALC + (extra or [])}
    rows: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, command in commands.items():
            start = wall([*command, str(one)], 1)[0]
            total = wall([*command, str(many)], 1)[0]
            rows[label].append((total - start) / (len(lines) - 1) * 1e6)
    ratio = [b / loop for b, loop in zip(rows["batch"], rows["loop"], strict=True)]
    print(f"{name}: {len(lines):,} cases, microseconds per case after start-up (best / median)")
    for label, values in rows.items():
        print(f"  {label:6} {min(values):8.1f} / {statistics.median(values):8.1f}")
    print(f"  ratio batch/loop  best {min(ratio):.3f}  median {statistics.median(ratio):.3f}  (run by run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the cases")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "loop.py").write_text(loop_script())
        per_case(folder, "small", small_cases(20_000 // scale), args.repeat)
        per_case(folder, "vectors", vector_cases(50_000 // scale), args.repeat)

        _, many = files(folder, "wall", small_cases(2_000))
        loop, batch = [], []
        for _ in range(args.repeat):
            loop += wall([sys.executable, str(folder / "loop.py"), str(many)], 1)
            batch += wall([*BACKCALC, str(many)], 1)
        print("2,000 cases, wall seconds with start-up (best / median)")
        print(f"  loop   {min(loop):.2f} / {statistics.median(loop):.2f}")
        print(f"  batch  {min(batch):.2f} / {statistics.median(batch):.2f}")
        ratios = [b / loop for b, loop in zip(batch, loop, strict=True)]
        print(f"  ratio  best {min(ratios):.3f}  median {statistics.median(ratios):.3f}")

        _, many = files(folder, "jobs", small_cases(100_000 // scale))
        print(f"{100_000 // scale:,} cases, wall seconds (best / median)")
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeat):
            for jobs in times:
                times[jobs] += wall([*BACKCALC, "--jobs", str(jobs), str(many)], 1)
        for jobs, values in times.items():
            print(f"  --jobs {jobs}  {min(values):.2f} / {statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
