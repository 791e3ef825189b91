"""`backcalc batch`: JSON Lines in order, bad lines reported and skipped over, caching, exit status."""

from __future__ import annotations

import json

import pytest

from backcalc.analyses.batch.lines import Batch


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
    from backcalc.symbolic import elementwise as symbolic

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


GOOD = {"expression": "x**2", "inputs": {"x": 3}}


def test_a_line_that_breaks_backcalc_is_that_lines_internal_error(run, monkeypatch):
    from backcalc.analyses import gradient as api

    original = api.compute

    def broken(problem, *args, **kwargs):
        if problem.expression == "x*3":
            raise ZeroDivisionError("a bug")
        return original(problem, *args, **kwargs)

    monkeypatch.setattr(api, "compute", broken)
    text = "\n".join(json.dumps({"expression": e, "inputs": {"x": 1}}) for e in ("x*2", "x*3", "x*4")) + "\n"
    result = run("batch", input=text)
    first, bad, last = lines_of(result)
    assert bad["error"]["kind"] == "internal" and "ZeroDivisionError: a bug" in bad["error"]["message"]
    assert first["gradients"]["x"]["autograd"] == 2.0 and last["gradients"]["x"]["autograd"] == 4.0
    assert result.exit_code == 2


def test_a_result_that_cannot_be_written_is_that_lines_error(monkeypatch):
    runner = Batch()
    monkeypatch.setattr(runner, "_stage_text", lambda text, line: {"line": line, "value": float("nan")})
    out = json.loads(runner.output(b"{}", 4))
    assert out["line"] == 4 and out["error"]["kind"] == "internal"


def test_out_of_memory_on_a_line_is_a_limit_error(run, monkeypatch):
    from backcalc.analyses import gradient as api
    from tests.language.test_workload import TORCH_OOM

    def exhausted(*args, **kwargs):
        raise RuntimeError(TORCH_OOM)

    monkeypatch.setattr(api, "backward", exhausted)
    result = run("batch", input=json.dumps({"expression": "x", "inputs": {"x": [1, 2]}}) + "\n")
    (out,) = lines_of(result)
    assert out["error"]["kind"] == "limit"
    assert out["error"]["message"].startswith("out of memory") and "x [2]" in out["error"]["message"]


@pytest.mark.parametrize(
    "separator",
    ["\u2028", "\u0085", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"],
    ids=lambda s: f"U+{ord(s):04X}",
)
def test_file_and_stdin_split_the_same_lines(run, tmp_path, separator):
    case = {"expression": "x", "inputs": {"x": 1}, "wrt": [f"x{separator}"]}
    text = json.dumps(case, ensure_ascii=False) + "\r\n" + json.dumps(GOOD) + "\r\n"
    path = tmp_path / "cases.jsonl"
    path.write_bytes(text.encode("utf-8"))
    from_file = run("batch", str(path))
    from_stdin = run("batch", input=text)
    assert from_file.stdout == from_stdin.stdout
    out = lines_of(from_file)
    assert [o["line"] for o in out] == [0, 1]
    assert "error" in out[0] and out[1]["gradients"]["x"]["autograd"] == 6.0


def test_a_line_that_is_not_utf8_is_that_lines_error(run, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b'{"expression": "x\xff"}\n' + json.dumps(GOOD).encode() + b"\n")
    out = lines_of(run("batch", str(path)))
    assert out[0]["error"]["kind"] == "json" and "UTF-8" in out[0]["error"]["message"]
    assert out[1]["gradients"]["x"]["autograd"] == 6.0


def test_a_line_over_the_limit_is_skipped_without_being_held(run, monkeypatch):
    from backcalc import limits

    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    long = json.dumps({"expression": "x" + " " * 300, "inputs": {"x": 1}})
    out = lines_of(run("batch", input=f"{long}\n{json.dumps(GOOD)}\n"))
    assert out[0]["error"]["kind"] == "limit"
    assert out[1]["line"] == 1 and out[1]["gradients"]["x"]["autograd"] == 6.0


def test_files_are_read_only_with_allow_files_and_only_below(run, tmp_path):
    import numpy as np

    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "x.npy", np.array([1.0, 2.0]))
    (tmp_path / "secret.json").write_text("[5]")
    (data / "link.json").symlink_to(tmp_path / "secret.json")
    cases = [
        {"expression": "x**2", "inputs": {"x": f"@{data / 'x.npy'}"}},
        {"expression": "x**2", "inputs": {"x": f"@{tmp_path / 'secret.json'}"}},
        {"expression": "x**2", "inputs": {"x": f"@{data / 'link.json'}"}},
        {"expression": "x**2", "inputs": {"x": f"@{data / '..' / 'secret.json'}"}},
        {"expression": "x**3", "claims": {"x": "3x^2"}, "inputs": {"x": f"@{tmp_path / 'secret.json'}"}},
    ]
    text = "".join(json.dumps(c) + "\n" for c in cases)
    refused = lines_of(run("batch", input=text))
    assert all("not allowed here" in o["error"]["message"] for o in refused)
    allowed = lines_of(run("batch", "--allow-files", str(data), input=text))
    assert allowed[0]["gradients"]["x"]["autograd"] == [2.0, 4.0]
    assert all("outside the folder allowed" in o["error"]["message"] for o in allowed[1:])


