"""The %backcalc and %%backcalc magics in an in-process IPython shell."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("IPython")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def ip():
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "backcalc")
    return shell


@pytest.fixture(autouse=True)
def fresh_namespace(ip):
    ip.user_ns.pop("_backcalc", None)
    for name in ("x", "w", "y", "z"):
        ip.user_ns.pop(name, None)


def test_inputs_come_from_the_notebook(ip):
    ip.user_ns["x"] = np.array([[2, 3, 1], [4, 5, 3], [7, 6, 4]])
    result = ip.run_line_magic("backcalc", '"x**3 + x**2"')
    assert result.loss == 1040.0 and result.verdict == "agree"
    assert result.gradients["x"].autograd.tolist() == [[16, 33, 5], [56, 85, 33], [161, 120, 56]]


def test_a_tensor_a_number_and_a_list_from_the_notebook_and_a_value_on_the_line(ip):
    ip.user_ns.update(w=torch.tensor(1.0), y=2, x=[10.0, 20.0])
    result = ip.run_line_magic("backcalc", 'explain "(w*x - y)**2" x=1')
    assert type(result).__name__ == "Explanation"
    assert result.loss == 1.0  # x=1 on the line wins over the notebook's x


def test_an_array_like_from_the_notebook(ip):
    class ArrayLike:  # a pandas Series or a JAX array, as far as the magic can tell
        def __array__(self, dtype=None, copy=None):
            return np.array([1.0, 2.0, 3.0])

    ip.user_ns["x"] = ArrayLike()
    result = ip.run_line_magic("backcalc", "x**2 --reduce mean")
    assert result.gradients["x"].autograd.tolist() == pytest.approx([2 / 3, 4 / 3, 2.0])


def test_commands_and_their_options(ip):
    ip.user_ns.update(w=1, x=1, y=2)
    descent = ip.run_line_magic("backcalc", 'descend "(w*x - y)**2" --wrt w --lr 0.1 --steps 5')
    assert len(descent.steps) == 5 and descent.lr == 0.1
    claim = ip.run_line_magic("backcalc", 'check "x**3 + x**2" --claim "x=3x^2 + 2x"')
    assert claim.right
    hessian = ip.run_line_magic("backcalc", 'hessian "x**3*y"')
    assert hessian.sides["hessian"].autograd.tolist() == [[12.0, 3.0], [3.0, 0.0]]
    as_json = ip.run_line_magic("backcalc", '"x**2" --json --dtype float64')
    assert as_json["dtype"] == "float64" and as_json["gradients"]["x"]["autograd"] == 2.0


def test_errors_are_one_line_and_return_nothing(ip, capsys):
    assert ip.run_line_magic("backcalc", '"x**" x=2') is None
    assert ip.run_line_magic("backcalc", '"__import__(1)" x=2') is None
    assert ip.run_line_magic("backcalc", '"q + 1"') is None
    assert ip.run_line_magic("backcalc", '"x" x=1 --bogus') is None
    assert ip.run_line_magic("backcalc", "batch") is None
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("backcalc: error: the expression ends too early")
    assert err[1].startswith("backcalc: error: unknown function '__import__'")
    assert err[2] == "backcalc: error: no value for q: give q=VALUE"
    assert err[3].lower().startswith("backcalc: error: no such option '--bogus'")
    assert "does not run in a notebook" in err[4]
    assert len(err) == 5


def test_nothing_on_the_line_is_evaluated(ip, capsys):
    ip.user_ns["secret"] = 5
    assert ip.run_line_magic("backcalc", '"x" x={secret}') is None
    assert "unexpected character '{'" in capsys.readouterr().err


def test_a_notebook_value_that_is_not_numbers_is_refused(ip, capsys):
    ip.user_ns["x"] = {"a": 1}
    assert ip.run_line_magic("backcalc", '"x**2"') is None
    assert "x: expected a number or a nested list of numbers, got dict" in capsys.readouterr().err


def test_cell_magic_runs_one_case_per_line(ip):
    ip.user_ns.update(w=2)
    ip.run_cell_magic("backcalc", "--dtype float64", 'x**2 x=3\n\n# a comment\nexplain "w*x" x=2\n"q+" x=1\n')
    first, second, third = ip.user_ns["_backcalc"]
    assert first.dtype == "float64" and first.loss == 9.0
    assert second.dtype == "float64" and second.loss == 4.0
    assert third is None


def test_importing_backcalc_stays_light_and_offers_the_extension():
    import subprocess
    import sys

    probe = (
        "import sys, backcalc; f = backcalc.load_ipython_extension; "
        "print(sorted(m for m in ('torch', 'sympy', 'IPython', 'click', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
