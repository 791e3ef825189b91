"""The layers (backcalc/ops/layers.py): linear, layer_norm, batch_norm in training mode and dropout with
a given mask, each forward (torch, NumPy and sympy implementations) against torch.nn.functional in
float64, every gradient through grad and explain against torch autograd, bad shapes and options as one
line and exit 2, and the "backprop ninja" two-layer MLP with batch norm and cross-entropy as a program
against a hand-written retain_grad script."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F  # noqa: N812  (as torch code writes it)

from backcalc.language.parser import parse

RNG = np.random.default_rng(6)


def _values(**arrays: np.ndarray) -> list[str]:
    return [f"{name}={value.tolist()}" for name, value in arrays.items()]


def _sympy_value(tree, *args):
    cells = [np.vectorize(sympy.Float, otypes=[object])(a) for a in args]
    keywords = tree.record.keywords(tree.dim, tree.options)
    if tree.record.elementwise:  # one element at a time
        value = np.frompyfunc(lambda *a: tree.record.sympy(sympy, *a, **keywords), len(cells), 1)(*cells)
    else:
        value = tree.record.sympy(sympy, np, *cells, **keywords)
    return np.vectorize(float)(np.asarray(value, dtype=object)).astype(float)


def _forward(text: str, expected: np.ndarray, *args: np.ndarray) -> None:
    """The torch, NumPy and sympy implementations of the call ``text`` against torch's ``expected``."""
    tree = parse(text)
    keywords = tree.record.keywords(tree.dim, tree.options)
    found = tree.record.torch(torch, *(torch.tensor(a) for a in args), **keywords).numpy()
    np.testing.assert_allclose(found, expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(tree.record.numpy(np, *args, **keywords), expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_sympy_value(tree, *args), expected, rtol=1e-12, atol=1e-13)


CASES = [
    ("linear(x, W)", {"x": (3, 4), "W": (2, 4)}, lambda t: F.linear(t["x"], t["W"])),
    ("linear(x, W, b)", {"x": (3, 4), "W": (2, 4), "b": (2,)}, lambda t: F.linear(t["x"], t["W"], t["b"])),
    ("linear(x, W, b)", {"x": (4,), "W": (2, 4), "b": (2,)}, lambda t: F.linear(t["x"], t["W"], t["b"])),
    ("linear(x, W, b)", {"x": (2, 2, 3), "W": (2, 3), "b": (2,)}, lambda t: F.linear(t["x"], t["W"], t["b"])),
    ("layer_norm(x, (4,))", {"x": (3, 4)}, lambda t: F.layer_norm(t["x"], (4,))),
    (
        "layer_norm(x, (2, 3), w, b, eps=0.1)",
        {"x": (2, 2, 3), "w": (2, 3), "b": (2, 3)},
        lambda t: F.layer_norm(t["x"], (2, 3), t["w"], t["b"], eps=0.1),
    ),
    ("batch_norm(x)", {"x": (3, 2)}, lambda t: F.batch_norm(t["x"], None, None, training=True)),
    (
        "batch_norm(x, w, b)",
        {"x": (4, 3), "w": (3,), "b": (3,)},
        lambda t: F.batch_norm(t["x"], None, None, t["w"], t["b"], training=True),
    ),
    (
        "batch_norm(x, w, b, eps=0.01)",
        {"x": (2, 2, 1, 2), "w": (2,), "b": (2,)},
        lambda t: F.batch_norm(t["x"], None, None, t["w"], t["b"], training=True, eps=0.01),
    ),
]


@pytest.mark.parametrize(("text", "shapes", "reference"), CASES, ids=[f"{c[0]} {list(c[1].values())}" for c in CASES])
def test_layers_forward_and_gradients_agree_with_torch(run, text, shapes, reference):
    arrays = {name: RNG.normal(size=shape) for name, shape in shapes.items()}
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in arrays.items()}
    out = reference(tensors)
    _forward(text, out.detach().numpy(), *arrays.values())
    (out**3).sum().backward()
    program = f"h = {text}; loss = sum(h**3)"
    for command in ("grad", "explain"):
        data = run.json(command, program, *_values(**arrays), "--dtype", "float64")
        assert data["verdict"] == "agree", (command, data.get("notes"))
        for name, tensor in tensors.items():
            found = data["gradients"][name]["symbolic"] if command == "grad" else data["gradients"][name]
            np.testing.assert_allclose(found, tensor.grad.numpy(), rtol=1e-10, atol=1e-12)
        if command == "grad":  # sympy's elements never contradict backprop's formula (witnessed apart)
            assert "did not match" not in data["gradients"]["x"]["note"]


