"""Stacked cases give byte for byte what each line gives alone (`backcalc.analyses.batch.stack`), in input order."""

from __future__ import annotations

import io
import json
import math
import random

import numpy as np
import pytest

from backcalc.analyses.batch import stream as batch_stream
from backcalc.analyses.batch.lines import Batch
from backcalc.analyses.batch.stream import BatchRun
from backcalc.formats.numfmt import json_nested

UNARY = [
    "exp", "log", "sqrt", "abs", "tan", "sin", "cos", "atan", "sinh", "cosh", "tanh", "asin", "acos",
    "sigmoid", "relu", "softplus", "log1p", "expm1", "sign", "heaviside",
]  # fmt: skip
EXPRESSIONS = [
    *(f"{name}(x)" for name in UNARY),
    "x**3 + x**2",
    "x**2.5 - x**0.5",
    "(w*x - y)**2",
    "sigmoid(w*x + b)",
    "relu(x) + softplus(y)",
    "tanh(x)*log(x)",
    "exp(-x^2/2)",
    "sqrt(x) + 1/x",
    "sin(x)*cos(y)",
    "maximum(x, y) - minimum(x, y)**2",
    "clamp(x, -1, 1) * y",
    "x / y",
    "2*pi + x*0",
]


def case(rng: random.Random, expression: str, shapes: dict[str, list[int]]) -> dict:
    names = sorted({n for n in ("x", "y", "w", "b") if n in expression.replace("exp", "").replace("expm1", "")})

    def value(shape: list[int]):
        if not shape:  # edges, poles and points outside a domain, now and then
            return rng.choice([0, -1, 1, 0.5]) if rng.random() < 0.15 else round(rng.uniform(-3, 3), 3)
        return [value(shape[1:]) for _ in range(shape[0])]

    line: dict = {"expression": expression, "inputs": {n: value(shapes.get(n, [])) for n in names}}
    if rng.random() < 0.2:
        line["dtype"] = "float64"
    if rng.random() < 0.2:
        line["reduce"] = "mean"
    return line


def mixed_file(seed: int = 0, count: int = 1000) -> bytes:
    rng = random.Random(seed)
    shapes = [{}, {"x": [3]}, {"x": [2, 3], "y": [3]}, {"x": [100], "y": [100]}, {"x": [40]}, {"y": [2, 1]}]
    lines = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.03:
            lines.append(rng.choice(["not json", "", '{"expression": "sine(x)", "inputs": {"x": 1}}', "[1]"]))
        elif roll < 0.05:
            lines.append(json.dumps({"expression": "x**3", "claims": {"x": rng.choice(["3x^2", "3x"])}}))
        elif roll < 0.06:
            lines.append(json.dumps({"expression": "x*y", "inputs": {"x": [1, 2], "y": 3}, "check_fd": True}))
        elif roll < 0.07:
            lines.append(json.dumps({"expression": "sum(x @ y)", "inputs": {"x": [[1, 2]], "y": [[3], [4]]}}))
        else:
            expression = rng.choice(EXPRESSIONS[-14:] if rng.random() < 0.6 else EXPRESSIONS)
            line = case(rng, expression, rng.choice(shapes))
            if rng.random() < 0.05:
                line["rtol"] = 0.5
            if rng.random() < 0.05 and "x" in line["inputs"]:
                line["wrt"] = "x"
            lines.append(json.dumps(line))
    return ("\n".join(lines) + "\n").encode()


def line_by_line(data: bytes) -> list[str]:
    runner = Batch()
    outputs = [runner.output(raw, number) for number, raw in enumerate(batch_stream.read_lines(io.BytesIO(data)))]
    return [output for output in outputs if output is not None]


def stacked(data: bytes, **kwargs) -> tuple[list[str], BatchRun]:
    run = BatchRun(io.BytesIO(data), **kwargs)
    return [output for _, outputs in run for output in outputs], run


def test_stacked_cases_are_byte_for_byte_the_line_by_line_answers():
    data = mixed_file()
    alone = line_by_line(data)
    together, run = stacked(data)
    assert together == alone
    verdicts = {json.loads(output).get("verdict") for output in alone}
    assert {"agree", "edge"} <= verdicts  # edges went back to the line-by-line path, and still match
    assert run.tally.errors and run.tally.agreed > 700


