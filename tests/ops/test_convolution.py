"""Convolutions and pooling (backcalc/ops/convolution.py, backcalc/ops/pooling.py): conv1d, conv2d,
max_pool2d and avg_pool2d with odd options (stride 2, padding 1, dilation 2, groups 2, tuples), each
forward (torch, NumPy and sympy implementations) and every gradient through grad and explain against
torch.nn.functional and autograd in float64; the records of their gradients against torch.nn.grad and
torch's own backward; ties in max_pool2d as a kink, never a disagreement; the note beyond sympy's
element limit; bad shapes and options as one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F  # noqa: N812  (as torch code writes it)

from backcalc.language.parser import parse

RNG = np.random.default_rng(7)


def _values(**arrays: np.ndarray) -> list[str]:
    return [f"{name}={value.round(3).tolist()}" for name, value in arrays.items()]


def _implementations(text: str, *args: np.ndarray) -> list[np.ndarray]:
    """The call ``text`` by the record's torch, NumPy and sympy implementations."""
    tree = parse(text)
    op, keywords = tree.record, tree.record.keywords(tree.dim, tree.options)
    cells = [np.vectorize(sympy.Float, otypes=[object])(a) for a in args]
    symbolic = np.vectorize(float)(np.asarray(op.sympy(sympy, np, *cells, **keywords), dtype=object))
    return [
        op.torch(torch, *(torch.tensor(a) for a in args), **keywords).numpy(),
        op.numpy(np, *args, **keywords),
        symbolic.astype(float),
    ]


