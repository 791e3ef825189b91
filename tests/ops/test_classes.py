"""The operations of integer class labels (backcalc/ops/classes.py): one_hot, embedding, cross_entropy
(labels and probabilities), nll_loss and multi_margin_loss, each against torch.nn.functional in float64
at several shapes and reductions, and their gradients through the command line against torch autograd
(the labels absent from "gradients")."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F  # noqa: N812  (as torch code writes it)

from backcalc.language.parser import parse

RNG = np.random.default_rng(23)
REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [(4,), (1, 3), (5, 4)]  # scores of classes: one sample, a batch of one, a batch


def _labels(shape: tuple[int, ...]) -> np.ndarray:
    return RNG.integers(0, shape[-1], size=shape[:-1])


def _call(name: str, reduction: str, target: str = "y") -> str:
    chosen = "" if reduction == "mean" else f', reduction="{reduction}"'
    return f"{name}(z, {target}{chosen})"


def _sympy_value(op, keywords, *args):
    cells = [a if a.dtype.kind == "i" else np.vectorize(sympy.Float, otypes=[object])(a) for a in args]
    value = np.asarray(op.sympy(sympy, np, *cells, **keywords), dtype=object)
    return np.vectorize(float)(value).astype(float)


LOSSES = [
    ("cross_entropy", F.cross_entropy),
    ("nll_loss", F.nll_loss),
    ("multi_margin_loss", F.multi_margin_loss),
]


@pytest.mark.parametrize(("name", "reference"), LOSSES, ids=[name for name, _ in LOSSES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_losses_of_labels_agree_with_torch_functional(name, reference, reduction, shape):
    tree = parse(_call(name, reduction))
    op, keywords = tree.record, tree.record.keywords(tree.dim, tree.options)
    z, y = RNG.uniform(-2, 2, shape), _labels(shape)
    expected = reference(torch.tensor(z), torch.tensor(y), reduction=reduction).numpy()
    np.testing.assert_allclose(op.torch(torch, torch.tensor(z), torch.tensor(y), **keywords).numpy(), expected)
    np.testing.assert_allclose(op.numpy(np, z, y, **keywords), expected, rtol=1e-13)
    np.testing.assert_allclose(_sympy_value(op, keywords, z, y), expected, rtol=1e-13)


@pytest.mark.parametrize(("name", "reference"), LOSSES, ids=[name for name, _ in LOSSES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gradients_of_losses_of_labels_agree_with_torch_autograd(run, name, reference, reduction, shape):
    z, y = RNG.uniform(-2, 2, shape), _labels(shape)
    text = _call(name, reduction)
    data = run.json("grad", text, f"z={z.tolist()}", f"y={y.tolist()}", "--dtype", "float64")
    zt = torch.tensor(z, requires_grad=True)
    reference(zt, torch.tensor(y), reduction=reduction).sum().backward()
    assert list(data["gradients"]) == ["z"]  # a label has no gradient
    gradient = data["gradients"]["z"]
    assert gradient["verdict"] == "agree", (text, gradient)
    np.testing.assert_allclose(gradient["symbolic"], zt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gradient["autograd"], zt.grad.numpy(), rtol=1e-13, atol=1e-15)
    assert data["inputs"]["y"]["value"] == y.tolist()  # whole numbers, as given
    assert data["parsed"] == str(parse(text))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(3,), (4, 3)], ids=str)
def test_cross_entropy_of_class_probabilities_differentiates_both(run, reduction, shape):
    z, p = RNG.uniform(-2, 2, shape), RNG.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    text = _call("cross_entropy", reduction, "p")
    data = run.json("grad", text, f"z={z.tolist()}", f"p={p.tolist()}", "--dtype", "float64")
    zt, pt = torch.tensor(z, requires_grad=True), torch.tensor(p, requires_grad=True)
    F.cross_entropy(zt, pt, reduction=reduction).sum().backward()
    for tensor, name in ((zt, "z"), (pt, "p")):
        assert data["gradients"][name]["verdict"] == "agree"
        np.testing.assert_allclose(data["gradients"][name]["symbolic"], tensor.grad.numpy(), rtol=1e-12)


def test_the_rule_of_cross_entropy_is_softmax_minus_one_hot(run):
    data = run.json("grad", "cross_entropy(z, y)", "z=[[1, 2, 3], [0, 1, 0.5]]", "y=[2, 0]", "--dtype", "float64")
    assert data["gradients"]["z"]["formula"] == "(softmax(z, -1) - one_hot(y, 3))/2"
    assert "matches sympy's element-by-element derivative" in data["gradients"]["z"]["note"]


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)], ids=str)
def test_one_hot_and_embedding_agree_with_torch(run, shape):
    y = RNG.integers(0, 3, size=shape)
    expected = F.one_hot(torch.tensor(y), 3).numpy()
    tree = parse("one_hot(y, 3)")
    keywords = tree.record.keywords(None, tree.options)
    np.testing.assert_array_equal(tree.record.numpy(np, y, **keywords), expected)
    np.testing.assert_array_equal(tree.record.torch(torch, torch.tensor(y), **keywords).numpy(), expected)
    w = RNG.uniform(-1, 1, (3, 2))
    data = run.json("grad", "sum(embedding(y, W)**3)", f"W={w.tolist()}", f"y={y.tolist()}", "--dtype", "float64")
    wt = torch.tensor(w, requires_grad=True)
    (F.embedding(torch.tensor(y), wt) ** 3).sum().backward()
    assert list(data["gradients"]) == ["W"] and data["gradients"]["W"]["verdict"] == "agree"
    np.testing.assert_allclose(data["gradients"]["W"]["symbolic"], wt.grad.numpy(), rtol=1e-12)


def test_one_hot_inside_a_formula(run):
    data = run.json("grad", "sum(softmax(z, 1)*one_hot(y, 3))", "z=[[1, 2, 3], [0, 1, 0.5]]", "y=[1, 2]")
    zt = torch.tensor([[1, 2, 3], [0, 1, 0.5]], requires_grad=True)
    (torch.softmax(zt, 1) * F.one_hot(torch.tensor([1, 2]), 3)).sum().backward()
    np.testing.assert_allclose(data["gradients"]["z"]["autograd"], zt.grad.numpy(), rtol=1e-6)
    assert data["gradients"]["z"]["verdict"] == "agree"


def test_a_margin_exactly_met_is_a_kink(run):
    data = run.json("grad", "multi_margin_loss(z, y)", "z=[[1, 2, 3]]", "y=[2]", "--dtype", "float64")
    assert data["verdict"] != "disagree"
    assert any(edge["kind"] == "kink" for edge in data["gradients"]["z"]["edges"])
