"""Programs of named steps through every analysis: d loss / d every step against torch's retain_grad in
float64, formulas in the step names that evaluate back, explain's nodes named by the steps, claims on
steps, and the bad programs refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backcalc import gradient
from backcalc.analyses.check.grade import check
from backcalc.analyses.explain import explain
from backcalc.analyses.problem import prepare
from backcalc.errors import InputError
from backcalc.language.program import parse_program
from backcalc.numeric.numpy_eval import evaluate

SEED = "y_hat = w*x; s = y_hat - y; loss = s**2"

TWO_LAYER = """
# a two-layer network with cross-entropy, as a course writes it
pre = W1@x + b1
h = tanh(pre)
logits = W2@h + b2
logp = log_softmax(logits)
nll = -(y*logp)
loss = sum(nll)
"""


def _two_layer_inputs(rng: np.random.Generator, hidden: int = 5, classes: int = 3, features: int = 4) -> dict:
    y = np.zeros(classes)
    y[rng.integers(classes)] = 1.0
    return {
        "W1": rng.normal(size=(hidden, features)),
        "x": rng.normal(size=features),
        "b1": rng.normal(size=hidden),
        "W2": rng.normal(size=(classes, hidden)),
        "b2": rng.normal(size=classes),
        "y": y,
    }


def _torch_two_layer(inputs: dict) -> tuple[dict, dict]:
    """The same network by hand in torch, each intermediate's gradient by retain_grad."""
    t = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in inputs.items()}
    steps = {}
    steps["pre"] = t["W1"] @ t["x"] + t["b1"]
    steps["h"] = torch.tanh(steps["pre"])
    steps["logits"] = t["W2"] @ steps["h"] + t["b2"]
    steps["logp"] = torch.log_softmax(steps["logits"], -1)
    steps["nll"] = -(t["y"] * steps["logp"])
    steps["loss"] = steps["nll"].sum()
    for tensor in steps.values():
        tensor.retain_grad()
    steps["loss"].backward()
    grads = {name: tensor.grad.numpy() for name, tensor in steps.items()}
    return grads, {name: tensor.grad.numpy() for name, tensor in t.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_step_of_a_network_against_retain_grad(seed):
    inputs = _two_layer_inputs(np.random.default_rng(seed))
    result = gradient(TWO_LAYER, inputs, dtype="float64")
    step_grads, input_grads = _torch_two_layer(inputs)
    assert list(result.intermediates) == ["pre", "h", "logits", "logp", "nll", "loss"]
    for name, expected in step_grads.items():
        step = result.intermediates[name]
        np.testing.assert_allclose(step.autograd, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(step.symbolic, expected, rtol=1e-9, atol=1e-12)
        assert step.agree, name
    for name, expected in input_grads.items():
        np.testing.assert_allclose(result.gradients[name].symbolic, expected, rtol=1e-9, atol=1e-12)
    assert result.agree


def test_the_seed_gives_each_step_its_gradient():
    result = gradient(SEED, {"w": 1.0, "x": 1.0, "y": 2.0}, dtype="float64")
    steps = result.to_dict()["intermediates"]
    assert steps["s"] == {
        "expr": "y_hat - y",
        "shape": [],
        "value": -1.0,
        "formula": "2*s",
        "latex": "2 \\cdot s",
        "symbolic": -2.0,
        "autograd": -2.0,
        "max_abs_diff": 0.0,
        "agree": True,
        "verdict": "agree",
    }
    assert steps["y_hat"]["formula"] == "2*s" and steps["y_hat"]["symbolic"] == -2.0
    assert steps["loss"]["formula"] == "1"
    assert result.gradients["w"].symbolic == -2.0


def test_formulas_in_step_names_evaluate_back():
    inputs = _two_layer_inputs(np.random.default_rng(7))
    result = gradient(TWO_LAYER, inputs, dtype="float64")
    for grad in [*result.gradients.values(), *result.intermediates.values()]:
        # The formula, as a last statement of the program, is the gradient again (+ 0*sum(x): "1" too).
        program = parse_program(TWO_LAYER + f"\nchecked_formula = {grad.formula} + 0*sum(x)")
        value = evaluate(program.output, inputs)
        np.testing.assert_allclose(np.broadcast_to(value, grad.symbolic.shape), grad.symbolic, rtol=1e-12, atol=1e-14)


def test_a_step_the_loss_does_not_use_is_kept_with_no_gradient():
    result = gradient("a = w*x; spare = sin(w); loss = (a - 1)**2", {"w": 2.0, "x": 3.0}, dtype="float64")
    spare = result.to_dict()["intermediates"]["spare"]
    assert spare["value"] == pytest.approx(np.sin(2.0))
    assert (spare["symbolic"], spare["autograd"], spare["formula"], spare["agree"]) == (None, None, None, None)
    assert spare["note"] == "not used by the loss"
    assert result.agree


def test_a_mean_loss_and_a_vector_output():
    inputs = {"W": np.array([[1.0, 2.0], [3.0, -1.0]]), "x": np.array([0.5, -0.25])}
    result = gradient("z = W@x; sigmoid(z)", inputs, dtype="float64", reduce="mean")
    z = torch.tensor(inputs["W"]) @ torch.tensor(inputs["x"])
    z.requires_grad_(True)
    torch.sigmoid(z).mean().backward()
    np.testing.assert_allclose(result.intermediates["z"].symbolic, z.grad.numpy(), rtol=1e-12)
    assert result.to_dict()["reduce"] == "mean"


def test_explain_names_its_nodes_by_the_steps():
    explanation = explain(prepare(SEED, {"w": 1.0, "x": 1.0, "y": 2.0}))
    data = explanation.to_dict()
    ids = [node["id"] for node in data["nodes"]]
    assert ids == ["w", "x", "y_hat", "y", "s", "c1", "loss"]
    by_id = {node["id"]: node for node in data["nodes"]}
    assert by_id["s"]["definition"] == "y_hat - y"
    assert by_id["loss"]["local"]["s"]["formula"] == "2*s"
    assert by_id["loss"]["local"]["s"]["value"] == -2.0
    assert by_id["s"]["local"]["y_hat"]["formula"] == "1"
    assert by_id["y_hat"]["local"]["w"]["formula"] == "x"
    assert by_id["w"]["grad"] == -2.0 and by_id["w"]["autograd_grad"] == -2.0
    assert data["agree"]


def test_explain_a_step_used_twice_sums_its_uses():
    explanation = explain(prepare("a = w*x; loss = a*a + sin(a)", {"w": 0.5, "x": 2.0}, dtype="float64"))
    node = next(item for item in explanation.to_dict()["nodes"] if item["id"] == "a")
    assert sorted(c["from"] for c in node["contributions"]) == ["n1", "n2"]
    assert node["grad"] == pytest.approx(2 * 1.0 + np.cos(1.0))
    assert explanation.to_dict()["agree"]


def test_claims_on_steps_and_in_step_names():
    result = check(SEED, {"s": "2*s", "y_hat": "2*s", "w": "2*s*x"}, {"w": 1.0, "x": 1.0, "y": 2.0})
    assert result.right
    assert result.claims["w"].formula == "2*(s*x)"
    wrong = check(SEED, {"s": "s", "w": "2*s*w"})  # no inputs: random points
    assert not wrong.claims["s"].right and not wrong.claims["w"].right
    assert wrong.claims["s"].counterexample is not None
    matrix = check("h = tanh(W@x); loss = sum(h**2)", {"h": "2*h", "W": "outer(2*h*(1 - h**2), x)"},
                   {"W": [[1.0, 2.0], [3.0, 4.0]], "x": [0.1, 0.2]})  # fmt: skip
    assert matrix.right


def test_inputs_may_not_take_a_steps_name():
    with pytest.raises(InputError, match="s is a step of the program"):
        prepare(SEED, {"w": 1.0, "x": 1.0, "y": 2.0, "s": 3.0})
    with pytest.raises(InputError, match="claim for z: the expression has no input or step 'z'"):
        check(SEED, {"z": "1"})


def test_a_deep_doubling_program_answers_in_a_bounded_time():
    # Written out, the loss would have 2**41 nodes: the graph is answered step by step.
    source = "; ".join(["a0 = x*x"] + [f"a{i} = a{i - 1}*a{i - 1}" for i in range(1, 40)])
    result = gradient(source, {"x": 1.0}, dtype="float64")
    assert result.intermediates["a0"].autograd == pytest.approx(2.0**39)
    assert result.agree


def test_the_notebook_view_shows_the_steps():
    html = gradient(SEED, {"w": 1.0, "x": 1.0, "y": 2.0})._repr_html_()
    assert "<b>Program</b>" in html and "<b>Steps</b>" in html
    assert "<code>2*s</code>" in html and "retain_grad" in html


def test_a_constant_step_is_said_to_be_one():
    result = gradient("eps = 1e-5; a = w*x; loss = a**2 + eps", {"w": 1.0, "x": 2.0}, dtype="float64")
    eps = result.to_dict()["intermediates"]["eps"]
    assert eps["verdict"] == "constant" and eps["symbolic"] is None and eps["value"] == 1e-05
