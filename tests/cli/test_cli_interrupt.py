"""Ctrl-C keeps the work done: descend shows its steps so far, batch keeps the lines answered; 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

import backcalc.analyses.descend


@pytest.fixture
def ctrl_c_at_step_5(monkeypatch):
    real = backcalc.analyses.descend.descend

    def interrupted(*args, on_step=None, **kwargs):
        def hook(step):
            if on_step is not None:
                on_step(step)
            if step.step == 5:
                raise KeyboardInterrupt

        return real(*args, on_step=hook, **kwargs)

    monkeypatch.setattr(backcalc.analyses.descend, "descend", interrupted)


def test_descend_interrupted_shows_the_steps_done_and_exits_130(run, ctrl_c_at_step_5):
    result = run("descend", "(w*x - y)**2", "w=1", "x=1", "y=2", "--wrt", "w", "--steps", "1000")
    assert result.exit_code == 130
    assert result.stdout.splitlines()[1:7] == [
        "step        loss       w   d loss/d w  sympy = torch",
        "   1         1.0     1.0         -2.0  agree",
        "   2   0.6399999     1.2   -1.5999999  agree",
        "   3      0.4096    1.36        -1.28  agree",
        "   4  0.26214397   1.488   -1.0239999  agree",
        "   5  0.16777217  1.5904  -0.81920004  agree",
    ]
    assert "final  loss  0.16777217  (step 5, before its update)" in result.stdout
    assert result.stderr == (
        "backcalc: interrupted (Ctrl-C) after 5 steps: the final loss and parameters are step 5's, before its update\n"
    )


def test_descend_interrupted_json_says_so(run, ctrl_c_at_step_5):
    result = run("descend", "(w*x - y)**2", "w=1", "x=1", "y=2", "--wrt", "w", "--json")
    assert result.exit_code == 130
    data = json.loads(result.stdout)
    assert data["interrupted"] is True and len(data["steps"]) == 5
    assert data["final"] == {"loss": 0.16777217, "params": {"w": 1.5904}, "steps": 5, "converged": False}


def test_batch_interrupted_keeps_the_lines_answered(run, monkeypatch):
    from backcalc.analyses.batch import stream as batch_stream

    real = batch_stream.read_lines

    def read_lines(stream):
        for number, raw in enumerate(real(stream)):
            if number == 2:  # Ctrl-C while reading the third line: the two read are answered
                raise KeyboardInterrupt
            yield raw

    monkeypatch.setattr(batch_stream, "read_lines", read_lines)
    lines = "".join(json.dumps({"expression": "x**2", "inputs": {"x": n}}) + "\n" for n in range(5))
    result = run("batch", input=lines)
    assert result.exit_code == 130
    assert [json.loads(line)["gradients"]["x"]["autograd"] for line in result.stdout.splitlines()] == [0.0, 2.0]
    assert result.stderr == "backcalc: interrupted (Ctrl-C) after 2 cases: 2 agreed, 0 disagreed, 0 bad\n"


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_a_real_sigint_during_batch_exits_130(warm_python):
    # batch waits for its second line on a pipe; it has answered the first when the signal comes.
    child = warm_python.Popen(
        ["-m", "backcalc", "batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps({"expression": "x**2", "inputs": {"x": 3}}) + "\n")
    child.stdin.flush()
    first = child.stdout.readline()  # blocks until the first answer is out: no sleeping
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert json.loads(first)["gradients"]["x"]["autograd"] == 6.0
    assert child.returncode == 130
    assert err.startswith("backcalc: interrupted (Ctrl-C) after 1 case: 1 agreed")
