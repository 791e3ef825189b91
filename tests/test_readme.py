"""The README's examples are real output: every ``$ backcalc ...`` line of a console block is run
and its output compared, and the Python session is run as a doctest."""

from __future__ import annotations

import doctest
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def _console_examples() -> list[tuple[str, str]]:
    examples = []
    for block in _blocks("console"):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def _in_a_shell(command: str) -> str:
    """Loops and pipelines into backcalc run as written, in bash, with the venv's backcalc first."""
    import os
    import sys

    if shutil.which("jq") is None and "jq" in command:
        pytest.skip("jq is not installed")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=300).stdout


@pytest.mark.parametrize(("command", "expected"), _console_examples(), ids=lambda v: v[:40])
def test_console_example_output_is_real(run, command, expected):
    if not command.startswith("backcalc "):
        assert _in_a_shell(command) == expected
        return
    program, _, pipe = command.partition(" | ")
    argv = shlex.split(program)
    assert argv[0] == "backcalc"
    result = run(*argv[1:])
    # What a terminal shows: an error example's message is on stderr (and nothing on stdout).
    output = result.stdout if pipe else result.stdout + result.stderr
    if pipe:
        if shutil.which(shlex.split(pipe)[0]) is None:
            pytest.skip(f"{shlex.split(pipe)[0]} is not installed")
        output = subprocess.run(shlex.split(pipe), input=output, capture_output=True, text=True, check=True).stdout
    assert output == expected


def test_python_session_is_real():
    parser = doctest.DocTestParser()
    for block in _blocks("python"):
        test = parser.get_doctest(block, {}, "README", "README.md", 0)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        runner.run(test)
        assert runner.failures == 0


def test_ci_runs_the_readme_test_command():
    lines = [
        line
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert lines[-1] in README
    assert "pytest" in lines[-1]