@pytest.mark.parametrize(
    ("program", "shapes"),
    [
        ("linear(x, W, b)", {"x": (2, 2), "W": (2, 2), "b": (2,)}),
        ("layer_norm(x, (3,), w, b)", {"x": (2, 3), "w": (3,), "b": (3,)}),
        ("batch_norm(x, w, b)", {"x": (3, 2), "w": (2,), "b": (2,)}),
        ("batch_norm(x)", {"x": (2, 1, 1, 2)}),
        ("dropout(x, m, 0.5)", {"x": (2, 2), "m": (2, 2)}),
    ],
)
def test_sympy_s_elements_witness_the_formulas_at_small_sizes(run, program, shapes):
    arrays = {name: RNG.normal(size=shape) for name, shape in shapes.items()}
    data = run.json("grad", f"h = {program}; loss = sum(h**3)", *_values(**arrays), "--dtype", "float64")
    assert data["verdict"] == "agree"
    for name in arrays:
        assert "matches sympy's element-by-element derivative" in data["gradients"][name]["note"], name


def test_the_rules_of_linear_are_the_course_s():
    from backcalc.ops import get

    assert get("linear").vjp_templates([(3, 4), (2, 4), (2,)], None) == ("g @ v", "g.T @ u", "sum(g, 0)")


def test_explain_shows_the_course_s_rule_of_linear(run):
    x, w, b = RNG.normal(size=(3, 4)), RNG.normal(size=(2, 4)), RNG.normal(size=2)
    data = run.json("explain", "y = linear(x, W, b); loss = sum(y**2)", *_values(x=x, W=w, b=b), "--dtype", "float64")
    node = next(n for n in data["nodes"] if n["id"] == "y")
    assert {child: rule["formula"] for child, rule in node["local"].items()} == {
        "x": "dy@W",
        "W": "dy.T@x",
        "b": "sum(dy, 0)",
    }


def test_dropout_is_x_times_its_mask_over_one_minus_p(run):
    x, mask = RNG.normal(size=(3, 4)), (RNG.uniform(size=(3, 4)) > 0.3).astype(float)
    _forward("dropout(x, m, 0.25)", x * mask / 0.75, x, mask)
    xt = torch.tensor(x, requires_grad=True)
    (torch.tanh(xt * torch.tensor(mask) / 0.75)).sum().backward()
    data = run.json("grad", "sum(tanh(dropout(x, m, p=0.25)))", *_values(x=x, m=mask), "--dtype", "float64")
    assert data["verdict"] == "agree"
    np.testing.assert_allclose(data["gradients"]["x"]["symbolic"], xt.grad.numpy(), rtol=1e-13)


def test_a_call_prints_back_as_it_parses():
    for text in (
        "layer_norm(x, (3,), w, b, eps=0.1)",
        "layer_norm(x, (3,))",
        "dropout(x, m, 0.1)",
        "linear(x, W)",
        "conv2d(x, w, stride=2)",
        "conv2d(x, w, b, stride=(2, 1), padding=1, groups=2)",
        "conv2d_input(g, w, (1, 2, 4, 4), stride=2)",
        "max_pool2d(x, (2, 3), 1)",
    ):
        assert str(parse(text)) == text
    # After a bias that may be left out, the options by name: conv2d(x, w, 2) would read 2 as the bias.
    assert str(parse("conv2d(x, w, b, 2, 1)")) == "conv2d(x, w, b, stride=2, padding=1)"


