"""The operations added as one record each (log1p, expm1, log_softmax, maximum, minimum, clamp), through
every command: grad, explain, jacobian, hessian, check and batch, with formulas, verdicts and edges."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import backcalc
from backcalc.analyses.check.grade import check
from backcalc.analyses.derivatives import hessian, jacobian
from backcalc.analyses.explain import explain
from backcalc.analyses.problem import prepare


def test_log1p_and_expm1_against_torch_and_their_formulas():
    x = np.array([0.5, -0.5, 1e-4])
    result = backcalc.gradient("log1p(x) + expm1(x)", x=x, dtype="float64")
    gradient = result.gradients["x"]
    assert gradient.formula == "exp(x) + 1/(x + 1)"
    assert gradient.verdict.word == "agree"
    np.testing.assert_allclose(gradient.symbolic, np.exp(x) + 1 / (1 + x), rtol=1e-12)


def test_log1p_at_minus_one_is_a_pole():
    result = backcalc.gradient("log1p(x)", x=[-1.0, 0.0], dtype="float64")
    gradient = result.gradients["x"]
    assert gradient.verdict.word == "edge" and result.notes  # the loss is -inf
    assert [(p.index, p.kind) for p in gradient.verdict.edges] == [((0,), "pole")]


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_log_softmax_as_torch_with_and_without_a_dimension(dim):
    x = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    text = "sum(log_softmax(x)*y)" if dim is None else f"sum(log_softmax(x, {dim})*y)"
    result = backcalc.gradient(text, x=x, y=y, dtype="float64")
    xt = torch.tensor(x, requires_grad=True)
    (torch.log_softmax(xt, dim=-1 if dim is None else dim) * torch.tensor(y)).sum().backward()
    assert result.gradients["x"].verdict.word == "agree"
    np.testing.assert_allclose(result.gradients["x"].symbolic, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(result.gradients["x"].autograd, xt.grad.numpy(), rtol=1e-12)


def test_maximum_and_minimum_split_ties_in_halves_on_both_sides():
    result = backcalc.gradient("maximum(x, y) + 2*minimum(x, y)", x=[1.0, 2.0, 3.0], y=[3.0, 2.0, 1.0])
    for name, expected in (("x", [2.0, 1.5, 1.0]), ("y", [1.0, 1.5, 2.0])):
        gradient = result.gradients[name]
        assert gradient.verdict.word == "agree"
        assert gradient.symbolic.tolist() == gradient.autograd.tolist() == expected


def test_clamp_bounds_are_kinks_that_say_which_side_took_what():
    result = backcalc.gradient("clamp(x, -1, 1)", x=[-2.0, -1.0, 0.0, 1.0, 2.0])
    gradient = result.gradients["x"]
    assert gradient.formula == "Heaviside(1 - Max(-1, x))*Heaviside(x + 1)"
    assert gradient.autograd.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert gradient.symbolic.tolist() == [0.0, 0.5, 1.0, 0.5, 0.0]
    assert gradient.verdict.word == "edge" and gradient.verdict.edge_count == 2
    reason = gradient.verdict.edges[0].reason
    assert "at a bound" in reason and "torch passes the whole gradient" in reason and "1/2" in reason


def test_clamp_with_tensor_bounds_broadcasts_like_torch():
    result = backcalc.gradient("sum(clamp(w, lo, hi))", w=0.7, lo=[0.0, 0.8], hi=[0.5, 1.0], dtype="float64")
    w, lo, hi = (torch.tensor(v, requires_grad=True, dtype=torch.float64) for v in (0.7, [0.0, 0.8], [0.5, 1.0]))
    torch.clamp(*torch.broadcast_tensors(w, lo, hi)).sum().backward()
    for name, tensor in (("w", w), ("lo", lo), ("hi", hi)):
        assert result.gradients[name].autograd.tolist() == tensor.grad.numpy().tolist()
        assert result.gradients[name].verdict.word == "agree"


def test_explain_uses_the_local_rules_of_the_new_records():
    explanation = explain(prepare("maximum(x*x, log1p(x))", {"x": 0.5}, dtype="float64"))
    assert explanation.verdict == "agree"
    node = explanation.nodes[-1]
    assert {child: local.formula for child, local in node.local.items()} == {
        "n1": "Heaviside(n1 - n2)",
        "n2": "Heaviside(-n1 + n2)",
    }
    log1p_node = next(n for n in explanation.nodes if n.node.op == "log1p")
    assert log1p_node.local["x"].formula == "1/(x + 1)"
    assert float(explanation.nodes[0].grad) == pytest.approx(1 / 1.5)


def test_jacobian_and_hessian_of_the_new_operations():
    problem = prepare("log_softmax(z)", {"z": [0.0, 0.0]}, dtype="float64")
    result = jacobian(problem)
    assert result.agree
    np.testing.assert_allclose(result.sides["z"].symbolic, [[0.5, -0.5], [-0.5, 0.5]])
    problem = prepare("sum(clamp(x, -1, 1)**2 + expm1(x))", {"x": [0.5, 2.0]}, dtype="float64")
    result = hessian(problem)
    assert result.agree
    np.testing.assert_allclose(result.sides["hessian"].symbolic, np.diag([2 + np.exp(0.5), np.exp(2.0)]))


def test_check_grades_claims_about_the_new_operations():
    right = check("log1p(x)", {"x": "1/(1 + x)"})
    wrong = check("expm1(x)", {"x": "exp(x) - 1"})
    assert right.right and right.claims["x"].equivalent is True
    assert not wrong.right and wrong.claims["x"].counterexample is not None


def test_batch_lines_with_the_new_operations(run):
    lines = [
        {"expression": "sum(log_softmax(x, 0))", "inputs": {"x": [[1, 2], [3, 4]]}},
        {"expression": "clamp(x, 0, 1)", "inputs": {"x": [0, 0.5, 2]}},
        {"expression": "maximum(x, 1)", "claims": {"x": "heaviside(x - 1)"}},
    ]
    result = run("batch", input="".join(json.dumps(line) + "\n" for line in lines))
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("verdict", o.get("right")) for o in out] == ["agree", "edge", True]
    assert result.exit_code == 0
