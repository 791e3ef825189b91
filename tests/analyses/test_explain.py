"""The backward pass step by step: the seed's picture node by node, shared nodes, broadcasting."""

from __future__ import annotations

import numpy as np
import pytest

from backcalc.analyses.explain import explain
from backcalc.api import prepare
from backcalc.backprop.graph import build_graph
from backcalc.language.parser import parse


def nodes_of(expression: str, **inputs):
    explanation = explain(prepare(expression, inputs, dtype="float64"))
    return explanation, {item.node.id: item for item in explanation.nodes}


def test_graph_has_one_node_per_operation_and_per_input():
    graph, _ = build_graph(parse("(w*x - y)**2"))
    assert [(n.id, n.op, n.inputs) for n in graph] == [
        ("w", "input", ()),
        ("x", "input", ()),
        ("n1", "mul", ("w", "x")),
        ("y", "input", ()),
        ("n2", "sub", ("n1", "y")),
        ("c1", "const", ()),
        ("n3", "pow", ("n2", "c1")),
    ]


def test_ids_never_collide_with_input_names():
    graph, _ = build_graph(parse("n1*n2 + c1"))
    ids = [n.id for n in graph]
    assert len(ids) == len(set(ids))
    assert {"n1", "n2", "c1"} <= set(ids)


def test_seed_picture_node_by_node():
    explanation, n = nodes_of("(w*x - y)**2", w=1.0, x=1.0, y=2.0)
    # Forward: y_hat = w*x = 1, s = y_hat - y = -1, loss = s**2 = 1.
    assert n["n1"].value == 1.0 and n["n2"].value == -1.0 and n["n3"].value == 1.0
    assert explanation.loss == 1.0 and explanation.reduce is None
    # Local gradients: dloss/ds = 2s = -2, ds/dy_hat = 1, dy_hat/dw = x = 1.
    assert (n["n3"].local["n2"].formula, float(n["n3"].local["n2"].value)) == ("2*n2", -2.0)
    assert (n["n2"].local["n1"].formula, float(n["n2"].local["n1"].value)) == ("1", 1.0)
    assert (n["n1"].local["w"].formula, float(n["n1"].local["w"].value)) == ("x", 1.0)
    assert "c1" not in n["n3"].local  # a constant has no gradient
    # Backward: dloss/dw = 2s * 1 * x = -2.
    assert n["w"].grad == -2.0 and n["w"].autograd_grad == -2.0
    assert n["y"].grad == 2.0
    assert all(item.verdict.word == "agree" for item in explanation.nodes if item.verdict)
    assert n["c1"].grad is None and n["c1"].autograd_grad is None


def test_input_used_twice_in_one_operation():
    _, n = nodes_of("x*x", x=3.0)
    assert n["n1"].local["x"].formula == "2*x"
    assert n["x"].grad == 6.0 == n["x"].autograd_grad


def test_input_feeding_two_operations_accumulates():
    _, n = nodes_of("w*x + w", w=2.0, x=3.0)
    assert [c.parent for c in n["w"].contributions] == ["n2", "n1"]
    assert [float(c.value) for c in n["w"].contributions] == [1.0, 3.0]
    assert n["w"].grad == 4.0 == n["w"].autograd_grad


def test_broadcasting_sums_contributions_to_each_shape():
    w = np.array([1.0, 2.0, 3.0])
    explanation, n = nodes_of("w*x + b", w=w, x=np.array([[1.0], [2.0]]), b=0.5)
    assert n["n1"].value.shape == (2, 3)
    assert n["b"].grad == 6.0 == n["b"].autograd_grad
    np.testing.assert_allclose(n["x"].grad, [[6.0], [6.0]])
    np.testing.assert_allclose(n["w"].grad, [3.0, 3.0, 3.0])
    assert explanation.verdict == "agree"


def test_mean_reduction_starts_the_chain_at_one_over_n():
    explanation, _ = nodes_of("x**2", x=np.array([1.0, 2.0, 3.0, 4.0]))
    assert explanation.reduce == "sum"
    np.testing.assert_allclose(explanation.nodes[-1].grad, [1.0] * 4)
    mean = explain(prepare("x**2", {"x": [1.0, 2.0, 3.0, 4.0]}, reduce="mean", dtype="float64"))
    root = mean.nodes[-1]
    np.testing.assert_allclose(root.grad, [0.25] * 4)
    np.testing.assert_allclose(mean.nodes[0].grad, [0.5, 1.0, 1.5, 2.0])


def test_kink_is_an_edge_at_the_node():
    explanation, n = nodes_of("relu(x)", x=np.array([-1.0, 0.0, 1.0]))
    assert n["x"].verdict.word == "edge"
    assert explanation.verdict == "edge"


def test_json_contract():
    explanation, _ = nodes_of("(w*x - y)**2", w=1.0, x=1.0, y=2.0)
    data = explanation.to_dict()
    node = next(n for n in data["nodes"] if n["id"] == "n3")
    assert set(node) >= {"id", "op", "expr", "inputs", "value", "grad", "autograd_grad", "local"}
    assert node["local"] == {"n2": {"formula": "2*n2", "latex": "2 n_{2}", "value": -2.0, "vjp": False}}
    assert node["expr"] == "(w*x - y)**2"
    assert data["loss"] == 1.0
    assert data["gradients"] == {"w": -2.0, "x": -2.0, "y": 2.0}


@pytest.mark.parametrize("size", [3, 200])
def test_large_values_are_summarised_in_json(size):
    explanation, _ = nodes_of("x*2", x=np.ones((size, size)))
    value = explanation.to_dict()["nodes"][0]["value"]
    if size == 3:
        assert value == [[1.0] * 3] * 3
    else:
        assert value["shape"] == [200, 200] and value["summary"]["mean"] == 1.0
