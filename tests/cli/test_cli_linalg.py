"""The linear-algebra operations end to end through the CLI: formulas, values and verdicts in JSON,
``explain``, and a singular input refused with status 2 on one line."""

from __future__ import annotations

import numpy as np
import pytest

X = "X=[[2,1],[1,3]]"
A, B = "A=[[1,2],[3,5]]", "B=[[0.5,1],[2,-1]]"


def test_logdet_gives_the_transposed_inverse(run):
    data = run.json("logdet(X)", X)
    gradient = data["gradients"]["X"]
    assert gradient["formula"] == "inv(X).T" and gradient["verdict"] == data["verdict"] == "agree"
    expected = np.linalg.inv([[2.0, 1.0], [1.0, 3.0]]).T  # [[0.6, -0.2], [-0.2, 0.4]]
    np.testing.assert_allclose(gradient["symbolic"], expected, rtol=1e-6)
    np.testing.assert_allclose(gradient["autograd"], expected, rtol=1e-6)
    assert data["output"]["value"] == pytest.approx(np.log(5.0), rel=1e-6)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("trace(A@X@B)", A, X, B), {"A": "B.T@X.T", "X": "A.T@B.T", "B": "(A@X).T"}),
        (("sum(inv(X))", X), {"X": "-(inv(X).T@ones_like(inv(X))@inv(X).T)"}),
        (("det(X)", X), {"X": "det(X)*inv(X).T"}),
        (
            ("sum(solve(A, b))", A, "b=[1,2]"),
            {
                "A": "-outer(solve(A.T, ones_like(solve(A, b))), solve(A, b))",
                "b": "solve(A.T, ones_like(solve(A, b)))",
            },
        ),
        (
            ("sum(kron(A,B))", A, B),
            {"A": "blockdot(ones_like(kron(A, B)), B)", "B": "blocksum(ones_like(kron(A, B)), A)"},
        ),
        (
            ("sum(diag(v)@x)", "v=[1,2]", "x=[3,4]"),
            {"v": "diag(outer(ones_like(diag(v)@x), x))", "x": "diag(v).T@ones_like(diag(v)@x)"},
        ),
        (("norm(x)", "x=[3,4]"), {"x": "x/norm(x)"}),
    ],
)
def test_gradients_in_matrix_notation_agree_with_autograd_and_sympy(run, args, expected):
    data = run.json(*args, "--dtype", "float64")
    assert data["verdict"] == "agree"
    assert {name: g["formula"] for name, g in data["gradients"].items()} == expected
    for gradient in data["gradients"].values():
        np.testing.assert_allclose(gradient["symbolic"], gradient["autograd"], rtol=1e-12, atol=1e-12)
        assert "matches sympy's element-by-element derivative" in gradient["note"]


def test_the_numbers_are_the_closed_forms(run):
    a, x, b = (
        np.array([[1.0, 2.0], [3.0, 5.0]]),
        np.array([[2.0, 1.0], [1.0, 3.0]]),
        np.array([[0.5, 1.0], [2.0, -1.0]]),
    )
    trace = run.json("trace(A@X@B)", A, X, B, "--dtype", "float64")["gradients"]
    np.testing.assert_allclose(trace["X"]["symbolic"], a.T @ b.T)
    inv = run.json("sum(inv(X))", X, "--dtype", "float64")["gradients"]["X"]["symbolic"]
    np.testing.assert_allclose(inv, -np.linalg.inv(x).T @ np.ones((2, 2)) @ np.linalg.inv(x).T)
    det = run.json("det(X)", X, "--dtype", "float64")["gradients"]["X"]["symbolic"]
    np.testing.assert_allclose(det, [[3.0, -1.0], [-1.0, 2.0]])  # the adjugate's transpose
    solve = run.json("sum(solve(A, b))", A, "b=[1,2]", "--dtype", "float64")["gradients"]
    np.testing.assert_allclose(solve["b"]["symbolic"], np.linalg.solve(a.T, np.ones(2)))
    kron = run.json("sum(kron(A,B))", A, B, "--dtype", "float64")["gradients"]
    np.testing.assert_allclose(kron["A"]["symbolic"], np.full((2, 2), b.sum()))
    np.testing.assert_allclose(kron["B"]["symbolic"], np.full((2, 2), a.sum()))
    assert run.json("norm(x)", "x=[3,4]")["gradients"]["x"]["symbolic"] == [0.6, 0.8]


def test_explain_shows_each_rule_edge_by_edge(run):
    data = run.json("explain", "sum(solve(A, b))", A, "b=[1,2]", "--dtype", "float64")
    assert data["verdict"] == "agree"
    by_id = {node["id"]: node for node in data["nodes"]}
    local = by_id["n1"]["local"]
    assert local["A"]["formula"] == "-outer(solve(A.T, dn1), n1)" and local["A"]["vjp"] is True
    assert local["b"]["formula"] == "solve(A.T, dn1)"
    np.testing.assert_allclose(by_id["b"]["grad"], [-2.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(by_id["A"]["grad"], by_id["A"]["autograd_grad"], atol=1e-12)
    out = run("explain", "logdet(X)", X).stdout
    assert "dn1*inv(X).T" in out and "agree: the chain rule matches autograd at every node" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("sum(inv(X))", "X=[[1,2],[2,4]]"),
            "inv(X): the matrix is singular (its determinant is 0): it has no inverse",
        ),
        (("logdet(X)", "X=[[1,2],[2,4]]"), "logdet(X): the matrix is singular (its determinant is 0)"),
        (
            ("sum(solve(A, b))", "A=[[1,2],[2,4]]", "b=[1,2]"),
            "solve(A, b): the matrix is singular (its determinant is 0)",
        ),
        (("trace(X)", "X=[[1,2,3],[4,5,6]]"), "trace(X): trace needs a square matrix, not [2, 3]"),
        (("explain", "sum(inv(X))", "X=[[0,0],[0,0]]"), "inv(X): the matrix is singular (its determinant is 0)"),
    ],
)
def test_singular_and_non_square_inputs_exit_2_with_one_line(run, args, message):
    result = run(*args)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"backcalc: error: {message}")
    assert "Traceback" not in result.stderr and "LinAlgError" not in result.stderr
