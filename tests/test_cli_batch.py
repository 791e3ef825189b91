"""`backcalc batch`: JSON Lines in order, bad lines reported and skipped over, caching, exit status."""

from __future__ import annotations

import json

from backcalc.batch import Batch


def lines_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_each_line_is_what_grad_json_gives_plus_line(run):
    case = {"expression": "x**3 + x**2", "inputs": {"x": [[2, 3, 1], [4, 5, 3], [7, 6, 4]]}}
    result = run("batch", "-", input=json.dumps(case) + "\n")
    assert result.exit_code == 0
    (out,) = lines_of(result)
    assert out.pop("line") == 0
    single = run.json("grad", case["expression"], "x=[[2,3,1],[4,5,3],[7,6,4]]")
    assert out == single


def test_bad_lines_among_good_ones(run, tmp_path):
    cases = [
        {"expression": "x**2", "inputs": {"x": 3}},
        "not json",
        {"expression": "sine(x)", "inputs": {"x": 1}},
        {"expression": "(w*x - y)**2", "inputs": {"w": 1, "x": 1, "y": 2}, "wrt": ["w"], "dtype": "float64"},
        {"expression": "x", "inputs": {"x": [[1, 2], [3]]}},
        {"expression": "x", "inputs": {"x": 1}, "frobnicate": 1},
        [1, 2],
        {"expression": "9**9**9**9 + x", "inputs": {"x": 1}},
        {"expression": "x**2", "inputs": {"x": [1, 2]}, "reduce": "mean"},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(c if isinstance(c, str) else json.dumps(c) for c in cases) + "\n")
    result = run("batch", str(path))
    assert result.exit_code == 2
    out = lines_of(result)
    assert [o["line"] for o in out] == list(range(len(cases)))
    kinds = {o["line"]: o["error"]["kind"] for o in out if "error" in o}
    assert kinds == {1: "json", 2: "parse", 4: "input", 5: "input", 6: "input", 7: "parse"}
    assert out[0]["gradients"]["x"]["autograd"] == 6.0
    assert out[3]["gradients"]["w"]["symbolic"] == -2.0 and out[3]["dtype"] == "float64"
    assert out[8]["reduce"] == "mean" and out[8]["gradients"]["x"]["autograd"] == [1.0, 2.0]
    assert "did you mean 'sin'" in out[2]["error"]["message"]


def test_blank_lines_are_skipped_but_counted(run):
    text = '{"expression": "x", "inputs": {"x": 1}}\n\n{"expression": "2x", "inputs": {"x": 1}}\n'
    out = lines_of(run("batch", input=text))
    assert [o["line"] for o in out] == [0, 2]


def test_disagreement_exits_1(run, broken_sin):
    text = json.dumps({"expression": "sin(x)", "inputs": {"x": 3}}) + "\n"
    result = run("batch", input=text)
    assert result.exit_code == 1
    assert lines_of(result)[0]["verdict"] == "disagree"


def test_claims_lines_are_checked(run):
    text = "\n".join(
        json.dumps({"expression": "x**3 + x**2", "claims": {"x": claim}}) for claim in ("3x^2 + 2x", "3x^2 + x")
    )
    result = run("batch", input=text + "\n")
    assert result.exit_code == 1
    right, wrong = lines_of(result)
    assert right["right"] is True and wrong["right"] is False
    assert wrong["claims"]["x"]["counterexample"]["actual"] != wrong["claims"]["x"]["counterexample"]["claimed"]


def test_derivations_are_cached_across_repeated_expressions(monkeypatch):
    from backcalc import sympy_formula as symbolic

    made = []
    original = symbolic.Differentiator.__init__

    def counting(self, *args, **kwargs):
        made.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(symbolic.Differentiator, "__init__", counting)
    batch = Batch()
    for n in range(20):
        expression = "x**2" if n % 2 else "sin(x)*y"
        inputs = {"x": n} if n % 2 else {"x": n, "y": 2}
        assert "error" not in batch.run_line(json.dumps({"expression": expression, "inputs": inputs}), n)
    assert len(made) == 2
    assert batch.tally.cases == 20 and batch.tally.agreed == 20


def test_missing_file(run):
    result = run("batch", "/nonexistent/cases.jsonl")
    assert result.exit_code == 2 and "cannot read" in result.stderr
