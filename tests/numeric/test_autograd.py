from __future__ import annotations

import numpy as np
import torch

from backcalc.analyses.problem import backward, prepare
from backcalc.language.parser import parse
from backcalc.numeric.autograd import evaluate


def _backward(source, inputs, wrt, dtype, reduce):
    problem = prepare(source, inputs, wrt, dtype, reduce)
    return problem, backward(problem)


def test_forward_matches_torch():
    x = torch.tensor([1.0, 2.0])
    y = evaluate(parse("2x^2 + sigmoid(x) - pi"), {"x": x}, torch.float32)
    assert torch.allclose(y, 2 * x**2 + torch.sigmoid(x) - torch.pi)


def test_backward_sum_mean_and_scalar():
    x = {"x": np.array([1.0, 2.0, 3.0])}
    problem, summed = _backward("x**2", x, ["x"], "float64", "sum")
    assert problem.reduction == "sum" and summed.loss == 14.0
    assert summed.gradients["x"].tolist() == [2.0, 4.0, 6.0]
    problem, mean = _backward("x**2", x, ["x"], "float64", "mean")
    assert problem.reduction == "mean" and problem.count == 3
    assert np.allclose(mean.gradients["x"], [2 / 3, 4 / 3, 2.0])
    problem, scalar = _backward("x**2", {"x": np.array(3.0)}, ["x"], "float32", "sum")
    assert problem.reduction is None and problem.count == 1 and scalar.loss == 9.0
    assert scalar.gradients["x"].dtype == np.float32


def test_broadcast_gradient_has_the_input_shape():
    _, result = _backward("x*b", {"x": np.ones((2, 3)), "b": np.array([[1.0], [2.0]])}, ["b"], "float64", "sum")
    assert result.gradients["b"].tolist() == [[3.0], [3.0]]


def test_literal_exponent_zero_has_zero_gradient_at_zero():
    _, result = _backward("x**0", {"x": np.array(0.0)}, ["x"], "float64", "sum")
    assert result.gradients["x"].item() == 0.0


def test_only_wrt_inputs_get_gradients():
    _, result = _backward("w*x", {"w": np.array(2.0), "x": np.array(5.0)}, ["w"], "float32", "sum")
    assert list(result.gradients) == ["w"]
