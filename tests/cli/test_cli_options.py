"""Options of calls through the command line: gradients against torch autograd in float64, and a bad
option refused with exit status 2 and one line on stderr."""

from __future__ import annotations

import numpy as np
import pytest
import torch

RNG = np.random.default_rng(23)


def _torch_grad(function, x: np.ndarray) -> np.ndarray:
    xt = torch.tensor(x, requires_grad=True)
    function(xt).sum().backward()
    return xt.grad.numpy()


def _value(array: np.ndarray) -> str:
    return "x=" + str(array.tolist())


KEEPDIM = [
    (
        "sum(x*x, 1, keepdim=True)/sum(x, 1, keepdim=True)",
        lambda t: (t * t).sum(1, keepdim=True) / t.sum(1, keepdim=True),
    ),
    ("x/mean(exp(x), 0, keepdim=True)", lambda t: t / t.exp().mean(0, keepdim=True)),
    ("x - logsumexp(x, -1, keepdim=True)", lambda t: t - torch.logsumexp(t, -1, keepdim=True)),
    ("x*sum(x, keepdim=True)", lambda t: t * t.sum().reshape((1,) * t.dim())),
]


@pytest.mark.parametrize(("text", "function"), KEEPDIM, ids=[t for t, _ in KEEPDIM])
@pytest.mark.parametrize("shape", [(2, 3), (4, 1), (3, 2, 2)])
def test_keepdim_gradients_agree_with_torch(run, text, function, shape):
    x = RNG.uniform(0.5, 2.0, size=shape)
    data = run.json("grad", text, _value(x), "--dtype", "float64")
    expected = _torch_grad(function, x)
    gradient = data["gradients"]["x"]
    assert gradient["verdict"] == "agree"
    np.testing.assert_allclose(gradient["autograd"], expected, rtol=1e-12)
    np.testing.assert_allclose(gradient["symbolic"], expected, rtol=1e-10)
    assert data["output"]["shape"] == list(function(torch.tensor(x)).shape)


def test_explain_shows_a_keepdim_node(run):
    data = run.json("explain", "x - logsumexp(x, 1, keepdim=True)", "x=[[1,2],[3,-1]]", "--dtype", "float64")
    definitions = [node["definition"] for node in data["nodes"]]
    assert "logsumexp(x, 1, keepdim=True)" in definitions
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    expected = _torch_grad(lambda t: t - torch.logsumexp(t, 1, keepdim=True), x)
    np.testing.assert_allclose(data["gradients"]["x"], expected, rtol=1e-12)
    assert data["verdict"] == "agree"


@pytest.mark.parametrize(
    "text",
    ["sum(x, 1, keepdims=1)", "sum(x, 1, keepdim=1)", "sin(x, approximate=2)", "sum(x, keepdim=yes)"],
)
def test_a_bad_option_is_status_2_and_one_line(run, text):
    result = run("grad", text, "x=[[1,2],[3,4]]")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("backcalc: error: ")
