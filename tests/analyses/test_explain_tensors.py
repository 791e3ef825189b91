"""``explain`` over tensors: every node of a network checked against torch's own gradient of that node,
every edge of an operation that mixes elements shown as its vector-Jacobian product in matrix notation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from backcalc.analyses.explain import explain
from backcalc.analyses.problem import prepare
from backcalc.render.graphviz import to_dot
from backcalc.render.latex import explanation_latex

RNG = np.random.default_rng(3)


def _explained(expression: str, **inputs: np.ndarray):
    return explain(prepare(expression, inputs, dtype="float64"))


def _torch_grads(expression_fn, **inputs: np.ndarray) -> dict[str, np.ndarray]:
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in inputs.items()}
    expression_fn(tensors).backward()
    return {name: t.grad.numpy() for name, t in tensors.items()}


NETWORKS = [
    (
        "sum(sigmoid(W2@relu(W1@x + b1)))",
        lambda t: torch.sigmoid(t["W2"] @ torch.relu(t["W1"] @ t["x"] + t["b1"])).sum(),
        {"W1": (4, 3), "x": (3,), "b1": (4,), "W2": (2, 4)},
    ),
    (
        "-sum(y*log_softmax(X@W, 1))",
        lambda t: -(t["y"] * torch.log_softmax(t["X"] @ t["W"], 1)).sum(),
        {"X": (5, 3), "W": (3, 4), "y": (5, 4)},
    ),
    (
        "sum(softmax(Q@K.T/2)@V)",
        lambda t: (torch.softmax(t["Q"] @ t["K"].T / 2, -1) @ t["V"]).sum(),
        {"Q": (2, 3), "K": (4, 3), "V": (4, 2)},
    ),
    (
        "mean((X@w - y)**2) + 0.1*dot(w, w)",
        lambda t: ((t["X"] @ t["w"] - t["y"]) ** 2).mean() + 0.1 * torch.dot(t["w"], t["w"]),
        {"X": (6, 3), "w": (3,), "y": (6,)},
    ),
    (
        "logsumexp(A, 0)@v + norm(A - 1) + sum(mean(A, 1)*v)",
        lambda t: (
            torch.logsumexp(t["A"], 0) @ t["v"] + torch.linalg.vector_norm(t["A"] - 1) + (t["A"].mean(1) * t["v"]).sum()
        ),
        {"A": (3, 3), "v": (3,)},
    ),
]


@pytest.mark.parametrize(("expression", "reference", "shapes"), NETWORKS, ids=[n[0] for n in NETWORKS])
def test_every_node_of_a_network_matches_torch(expression, reference, shapes):
    inputs = {name: RNG.normal(size=shape) for name, shape in shapes.items()}
    if "y" in inputs and "log_softmax" in expression:
        inputs["y"] = np.eye(4)[RNG.integers(0, 4, size=5)]
    explanation = _explained(expression, **inputs)
    assert explanation.verdict == "agree"
    checked = [item for item in explanation.nodes if item.verdict is not None]
    assert len(checked) >= len(shapes) + 2  # the inputs and the operations in between
    expected = _torch_grads(reference, **inputs)
    for item in explanation.nodes:
        if item.node.op == "input":
            np.testing.assert_allclose(item.grad, expected[item.node.id], rtol=1e-10, atol=1e-12)


def test_a_matrix_product_edge_is_its_vector_jacobian_product():
    w, x = RNG.normal(size=(3, 2)), RNG.normal(size=(2, 4))
    explanation = _explained("sum(W@X)", W=w, X=x)
    product = next(item for item in explanation.nodes if item.node.op == "matmul")
    assert {child: local.formula for child, local in product.local.items()} == {"W": "dn1@X.T", "X": "W.T@dn1"}
    assert all(local.vjp for local in product.local.values())
    np.testing.assert_allclose(product.local["W"].value, np.ones((3, 4)) @ x.T)
    (contribution,) = next(item for item in explanation.nodes if item.node.id == "W").contributions
    assert contribution.rule == "dn1@X.T"


def test_a_vector_gets_an_outer_product_and_a_broadcast_is_summed_back():
    explanation = _explained("sum(W@x + b)", W=RNG.normal(size=(3, 2)), x=RNG.normal(size=2), b=RNG.normal(size=(1,)))
    by_id = {item.node.id: item for item in explanation.nodes}
    assert by_id["n1"].local["W"].formula == "outer(dn1, x)"
    assert by_id["b"].grad.shape == (1,) and by_id["b"].grad.tolist() == [3.0]
    assert explanation.verdict == "agree"


def test_softmax_rule_as_the_issue_writes_it():
    explanation = _explained("sum(softmax(z)*t)", z=np.array([0.5, -1.0, 2.0]), t=np.array([1.0, 2.0, 3.0]))
    softmax = next(item for item in explanation.nodes if item.node.op == "softmax")
    assert softmax.local["z"].formula == "n1*(dn1 - unsqueeze(sum(dn1*n1, -1), -1))"
    assert explanation.verdict == "agree"


def test_json_dot_and_latex_of_a_tensor_explanation():
    explanation = _explained("sum(W@x)", W=np.ones((2, 3)), x=np.arange(3.0))
    data = json.loads(json.dumps(explanation.to_dict()))
    nodes = {node["id"]: node for node in data["nodes"]}
    assert nodes["W"]["shape"] == [2, 3] and nodes["n1"]["shape"] == [2]
    assert nodes["n1"]["local"]["W"] == {
        "formula": "outer(dn1, x)",
        "latex": "dn1 {x}^{T}",
        "value": [[0, 1, 2], [0, 1, 2]],
        "vjp": True,
    }
    assert [c["rule"] for c in nodes["W"]["contributions"]] == ["outer(dn1, x)"]
    assert "shape [2, 3]" in to_dot(explanation)
    assert r"\overline{W} \mathrel{+} &= dn1 {x}^{T}" in explanation_latex(explanation)


def test_large_tensors_are_summarised_in_the_json():
    explanation = explain(prepare("sum(sigmoid(W@x))", {"W": np.ones((120, 100)), "x": np.ones(100)}))
    data = explanation.to_dict()
    w = next(node for node in data["nodes"] if node["id"] == "W")
    assert w["value"]["shape"] == [120, 100] and set(w["value"]["summary"]) == {"min", "max", "mean"}
    assert data["verdict"] == "agree"
