"""The activation functions (backcalc/ops/activations.py): each record's three implementations against
torch.nn.functional in float64 for every option, its local rule against sympy's derivative, gradients
through the command line against torch autograd at several shapes, and their kinks as edges."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F  # noqa: N812  (as torch code writes it)

from backcalc import ops
from backcalc.language.parser import parse
from backcalc.symbolic.elementwise import symbols_for, to_sympy

RNG = np.random.default_rng(4)

# (the call as written, the record's options, torch.nn.functional's own function)
CASES = [
    ("gelu(x)", {}, F.gelu),
    ('gelu(x, approximate="tanh")', {"approximate": "tanh"}, lambda t: F.gelu(t, approximate="tanh")),
    ("silu(x)", {}, F.silu),
    ("leaky_relu(x)", {}, F.leaky_relu),
    ("leaky_relu(x, 0.2)", {"negative_slope": 0.2}, lambda t: F.leaky_relu(t, 0.2)),
    ("elu(x)", {}, F.elu),
    ("elu(x, alpha=0.5)", {"alpha": 0.5}, lambda t: F.elu(t, alpha=0.5)),
    ("softsign(x)", {}, F.softsign),
    ("erf(x)", {}, torch.erf),
    ("hardtanh(x)", {}, F.hardtanh),
    ("hardtanh(x, -2, 0.5)", {"min_val": -2.0, "max_val": 0.5}, lambda t: F.hardtanh(t, -2.0, 0.5)),
]
IDS = [text for text, _, _ in CASES]


def _points() -> np.ndarray:
    # Away from every kink (0, the default bounds ±1, and -2, 0.5 above).
    points = RNG.uniform(-3, 3, size=40)
    return points[np.min(np.abs(points[:, None] - np.array([0, 1, -1, -2, 0.5])), axis=1) > 1e-3]


@pytest.mark.parametrize(("text", "options", "reference"), CASES, ids=IDS)
def test_three_implementations_agree_with_torch_functional(text, options, reference):
    op = parse(text).record
    u = _points()
    expected = reference(torch.tensor(u)).numpy()
    settings = op.settings(tuple(options.items()))
    np.testing.assert_allclose(op.torch(torch, torch.tensor(u), **settings).numpy(), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(op.numpy(np, u, **settings), expected, rtol=1e-13, atol=1e-15)
    sympy_values = [float(op.sympy(sympy, sympy.Float(float(a)), **settings)) for a in u]
    np.testing.assert_allclose(sympy_values, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("text", "options", "reference"), CASES, ids=IDS)
def test_local_rule_is_the_derivative_for_every_option(text, options, reference):
    op = parse(text).record
    given = tuple(options.items())
    symbols = symbols_for(["u"])
    derivative = sympy.diff(op.sympy(sympy, symbols["u"], **op.settings(given)), symbols["u"])
    (rule,) = op.local_rules(given)
    claimed = to_sympy(parse(rule), symbols)
    for a in _points()[:10]:
        point = {symbols["u"]: sympy.Float(float(a))}
        assert float(claimed.subs(point)) == pytest.approx(float(derivative.subs(point).doit()), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize(("text", "options", "reference"), CASES, ids=IDS)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_gradients_agree_with_torch_autograd(run, text, options, reference, shape):
    x = RNG.uniform(-2.5, 2.5, size=shape)
    x = np.where(np.min(np.abs(x[..., None] - np.array([0, 1, -1, -2, 0.5])), axis=-1) < 1e-2, 0.3, x)
    data = run.json("grad", text, f"x={x.tolist()}", "--dtype", "float64")
    xt = torch.tensor(x, requires_grad=True)
    reference(xt).sum().backward()
    gradient = data["gradients"]["x"]
    assert gradient["verdict"] == "agree", gradient
    np.testing.assert_allclose(gradient["autograd"], xt.grad.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gradient["symbolic"], xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("text", "options", "reference"), CASES, ids=IDS)
def test_text_round_trips(text, options, reference):
    tree = parse(text)
    assert dict(tree.options) == {k: v for k, v in options.items() if tree.record.option(k).default != v}
    assert parse(str(tree)) == tree


def test_options_print_positionally_while_they_can():
    assert str(parse("hardtanh(x, min_val=-2, max_val=2)")) == "hardtanh(x, -2.0, 2.0)"
    assert str(parse("hardtanh(x, max_val=2)")) == "hardtanh(x, max_val=2.0)"
    assert str(parse("leaky_relu(x, negative_slope=0.01)")) == "leaky_relu(x)"
    assert str(parse('gelu(x, approximate="none")')) == "gelu(x)"


@pytest.mark.parametrize(
    ("text", "value", "autograd", "symbolic"),
    [
        ("leaky_relu(x, 0.1)", 0.0, 0.1, 0.55),  # torch takes the slope below; Heaviside(0) = 1/2
        ("elu(x, 2)", 0.0, 2.0, 1.5),
        ("hardtanh(x)", 1.0, 0.0, 0.5),
        ("hardtanh(x)", -1.0, 0.0, 0.5),
    ],
)
def test_a_kink_is_an_edge_never_a_disagreement(run, text, value, autograd, symbolic):
    data = run.json("grad", text, f"x=[{value}, 0.25]", "--dtype", "float64")
    gradient = data["gradients"]["x"]
    assert gradient["verdict"] == "edge"
    assert gradient["autograd"] == [autograd, 1.0]
    assert gradient["symbolic"] == [symbolic, 1.0]
    assert [edge["kind"] for edge in gradient["edges"]] == ["kink"]
    assert data["verdict"] == "edge"  # explained, never "disagree" (and exit status 0, which run.json checks)


def test_elu_with_alpha_one_has_no_kink(run):
    data = run.json("grad", "elu(x)", "x=[0.0, -1.0]", "--dtype", "float64")
    assert data["gradients"]["x"]["verdict"] == "agree"
    assert data["gradients"]["x"]["autograd"] == [1.0, float(np.exp(-1.0))]


def test_explain_shows_each_activation_against_torch(run):
    text = (
        'gelu(x, approximate="tanh") + silu(x)*softsign(x) + erf(x) - leaky_relu(x, 0.3) + elu(x) + hardtanh(x, -2, 2)'
    )
    x = np.array([[-1.5, 0.7], [0.2, 2.5]])
    data = run.json("explain", text, f"x={x.tolist()}", "--dtype", "float64")
    assert data["verdict"] == "agree"
    assert {node["op"] for node in data["nodes"]} >= {
        "gelu",
        "silu",
        "softsign",
        "erf",
        "leaky_relu",
        "elu",
        "hardtanh",
    }
    xt = torch.tensor(x, requires_grad=True)
    out = F.gelu(xt, approximate="tanh") + F.silu(xt) * F.softsign(xt) + torch.erf(xt) - F.leaky_relu(xt, 0.3)
    (out + F.elu(xt) + F.hardtanh(xt, -2.0, 2.0)).sum().backward()
    np.testing.assert_allclose(data["gradients"]["x"], xt.grad.numpy(), rtol=1e-12)


def test_every_activation_is_registered_with_its_options():
    names = {"gelu", "silu", "leaky_relu", "elu", "softsign", "erf", "hardtanh"}
    assert names <= set(ops.function_names())
    assert [o.name for o in ops.get("hardtanh").options] == ["min_val", "max_val"]
    assert ops.get("gelu").option("approximate").choices == ("none", "tanh")


@pytest.mark.parametrize(
    "text",
    [
        'gelu(x, approximate="tan")',
        "gelu(x, approximate=True)",
        "leaky_relu(x, True)",
        "leaky_relu(x, 0.1, 2)",
        "elu(x, beta=1)",
        'hardtanh(x, "a")',
        "silu(x, 1)",
    ],
)
def test_bad_activation_options_are_status_2_and_one_line(run, text):
    result = run("grad", text, "x=[1,2]")
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_hardtanh_with_its_bounds_crossed_is_one_line_and_status_2(run):
    result = run("grad", "hardtanh(x, 1, -1)", "x=[-1.0, 1.0, 0.3]")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "backcalc: error: hardtanh(x, 1.0, -1.0): min_val=1.0 is above max_val=-1.0: hardtanh needs min_val <= max_val"
    ]
