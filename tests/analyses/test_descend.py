"""Gradient descent: the seed's example converges to w = 2; a vector regression; divergence."""

from __future__ import annotations

import numpy as np
import pytest

from backcalc.analyses.descend import descend
from backcalc.api import prepare
from backcalc.render.descend_view import selected, sparkline

SEED = ["descend", "(w*x - y)**2", "w=1", "x=1", "y=2", "--wrt", "w", "--lr", "0.1"]


def test_seed_first_step_and_convergence(run):
    data = run.json(*SEED, "--steps", "500")
    first = data["steps"][0]
    assert first["step"] == 1 and first["loss"] == 1.0
    assert first["params"] == {"w": 1.0} and first["grads"] == {"w": -2.0} and first["agree"] is True
    # SGD: w <- w - 0.1 * 2(w - 2) = 0.8 w + 0.4, so w_2 = 1.2.
    assert data["steps"][1]["params"]["w"] == pytest.approx(1.2)
    assert data["final"]["converged"] is True
    assert data["final"]["params"]["w"] == pytest.approx(2.0, abs=1e-4)
    assert data["final"]["loss"] < 1e-8
    assert data["final"]["steps"] == len(data["steps"])
    assert all(step["agree"] for step in data["steps"])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_vector_regression(optimizer):
    problem = prepare(
        "(w*x + b - y)**2",
        {"w": 0.0, "b": 0.0, "x": [1.0, 2.0, 3.0, 4.0], "y": [3.0, 5.0, 7.0, 9.0]},
        ["w", "b"],
        dtype="float64",
        reduce="mean",
    )
    lr = {"sgd": 0.05, "momentum": 0.01, "adam": 0.05}[optimizer]
    result = descend(problem, lr, 5000, 1e-16, optimizer)
    assert not result.diverged and result.agree
    np.testing.assert_allclose(result.final_params["w"], 2.0, atol=1e-3)
    np.testing.assert_allclose(result.final_params["b"], 1.0, atol=3e-3)


def test_tensor_parameters():
    problem = prepare("(w - t)**2", {"w": [0.0, 0.0, 0.0], "t": [1.0, -2.0, 3.0]}, ["w"], dtype="float64")
    result = descend(problem, 0.25, 200, 1e-20)
    np.testing.assert_allclose(result.final_params["w"], [1.0, -2.0, 3.0], atol=1e-6)


def test_diverging_learning_rate_exits_3(run):
    result = run(*SEED[:-1], "1.5", "--steps", "1000", "--json")
    assert result.exit_code == 3
    import json

    data = json.loads(result.stdout)
    assert data["diverged"] is True and data["final"]["converged"] is False
    assert data["final"]["loss"] in ("inf", "nan")
    assert "diverged" in result.stderr and "smaller --lr" in result.stderr
    assert len(data["steps"]) < 1000


def test_human_view_table_and_sparkline(run):
    out = run(*SEED).stdout
    assert "loss curve" in out and "converged after" in out
    assert out.splitlines()[1].split()[:4] == ["step", "loss", "w", "d"]


def test_needs_wrt(run):
    result = run("descend", "x**2", "x=1")
    assert result.exit_code == 2 and "--wrt" in result.stderr


def test_plot_is_a_real_png(run, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    path = tmp_path / "descent.png"
    result = run(*SEED, "--plot", str(path))
    assert result.exit_code == 0
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_plot_without_matplotlib_says_so(run, tmp_path, monkeypatch):
    from backcalc.render import descend_view

    monkeypatch.setattr(descend_view, "plot_available", lambda: False)
    result = run(*SEED, "--plot", str(tmp_path / "p.png"))
    assert result.exit_code == 2 and "backcalc[plot]" in result.stderr


def test_sparkline_and_selected_steps():
    assert sparkline([1.0, 0.1, 0.01]) == "█▅▁"
    assert sparkline([float("inf")]) == ""
    assert len(sparkline(list(np.linspace(1, 2, 500)), width=40)) == 40
    steps = list(range(100))
    picked = selected(steps, rows=12)  # type: ignore[arg-type]
    assert picked[0] == 0 and picked[-1] == 99 and len(picked) <= 12


def test_ctrl_c_returns_the_steps_done_as_an_interrupted_descent():
    def stop_at_3(step):
        if step.step == 3:
            raise KeyboardInterrupt

    problem = prepare("(w*x - y)**2", {"w": 1, "x": 1, "y": 2}, ["w"], "float64")
    result = descend(problem, 0.1, 100, on_step=stop_at_3)
    assert result.interrupted and len(result.steps) == 3
    assert result.final_loss == result.steps[-1].loss and result.to_dict()["interrupted"] is True
    assert "interrupted (Ctrl-C) after 3 steps" in result.message


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("functional", [True, False])
def test_optimizer_steps_are_torchs_classes_to_the_bit(kind, dtype, functional, monkeypatch):
    import torch

    from backcalc.analyses.descend import MOMENTUM, _Optimizer

    if not functional:  # a torch whose functional signature differs: the class takes over

        def refuse(self):
            raise TypeError("unexpected keyword argument")

        monkeypatch.setattr(_Optimizer, "_functional_step", refuse)
    torch_dtype = getattr(torch, dtype)

    def descend(make):
        params = [torch.tensor(v, dtype=torch_dtype, requires_grad=True) for v in ([1.5, -2.0, 0.3], [[0.7]])]
        optimizer = make(params)
        for _ in range(6):
            optimizer.zero_grad()
            loss = (params[0] ** 3).sum() + torch.sin(2 * params[0]).sum() * params[1].sum()
            loss.backward()
            optimizer.step()
        return [p.detach().clone() for p in params]

    ours = descend(lambda params: _Optimizer(kind, params, 0.01))
    if kind == "adam":
        theirs = descend(lambda params: torch.optim.Adam(params, lr=0.01))
    else:
        momentum = MOMENTUM if kind == "momentum" else 0.0
        theirs = descend(lambda params: torch.optim.SGD(params, lr=0.01, momentum=momentum))
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert not torch.equal(ours[0], torch.tensor([1.5, -2.0, 0.3], dtype=torch_dtype))  # it moved
