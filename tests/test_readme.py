"""The README's examples are real output: every ``$ backcalc ...`` line of a console block is run
and its output compared, and the Python session is run as a doctest."""

from __future__ import annotations

import doctest
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
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


# The `backcalc` a shell loop calls: a small client that hands its arguments and standard input to this
# test process, where backcalc is already loaded, so that a loop does not pay torch's start-up per call.
_SHIM = """#!{python}
import json, os, socket, sys
data = sys.stdin.buffer.read() if sys.stdin is not None and not sys.stdin.isatty() else b""
request = {{"argv": sys.argv[1:], "stdin": data.decode("utf-8", "surrogateescape")}}
with socket.socket(socket.AF_UNIX) as peer:
    peer.connect(os.environ["BACKCALC_README_SOCKET"])
    peer.sendall(json.dumps(request).encode() + b"\\n")
    reply = json.loads(peer.makefile("rb").readline())
sys.stdout.write(reply["stdout"])
sys.stderr.write(reply["stderr"])
sys.exit(reply["status"])
"""


@pytest.fixture(scope="module")
def warm_backcalc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A folder with the `backcalc` shim first on PATH, and the server thread that answers it."""
    import json
    import os
    import socket
    import sys
    import threading

    from click.testing import CliRunner

    from backcalc.cli import cli

    folder = tmp_path_factory.mktemp("shim")
    shim = folder / "backcalc"
    shim.write_text(_SHIM.format(python=sys.executable))
    shim.chmod(0o755)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "socket"))
    server.listen()

    def serve() -> None:
        while True:
            try:
                peer, _ = server.accept()
            except OSError:
                return
            with peer:
                request = json.loads(peer.makefile("rb").readline())
                result = CliRunner().invoke(cli, request["argv"], input=request["stdin"])
                reply = {"stdout": result.stdout, "stderr": result.stderr, "status": result.exit_code}
                peer.sendall(json.dumps(reply).encode() + b"\n")

    threading.Thread(target=serve, daemon=True).start()
    path = f"{folder}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    yield {**os.environ, "PATH": path, "BACKCALC_README_SOCKET": str(folder / "socket")}
    server.close()


def _in_a_shell(command: str, env: dict[str, str]) -> str:
    """Loops and pipelines into backcalc run as written, in bash, with the warm `backcalc` first."""
    if shutil.which("jq") is None and "jq" in command:
        pytest.skip("jq is not installed")
    return subprocess.run(
        ["bash", "-c", command], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=300
    ).stdout


@pytest.mark.parametrize(("command", "expected"), _console_examples(), ids=lambda v: v[:40])
def test_console_example_output_is_real(run, warm_backcalc, command, expected):
    if not command.startswith("backcalc "):
        assert _in_a_shell(command, warm_backcalc) == expected
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
