"""--help, --version and input errors must answer without importing torch or sympy."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from backcalc.cli import cli
try:
    cli({args!r})
except SystemExit as exit:
    code = exit.code
print("HEAVY", code, *sorted(m for m in ("torch", "sympy", "rich") if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["grad", "--help"], 0),
        (["sine(x)", "x=1"], 2),
        (["x", "x=[1,2"], 2),
        (["x", "y=1"], 2),
        (["x", "x=1", "--dtype", "float16"], 2),
        (["batch", "--help"], 0),
        (["check", "x**2", "--claim", "x=2*sine(x)"], 2),
        (["explain", "x", "y=1"], 2),
        (["help"], 0),
        (["help", "limits"], 0),
        (["help", "descend"], 0),
        (["explian", "x**2", "x=1"], 2),
        (["x**2", "4"], 2),
        (["x**2", "x=1", "--jsn"], 2),
        (["np.exp(x)", "x=1"], 2),
        (["grad", "sum(softmax(W@x))", "W=[[1,2],[3,4]]", "x=[1,-1]", "--emit", "torch"], 0),  # formulas alone
    ],
)
def test_fast_paths_do_not_import_heavy_modules(args, status):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("HEAVY"))
    assert line.split()[1:] == [str(status)]


def test_shell_completion_does_not_import_heavy_modules():
    import os

    env = {**os.environ, "_BACKCALC_COMPLETE": "bash_complete", "COMP_WORDS": "backcalc ex", "COMP_CWORD": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=[])], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "plain,explain" in out
    line = next(line for line in out.splitlines() if line.startswith("HEAVY"))
    assert line.split()[1:] == ["0"]


def test_python_dash_m_runs_the_command():
    # That `python -m backcalc` computes a gradient is checked on the installed wheel (test_packaging), so
    # that torch is imported by one such subprocess, not two; here, the module from the source tree.
    out = subprocess.run(
        [sys.executable, "-m", "backcalc", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("backcalc ")


def test_a_batch_of_bad_lines_does_not_import_torch_or_sympy(tmp_path):
    lines = [
        "not json",
        '{"expression": "sine(x)", "inputs": {"x": 1}}',
        '{"expression": "x", "inputs": {"x": [[1], [2, 3]]}}',
        '{"expression": "x", "inputs": {"x": 1}, "rtol": NaN}',
        '{"expression": "x", "inputs": {"x": "@/etc/passwd"}}',
        '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [1, 2, 3]}}',
        '{"expression": "x*١٢", "inputs": {"x": 1}}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=["batch", str(path)])], capture_output=True, text=True, check=True
    ).stdout
    assert out.count('"error"') == len(lines)
    line = next(line for line in out.splitlines() if line.startswith("HEAVY"))
    assert line.split()[1:] == ["2"]


@pytest.mark.parametrize("command", ["hessian", "jacobian"])
def test_a_large_hessian_or_jacobian_does_not_import_sympy(tmp_path, command):
    # Above sympy's element-by-element witness, the matrix formula and torch's products need no sympy
    # (torch's own backward with grad_outputs would import it: the products are scalars' backwards).
    import numpy as np

    rng = np.random.default_rng(0)
    np.save(tmp_path / "A.npy", rng.normal(size=(120, 120)))
    np.save(tmp_path / "x.npy", rng.normal(size=120))
    expression = "sum(softplus(A@x))" if command == "hessian" else "tanh(A@x)"
    args = [command, expression, f"A=@{tmp_path / 'A.npy'}", f"x=@{tmp_path / 'x.npy'}", "--wrt", "x", "--json"]
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("HEAVY"))
    assert line.split()[1:] == ["0", "torch"]  # --json: no rich either
