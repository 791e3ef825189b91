from __future__ import annotations

import json

import numpy as np
import pytest

from backcalc import limits
from backcalc.errors import BackcalcError, InputError, LimitError
from backcalc.inputs.files import ANYWHERE
from backcalc.inputs.values import check_name, parse_value, split_assignment, to_array


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", 4.0),
        ("-1.5", -1.5),
        ("+2", 2.0),
        ("2.", 2.0),
        (".5", 0.5),
        ("1e-3", 0.001),
        ("[[2,3,1],[4,5,3]]", [[2, 3, 1], [4, 5, 3]]),
        ("[2., .5, 1e3]", [2, 0.5, 1000]),
        ("(1, 2)", [1, 2]),
        ("[1, 2,]", [1, 2]),
        (" [ [1] , [2] ] ", [[1], [2]]),
        ("[nan, inf, -inf, -Infinity]", [np.nan, np.inf, -np.inf, -np.inf]),
    ],
)
def test_literals(text, expected):
    assert np.array_equal(parse_value(text, "x"), np.array(expected, dtype=np.float64), equal_nan=True)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[1,2],[3]]", "ragged"),
        ("[[1,2],3]", "ragged"),
        ("[true]", "booleans"),
        ("True", "booleans"),
        ("[null]", "null"),
        ("None", "None"),
        ('["a"]', "strings"),
        ("'a'", "strings"),
        ("[]", "empty"),
        ("[[]]", "empty"),
        ("abc", "not a number"),
        ("[1 2]", "expected ','"),
        ("[1,,2]", "unexpected ','"),
        ("[[1]", "missing ']'"),
        ("[1]]", "unmatched"),
        ("1e999", "too large"),
        ("1 2", "expected ','"),
        ("{1: 2}", "unexpected character"),
        ("[" * 40 + "1" + "]" * 40, "nested deeper"),
    ],
)
def test_bad_literals(text, fragment):
    with pytest.raises(BackcalcError) as info:
        parse_value(text, "x")
    assert fragment in info.value.message
    assert info.value.message.startswith("x: ")


def test_assignment_and_names():
    assert split_assignment("x=[1, 2]") == ("x", "[1, 2]")
    assert split_assignment("y_hat=-1") == ("y_hat", "-1")
    for bad in ("x", "1x=2", "x y=2", "x.y=1", "lambda=1", "pi=3", "sin=1", "x="):
        with pytest.raises(InputError):
            split_assignment(bad)
    assert check_name("S") == "S"  # sympy's predefined names are plain input names here


def test_python_objects():
    assert to_array([[1, 2]], "x").tolist() == [[1.0, 2.0]]
    assert to_array(np.array([1, 2], dtype=np.int64), "x").dtype == np.float64
    for bad in ([True], [1, None], [[1], [2, 3]], {"a": 1}, np.array([1 + 2j]), np.array(["a"]), True):
        with pytest.raises(InputError):
            to_array(bad, "x")
    torch = pytest.importorskip("torch")
    assert to_array(torch.tensor([1.5]), "x").tolist() == [1.5]


def test_json_file(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(json.dumps([[1, 2.5], [3, 4]]))
    assert parse_value(f"@{path}", "x", ANYWHERE).tolist() == [[1, 2.5], [3, 4]]
    path.write_text('{"a": 1}')
    with pytest.raises(InputError, match="JSON object"):
        parse_value(f"@{path}", "x", ANYWHERE)
    path.write_text("[1, true]")
    with pytest.raises(InputError, match="booleans"):
        parse_value(f"@{path}", "x", ANYWHERE)
    path.write_text("[1, 2")
    with pytest.raises(InputError, match="not valid JSON"):
        parse_value(f"@{path}", "x", ANYWHERE)


def test_npy_file(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert parse_value(f"@{path}", "x", ANYWHERE).shape == (2, 3)
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="no pickles"):
        parse_value(f"@{path}", "x", ANYWHERE)
    np.save(path, np.array([True]))
    with pytest.raises(InputError, match="bool"):
        parse_value(f"@{path}", "x", ANYWHERE)


def test_truncated_npy_is_refused_before_allocating(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.zeros(1000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(InputError, match="truncated"):
        parse_value(f"@{path}", "x", ANYWHERE)


def test_npy_header_promising_too_much_is_refused(tmp_path):
    path = tmp_path / "big.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with pytest.raises(LimitError, match="elements"):
        parse_value(f"@{path}", "x", ANYWHERE)


def test_file_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        parse_value(f"@{tmp_path / 'missing.npy'}", "x", ANYWHERE)
    with pytest.raises(InputError, match="directory"):
        parse_value(f"@{tmp_path}", "x", ANYWHERE)
    (tmp_path / "v.txt").write_text("1")
    with pytest.raises(InputError, match="neither"):
        parse_value(f"@{tmp_path / 'v.txt'}", "x", ANYWHERE)
    garbage = tmp_path / "g.npy"
    garbage.write_bytes(b"not a numpy file at all")
    with pytest.raises(InputError, match=r"not a valid \.npy"):
        parse_value(f"@{garbage}", "x", ANYWHERE)


def test_element_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 5)
    with pytest.raises(LimitError, match="elements"):
        parse_value("[1,2,3,4,5,6]", "x")