def test_stacking_really_happens(monkeypatch):
    from backcalc import api

    alone = []
    real = api.compute
    monkeypatch.setattr(api, "compute", lambda problem, *a, **k: alone.append(problem) or real(problem, *a, **k))
    lines = [{"expression": "sigmoid(w*x)", "inputs": {"w": n, "x": [1, 2]}} for n in range(50)]
    data = "".join(json.dumps(line) + "\n" for line in lines)
    outputs, run = stacked(data.encode())
    assert len(outputs) == 50 and not alone
    slope = [math.exp(-u) / (1 + math.exp(-u)) ** 2 for u in (7, 14)]  # sigmoid' at w*x, for w = 7
    assert json.loads(outputs[7])["gradients"]["w"]["symbolic"] == pytest.approx(slope[0] + 2 * slope[1], rel=1e-6)
    assert run.tally.agreed == 50


def test_a_disagreement_among_stacked_cases_is_its_own(broken_sin):
    lines = [{"expression": "sin(x*y)", "inputs": {"x": 0, "y": 0}} for _ in range(5)]
    lines[3]["inputs"] = {"x": 3, "y": 1}  # the broken side's error is multiplied by 0 but here
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    outputs, run = stacked(data)
    assert [json.loads(output)["verdict"] for output in outputs] == ["agree"] * 3 + ["disagree", "agree"]
    assert outputs == line_by_line(data)
    assert run.tally.disagreed == 1 and run.tally.status == 1


def test_shared_among_processes_in_input_order(monkeypatch, warm_python, tmp_path):
    import multiprocessing
    import multiprocessing.spawn

    monkeypatch.setattr(batch_stream, "WINDOW_LINES", 64)  # windows for both workers
    data = mixed_file(seed=1, count=400)
    # This process has loaded torch, so the workers are spawned (new interpreters): started warm.
    cold = multiprocessing.spawn.get_executable()
    multiprocessing.set_executable(warm_python.executable(tmp_path))
    try:
        together, run = stacked(data, jobs=2)
    finally:
        multiprocessing.set_executable(cold)
    assert together == line_by_line(data)
    assert run.tally.cases == len(together)


def test_stacks_are_cut_to_bound_memory(monkeypatch):
    from backcalc.analyses.batch import stack as batch_stack

    monkeypatch.setattr(batch_stack, "MAX_STACK_ELEMENTS", 8)
    data = mixed_file(seed=2, count=300)
    assert stacked(data)[0] == line_by_line(data)


# Lines shaped like a line seen before, one odd thing each: the short way must leave each to the
# checked path, which answers each as it would alone.
ODD_NEIGHBOURS = [
    '{"expression": "x*y", "inputs": {"x": [1, true], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, "2"], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, null], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 1e39], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, NaN], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, -Infinity], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 1e999], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2.' + "0" * 70 + '1], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "check_fd": false}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "check_fd": true}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "extra": 1}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "rtol": NaN}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "rtol": [1]}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "rtol": true}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "rtol": 0.5}',
    '{"expression": "x*y", "inputs": {"x": [[1, 2]], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "dtype": "float64"}',
    '{"expression": "x*y", "inputs": {"y": [3, 4], "x": [1, 2]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4], "z": [1, 2]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "wrt": "x"}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": "@file.npy"}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "expression": "x+y"}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, "\\ud800"]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, {"a": 1}]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 99999999999999999999999]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 18446744073709551615]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, ' + "9" * 400 + "]}}",
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "claims": {"x": "y"}}',
    '{"expression": "x*y", "inputs": {"x": [-0.0, 2], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": 1, "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}} ',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}',
    '{"expression": "x*y", "inputs": {"x": [1e-45, 3.4028235e38], "y": [1e20, 0.1]}}',
    '{"expression": "x*y", "inputs": {"x": [1, -9223372036854775809], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1, -0], "y": [3, 4]}}',
    '{"expression": "x*y", "inputs": {"x": [1e-5, 2.5e-7], "y": [3e13, 4e-9]}}',
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, ' + "[" * 40 + "4" + "]" * 40 + "]}}",
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "wrt": ' + "[" * 40 + '"x"' + "]" * 40 + "}",
    '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}, "rtol": ' + "[" * 1100 + "]" * 1100 + "}",
]


@pytest.mark.parametrize("odd", ODD_NEIGHBOURS)
def test_a_line_like_one_seen_before_is_answered_as_alone(odd):
    from backcalc.analyses.batch.lines import _dump

    good = '{"expression": "x*y", "inputs": {"x": [1, 2], "y": [3, 4]}}'
    window = [(0, good.encode()), (1, odd.encode()), (2, odd.encode()), (3, good.encode())]
    answers = Batch().answer(window)
    for number, text in ((1, odd), (3, good)):
        alone = Batch().run_line(text, number)
        assert answers[number] == _dump(alone)
    assert answers[1] == answers[2].replace('"line": 2', '"line": 1')