CONVS = [
    ("conv2d(x, w)", (1, 2, 4, 4), (3, 2, 2, 2), {}),
    ("conv2d(x, w, b, stride=2, padding=1)", (2, 2, 5, 4), (2, 2, 3, 2), {"stride": 2, "padding": 1}),
    ("conv2d(x, w, b, dilation=2)", (1, 2, 5, 5), (2, 2, 2, 2), {"dilation": 2}),
    ("conv2d(x, w, b, groups=2)", (1, 4, 3, 3), (4, 2, 2, 2), {"groups": 2}),
    (
        "conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)",
        (2, 2, 4, 5),
        (2, 1, 2, 2),
        {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2},
    ),
    ("conv1d(x, w, b)", (2, 2, 5), (3, 2, 2), {}),
    ("conv1d(x, w, b, 2, 1, 2, 2)", (1, 4, 7), (2, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
]


@pytest.mark.parametrize(("text", "xs", "ws", "options"), CONVS, ids=[c[0] for c in CONVS])
def test_convolutions_and_their_gradients_agree_with_torch(run, text, xs, ws, options):
    arrays = {"x": RNG.normal(size=xs).round(3), "w": RNG.normal(size=ws).round(3)}
    if ", b" in text:
        arrays["b"] = RNG.normal(size=ws[0]).round(3)
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in arrays.items()}
    reference = F.conv2d if text.startswith("conv2d") else F.conv1d
    out = reference(tensors["x"], tensors["w"], tensors.get("b"), **options)
    for found in _implementations(text, *arrays.values()):
        np.testing.assert_allclose(found, out.detach().numpy(), rtol=1e-12, atol=1e-13)
    torch.tanh(out).sum().backward()
    program = f"h = {text}; loss = sum(tanh(h))"
    for command in ("grad", "explain"):
        data = run.json(command, program, *_values(**arrays), "--dtype", "float64")
        assert data["verdict"] == "agree", command
        for name, tensor in tensors.items():
            found = data["gradients"][name]["symbolic"] if command == "grad" else data["gradients"][name]
            np.testing.assert_allclose(found, tensor.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert data["parsed"].split("; ")[0] == f"h = {parse(text)}"


def test_the_gradient_records_agree_with_torch_nn_grad():
    x, w = RNG.normal(size=(2, 4, 5, 6)), RNG.normal(size=(2, 2, 3, 2))
    options = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    text = "stride=(2, 1), padding=1, dilation=(1, 2), groups=2"
    g = RNG.normal(size=F.conv2d(torch.tensor(x), torch.tensor(w), **options).shape)
    expected = torch.nn.grad.conv2d_input(x.shape, torch.tensor(w), torch.tensor(g), **options).numpy()
    for found in _implementations(f"conv2d_input(g, w, (2, 4, 5, 6), {text})", g, w):
        np.testing.assert_allclose(found, expected, rtol=1e-12, atol=1e-13)
    expected = torch.nn.grad.conv2d_weight(torch.tensor(x), w.shape, torch.tensor(g), **options).numpy()
    for found in _implementations(f"conv2d_weight(x, g, (2, 2, 3, 2), {text})", x, g):
        np.testing.assert_allclose(found, expected, rtol=1e-12, atol=1e-13)


def test_the_rules_of_conv2d_are_pasteable_expressions(run):
    x, w = RNG.normal(size=(1, 2, 4, 4)).round(2), RNG.normal(size=(2, 2, 2, 2)).round(2)
    data = run.json("explain", "h = conv2d(x, w, stride=2); loss = sum(h**2)", *_values(x=x, w=w), "--dtype", "float64")
    node = next(n for n in data["nodes"] if n["id"] == "h")
    assert node["local"]["x"]["formula"] == "conv2d_input(dh, w, (1, 2, 4, 4), stride=2)"
    assert node["local"]["w"]["formula"] == "conv2d_weight(x, dh, (2, 2, 2, 2), stride=2)"
    # The rule, pasted back with the upstream gradient given, is the gradient.
    dh = 2 * np.array(next(n for n in data["nodes"] if n["id"] == "h")["value"])
    pasted = run.json(
        "grad", "sum(conv2d_input(dh, w, (1, 2, 4, 4), stride=2))", *_values(dh=dh, w=w), "--dtype", "float64"
    )
    ones = torch.tensor(np.ones_like(x))
    np.testing.assert_allclose(
        pasted["output"]["value"],
        float((torch.nn.grad.conv2d_input(x.shape, torch.tensor(w), torch.tensor(dh.round(3)), stride=2) * ones).sum()),
    )
    np.testing.assert_allclose(data["gradients"]["x"], np.array(node["local"]["x"]["value"]), rtol=1e-13)


POOLS = [
    ("max_pool2d(x, 2)", lambda t: F.max_pool2d(t, 2)),
    ("max_pool2d(x, 3, stride=2, padding=1)", lambda t: F.max_pool2d(t, 3, stride=2, padding=1)),
    ("max_pool2d(x, (2, 3), 1, 1, 2)", lambda t: F.max_pool2d(t, (2, 3), 1, 1, 2)),
    ("avg_pool2d(x, 2)", lambda t: F.avg_pool2d(t, 2)),
    ("avg_pool2d(x, (3, 2), stride=(2, 1), padding=1)", lambda t: F.avg_pool2d(t, (3, 2), stride=(2, 1), padding=1)),
]


@pytest.mark.parametrize(("text", "reference"), POOLS, ids=[p[0] for p in POOLS])
@pytest.mark.parametrize("shape", [(2, 2, 5, 6), (2, 4, 5)], ids=str)
def test_pooling_and_its_gradient_agree_with_torch(run, text, reference, shape):
    x = RNG.permutation(np.arange(np.prod(shape), dtype=float)).reshape(shape) / 10  # no ties
    xt = torch.tensor(x, requires_grad=True)
    out = reference(xt)
    for found in _implementations(text, x):
        np.testing.assert_allclose(found, out.detach().numpy(), rtol=1e-12, atol=1e-13)
    (out**2).sum().backward()
    for command in ("grad", "explain"):
        data = run.json(command, f"h = {text}; loss = sum(h**2)", f"x={x.tolist()}", "--dtype", "float64")
        assert data["verdict"] == "agree", command
        found = data["gradients"]["x"]["symbolic"] if command == "grad" else data["gradients"]["x"]
        np.testing.assert_allclose(found, xt.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_the_routing_of_max_pool2d_agrees_with_torch_s_backward():
    x, g = RNG.normal(size=(2, 3, 6, 5)), RNG.normal(size=(2, 3, 3, 3))
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, 3, 2, 1).backward(torch.tensor(g))
    for found in _implementations("max_pool2d_backward(g, x, 3, 2, 1)", g, x):
        np.testing.assert_allclose(found, xt.grad.numpy(), rtol=1e-13)
    xt.grad = None
    F.avg_pool2d(xt, 3, 2, 1).backward(torch.tensor(g))
    for found in _implementations("avg_pool2d_backward(g, x, 3, 2, 1)", g, x):
        np.testing.assert_allclose(found, xt.grad.numpy(), rtol=1e-13)


@pytest.mark.parametrize("command", ["grad", "explain"])
def test_a_tie_in_a_max_pool2d_window_is_a_kink_not_a_disagreement(run, command):
    x = np.array([[[1.0, 1.0, 0.0], [1.0, 0.0, 2.0], [3.0, 3.0, 3.0]]])
    xt = torch.tensor(x, requires_grad=True)
    (F.max_pool2d(xt, 2, 1) ** 2).sum().backward()
    data = run.json(
        command, "h = max_pool2d(x, 2, stride=1); loss = sum(h**2)", f"x={x.tolist()}", "--dtype", "float64"
    )
    if command == "explain":  # the chain rule routes as torch does, to the first tied element
        assert data["verdict"] == "agree"
        np.testing.assert_allclose(data["gradients"]["x"], xt.grad.numpy())
        return
    assert data["verdict"] == "edge"  # sympy's Max shares the gradient: the difference is the kink's
    text = str(data)
    assert "at a tie in a window" in text and "first tied element" in text


def test_beyond_sympy_s_limit_the_note_names_the_step_and_why(run):
    x, w = RNG.normal(size=(1, 1, 20, 20)).round(2), RNG.normal(size=(1, 1, 2, 2)).round(2)
    data = run.json("grad", "h = conv2d(x, w); loss = sum(tanh(h))", *_values(x=x, w=w))
    note = data["gradients"]["x"]["note"]
    assert "conv2d in step `h` (361 output elements): the inputs have 404 elements, over sympy's limit of 400" in note
    assert "backprop's formula checked by torch instead" in note and data["verdict"] == "agree"
    single = run.json("grad", "sum(tanh(conv2d(x, w)))", *_values(x=x, w=w))
    assert "conv2d in the expression (361 output elements)" in single["gradients"]["w"]["note"]


@pytest.mark.parametrize(
    ("program", "shapes", "message"),
    [
        ("conv2d(x, w, groups=2)", {"x": (1, 3, 4, 4), "w": (2, 1, 2, 2)}, "must both be divisible by groups=2"),
        ("conv2d(x, w)", {"x": (1, 3, 4, 4), "w": (2, 2, 2, 2)}, "needs 3 input channels"),
        ("conv2d(x, w)", {"x": (3, 4, 4), "w": (2, 3, 2, 2)}, "conv2d needs x of (N, C, H, W)"),
        ("conv2d(x, w)", {"x": (1, 1, 2, 2), "w": (1, 1, 3, 3)}, "kernel reaches 3 elements"),
        ("conv2d(x, w, b)", {"x": (1, 1, 3, 3), "w": (2, 1, 2, 2), "b": (3,)}, "bias must be one per output channel"),
        ("conv1d(x, w, stride=(1, 2))", {"x": (1, 1, 5), "w": (1, 1, 2)}, "stride= needs 1 integer(s)"),
        ("conv2d(x, w, stride=0)", {"x": (1, 1, 3, 3), "w": (1, 1, 2, 2)}, "must be positive"),
        ("conv2d(x, w, padding=-1)", {"x": (1, 1, 3, 3), "w": (1, 1, 2, 2)}, "must be zero or more"),
        ("max_pool2d(x)", {"x": (1, 1, 3, 3)}, "max_pool2d needs a kernel size"),
        ("max_pool2d(x, 2, padding=2)", {"x": (1, 1, 3, 3)}, "is more than half its kernel"),
        ("avg_pool2d(x, 2)", {"x": (3, 3)}, "avg_pool2d needs x of (C, H, W) or (N, C, H, W)"),
        ("max_pool2d(x, 2, stride=1.5)", {"x": (1, 1, 3, 3)}, "must be an integer or a tuple of integers"),
    ],
)
def test_bad_shapes_and_options_are_one_line_and_exit_2(run, program, shapes, message):
    result = run("grad", program, *_values(**{name: np.ones(shape) for name, shape in shapes.items()}))
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("program", "shapes"),
    [
        ("conv2d(x, w, b, stride=2, padding=1)", {"x": (1, 1, 3, 3), "w": (2, 1, 2, 2), "b": (2,)}),
        ("conv1d(x, w, dilation=2, groups=2)", {"x": (1, 2, 5), "w": (2, 1, 2)}),
        ("max_pool2d(x, 2, stride=1, padding=1)", {"x": (1, 3, 3)}),
        ("avg_pool2d(x, 2, padding=1)", {"x": (1, 3, 3)}),
    ],
)
def test_sympy_s_elements_witness_the_formulas_at_small_sizes(run, program, shapes):
    arrays = {
        name: RNG.permutation(np.arange(np.prod(shape)) - 2.5).reshape(shape) / 3 for name, shape in shapes.items()
    }
    data = run.json("grad", f"h = {program}; loss = sum(tanh(h))", *_values(**arrays), "--dtype", "float64")
    assert data["verdict"] == "agree"
    for name in arrays:
        assert "matches sympy's element-by-element derivative" in data["gradients"][name]["note"], name
