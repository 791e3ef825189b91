"""The README's notebook cells, executed through a real Jupyter kernel (ipykernel, driven by
nbclient) running this venv's Python: the magic computes, and each result is displayed as HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]


def readme_cells() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Notebooks\n", 1)[1].split("\n## ", 1)[0]
    return [cell.strip() for cell in re.findall(r"```ipython\n(.*?)```", section, flags=re.DOTALL)]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    import zygote

    # A kernel spec of our own, so that the kernel is this interpreter whatever else is installed
    # (started warm: its magic would import torch and sympy, see tests/zygote.py).
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "backcalc-test"
    spec.mkdir(parents=True)
    argv = zygote.command("-m", "ipykernel_launcher", "-f", "{connection_file}")
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "backcalc", "language": "python"}))
    patch = pytest.MonkeyPatch()
    patch.setenv("JUPYTER_PATH", str(root))
    patch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    cells = [*readme_cells(), '%backcalc "sine(x)"', '%backcalc "x" x={__import__("os").getpid()}']
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    try:
        nbclient.NotebookClient(notebook, kernel_name="backcalc-test", timeout=120, allow_errors=False).execute()
    finally:
        patch.undo()
    return notebook.cells


def _html(output) -> str:
    return output["data"]["text/html"]


def test_the_readme_has_the_seed_examples_as_cells():
    cells = readme_cells()
    assert cells[0].startswith("%load_ext backcalc")
    assert any('%backcalc "x**3 + x**2"' in cell for cell in cells)
    assert any("%%backcalc" in cell for cell in cells)


def test_the_seed_gradient_is_an_html_table(executed):
    cell = next(c for c in executed if c.source == '%backcalc "x**3 + x**2"')
    (output,) = cell.outputs
    assert output["output_type"] == "execute_result"
    assert output["data"]["text/plain"] == "GradientResult('x**3 + x**2', loss=1040.0, verdict='agree')"
    html = _html(output)
    assert html.startswith('<div class="backcalc backcalc-gradient">')
    assert '<b class="backcalc-loss">1040.0</b>' in html
    assert r"\(3 x^{2} + 2 x\)" in html
    assert "[161., 120.,  56.]]" in html and "✓ agree" in html
    assert output["data"]["text/latex"].startswith("$$")


def test_explain_and_descend_display_themselves(executed):
    explain = next(c for c in executed if "%backcalc explain" in c.source)
    (output,) = explain.outputs
    assert "backcalc-explain" in _html(output) and "<code>n3</code>" in _html(output)
    descend = next(c for c in executed if "%backcalc descend" in c.source)
    (output,) = descend.outputs
    assert "backcalc-descend" in _html(output) and "<polyline" in _html(output)


def test_a_cell_magic_displays_one_result_per_line(executed):
    cell = next(c for c in executed if c.source.startswith("%%backcalc"))
    kinds = [re.match(r'<div class="backcalc backcalc-(\w+)">', _html(o)).group(1) for o in cell.outputs]
    assert kinds == ["gradient", "check", "jacobian"]
    assert all(o["output_type"] == "display_data" for o in cell.outputs)
    assert "float64" in _html(cell.outputs[0])


def test_the_returned_result_is_an_object(executed):
    cell = next(c for c in executed if c.source.startswith("r = %backcalc"))
    (output,) = cell.outputs
    assert output["data"]["text/plain"] == "('(1 - tanh(x)**2)*log(x) + tanh(x)/x', True)"


def test_errors_are_one_line_on_stderr_and_nothing_is_evaluated(executed):
    bad_name, injection = executed[-2], executed[-1]
    assert [o["output_type"] for o in bad_name.outputs] == ["stream"]
    assert bad_name.outputs[0]["name"] == "stderr"
    assert bad_name.outputs[0]["text"] == (
        "backcalc: error: unknown function 'sine'; did you mean 'sin'? (at column 1 of the expression)\n"
    )
    assert injection.outputs[0]["text"].startswith("backcalc: error: x: unexpected character '{'")
