from __future__ import annotations

import json
from typing import Any

import pytest
import zygote
from click.testing import CliRunner, Result

from backcalc.cli import cli


class Cli:
    """Runs ``backcalc`` in process and keeps stdout and stderr apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    def json(self, *args: str, status: int = 0) -> dict[str, Any]:
        result = self(*args, "--json")
        assert result.exit_code == status, result.output
        return json.loads(result.stdout)


@pytest.fixture
def run() -> Cli:
    return Cli()


class WarmPython:
    """``warm_python("-m", "backcalc", ...)`` is the argv of ``python -m backcalc ...`` started warm,
    through the session's zygote (see tests/zygote.py): a real process for signals, pipes and exit
    statuses, without torch's start-up. ``warm_python.Popen(["-m", "backcalc", ...], ...)`` is the
    subprocess.Popen of one, for a test that signals it; ``warm_python.executable(folder)`` a program
    that is python started warm. Not for tests about start-up or lazy imports."""

    __call__ = staticmethod(zygote.command)
    Popen = zygote.Popen
    executable = staticmethod(zygote.executable)


@pytest.fixture
def warm_python() -> WarmPython:
    return WarmPython()


@pytest.fixture
def broken_sin(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's side of sin made wrong (sin(u) + u/100), so that a real disagreement can be shown:
    the correct sides only ever differ for reasons backcalc explains."""
    import dataclasses

    from backcalc.ops import record

    op = record.get("sin")
    broken = dataclasses.replace(op, torch=lambda torch, u: torch.sin(u) + u / 100)
    monkeypatch.setitem(record._REGISTRY, "sin", broken)


def pytest_configure(config: pytest.Config) -> None:
    # A random fuzz seed is drawn once, here, so that every worker process (pytest-xdist) uses the
    # one printed in the header.
    import os
    import random

    if os.environ.get("BACKCALC_FUZZ_SEED") == "random":
        os.environ["BACKCALC_FUZZ_SEED"] = str(random.randrange(2**32))
    _import_hypothesis_without_assertion_rewriting()
    # At exit, after pytest is done (atexit runs after every unconfigure hook), the objects left are
    # moved out of the collector's reach: the interpreter's last collection would otherwise walk all of
    # torch's, sympy's and the tests' objects, ~0.5 s for torch alone, in each worker and the controller.
    import atexit
    import gc

    atexit.register(gc.freeze)
    if not hasattr(config, "workerinput"):  # the controller (pytest-xdist), or the only process
        _start_zygote(config)


def _start_zygote(config: pytest.Config) -> None:
    """One zygote for the session (its workers find it through the environment they inherit), stopped
    at the end."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    if not zygote.supported() or zygote.ENV in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="backcalc-zygote-")
    path = os.path.join(folder, "socket")
    with open(os.path.join(folder, "log"), "wb") as log:
        process = subprocess.Popen(
            [sys.executable, zygote.__file__, "serve", path],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # out of the terminal's reach: Ctrl-C is the session's to handle
        )
    os.environ[zygote.ENV] = path

    def stop() -> None:
        os.environ.pop(zygote.ENV, None)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)

    config.add_cleanup(stop)


def _import_hypothesis_without_assertion_rewriting() -> None:
    """hypothesis ships a pytest plugin, so pytest marks its whole package for assertion rewriting:
    each of its ~75 modules is parsed and rewritten on import, in every process (each xdist worker at
    collection, the controller for hypothesis's terminal summary), and with PYTHONDONTWRITEBYTECODE
    nothing is cached: about 1 s per process instead of 0.2 s. hypothesis's own asserts gain nothing
    from rewriting, so it is imported once here with pytest's import hook set aside; the tests'
    modules are still rewritten as before."""
    import sys

    hooks = [finder for finder in sys.meta_path if type(finder).__name__ == "AssertionRewritingHook"]
    for hook in hooks:
        sys.meta_path.remove(hook)
    try:
        import hypothesis.strategies  # noqa: F401
    finally:
        sys.meta_path[:0] = hooks


def pytest_report_header(config: pytest.Config) -> str:
    from tests.numeric.test_differential import SEED

    return f"differential fuzz seed: {SEED} (rerun with BACKCALC_FUZZ_SEED={SEED})"


# The modules whose tests take seconds each (the fuzz runs, a built wheel, subprocesses, a real terminal,
# a Jupyter kernel), slowest first. pyproject's addopts hand whole modules to the two workers in
# collection order (--dist loadfile --no-loadscope-reorder: a module-scoped fixture such as the
# notebook's kernel is made once), so these go first and the last modules to finish are short ones:
# neither worker waits long for the other. The modules that start the zygote's children (repl,
# notebook, ...) are not the very first: the zygote is still importing then.
SLOW_FIRST = (
    "test_batch_stack",
    "test_differential",
    "test_packaging",
    "test_cli_hostile",
    "test_repl",
    "test_startup",
    "test_descend",
    "test_ops",
    "test_notebook",
    "test_api",
    "test_cli_batch",
)


def pytest_collection(session: pytest.Session) -> None:
    # No garbage collection while the test modules are imported (torch, sympy, ...: millions of objects,
    # almost no garbage), and then those objects are frozen out of the collector's reach: each of the
    # dozen full collections during the run walks only what the tests made (about 1.5 s less per worker).
    import gc

    gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    import gc

    gc.freeze()
    gc.enable()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # The same after each module: what it left (sympy's and torch's caches, mostly) is frozen, after a
    # collection of the young generations, so that no later full collection walks it again.
    if nextitem is None or nextitem.path != item.path:
        import gc

        gc.collect(1)
        gc.freeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        return SLOW_FIRST.index(module) if module in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the other modules, and the tests within each, keep their order