LONG = ", ".join(["1.5"] * 19)
ODD_LONG_LISTS = [
    f'{{"expression": "x*y", "inputs": {{"x": [{LONG}, "2"], "y": 2}}}}',
    f'{{"expression": "x*y", "inputs": {{"x": [{LONG}, null], "y": 2}}}}',
    f'{{"expression": "x*y", "inputs": {{"x": [{LONG}, [2]], "y": 2}}}}',
    f'{{"expression": "x*y", "inputs": {{"x": [{LONG}, {{"a": 2}}], "y": 2}}}}',
    f'{{"expression": "x*y", "inputs": {{"x": [[{LONG}], 2], "y": 2}}}}',
]


@pytest.mark.parametrize("odd", ODD_LONG_LISTS)
def test_a_long_list_that_is_not_all_numbers_is_answered_as_alone(odd, monkeypatch):
    """Long lists are checked a stack at a time: an odd one among good ones goes alone, and the
    good ones stay stacked."""
    from backcalc.analyses.batch import stack as batch_stack
    from backcalc.analyses.batch.lines import _dump

    stacked: list[list[int]] = []
    compute = batch_stack.compute_stack

    def spy(plan, lines, values):
        result = compute(plan, lines, values)
        stacked.append(list(lines))
        return result

    monkeypatch.setattr(batch_stack, "compute_stack", spy)
    good = f'{{"expression": "x*y", "inputs": {{"x": [{LONG}, 2.5], "y": 2}}}}'
    lines = [good, good.replace("2.5", "3.5"), odd, good.replace("2.5", "4.5"), odd]
    answers = Batch().answer(list(enumerate(line.encode() for line in lines)))
    alone = Batch()
    assert answers == [_dump(alone.run_line(line, number)) for number, line in enumerate(lines)]
    assert stacked == [[0, 1, 3]]


def test_the_collector_is_off_while_a_window_is_answered_and_frees_cycles_after():
    import gc
    import weakref

    from backcalc.analyses.batch.stream import Collector

    class Node:
        pass

    enabled, nodes = [], []

    def answer(window):
        enabled.append(gc.isenabled())
        node = Node()
        node.itself = node  # garbage that only the cyclic collector frees
        nodes.append(weakref.ref(node))
        return [str(len(window))]

    collector = Collector()
    assert [collector.answer(answer, [(0, b"{}")] * n) for n in (1, 2, 3)] == [["1"], ["2"], ["3"]]
    assert enabled == [False, False, False] and gc.isenabled()
    assert [node() for node in nodes] == [None, None, None]


