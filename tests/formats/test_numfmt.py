from __future__ import annotations

import json
import math

import numpy as np
import pytest

from backcalc.formats.numfmt import json_nested, json_number, shortest_float32, text


def test_shortest_round_trip_in_the_dtype():
    assert json_number(np.float32(0.1), "float32") == 0.1
    assert repr(json_number(np.float32(1 / 3), "float32")) == "0.33333334"
    assert repr(json_number(1 / 3, "float64")) == "0.3333333333333333"
    for value in np.random.default_rng(1).standard_normal(200).astype(np.float32):
        assert np.float32(json_number(value, "float32")) == value


def test_nonfinite_are_strings():
    assert [json_number(v, "float32") for v in (np.nan, np.inf, -np.inf)] == ["nan", "inf", "-inf"]
    nested = json_nested(np.array([[1.0, np.nan], [np.inf, 2.0]]), "float64")
    assert nested == [[1.0, "nan"], ["inf", 2.0]]
    json.dumps(nested, allow_nan=False)


def test_shapes():
    assert json_nested(np.array(2.5), "float32") == 2.5
    assert json_nested(np.zeros((2, 1, 3)), "float64") == [[[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]
    assert text(np.float32(0.1), "float32") == "0.1"


@pytest.mark.parametrize("kind", ["bits", "normal", "large", "eighths"])
def test_vectorised_float32_decimals_are_str_of_float32(kind):
    rng = np.random.default_rng(7)
    values = {
        "bits": rng.integers(0, 2**32, size=20_000, dtype=np.uint64).astype(np.uint32).view(np.float32),
        "normal": rng.normal(size=50_000).astype(np.float32),
        "large": (rng.normal(size=20_000) * 1e6).astype(np.float32),
        "eighths": (np.round(rng.normal(size=20_000) * 1000) / 8).astype(np.float32),
    }[kind]
    edge = np.array([0.1, 1e-5, -0.0, 3e38, 2**-126, 2**-149, 2**24, 2**24 + 2, 1, 10, 1e7, 0.9999999], np.float32)
    values = np.concatenate([values, edge])
    expected = [float(text) for text in map(str, values)]
    with np.errstate(invalid="ignore"):
        assert list(map(repr, shortest_float32(values))) == list(map(repr, expected))
    tail = values[-1000:].reshape(10, 100)  # through json_nested, over its threshold
    assert json.dumps(json_nested(tail, "float32")) == json.dumps(
        [[json_number(v, "float32") for v in row] for row in tail]
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (1,), (3,), (2, 3), (2, 1, 2)])
def test_vectorised_text_is_json_dumps_of_json_nested(dtype, shape):
    from backcalc.formats.numtext import case_texts, case_texts_many

    rng = np.random.default_rng(11)
    count = 3000
    with np.errstate(invalid="ignore"):  # nan's bit patterns
        bits = rng.integers(0, 2**32, size=count, dtype=np.uint64).astype(np.uint32).view(np.float32).astype(float)
    pools = [
        bits,
        rng.normal(size=count) * 10.0 ** rng.integers(-20, 20, size=count),
        np.round(rng.uniform(-3, 3, size=count), 4),
        np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e39, -1e39, 1e-46, 2**-149, 2**24 + 2, 1e16, 1e-4, 1e-5] * 50),
    ]
    values = np.concatenate(pools)
    values = values[: len(values) // max(1, math.prod(shape)) * max(1, math.prod(shape))]
    stack = values.reshape(-1, *shape)
    expected = [json.dumps(case) for case in json_nested(stack, dtype)]
    assert case_texts(stack, dtype) == expected
    halves = case_texts_many([stack[:7], stack[7:]], [dtype, dtype])
    assert halves[0] + halves[1] == expected
