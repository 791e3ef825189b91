"""The layout: packages in the order data flows, each importing only what its docstring allows (lazy
imports included), no import circles, small modules and functions."""

from __future__ import annotations

import ast
import importlib
import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "backcalc"

#: Bottom to top. A module may import its own package and the floors below it, never one above.
FLOORS = (
    ("backcalc._version", "backcalc.errors"),
    ("backcalc.limits",),
    ("backcalc.formats",),
    ("backcalc.ops",),
    ("backcalc.language",),
    ("backcalc.inputs",),
    ("backcalc.numeric",),
    ("backcalc.symbolic",),
    ("backcalc.backprop",),
    ("backcalc.analyses",),
    ("backcalc.render",),
    ("backcalc.api",),
    ("backcalc.cli",),
    ("backcalc", "backcalc.__main__"),
)
TOP_LEVEL_MODULES = {"__init__", "__main__", "_version", "api", "errors", "limits"}
PACKAGES = [floor[0] for floor in FLOORS[2:-3]] + ["backcalc.cli"]


def _modules() -> dict[str, pathlib.Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports() -> dict[str, set[str]]:
    """Every module each module imports, at the top or inside a function, absolute or relative; an
    import of ``a.b.c`` is an edge to the deepest of those that is a module of backcalc."""
    modules = _modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                ]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("backcalc."):
                targets = [node.value]  # importlib.import_module("backcalc....")
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    edges[name].add(target)
    return edges


def _floor(module: str) -> int:
    best = None
    for level, members in enumerate(FLOORS):
        for member in members:
            if (module == member or module.startswith(member + ".")) and (best is None or len(member) > best[1]):
                best = (level, len(member))
    assert best is not None, f"{module} has no floor"
    return best[0]


def test_no_module_imports_itself_through_others():
    edges = _imports()

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), list(edges[start])
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                stack.extend(edges[current])
        return False

    assert sorted(name for name in edges if reaches(name, name)) == []


def test_imports_only_go_down():
    upward = {
        name: sorted(t for t in targets if _floor(t) > _floor(name))
        for name, targets in _imports().items()
        if any(_floor(t) > _floor(name) for t in targets)
    }
    assert upward == {}


def test_the_root_holds_only_the_entry_points_errors_and_limits():
    assert {path.stem for path in PACKAGE.glob("*.py")} == TOP_LEVEL_MODULES
    subpackages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert {f"backcalc.{name}" for name in subpackages} == set(PACKAGES) | {"backcalc.render"}


@pytest.mark.parametrize("package", [*PACKAGES, "backcalc.render"])
def test_each_package_says_its_place_and_imports_only_what_it_says(package):
    doc = importlib.import_module(package).__doc__ or ""
    assert "Place in the flow:" in doc
    declared = doc.split("May import:", 1)[1]
    allowed = set(re.findall(r":mod:`(backcalc(?:\.\w+)?)`", declared)) | {package, "backcalc._version"}
    used = {
        target
        for name, targets in _imports().items()
        if name == package or name.startswith(package + ".")
        for target in targets
    }
    outside = sorted(t for t in used if not any(t == a or t.startswith(a + ".") for a in allowed))
    assert outside == []


def test_modules_and_functions_stay_small():
    too_long = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        where = str(path.relative_to(PACKAGE))
        if len(source.splitlines()) > 400:
            too_long[where] = len(source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > 60:
                    too_long[f"{where}:{node.name}"] = length
    assert too_long == {}


def test_the_results_know_nothing_of_the_render_layer():
    from backcalc.render.display import RESULTS

    for cls in RESULTS:
        module = _modules()[cls.__module__]
        assert "render" not in {t.split(".")[1] for t in _imports()[cls.__module__] if "." in t}, module
        assert cls.__mro__[1:] == (object,)


def test_every_result_has_a_terminal_view():
    from backcalc.render.display import RESULTS
    from backcalc.render.views import DRAWERS

    assert set(DRAWERS) == set(RESULTS)
