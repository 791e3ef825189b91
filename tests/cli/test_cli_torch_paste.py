"""Karpathy's backprop ninja forward pass, pasted line by line from the PyTorch notebook as a program
(from a file, with ``;``, and with the batch size ``n`` given as an input), through grad: every gradient
against a hand-written torch float64 script."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812  (as the notebook writes it)

N, VOCAB, BLOCK, EMB, HIDDEN = 4, 5, 3, 2, 6

NINJA = """\
n = 4  # batch size, a step: range(n) and 1/n know it
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hprebn = embcat @ W1 + b1
bnmeani = 1/n*hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5)**-0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()
"""


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "C": rng.normal(size=(VOCAB, EMB)),
        "W1": rng.normal(size=(BLOCK * EMB, HIDDEN)) * 0.5,
        "b1": rng.normal(size=HIDDEN) * 0.1,
        "bngain": 1 + rng.normal(size=(1, HIDDEN)) * 0.1,
        "bnbias": rng.normal(size=(1, HIDDEN)) * 0.1,
        "W2": rng.normal(size=(HIDDEN, VOCAB)) * 0.5,
        "b2": rng.normal(size=VOCAB) * 0.1,
    }


def _reference(weights: dict[str, np.ndarray], xb: np.ndarray, yb: np.ndarray) -> tuple[float, dict]:
    """The notebook's own forward pass in torch float64, and loss.backward()."""
    t = {name: torch.tensor(value, requires_grad=True) for name, value in weights.items()}
    emb = t["C"][torch.tensor(xb)]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ t["W1"] + t["b1"]
    bnmeani = 1 / N * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bnvar = 1 / (N - 1) * (bndiff**2).sum(0, keepdim=True)
    bnraw = bndiff * (bnvar + 1e-5) ** -0.5
    h = torch.tanh(t["bngain"] * bnraw + t["bnbias"])
    logits = h @ t["W2"] + t["b2"]
    loss = F.cross_entropy(logits, torch.tensor(yb))  # the ninja's check of its own steps
    loss.backward()
    return loss.item(), {name: tensor.grad.numpy() for name, tensor in t.items()}


@pytest.mark.parametrize("how", ["file", "semicolons", "n as an input"])
def test_the_pasted_ninja_forward_pass_matches_torch(run, tmp_path, how):
    weights = _weights()
    rng = np.random.default_rng(8)
    xb, yb = rng.integers(0, VOCAB, size=(N, BLOCK)), rng.integers(0, VOCAB, size=N)
    path = tmp_path / "ninja.bc"
    path.write_text(NINJA if how != "n as an input" else NINJA.split("\n", 1)[1])  # the notebook's n is Python's
    program = (
        f"@{path}" if how != "semicolons" else "; ".join(line.split("#")[0].strip() for line in NINJA.splitlines())
    )
    values = [f"{name}={value.tolist()}" for name, value in weights.items()]
    values += [f"Xb={xb.tolist()}", f"Yb={yb.tolist()}", *(["n=4"] if how == "n as an input" else [])]
    data = run.json("grad", program, *values, "--dtype", "float64")
    loss, grads = _reference(weights, xb, yb)
    assert data["verdict"] == "agree"
    assert data["loss"] == pytest.approx(loss, rel=1e-12)
    assert sorted(data["gradients"]) == sorted(weights)  # Xb and Yb are labels; n is a size, as torch's int
    for name, grad in grads.items():
        for side in ("symbolic", "autograd"):
            np.testing.assert_allclose(data["gradients"][name][side], grad, rtol=1e-10, atol=1e-13)


def test_a_pasted_line_with_torch_prefixes_matches_torch(run):
    rng = np.random.default_rng(9)
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    y = [0, 4, 2, 2]
    line = "F.cross_entropy(torch.relu(x @ w).transpose(0, 1).t().softmax(dim=1).clamp(0.05, 0.9), Yb)"
    data = run.json("grad", line, f"x={x.tolist()}", f"w={w.tolist()}", f"Yb={y}", "--dtype", "float64")
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    loss = F.cross_entropy(torch.relu(xt @ wt).transpose(0, 1).t().softmax(dim=1).clamp(0.05, 0.9), torch.tensor(y))
    loss.backward()
    assert data["verdict"] == "agree" and data["loss"] == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(data["gradients"]["x"]["autograd"], xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(data["gradients"]["w"]["symbolic"], wt.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_the_layers_paste_as_torch_nn_functional_writes_them(run):
    rng = np.random.default_rng(11)
    x, w, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    line = "F.max_pool2d(F.layer_norm(F.conv2d(x, w, b, stride=1, padding=1), (5,)), 2, 1).tanh().sum()"
    data = run.json("grad", line, f"x={x.tolist()}", f"w={w.tolist()}", f"b={b.tolist()}", "--dtype", "float64")
    tensors = [torch.tensor(value, requires_grad=True) for value in (x, w, b)]
    conv = F.conv2d(tensors[0], tensors[1], tensors[2], stride=1, padding=1)
    loss = F.max_pool2d(F.layer_norm(conv, (5,)), 2, 1).tanh().sum()
    loss.backward()
    assert data["verdict"] == "agree" and data["loss"] == pytest.approx(loss.item(), rel=1e-12)
    for name, tensor in zip("xwb", tensors, strict=True):
        np.testing.assert_allclose(data["gradients"][name]["symbolic"], tensor.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("x.grad", "attribute access is not allowed: .grad"),
        ("x.numpy()", "unknown method .numpy()"),
        ("torch.load(x)", "torch.load is not a function backcalc knows"),
        ("x.max(1).indices", "no gradient"),
        ("x.view(3, -1)", "shape (3, -1) is invalid"),
        ("F.dropout(x, 0.5)", "F.dropout is not a function backcalc knows"),  # torch's draws its own mask
    ],
)
def test_a_refused_paste_is_one_line_and_status_2(run, line, words):
    result = run("grad", line, "x=[[1.0, 2.0], [3.0, 4.0]]")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
