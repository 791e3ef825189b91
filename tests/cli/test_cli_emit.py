"""``--emit numpy|torch`` on the command line: only the code on stdout, which runs as printed; the
usage errors; norm's ord against torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from backcalc.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("target", ["numpy", "torch"])
def test_grad_emit_prints_a_file_that_runs_as_printed(target, tmp_path):
    result = invoke("grad", "sum(tanh(W@x))", "W=[[1,2],[3,4]]", "x=[1,-1]", "--emit", target)
    assert result.exit_code == 0, result.output
    check = (
        "import json, sys\n"
        "namespace = {}\n"
        "exec(sys.stdin.read(), namespace)\n"
        "inputs = {'W': [[1.0, 2.0], [3.0, 4.0]], 'x': [1.0, -1.0]}\n"
        "g = namespace['gradient'](**inputs)\n"
        "print(json.dumps({'loss': float(namespace['loss'](**inputs)),"
        " 'W': [[float(v) for v in row] for row in g['W']], 'x': [float(v) for v in g['x']]}))\n"
    )
    ran = subprocess.run([sys.executable, "-c", check], input=result.output, capture_output=True, text=True, check=True)
    got = json.loads(ran.stdout)
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([1.0, -1.0], dtype=torch.float64, requires_grad=True)
    loss = torch.tanh(w @ x).sum()
    loss.backward()
    assert got["loss"] == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(got["W"], w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["x"], x.grad.numpy(), rtol=1e-12)
    quiet = subprocess.run([sys.executable, "-c", result.output], capture_output=True, text=True, check=True)
    assert quiet.stdout == ""  # python -c of the text defines the functions and prints nothing
    script = tmp_path / "f.py"
    script.write_text(result.output)
    as_script = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert as_script.stdout.startswith(f"loss: {got['loss']}"[:12])


def test_emit_with_json_and_hessian_emit_are_usage_errors():
    both = invoke("grad", "x**2", "x=3", "--emit", "numpy", "--json")
    assert both.exit_code == 2 and "--emit" in both.output
    several = invoke("hessian", "sum(x**3*y)", "x=[1,2]", "y=[3,4]", "--emit", "numpy")
    assert several.exit_code == 2 and "matrix notation" in several.output
    matrix = invoke("hessian", "sum((W@x)**2)", "W=[[1,2],[3,4]]", "x=[1,2]", "--wrt", "W", "--emit", "numpy")
    assert matrix.exit_code == 2 and "linear map" in matrix.output
    unknown = invoke("grad", "x**2", "x=3", "--emit", "jax")
    assert unknown.exit_code == 2


def test_a_program_emits_its_steps_as_local_assignments():
    result = invoke("grad", "h = tanh(W@x); loss = sum(h**2)", "W=[[1,2],[3,4]]", "x=[1,-1]", "--emit", "numpy")
    assert result.exit_code == 0
    lines = [line.strip() for line in result.output.splitlines()]
    assert "h = np.tanh(W @ x)" in lines and "loss = np.sum(h ** 2)" in lines


@pytest.mark.parametrize(
    ("text", "by_hand"),
    [
        ('norm(x, "fro")', lambda x: torch.linalg.vector_norm(x)),
        ("norm(x, 2)", lambda x: torch.linalg.vector_norm(x, 2)),
        ("norm(x, 1)", lambda x: torch.linalg.vector_norm(x, 1)),
        ('norm(X, "fro")', lambda x: torch.linalg.matrix_norm(x, "fro")),
    ],
)
def test_norm_with_ord_against_torch(text, by_hand):
    name = "X" if "X" in text else "x"
    value = [[1.5, -2.0], [0.5, 3.0]] if name == "X" else [1.5, -2.0, 0.5]
    result = invoke("grad", text, f"{name}={json.dumps(value)}", "--dtype", "float64", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    tensor = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    by_hand(tensor).backward()
    np.testing.assert_allclose(data["gradients"][name]["symbolic"], tensor.grad.numpy(), rtol=1e-12)
    assert data["verdict"] == "agree"


def test_norm_2_of_a_matrix_is_refused_and_1_at_zero_takes_torchs_sign():
    matrix = invoke("grad", "norm(X, 2)", "X=[[1,2],[3,4]]")
    assert matrix.exit_code == 2 and "spectral norm" in matrix.output
    bad = invoke("grad", "norm(x, 3)", "x=[1,2]")
    assert bad.exit_code == 2 and '"fro", 2, 1' in bad.output
    kink = json.loads(invoke("grad", "norm(x, 1)", "x=[0,2]", "--json").output)
    x = torch.tensor([0.0, 2.0], requires_grad=True)
    torch.linalg.vector_norm(x, 1).backward()
    assert kink["gradients"]["x"]["symbolic"] == x.grad.tolist() == [0.0, 1.0]


def test_arange_in_arithmetic_runs_on_the_torch_side_too():
    data = json.loads(invoke("grad", "sum(arange(3)*x)", "x=[1,2,3]", "--json").output)
    assert data["gradients"]["x"]["autograd"] == [0, 1, 2] and data["verdict"] == "agree"


@pytest.mark.parametrize("target", ["numpy", "torch"])
def test_a_record_without_code_is_a_one_line_error_of_emit(run, target):
    result = run("grad", "sum(max_pool2d(x, 2))", "x=[[[1, 2], [3, 4]]]", "--emit", target)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"backcalc: error: --emit cannot write max_pool2d in {target} code yet (its record has none)"
    ]


@pytest.mark.parametrize("target", ["numpy", "torch"])
@pytest.mark.parametrize(
    ("text", "function"),
    [
        ("x.T@A@x", lambda x, a, b: x @ a @ x),
        ("sum(softplus(A@x))", lambda x, a, b: torch.nn.functional.softplus(a @ x).sum()),
        (
            "sum(tanh(A@x + b)**2) + log(sum(exp(x)))",
            lambda x, a, b: (torch.tanh(a @ x + b) ** 2).sum() + x.logsumexp(0),
        ),
    ],
)
def test_hessian_emit_writes_the_matrix_formula_that_runs_as_printed(target, text, function):
    rng = np.random.default_rng(5)
    x, a, b = rng.normal(size=40), rng.normal(size=(40, 40)), rng.normal(size=40)
    values = {"x": x, "A": a, "b": b}
    used = {name: value for name, value in values.items() if name in text.replace("exp", "").replace("abs", "")}
    given = [f"{name}={value.tolist()}" for name, value in used.items()]
    result = invoke("hessian", text, *given, "--wrt", "x", "--emit", target)
    assert result.exit_code == 0, result.output
    namespace: dict = {}
    exec(result.output, namespace)
    found = namespace["hessian"](**used)
    found = found.numpy() if hasattr(found, "numpy") else found
    tensors = {name: torch.tensor(value) for name, value in values.items()}
    expected = torch.func.hessian(lambda t: function(t, tensors["A"], tensors["b"]))(tensors["x"])
    np.testing.assert_allclose(found, expected.numpy(), rtol=1e-10, atol=1e-12)