def test_a_directory_or_device_as_the_batch_file_is_refused(run, tmp_path):
    for source in (str(tmp_path), "/dev/zero"):
        result = run("batch", source)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.startswith("backcalc: error: cannot read")


def test_writing_into_head_ends_quietly_with_status_0(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "cases.jsonl"
    # Lines that cannot be answered: as much output as good ones, without torch's start-up; far more
    # than a pipe holds, so that a write meets the closed pipe wherever it is (the status stays 0,
    # although every line is bad).
    path.write_text("not json\n" * 100_000)
    script = f"{sys.executable} -m backcalc batch {path} | head -1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["line"] == 0


def test_a_closed_stdout_is_status_74(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    import subprocess
    import sys

    for args in (["batch", str(path)], ["x**2", "x=3"]):
        script = f"{sys.executable} -m backcalc {' '.join(args)} >&-"
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
        assert result.returncode == 74, result.stderr
        assert result.stderr == "backcalc: error: cannot write the output: standard output is closed\n"


def test_an_exception_that_cannot_be_printed_still_ends_only_its_line(monkeypatch):
    from backcalc.analyses import gradient as api

    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    def broken(*args, **kwargs):
        raise UnprintableError()

    monkeypatch.setattr(api, "compute", broken)
    runner = Batch()
    out = json.loads(runner.output(json.dumps(GOOD).encode(), 0))
    assert out["error"]["kind"] == "internal" and "Unprintable" in out["error"]["message"]
    assert runner.tally.errors == 1


def test_out_of_memory_never_names_another_lines_sizes(monkeypatch):
    from backcalc.inputs import values

    runner = Batch()
    runner.run_line(json.dumps({"expression": "x", "inputs": {"x": [1, 2, 3]}}), 0)

    def exhausted(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(values, "_checked", exhausted)
    out = runner.run_line(json.dumps({"expression": "y", "inputs": {"y": [1, 2]}}), 1)
    assert out["error"]["message"] == "out of memory: use smaller inputs"


def test_a_pipe_that_stays_open_gets_its_answers_as_lines_come(warm_python):
    """Each line is answered while the writer still holds the pipe open (a window is cut after
    50 ms of quiet); nothing here waits on a clock but the select that would fail the test."""
    import select
    import subprocess

    child = warm_python.Popen(
        ["-m", "backcalc", "batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        for n in range(3):
            child.stdin.write((json.dumps({"expression": "x**2", "inputs": {"x": n}}) + "\n").encode())
            child.stdin.flush()
            ready, _, _ = select.select([child.stdout], [], [], 120)
            assert ready, "no answer while the pipe is open"
            out = json.loads(child.stdout.readline())
            assert out["line"] == n and out["gradients"]["x"]["autograd"] == 2.0 * n
        child.stdin.close()
        assert child.wait(timeout=120) == 0
    finally:
        child.kill()


def test_jobs_must_be_a_count(run):
    result = run("batch", "--jobs", "-1", input=json.dumps(GOOD) + "\n")
    assert result.exit_code == 2 and result.stdout == ""