@pytest.mark.parametrize(
    ("program", "values", "message"),
    [
        ("linear(x, W)", ["x=[[1, 2, 3]]", "W=[[1, 2]]"], "linear of x [1, 3] needs x's last size 2"),
        ("linear(x, W, b)", ["x=[1, 2]", "W=[[1, 2]]", "b=[1, 2]"], "linear's bias must be of shape [1]"),
        ("layer_norm(x, (2,))", ["x=[[1, 2, 3]]"], "layer_norm over (2,) does not fit x of [1, 3]"),
        ("layer_norm(x, (3,), w)", ["x=[[1, 2, 3]]", "w=[1, 2]"], "layer_norm's weight must be of shape [3]"),
        ("batch_norm(x)", ["x=[1, 2, 3]"], "batch_norm needs x of (N, C)"),
        ("batch_norm(x)", ["x=[[1, 2, 3]]"], "more than one value per channel"),
        ("batch_norm(x, w)", ["x=[[1, 2], [3, 4]]", "w=[1, 2, 3]"], "batch_norm's weight must be one per channel"),
        ("dropout(x, m, 1)", ["x=[1]", "m=[1]"], "p= must be a probability in [0, 1)"),
        ("layer_norm(x, (3,), eps=0)", ["x=[1, 2, 3]"], "eps= must be a positive number"),
        ("layer_norm(x, w)", ["x=[1, 2, 3]", "w=[1, 2, 3]"], "normalized_shape= of layer_norm() must be"),
    ],
)
def test_bad_shapes_and_options_are_one_line_and_exit_2(run, program, values, message):
    result = run("grad", program, *values)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) <= 3, result.stderr
    assert "Traceback" not in result.stderr


def test_the_ninja_mlp_with_batch_norm_through_grad_and_explain(run):
    """Karpathy's "backprop ninja" exercise: linear -> batch_norm -> tanh -> linear -> cross_entropy."""
    n, d, hidden, classes = 4, 3, 5, 3
    rng = np.random.default_rng(1)
    weights = {
        "W1": rng.normal(size=(hidden, d)) * 0.5,
        "b1": rng.normal(size=hidden) * 0.1,
        "bngain": 1 + 0.1 * rng.normal(size=hidden),
        "bnbias": 0.1 * rng.normal(size=hidden),
        "W2": rng.normal(size=(classes, hidden)) * 0.5,
        "b2": rng.normal(size=classes) * 0.1,
    }
    x, y = rng.normal(size=(n, d)), rng.integers(0, classes, size=n)
    program = (
        "hprebn = linear(X, W1, b1); hpreact = batch_norm(hprebn, bngain, bnbias); h = tanh(hpreact); "
        "logits = linear(h, W2, b2); loss = cross_entropy(logits, Y)"
    )
    values = [*_values(**weights, X=x), f"Y={y.tolist()}"]
    # The hand-written torch script, every step kept for its gradient.
    t = {name: torch.tensor(value, requires_grad=True) for name, value in weights.items()}
    hprebn = torch.tensor(x) @ t["W1"].T + t["b1"]
    mean, var = hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, unbiased=False)
    hpreact = t["bngain"] * (hprebn - mean) / torch.sqrt(var + 1e-5) + t["bnbias"]
    h = torch.tanh(hpreact)
    logits = h @ t["W2"].T + t["b2"]
    loss = F.cross_entropy(logits, torch.tensor(y))
    steps = {"hprebn": hprebn, "hpreact": hpreact, "h": h, "logits": logits}
    for step in steps.values():
        step.retain_grad()
    loss.backward()
    for command in ("grad", "explain"):
        data = run.json(command, program, *values, "--dtype", "float64")
        assert data["verdict"] == "agree" and data["loss"] == pytest.approx(loss.item(), rel=1e-12)
        assert sorted(data["gradients"]) == sorted([*weights, "X"])  # Y is labels
        for name, tensor in t.items():
            found = data["gradients"][name]["symbolic"] if command == "grad" else data["gradients"][name]
            np.testing.assert_allclose(found, tensor.grad.numpy(), rtol=1e-10, atol=1e-13)
        for name, step in steps.items():
            if command == "grad":
                found = data["intermediates"][name]["autograd"]
                np.testing.assert_allclose(data["intermediates"][name]["symbolic"], step.grad.numpy(), atol=1e-13)
            else:
                found = next(node["grad"] for node in data["nodes"] if node["id"] == name)
            np.testing.assert_allclose(found, step.grad.numpy(), rtol=1e-10, atol=1e-13)
