"""The reductions (backcalc/ops/reductions.py): each against torch in float64 with every dimension and
option, gradients through the command line against torch autograd at several shapes (by the formula in
matrix notation), sympy's element-by-element derivatives (its witness) against torch, ties as kinks,
and explain."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from backcalc.language.parser import parse

RNG = np.random.default_rng(3)

# (the call, torch's own)
CASES = [
    ("max(x)", lambda t: t.max()),
    ("max(x, 1)", lambda t: t.max(1).values),
    ("max(x, -1, keepdim=True)", lambda t: t.max(-1, keepdim=True).values),
    ("min(x)", lambda t: t.min()),
    ("min(x, 0, keepdim=True)", lambda t: t.min(0, keepdim=True).values),
    ("amax(x, 0)", lambda t: t.amax(0)),
    ("amin(x, 1, keepdim=True)", lambda t: t.amin(1, keepdim=True)),
    ("var(x)", lambda t: t.var()),
    ("var(x, 0, correction=0)", lambda t: t.var(0, correction=0)),
    ("var(x, 1, keepdim=True)", lambda t: t.var(1, keepdim=True)),
    ("std(x)", lambda t: t.std()),
    ("std(x, -1, correction=0, keepdim=True)", lambda t: t.std(-1, correction=0, keepdim=True)),
    ("prod(x)", lambda t: t.prod()),
    ("prod(x, 1, keepdim=True)", lambda t: t.prod(1, keepdim=True)),
    ("cumsum(x, 1)", lambda t: t.cumsum(1)),
    ("cumsum(x, 0)", lambda t: t.cumsum(0)),
]
IDS = [text for text, _ in CASES]
WEIGHTS = "sum({0}*{0}*c)"  # a loss that weighs every output element differently


def _distinct(shape: tuple[int, ...]) -> np.ndarray:
    """Values without ties or zeros: a permutation of spaced-out magnitudes with random signs."""
    count = int(np.prod(shape))
    values = (0.3 + 0.17 * RNG.permutation(count)) * RNG.choice([-1.0, 1.0], size=count)
    return values.reshape(shape)


@pytest.mark.parametrize(("text", "reference"), CASES, ids=IDS)
def test_three_implementations_agree_with_torch(text, reference):
    tree = parse(text)
    op, extra = tree.record, tree.record.keywords(tree.dim, tree.options)
    x = _distinct((3, 4))
    expected = reference(torch.tensor(x)).numpy()
    np.testing.assert_allclose(op.torch(torch, torch.tensor(x), **extra).numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose(op.numpy(np, x, **extra), expected, rtol=1e-13)
    cells = np.vectorize(sympy.Float, otypes=[object])(x)
    symbolic = np.vectorize(float)(np.asarray(op.sympy(sympy, np, cells, **extra), dtype=object))
    np.testing.assert_allclose(symbolic, expected, rtol=1e-13)


def _against_torch(run, text, reference, x, *extra):
    loss = WEIGHTS.format(text)
    c = RNG.uniform(0.5, 1.5, size=reference(torch.tensor(x)).shape)
    data = run.json("grad", loss, f"x={x.tolist()}", f"c={c.tolist()}", "--wrt", "x", "--dtype", "float64", *extra)
    xt = torch.tensor(x, requires_grad=True)
    out = reference(xt)
    (out * out * torch.tensor(c)).sum().backward()
    return data, xt.grad.numpy()


@pytest.mark.parametrize(("text", "reference"), CASES, ids=IDS)
@pytest.mark.parametrize("shape", [(2, 3), (2, 4), (3, 2, 2)])
def test_gradients_agree_with_torch_autograd(run, text, reference, shape):
    data, expected = _against_torch(run, text, reference, _distinct(shape))
    gradient = data["gradients"]["x"]
    assert gradient["verdict"] == "agree", gradient
    np.testing.assert_allclose(gradient["autograd"], expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gradient["symbolic"], expected, rtol=1e-10, atol=1e-12)
    assert gradient["symbolic_by"] == "backprop"  # by the matrix formula, witnessed by sympy
    if shape == (2, 4):
        return
    formula = parse(gradient["formula"])  # the formula pastes back into backcalc
    assert str(formula) == gradient["formula"]


@pytest.mark.parametrize(("text", "reference"), CASES, ids=IDS)
def test_sympy_element_by_element_agrees_too(text, reference):
    # The witness of every matrix formula: sympy's exact derivative of each element of the loss.
    from backcalc.symbolic.elements import ElementDifferentiator

    x = _distinct((2, 3))
    c = RNG.uniform(0.5, 1.5, size=reference(torch.tensor(x)).shape)
    tree = parse(WEIGHTS.format(text))
    side = ElementDifferentiator(tree, {"x": x.shape, "c": c.shape})
    values = side.values("x", {"x": x, "c": c}, (), 1)
    xt = torch.tensor(x, requires_grad=True)
    out = reference(xt)
    (out * out * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(values, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("text", "x", "autograd", "symbolic"),
    [
        # torch's max along a dimension gives a tie's gradient to one index; sympy's Max splits it.
        ("max(x, 1)", [[2.0, 2.0, 0.0], [1.0, 3.0, 3.0]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], None),
        ("min(x, 0)", [[1.0, 0.0], [1.0, 2.0]], [[1.0, 1.0], [0.0, 0.0]], None),
        # Three tied: torch shares evenly (1/3 each), sympy's derivative of Max gives 1/2 to each.
        ("amax(x)", [[1.0, 1.0, 1.0]], [[1 / 3, 1 / 3, 1 / 3]], [[0.5, 0.5, 0.5]]),
    ],
)
def test_a_tie_is_a_kink_never_a_disagreement(run, text, x, autograd, symbolic):
    data = run.json("grad", text, f"x={x}", "--dtype", "float64")
    gradient = data["gradients"]["x"]
    assert data["verdict"] == gradient["verdict"] == "edge"
    np.testing.assert_allclose(gradient["autograd"], autograd, rtol=1e-15)
    if symbolic is not None:
        np.testing.assert_allclose(gradient["symbolic"], symbolic, rtol=1e-15)
    assert {edge["kind"] for edge in gradient["edges"]} == {"kink"}
    assert all("tie" in edge["reason"] for edge in gradient["edges"])


def test_two_tied_are_shared_evenly_by_both_sides(run):
    data = run.json("grad", "amax(x, 1) + max(x)", "x=[[2,2,0],[1,3,3]]", "--dtype", "float64")
    assert data["verdict"] == "agree"
    # max(x) broadcasts over both rows of amax(x, 1): its two tied elements get 2 * 1/2 each.
    assert data["gradients"]["x"]["autograd"] == [[0.5, 0.5, 0.0], [0.0, 1.5, 1.5]]


def test_too_few_elements_for_the_correction_is_an_edge_with_one_line(run):
    result = run("grad", "var(x, 1)", "x=[[1],[2]]", "--json")
    assert result.exit_code == 0 and result.stderr == ""  # torch's warning is not passed on
    import json

    data = json.loads(result.stdout)
    assert any(edge["kind"] == "domain" for edge in data["gradients"]["x"]["edges"])


def test_prod_at_a_zero_is_sympy_s_exact_value(run):
    data = run.json("grad", "prod(x)", "x=[[2,3],[0,5]]", "--dtype", "float64")
    gradient = data["gradients"]["x"]
    assert gradient["verdict"] == "agree"
    assert gradient["autograd"] == gradient["symbolic"] == [[0.0, 0.0], [30.0, 0.0]]


def test_explain_checks_each_reduction_against_torch(run):
    text = "sum(cumsum(x, 1)*c) + dot(var(x, 0, correction=0), w) + std(x) + sum(prod(x, 1, keepdim=True)) + amax(x)"
    x = _distinct((2, 3))
    w, c = RNG.uniform(-1, 1, 3), RNG.uniform(-1, 1, (2, 3))
    data = run.json("explain", text, f"x={x.tolist()}", f"w={w.tolist()}", f"c={c.tolist()}", "--dtype", "float64")
    assert data["verdict"] == "agree"
    assert {node["op"] for node in data["nodes"]} >= {"cumsum", "var", "std", "prod", "amax"}
    assert all(node["verdict"] == "agree" for node in data["nodes"])
    xt = torch.tensor(x, requires_grad=True)
    out = (xt.cumsum(1) * torch.tensor(c)).sum() + xt.var(0, correction=0) @ torch.tensor(w) + xt.std()
    (out + xt.prod(1, keepdim=True).sum() + xt.amax()).backward()
    np.testing.assert_allclose(data["gradients"]["x"], xt.grad.numpy(), rtol=1e-12)


def test_explain_shows_the_rule_of_a_maximum(run):
    data = run.json("explain", "sum(max(x, 1)*c) - min(x)", "x=[[1,4],[3,2]]", "c=[1,2]", "--dtype", "float64")
    rules = [local["formula"] for node in data["nodes"] for local in node["local"].values()]
    assert any("heaviside(x - unsqueeze(n1, 1))" in rule for rule in rules), rules
    assert data["gradients"]["x"] == [[-1.0, 1.0], [2.0, 0.0]]


@pytest.mark.parametrize(("text", "reference"), CASES, ids=IDS)
def test_text_round_trips(text, reference):
    assert str(parse(text)) == text
    assert parse(str(parse(text))) == parse(text)


@pytest.mark.parametrize(
    "text", ["cumsum(x)", "var(x, correction=0.5)", "max(x, keepdim=2)", "prod(x, 0, correction=1)", "amax(x, y)"]
)
def test_bad_calls_are_status_2_and_one_line(run, text):
    result = run("grad", text, "x=[[1,2],[3,4]]", "y=1")
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
