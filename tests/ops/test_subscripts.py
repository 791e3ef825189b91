"""Subscripts and reshaping (backcalc/ops/subscripts.py, shaping.py) with torch's semantics: values
against torch at several shapes, gradients through the command line against torch autograd, labels
as indices (range checked before any work), explain, and a program of steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backcalc.language.parser import parse

RNG = np.random.default_rng(2)

# (expression over x (and y, an integer input), torch's own, x's shape, y's values or None)
CASES = [
    ("sum(x[0]**2)", lambda x, y: (x[0] ** 2).sum(), (3, 4), None),
    ("sum(x[-1, ::2]**3)", lambda x, y: (x[-1, ::2] ** 3).sum(), (3, 5), None),
    ("sum(x[1:3, :-1]*x[:2, 1:])", lambda x, y: (x[1:3, :-1] * x[:2, 1:]).sum(), (4, 3), None),
    ("sum(x[None, ..., 1]**2)", lambda x, y: (x[None, ..., 1] ** 2).sum(), (2, 3, 4), None),
    ("sum(x[..., 1:4:2]**2)", lambda x, y: (x[..., 1:4:2] ** 2).sum(), (2, 5), None),
    ("sum(x[y]**2)", lambda x, y: (x[y] ** 2).sum(), (4, 3), [3, 0, 3, -1]),
    ("sum(x[y, 1:]**3)", lambda x, y: (x[y, 1:] ** 3).sum(), (3, 3), [[0, 2], [2, 2]]),
    (
        "-mean(log_softmax(x, 1)[range(4), y])",
        lambda x, y: -torch.log_softmax(x, 1)[range(4), y].mean(),
        (4, 5),
        [4, 0, 1, 1],
    ),
    ("sum(x[arange(3), y]**2)", lambda x, y: (x[torch.arange(3), y] ** 2).sum(), (3, 2), [1, 0, 1]),
    ("sum(x[y[0:2]]**2)", lambda x, y: (x[y[0:2]] ** 2).sum(), (3, 2), [2, 0, 1]),
    ("sum(x[reshape(y, (2, 1))]**3)", lambda x, y: (x[y.reshape(2, 1)] ** 3).sum(), (3,), [2, 2]),
    ("sum(reshape(x, (2, -1))[1]**2)", lambda x, y: (x.reshape(2, -1)[1] ** 2).sum(), (3, 4), None),
    ("sum(flatten(x, 1)**3)", lambda x, y: (x.flatten(1) ** 3).sum(), (2, 3, 2), None),
    ("sum(squeeze(x, 1)**3)", lambda x, y: (x.squeeze(1) ** 3).sum(), (3, 1, 2), None),
    ("sum(squeeze(x)**3)", lambda x, y: (x.squeeze() ** 3).sum(), (1, 3, 1), None),
    ("sum(permute(x, (2, 0, 1))[0]**3)", lambda x, y: (x.permute(2, 0, 1)[0] ** 3).sum(), (2, 3, 4), None),
    ("sum(cat([x, x**2], 1)**2)", lambda x, y: (torch.cat([x, x**2], 1) ** 2).sum(), (2, 3), None),
    ("sum(cat([x[0], 2*x[-1]])**3)", lambda x, y: (torch.cat([x[0], 2 * x[-1]]) ** 3).sum(), (3, 2), None),
    ("sum(stack([x, exp(x)], -1)**2)", lambda x, y: (torch.stack([x, torch.exp(x)], -1) ** 2).sum(), (2, 3), None),
    ("sum(stack([x[0], x[1]], 1)**3)", lambda x, y: (torch.stack([x[0], x[1]], 1) ** 3).sum(), (2, 4), None),
]


@pytest.mark.parametrize(("text", "reference", "shape", "labels"), CASES, ids=[case[0] for case in CASES])
def test_gradients_agree_with_torch_autograd(run, text, reference, shape, labels):
    x = RNG.uniform(-1, 1, shape)
    values = [f"x={x.tolist()}"] + ([f"y={labels}"] if labels is not None else [])
    data = run.json("grad", text, *values, "--dtype", "float64")
    xt = torch.tensor(x, requires_grad=True)
    loss = reference(xt, torch.tensor(labels) if labels is not None else None)
    loss.backward()
    assert data["loss"] == pytest.approx(loss.item(), rel=1e-13)
    assert list(data["gradients"]) == ["x"] and data["gradients"]["x"]["verdict"] == "agree"
    np.testing.assert_allclose(data["gradients"]["x"]["symbolic"], xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert "matches sympy's element-by-element derivative" in data["gradients"]["x"]["note"]
    assert str(parse(data["parsed"])) == data["parsed"]


@pytest.mark.parametrize(
    "text",
    [
        "x[0]",
        "x[-1, 1:]",
        "x[::2, None]",
        "x[..., 0]",
        "x[y, :2]",
        "x[range(2), y]",
        "(x + 1)[0][1:]",
        "cat([x, y], -1)",
        "stack([x, y + 1])",
        "reshape(x, (2, -1))",
        "permute(x, (1, 0))",
    ],
)
def test_subscripts_round_trip(text):
    tree = parse(text)
    assert parse(str(tree)) == tree


@pytest.mark.parametrize(
    ("text", "values", "words"),
    [
        ("sum(x[y])", ["x=[1, 2, 3]", "y=[3]"], "y: label 3 is out of range in x[y] (allowed: -3 to 2)"),
        ("sum(x[y])", ["x=[1, 2, 3]", "y=[0.5]"], "must hold whole numbers"),
        ("sum(x[0, 5])", ["x=[[1, 2], [3, 4]]"], "does not fit [2, 2]"),
        ("sum(x[range(4)])", ["x=[1, 2, 3]"], "does not fit [3]"),
        ("sum(x[::-1])", ["x=[1, 2, 3]"], "a slice's step must be positive, as in torch"),
        ("sum(x[0.5:])", ["x=[1, 2, 3]"], "expected ']' before ':'"),
        ("sum(x[::0])", ["x=[1, 2, 3]"], "a slice's step must be positive"),
        ("sum(x[1.5])", ["x=[1, 2, 3]"], "1.5 is used as an index"),
        ("sum(x[z])", ["x=[1, 2, 3]", "z=[0]"], ""),
        ("None*x", ["x=[1, 2, 3]"], "Python keyword 'None' is not allowed"),
        ("sum(x, None)", ["x=[1, 2, 3]"], "only in a subscript"),
        ("sum(reshape(x, (4, -1)))", ["x=[1, 2, 3]"], "invalid for [3]"),
        ("sum(permute(x, (0, 0)))", ["x=[[1, 2], [3, 4]]"], "needs each of its 2 dimensions once"),
        ("sum(cat([x, x[0]]))", ["x=[[1, 2], [3, 4]]"], "needs shapes alike"),
        ("sum(stack([x, x[0]]))", ["x=[[1, 2], [3, 4]]"], "stack needs tensors of one shape"),
        ("sum(cat(x, 0))", ["x=[[1, 2], [3, 4]]"], "takes a list of tensors first"),
    ],
)
def test_bad_subscripts_are_status_2_and_one_line(run, text, values, words):
    result = run("grad", text, *values)
    if not words:  # an integer input used only as an index is fine
        assert result.exit_code == 0
        return
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert words in result.stderr


def test_explain_of_the_ninja_loss(run):
    x = RNG.uniform(-1, 1, (4, 5))
    text = "-mean(log_softmax(x, 1)[range(4), y])"
    data = run.json("explain", text, f"x={x.tolist()}", "y=[4, 0, 1, 1]", "--dtype", "float64")
    assert data["verdict"] == "agree"
    xt = torch.tensor(x, requires_grad=True)
    (-torch.log_softmax(xt, 1)[range(4), [4, 0, 1, 1]].mean()).backward()
    np.testing.assert_allclose(data["gradients"]["x"], xt.grad.numpy(), rtol=1e-13)
    assert any("put_at(" in local["formula"] for node in data["nodes"] for local in node["local"].values())


def test_a_program_of_the_ninja_steps(run):
    rng = np.random.default_rng(4)
    x, w, b, y = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (3, 5)), rng.uniform(-1, 1, 5), [4, 0, 2, 2]
    program = "logits = X@W + b; logprobs = log_softmax(logits, 1); loss = -mean(logprobs[range(4), Yb])"
    values = [f"X={x.tolist()}", f"W={w.tolist()}", f"b={b.tolist()}", f"Yb={y}"]
    data = run.json("grad", program, *values, "--dtype", "float64")
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in (("X", x), ("W", w), ("b", b))}
    logprobs = torch.log_softmax(tensors["X"] @ tensors["W"] + tensors["b"], 1)
    logprobs.retain_grad()
    (-logprobs[range(4), y].mean()).backward()
    assert data["verdict"] == "agree" and list(data["gradients"]) == ["X", "W", "b"]
    for name, tensor in tensors.items():
        np.testing.assert_allclose(data["gradients"][name]["symbolic"], tensor.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(data["intermediates"]["logprobs"]["autograd"], logprobs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("command", ["grad", "explain"])
def test_the_ninja_forward_pass_as_a_program(run, command):
    rng = np.random.default_rng(0)
    weights = {
        "C": rng.normal(size=(5, 2)),
        "W1": rng.normal(size=(6, 4)),
        "b1": rng.normal(size=4),
        "W2": rng.normal(size=(4, 5)),
        "b2": rng.normal(size=5),
    }
    xb, yb = rng.integers(0, 5, size=(4, 3)), rng.integers(0, 5, size=4)
    program = (
        "emb = C[Xb]; embcat = reshape(emb, (4, -1)); hpre = embcat @ W1 + b1; h = tanh(hpre); "
        "logits = h @ W2 + b2; logprobs = log_softmax(logits, 1); loss = -mean(logprobs[range(4), Yb])"
    )
    values = [f"{name}={value.tolist()}" for name, value in weights.items()] + [
        f"Xb={xb.tolist()}",
        f"Yb={yb.tolist()}",
    ]
    data = run.json(command, program, *values, "--dtype", "float64")
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in weights.items()}
    embcat = tensors["C"][torch.tensor(xb)].reshape(4, -1)
    logits = torch.tanh(embcat @ tensors["W1"] + tensors["b1"]) @ tensors["W2"] + tensors["b2"]
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(yb))
    loss.backward()
    assert data["verdict"] == "agree" and data["loss"] == pytest.approx(loss.item(), rel=1e-13)
    assert sorted(data["gradients"]) == sorted(weights)  # Xb and Yb are labels
    for name, tensor in tensors.items():
        found = data["gradients"][name]["symbolic"] if command == "grad" else data["gradients"][name]
        np.testing.assert_allclose(found, tensor.grad.numpy(), rtol=1e-12, atol=1e-15)
