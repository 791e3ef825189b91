"""The losses of a float target (backcalc/ops/losses.py): against torch.nn.functional in float64 for every
reduction, gradients through the command line against torch autograd at several shapes, explain, and
the edges of a probability of 0 or 1."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F  # noqa: N812  (as torch code writes it)

from backcalc.language.parser import parse

RNG = np.random.default_rng(5)
REDUCTIONS = ["mean", "sum", "none"]

# (the call, its options after the reduction, torch's own)
CASES = [
    ("mse_loss", "", F.mse_loss),
    ("l1_loss", "", F.l1_loss),
    (
        "smooth_l1_loss",
        ", beta=0.5",
        lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.5),
    ),
    ("smooth_l1_loss", "", F.smooth_l1_loss),
    (
        "smooth_l1_loss",
        ", beta=0",
        lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.0),
    ),
    ("huber_loss", ", delta=0.7", lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=0.7)),
    ("binary_cross_entropy", "", F.binary_cross_entropy),
    ("binary_cross_entropy_with_logits", "", F.binary_cross_entropy_with_logits),
]
IDS = [name + extra for name, extra, _ in CASES]


def _call(name: str, extra: str, reduction: str) -> str:
    chosen = "" if reduction == "mean" else f', reduction="{reduction}"'
    return f"{name}(x, y{chosen}{extra})"


def _values(shape: tuple[int, ...], name: str) -> tuple[np.ndarray, np.ndarray]:
    """An input and a target: probabilities and targets in [0, 1] for the cross entropies."""
    x = RNG.uniform(0.05, 0.95, shape) if name == "binary_cross_entropy" else RNG.uniform(-2, 2, shape)
    y = RNG.uniform(0, 1, shape) if name.startswith("binary") else RNG.uniform(-2, 2, shape)
    return x, y


@pytest.mark.parametrize(("name", "extra", "reference"), CASES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_three_implementations_agree_with_torch_functional(name, extra, reference, reduction):
    tree = parse(_call(name, extra, reduction))
    op, keywords = tree.record, tree.record.keywords(tree.dim, tree.options)
    x, y = _values((3, 4), name)
    expected = reference(torch.tensor(x), torch.tensor(y), reduction=reduction).numpy()
    np.testing.assert_allclose(
        op.torch(torch, torch.tensor(x), torch.tensor(y), **keywords).numpy(), expected, rtol=1e-14
    )
    np.testing.assert_allclose(op.numpy(np, x, y, **keywords), expected, rtol=1e-13)
    cells = [np.vectorize(sympy.Float, otypes=[object])(a) for a in (x, y)]
    symbolic = np.vectorize(float)(np.asarray(op.sympy(sympy, np, *cells, **keywords), dtype=object))
    np.testing.assert_allclose(symbolic, expected, rtol=1e-13)


@pytest.mark.parametrize(("name", "extra", "reference"), CASES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_gradients_agree_with_torch_autograd(run, name, extra, reference, reduction, shape):
    x, y = _values(shape, name)
    text = _call(name, extra, reduction)
    data = run.json("grad", text, f"x={x.tolist()}", f"y={y.tolist()}", "--dtype", "float64")
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=name != "binary_cross_entropy")  # torch has no derivative there
    reference(xt, yt, reduction=reduction).sum().backward()
    for tensor, gradient in ((xt, data["gradients"]["x"]), (yt, data["gradients"]["y"])):
        assert gradient["verdict"] == "agree", (text, gradient)
        if tensor.grad is not None:
            np.testing.assert_allclose(gradient["symbolic"], tensor.grad.numpy(), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(gradient["autograd"], tensor.grad.numpy(), rtol=1e-13, atol=1e-15)
    assert data["parsed"] == str(parse(text))


def test_the_target_gradient_of_binary_cross_entropy_is_its_derivative(run):
    data = run.json("grad", "binary_cross_entropy(p, y)", "p=[0.2, 0.7]", "y=[0.5, 1.0]", "--dtype", "float64")
    np.testing.assert_allclose(
        data["gradients"]["y"]["symbolic"], np.log(1 - np.array([0.2, 0.7])) / 2 - np.log([0.2, 0.7]) / 2
    )


def test_a_probability_of_one_is_an_edge(run):
    data = run.json("grad", "binary_cross_entropy(p, y)", "p=[1.0, 0.5]", "y=[1.0, 0.0]", "--dtype", "float64")
    assert data["verdict"] != "disagree"
    assert any(edge["kind"] == "pole" for edge in data["gradients"]["p"]["edges"])


def test_explain_of_a_loss_against_torch(run):
    x, w, y = RNG.uniform(-1, 1, (3, 2)), RNG.uniform(-1, 1, (2, 2)), RNG.uniform(0, 1, (3, 2))
    text = 'binary_cross_entropy_with_logits(x@w, y) + huber_loss(x@w, y, reduction="sum", delta=0.5)'
    data = run.json("explain", text, f"x={x.tolist()}", f"w={w.tolist()}", f"y={y.tolist()}", "--dtype", "float64")
    assert data["verdict"] == "agree"
    wt = torch.tensor(w, requires_grad=True)
    z = torch.tensor(x) @ wt
    loss = F.binary_cross_entropy_with_logits(z, torch.tensor(y)) + F.huber_loss(
        z, torch.tensor(y), reduction="sum", delta=0.5
    )
    loss.backward()
    np.testing.assert_allclose(data["gradients"]["w"], wt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        'mse_loss(x, y, reduction="avg")',
        "mse_loss(x, y, reduction=1)",
        "mse_loss(x, y, beta=1)",
        "mse_loss(x, z)",
        "l1_loss(x)",
    ],
)
def test_bad_calls_are_status_2_and_one_line(run, text):
    result = run("grad", text, "x=[1,2]", "y=[1,3]", "z=[1,2,3]")
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("p", ["[1.5, 0.3]", "[0.5, -0.25]"])
def test_binary_cross_entropy_refuses_a_probability_outside_the_unit_interval(run, p):
    result = run("grad", "binary_cross_entropy(p, y)", f"p={p}", "y=[1.0, 0.0]")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "its probabilities must lie in [0, 1]" in lines[0]
