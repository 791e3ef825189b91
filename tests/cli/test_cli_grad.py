"""The main command end to end: the seed notebook's cells, options, JSON contract, exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

SEED_3X3 = "x=[[2,3,1],[4,5,3],[7,6,4]]"


def test_seed_cell_1_linear_regression_wrt_w_only(run):
    data = run.json("grad", "(w*x - y)**2", "w=1", "x=1", "y=2", "--wrt", "w")
    assert data["loss"] == 1.0
    assert list(data["gradients"]) == ["w"]
    assert data["gradients"]["w"]["symbolic"] == -2.0
    assert data["gradients"]["w"]["autograd"] == -2.0
    assert data["reduce"] is None
    assert data["agree"] is True


def test_seed_cells_2_to_7_square_without_the_word_grad(run):
    data = run.json("x**2", "x=4")
    assert data["output"] == {"shape": [], "value": 16.0}
    assert data["gradients"]["x"]["autograd"] == 8.0
    assert data["gradients"]["x"]["formula"] == "2*x"


def test_seed_cells_8_to_15_cubic_summed(run):
    data = run.json("grad", "x**3 + x**2", SEED_3X3)
    assert data["loss"] == 1040.0
    assert data["reduce"] == "sum"
    assert data["output"]["value"] == [[12, 36, 2], [80, 150, 36], [392, 252, 80]]
    expected = [[16, 33, 5], [56, 85, 33], [161, 120, 56]]
    assert data["gradients"]["x"]["symbolic"] == expected
    assert data["gradients"]["x"]["autograd"] == expected
    assert data["gradients"]["x"]["formula"] == "3*x**2 + 2*x"


def test_seed_cells_18_to_23_log_float64_gradient_is_reciprocal(run):
    data = run.json("grad", "log(x)", "x=[[2,6],[3,7],[9,8]]", "--dtype", "float64")
    x = np.array([[2, 6], [3, 7], [9, 8]], dtype=np.float64)
    assert data["dtype"] == "float64"
    assert np.array_equal(np.array(data["gradients"]["x"]["autograd"]), 1 / x)
    assert np.allclose(np.array(data["gradients"]["x"]["symbolic"]), 1 / x, rtol=1e-15, atol=0)
    assert data["gradients"]["x"]["formula"] == "1/x"


def test_json_has_every_contract_key(run):
    data = run.json("x*y", "x=[1,2]", "y=3")
    assert set(data) >= {
        "backcalc",
        "expression",
        "parsed",
        "dtype",
        "reduce",
        "inputs",
        "output",
        "loss",
        "gradients",
        "agree",
    }
    assert set(data["gradients"]["x"]) >= {"formula", "latex", "symbolic", "autograd", "max_abs_diff", "agree"}
    assert data["inputs"]["x"] == {"shape": [2], "value": [1.0, 2.0]}
    assert data["inputs"]["y"] == {"shape": [], "value": 3.0}
    # y was broadcast over x's two elements: its gradient is summed back to y's shape.
    assert data["gradients"]["y"]["symbolic"] == 3.0
    assert data["gradients"]["y"]["autograd"] == 3.0


def test_expression_as_typed_and_canonical(run):
    data = run.json("2x^2 + ln(x)", "x=1")
    assert data["expression"] == "2x^2 + ln(x)"
    assert data["parsed"] == "2*x**2 + log(x)"


def test_float32_numbers_print_shortest(run):
    data = run.json("x", "x=0.1")
    assert data["inputs"]["x"]["value"] == 0.1
    assert '"value": 0.1' in run("x", "x=0.1", "--json").stdout


def test_nonfinite_numbers_are_strings(run):
    data = run.json("log(x)", "x=[0, 1]")
    assert data["output"]["value"] == ["-inf", 0.0]
    assert data["gradients"]["x"]["autograd"][0] == "inf"


def test_reduce_mean(run):
    data = run.json("x**2", "x=[1,2,3,4]", "--reduce", "mean")
    assert data["reduce"] == "mean"
    assert data["loss"] == 7.5
    assert data["gradients"]["x"]["autograd"] == [0.5, 1.0, 1.5, 2.0]
    assert data["gradients"]["x"]["symbolic"] == [0.5, 1.0, 1.5, 2.0]


def test_tolerances_are_options(run):
    data = run.json("x", "x=1", "--rtol", "0.5", "--atol", "0")
    assert data["tolerance"] == {"rtol": 0.5, "atol": 0.0}


def test_disagreement_exits_1_and_still_prints(run, broken_sin):
    data = run.json("sin(x)", "x=3", status=1)
    assert data["agree"] is False
    assert data["verdict"] == "disagree"
    assert data["gradients"]["x"]["verdict"] == "disagree"
    assert abs(data["gradients"]["x"]["max_abs_diff"] - 0.01) < 1e-6


def test_float32_rounding_with_zero_tolerance_is_rounding_not_disagreement(run):
    data = run.json("0.1*x", "x=3", "--rtol", "0", "--atol", "0", status=0)
    assert data["verdict"] == data["gradients"]["x"]["verdict"] == "rounding"
    assert data["agree"] is True
    (point,) = data["gradients"]["x"]["edges"]
    assert point["kind"] == "rounding" and point["autograd_float64"] == 0.1


def test_kink_is_an_edge_not_a_disagreement(run):
    # relu at its kink: torch's subgradient 0 against sympy's Heaviside(0) = 1/2.
    data = run.json("relu(x)", "x=[0, 1]", status=0)
    gradient = data["gradients"]["x"]
    assert data["verdict"] == gradient["verdict"] == "edge"
    assert data["agree"] is False
    assert gradient["edges"] == [
        {
            "index": [0],
            "symbolic": 0.5,
            "autograd": 0.0,
            "kind": "kink",
            "reason": "relu(x) at 0: torch takes 0, sympy Heaviside(0) = 1/2",
        }
    ]


def test_human_output_shows_both_sides_and_verdict(run):
    result = run("x**3 + x**2", SEED_3X3)
    assert result.exit_code == 0
    out = result.stdout
    assert "3*x**2 + 2*x" in out
    assert "symbolic (sympy)" in out and "autograd (torch)" in out
    assert "sum(output) = 1040.0" in out
    assert out.rstrip().splitlines()[-1].startswith("agree:")
    assert "\x1b[" not in out  # no colour codes off a terminal
    assert not any(ch in out for ch in "┏━│╭")  # no box drawing off a terminal


def test_value_from_json_and_npy_files(run, tmp_path):
    (tmp_path / "x.json").write_text("[[1, 2], [3, 4]]")
    np.save(tmp_path / "w.npy", np.array([10.0, 20.0]))
    data = run.json("x*w", f"x=@{tmp_path / 'x.json'}", f"w=@{tmp_path / 'w.npy'}")
    assert data["gradients"]["x"]["autograd"] == [[10.0, 20.0], [10.0, 20.0]]
    assert data["gradients"]["w"]["symbolic"] == [4.0, 6.0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["sine(x)", "x=1"], "did you mean 'sin'"),
        (["x +", "x=1"], "ends too early"),
        (["x", "x=[1,2"], "missing ']'"),
        (["x", "x=[[1,2],[3]]"], "ragged"),
        (["x", "y=1"], "no value for x"),
        (["x", "x=1", "y=2"], "not used"),
        (["x", "x=1", "--wrt", "z"], "--wrt z"),
        (["x*y", "x=[1,2]", "y=[1,2,3]"], "do not broadcast"),
        (["x", "x=1", "--dtype", "float16"], "float16"),
        (["x", "x=1", "--reduce", "max"], "max"),
        (["x", "x=1", "--dtyp", "float64"], "--dtyp"),
        (["x", "x"], "NAME=VALUE"),
        (["x", "x=1", "x=2"], "twice"),
        (["x", "x=@/nonexistent/file.npy"], "cannot read"),
        (["x", "pi=3"], "constant"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_status_2(run, args, fragment):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("backcalc: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_version_and_help(run):
    assert run("--version").stdout.strip() == "backcalc 0.1.0"
    help_text = run("grad", "--help").stdout
    for option in ("--wrt", "--dtype", "--reduce", "--json", "--rtol", "--atol"):
        assert option in help_text
    assert "Examples:" in run("--help").stdout


def test_negative_leading_expression_is_not_an_option(run):
    data = run.json("-x**2", "x=3")
    assert data["gradients"]["x"]["symbolic"] == -6.0


def test_json_output_is_a_single_parseable_object(run):
    out = run("x**2", "x=[1,2]", "--json").stdout
    assert out.count("\n") == 1
    assert json.loads(out)["loss"] == 5.0


def test_unwritable_output_is_an_io_error_not_a_bug(warm_python):
    import subprocess
    from pathlib import Path

    if not Path("/dev/full").exists():
        import pytest

        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            warm_python("-m", "backcalc", "x", "x=1", "--json"), stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert result.returncode == 74
    assert result.stderr.strip() == "backcalc: error: cannot write the output: No space left on device"