def test_inputs_of_many_rows_are_stacked(monkeypatch):
    from backcalc.analyses.batch import stack as batch_stack
    from backcalc.analyses.batch.lines import _dump

    stacked: list[list[int]] = []
    compute = batch_stack.compute_stack

    def spy(plan, lines, values):
        stacked.append(list(lines))
        return compute(plan, lines, values)

    monkeypatch.setattr(batch_stack, "compute_stack", spy)
    rng = random.Random(5)
    rows = [[[rng.random() for _ in range(3)] for _ in range(40)] for _ in range(4)]
    lines = [json.dumps({"expression": "tanh(x)*y", "inputs": {"x": x, "y": [1, 2, 3]}}) for x in rows]
    answers = Batch().answer(list(enumerate(line.encode() for line in lines)))
    alone = Batch()
    assert answers == [_dump(alone.run_line(line, number)) for number, line in enumerate(lines)]
    assert stacked == [[0, 1, 2, 3]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numbers_of_every_decade_are_written_as_alone(dtype):
    """The stacked writer lays out orjson's text as Python's: the places where they differ (1e-4 down
    to 1e-9, float32's 1e13 to 1e16, nan and the infinities) and either side of each."""
    from backcalc.analyses.batch.lines import _dump

    rng = np.random.default_rng(3)
    lines = []
    for exponent in [*range(-12, -2), *range(11, 18), -40, -300, 30, 300]:
        x = (rng.uniform(1, 10, size=3) * 10.0**exponent * rng.choice([-1, 1], size=3)).tolist()
        for y in ([1.0, -1.0, 0.5], [2.0, 1e-6, 3e14]):
            lines.append(json.dumps({"expression": "x*y + y", "inputs": {"x": x, "y": y}, "dtype": dtype}))
    lines.insert(3, json.dumps({"expression": "x*y + y", "inputs": {"x": [1, 2, 1e39], "y": [1, 2, 3]}}))
    answers = Batch().answer(list(enumerate(line.encode() for line in lines)))
    alone = Batch()
    assert answers == [_dump(alone.run_line(line, number)) for number, line in enumerate(lines)]
    assert any("e-05" in answer for answer in answers) and any("e-08" in answer for answer in answers)


def test_the_writer_checks_orjson_and_does_without_it_where_it_differs(monkeypatch):
    from backcalc.formats import numtext

    stack = np.array([[1e-5, 2.5e-7, 1.5], [3e14, np.nan, -0.0]])
    expected = [json.dumps(case) for case in json_nested(stack, "float32")]
    assert numtext.orjson_agrees()
    assert numtext.case_texts(stack, "float32") == expected
    numtext.orjson_agrees.cache_clear()
    # as if orjson wrote small numbers as Python does: it does not, and the check sees it
    monkeypatch.setitem(numtext._ODD_LAYOUT, "float32", (0.0, np.inf, np.inf))
    try:
        assert not numtext.orjson_agrees()
        assert numtext.case_texts(stack, "float32") == expected
    finally:
        numtext.orjson_agrees.cache_clear()


# Cases whose numbers come out otherwise in a stack than alone unless the stack takes care (found by
# a hunt): the sign of a zero that torch sums alone (an output of one element over an input of fewer
# dimensions), and NumPy's shortcut for a power of 2, 0.5 or -1 when the exponent is one number.
LIKE_ALONE = [
    ('{"expression": "x*y", "inputs": {"x": [1], "y": 2}}', '{"expression": "x*y", "inputs": {"x": [-0.0], "y": 2}}'),
    ('{"expression": "x / y", "inputs": {"x": [1], "y": -3}}', '{"expression": "x/y", "inputs": {"x": [0], "y": -1}}'),
    (
        '{"expression": "x*y", "inputs": {"x": [[1]], "y": [2]}}',
        '{"expression": "x*y", "inputs": {"x": [[-0.0]], "y": [2]}}',
    ),
    (
        '{"expression": "relu(x)*y", "inputs": {"x": 0.5, "y": [1]}, "dtype": "float64"}',
        '{"expression": "relu(x)*y", "inputs": {"x": 0.89, "y": [-0.0]}, "dtype": "float64"}',
    ),
    (
        '{"expression": "x / y", "inputs": {"x": [1], "y": 2}, "reduce": "mean"}',
        '{"expression": "x / y", "inputs": {"x": [1e-50], "y": -4.006169482814254}, "reduce": "mean"}',
    ),
    (
        '{"expression": "sigmoid(x)*y", "wrt": ["x", "y"], "inputs": {"x": -1, "y": [-4.0]}}',
        '{"expression": "sigmoid(x)*y", "wrt": ["x", "y"], "inputs": {"x": -100, "y": [-4.0]}}',
    ),
    (
        '{"expression": "x**y", "inputs": {"x": [1.5], "y": 3}, "dtype": "float64"}',
        '{"expression": "x**y", "inputs": {"x": [3.2], "y": 2}, "dtype": "float64"}',
    ),
    (
        '{"expression": "x**y", "inputs": {"x": [1.5], "y": 3}, "dtype": "float64"}',
        '{"expression": "x**y", "inputs": {"x": [1.6559327586705175], "y": -1}, "dtype": "float64"}',
    ),
    (
        '{"expression": "exp(y*log(x))", "inputs": {"x": [1.5], "y": 3}, "dtype": "float64"}',
        '{"expression": "exp(y*log(x))", "inputs": {"x": [3.7], "y": 0.5}, "dtype": "float64"}',
    ),
    (
        '{"expression": "x**y", "inputs": {"x": [[1, 2, 3], [4, 5, 6]], "y": [3]}}',
        '{"expression": "x**y", "inputs": {"x": [[0.21935558780587722, 3.8151787116935676, 2.907234714365802],'
        ' [2.790879254649316, 1.307254431936561, 3.9341882305993234]], "y": [-1]}}',
    ),
]


@pytest.mark.parametrize(("good", "odd"), LIKE_ALONE)
def test_stacked_numbers_are_those_alone_to_the_bit(good, odd):
    from backcalc.analyses.batch.lines import _dump

    window = [(0, good.encode()), (1, odd.encode()), (2, odd.encode())]
    answers = Batch().answer(window)
    assert answers[1] == _dump(Batch().run_line(odd, 1))
    assert answers[2] == _dump(Batch().run_line(odd, 2))
