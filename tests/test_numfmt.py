from __future__ import annotations

import json

import numpy as np

from backcalc.numfmt import json_nested, json_number, text


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
