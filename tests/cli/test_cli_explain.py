"""`backcalc explain` end to end: JSON, the terminal view, DOT, SVG through Graphviz, LaTeX."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

SEED = ["explain", "(w*x - y)**2", "w=1", "x=1", "y=2"]


def test_seed_example_through_json(run):
    data = run.json(*SEED)
    by_id = {node["id"]: node for node in data["nodes"]}
    assert data["loss"] == 1.0
    assert by_id["n1"]["expr"] == "w*x" and by_id["n1"]["value"] == 1.0
    assert by_id["n2"]["expr"] == "w*x - y" and by_id["n2"]["value"] == -1.0
    assert by_id["n3"]["local"]["n2"]["formula"] == "2*n2"
    assert by_id["n3"]["local"]["n2"]["value"] == -2.0
    assert by_id["n2"]["local"]["n1"]["value"] == 1.0
    assert by_id["n1"]["local"]["w"] == {"formula": "x", "latex": "x", "value": 1.0, "vjp": False}
    assert by_id["w"]["grad"] == -2.0 and by_id["w"]["autograd_grad"] == -2.0
    assert data["verdict"] == "agree"


def test_terminal_view_reads_at_80_columns(run):
    out = run(*SEED).stdout
    assert "Forward pass" in out and "Local gradients" in out and "Backward pass" in out
    assert "d n3 / d n2" in out and "2*n2" in out
    assert "from n1: -2.0 x 1.0" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.rstrip().splitlines()[-1].startswith("agree:")


def test_dot_file_has_a_record_per_node(run, tmp_path):
    path = tmp_path / "g.dot"
    result = run(*SEED, "--dot", str(path), "--json")
    assert result.exit_code == 0
    dot = path.read_text()
    assert dot.startswith("digraph backcalc {")
    for node_id in ("w", "x", "y", "n1", "n2", "n3", "c1"):
        assert f'"{node_id}" [shape=record' in dot
    assert '"{ w | scalar | value 1.0 | grad -2.0 }"' in dot
    assert '"n1_op" [shape=ellipse, label="*"]' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_is_valid_xml_naming_every_node(run, tmp_path):
    path = tmp_path / "g.svg"
    result = run("explain", "w*x + w", "w=2", "x=3", "--svg", str(path))
    assert result.exit_code == 0, result.output
    root = ET.parse(path).getroot()
    titles = {el.text for el in root.iter("{http://www.w3.org/2000/svg}title")}
    assert {"w", "x", "n1", "n2"} <= titles


def test_svg_without_graphviz_says_so(run, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = run(*SEED, "--svg", str(tmp_path / "g.svg"))
    assert result.exit_code == 2
    assert "Graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_latex(run):
    out = run(*SEED, "--latex").stdout
    assert out.splitlines()[1] == r"\begin{align*}"
    assert r"\frac{\partial n_{3}}{\partial n_{2}} &= 2 n_{2} = -2.0 \\" in out
    assert out.rstrip().endswith(r"\end{align*}")


def test_bad_input_is_refused_like_grad(run):
    result = run("explain", "sine(x)", "x=1")
    assert result.exit_code == 2 and "did you mean 'sin'" in result.stderr
