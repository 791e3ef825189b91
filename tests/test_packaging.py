"""The wheel, as users get it: built from the tree, installed in a fresh venv outside the repository,
it runs. (torch and the other dependencies are reused from this environment, not downloaded.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _build_wheel(into: Path) -> Path:
    isolation = [] if int(version("setuptools").split(".")[0]) >= 77 else ["--use-pep517"]
    no_isolation = ["--no-build-isolation"] if not isolation else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            *no_isolation,
            *isolation,
            str(ROOT),
            "-w",
            str(into),
        ],
        check=True,
        cwd=into.parent,
        capture_output=True,
    )
    (wheel,) = into.glob("backcalc-*.whl")
    return wheel


def test_the_wheel_installs_and_runs_outside_the_repository(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert "backcalc/py.typed" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata and "Classifier: Programming Language :: Python :: 3.11" in metadata

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies (torch, sympy, ...) come from this environment, after the venv's own packages.
    (site / "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Without PYTHONPATH, here too: a source tree on it (with the egg-info the build leaves there) would
    # look to pip like backcalc already installed, and the wheel would not be installed at all.
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        env=env,
    )
    backcalc = venv / "bin" / "backcalc"
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "check": True}
    assert subprocess.run([str(backcalc), "--version"], **run).stdout.startswith("backcalc ")
    # `python -m backcalc` computes, from the wheel (its __main__ is shipped). This is also the check that
    # `python -m` works at all: one subprocess that imports torch instead of two.
    out = subprocess.run([str(python), "-m", "backcalc", "x**3", "x=2", "--json"], **run).stdout
    assert json.loads(out)["gradients"]["x"]["autograd"] == 12.0
    assert json.loads(out)["loss"] == 8.0
    where = subprocess.run([str(python), "-c", "import backcalc; print(backcalc.__file__)"], **run).stdout
    assert where.startswith(str(site))  # the installed wheel, not the repository
