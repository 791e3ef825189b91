"""Integer inputs through the command line: labels out of range and not whole numbers are status 2 with
one line on stderr, a label has no gradient (absent from "gradients", null in explain), --wrt of a label
is refused, and a program of steps with cross_entropy gives its intermediates against torch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812  (as torch code writes it)

from backcalc import api
from backcalc.analyses.problem import prepare

Z = "z=[[1, 2, 3], [0, 1, 0.5]]"


@pytest.mark.parametrize(
    ("text", "values", "words"),
    [
        ("cross_entropy(z, y)", [Z, "y=[2, 3]"], "y: label 3 is out of range"),
        ("cross_entropy(z, y)", [Z, "y=[-1, 0]"], "y: label -1 is out of range"),
        ("cross_entropy(z, y)", [Z, "y=[2, 0.5]"], "y is used as an index or class label and must hold whole"),
        ("nll_loss(z, y)", [Z, "y=[nan, 0]"], "must hold whole numbers"),
        ("one_hot(y, 3)*2", ["y=[0, 3]"], "label 3 is out of range in one_hot(y, 3)"),
        ("sum(embedding(y, W))", ["W=[[1, 2], [3, 4]]", "y=[2]"], "label 2 is out of range"),
        ("cross_entropy(z, y) + sum(y)", [Z, "y=[2, 0]"], "y is used as an index or class label, and as a number"),
        ("cross_entropy(z, 2*y)", [Z, "y=[1, 0]"], "2*y is used as an index or class label"),
        ("cross_entropy(z, y)", [Z, "y=[2, 0, 1]"], "needs labels [2]"),
        ("one_hot(y)", ["y=[0, 1]"], "one_hot needs the number of classes"),
    ],
)
def test_bad_labels_are_status_2_and_one_line(run, text, values, words):
    result = run("grad", text, *values)
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert words in result.stderr


def test_a_label_has_no_gradient_and_wrt_of_it_is_refused(run):
    data = run.json("grad", "cross_entropy(z, y)", Z, "y=[2, 0]")
    assert list(data["gradients"]) == ["z"]
    refused = run("grad", "cross_entropy(z, y)", Z, "y=[2, 0]", "--wrt", "y")
    assert refused.exit_code == 2 and "integer input" in refused.stderr


def test_explain_gives_a_label_null(run):
    data = run.json("explain", "cross_entropy(z, y)", Z, "y=[2, 0]", "--dtype", "float64")
    assert data["verdict"] == "agree"
    label = next(node for node in data["nodes"] if node["id"] == "y")
    assert label["grad"] is None and label["autograd_grad"] is None and label["value"] == [2, 0]
    zt = torch.tensor([[1, 2, 3], [0, 1, 0.5]], dtype=torch.float64, requires_grad=True)
    F.cross_entropy(zt, torch.tensor([2, 0])).backward()
    np.testing.assert_allclose(data["gradients"]["z"], zt.grad.numpy(), rtol=1e-13)
    text = run("explain", "cross_entropy(z, y)", Z, "y=[2, 0]")
    assert text.exit_code == 0 and "softmax(z, -1) - one_hot(y," in text.stdout


def test_a_program_with_cross_entropy_gives_its_intermediates(run):
    rng = np.random.default_rng(1)
    x, w, b, y = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (3, 5)), rng.uniform(-1, 1, 5), [4, 0, 2, 2]
    program = "logits = X@W + b; loss = cross_entropy(logits, y)"
    data = run.json(
        "grad", program, f"X={x.tolist()}", f"W={w.tolist()}", f"b={b.tolist()}", f"y={y}", "--dtype", "float64"
    )
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in (("X", x), ("W", w), ("b", b))}
    logits = tensors["X"] @ tensors["W"] + tensors["b"]
    logits.retain_grad()
    loss = F.cross_entropy(logits, torch.tensor(y))
    loss.backward()
    assert data["verdict"] == "agree" and list(data["gradients"]) == ["X", "W", "b"]
    for name, tensor in tensors.items():
        np.testing.assert_allclose(data["gradients"][name]["symbolic"], tensor.grad.numpy(), rtol=1e-12)
    step = data["intermediates"]["logits"]
    np.testing.assert_allclose(step["value"], logits.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(step["autograd"], logits.grad.numpy(), rtol=1e-12)
    assert data["gradients"]["W"]["formula"] == "(X.T@(softmax(logits, -1) - one_hot(y, 5)))/4"


def test_the_library_reads_labels_as_int64():
    problem = prepare("cross_entropy(z, y)", {"z": [[1.0, 2.0]], "y": [1.0]})
    assert problem.inputs["y"].dtype == np.int64 and problem.wrt == ["z"]
    assert list(problem.labels) == ["y"]
    result = api.gradient("nll_loss(z, y)", z=[[1.0, 2.0]], y=[0])
    assert list(result.gradients) == ["z"]
    np.testing.assert_allclose(result.gradients["z"].autograd, [[-1.0, 0.0]])


def test_batch_reads_each_lines_labels(run):
    lines = [
        '{"expression": "cross_entropy(z, y)", "inputs": {"z": [[1, 2, 3]], "y": [2]}}',
        '{"expression": "cross_entropy(z, y)", "inputs": {"z": [[1, 2, 3]], "y": [1]}}',
        '{"expression": "cross_entropy(z, y)", "inputs": {"z": [[1, 2, 3]], "y": [5]}}',
    ]
    result = run("batch", input="\n".join(lines) + "\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record, label in zip(records[:2], (2, 1), strict=True):
        zt = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        F.cross_entropy(zt, torch.tensor([label])).backward()
        np.testing.assert_allclose(record["gradients"]["z"]["autograd"], zt.grad.numpy(), rtol=1e-6)
    assert records[2]["error"]["kind"] == "input" and "label 5 is out of range" in records[2]["error"]["message"]


def test_check_jacobian_and_descend_keep_the_labels(run):
    values = [Z, "y=[2, 0]"]
    right = run("check", "cross_entropy(z, y)", "--claim", "z=(softmax(z, -1) - one_hot(y, 3))/2", *values)
    wrong = run("check", "cross_entropy(z, y)", "--claim", "z=softmax(z, -1) - one_hot(y, 3)", *values)
    assert right.exit_code == 0 and wrong.exit_code == 1
    assert run.json("jacobian", "softmax(z, 1)[range(2), y]", *values, "--dtype", "float64")["verdict"] == "agree"
    descent = run.json("descend", "cross_entropy(z, y)", *values, "--wrt", "z", "--steps", "3")
    assert descent["agree"] and list(descent["steps"][0]["params"]) == ["z"]
