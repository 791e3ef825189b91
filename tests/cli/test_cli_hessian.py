"""The JSON of `backcalc hessian` and `backcalc jacobian` in matrix notation: today's keys kept, with
"formula" and "checked_by" added; a large Hessian's entries left out, its check said."""

from __future__ import annotations

import json

import numpy as np
import torch
from click.testing import CliRunner

from backcalc.cli import cli

RNG = np.random.default_rng(11)


def _t(value: np.ndarray) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def _cli_json(*args: str) -> dict:
    run = CliRunner().invoke(cli, [*args, "--json"])
    assert run.exit_code == 0, run.output
    return json.loads(run.output)


def test_cli_json_keeps_the_keys_and_adds_formula_and_checked_by():
    data = _cli_json("hessian", "x.T@A@x", "x=[1,2]", "A=[[1,2],[3,4]]", "--wrt", "x")
    side = data["hessian"]
    assert side["formula"] == "A + A.T" and side["checked_by"] == "entries"
    assert side["symbolic"] == [[2.0, 5.0], [5.0, 8.0]] and side["autograd"] == [[2.0, 5.0], [5.0, 8.0]]
    assert side["variables"] == ["x[0]", "x[1]"] and data["verdict"] == "agree"


def test_cli_json_jacobian_formula():
    data = _cli_json("jacobian", "tanh(W@x)", "W=[[1,2],[3,4]]", "x=[0.1,-0.2]", "--wrt", "x", "--dtype", "float64")
    side = data["jacobian"]["x"]
    assert side["formula"] == "diag(1 - tanh(W@x)**2)@W"
    w, x = np.array([[1.0, 2], [3, 4]]), np.array([0.1, -0.2])
    expected = torch.func.jacrev(lambda v: torch.tanh(_t(w) @ v))(_t(x)).numpy()
    np.testing.assert_allclose(side["symbolic"], expected, rtol=1e-12)


def test_cli_json_of_a_large_hessian_omits_the_entries_and_says_how_it_was_checked(tmp_path):
    n = 150
    np.save(tmp_path / "A.npy", RNG.normal(size=(n, n)))
    np.save(tmp_path / "x.npy", RNG.normal(size=n))
    files = [f"A=@{tmp_path / 'A.npy'}", f"x=@{tmp_path / 'x.npy'}"]
    data = _cli_json("hessian", "x.T@A@x", *files, "--wrt", "x", "--dtype", "float64")
    side = data["hessian"]
    assert side["checked_by"] == "hessian-vector products" and side["products"] == 3
    assert side["symbolic"] is None and side["autograd"] is None and "22,500 entries" in side["entries"]
    assert side["shape"] == [n, n] and data["verdict"] == "agree"
