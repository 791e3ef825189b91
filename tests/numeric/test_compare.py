from __future__ import annotations

import numpy as np

from backcalc.numeric.compare import Tolerance, compare


def test_default_tolerances_are_torch_assert_close():
    torch = __import__("torch")
    import inspect

    source = inspect.getsource(torch.testing._comparison)
    assert "torch.float32: (1.3e-6, 1e-5)" in source
    assert Tolerance.for_dtype("float32") == Tolerance(1.3e-6, 1e-5)
    assert Tolerance.for_dtype("float64") == Tolerance(1e-7, 1e-7)
    assert Tolerance.for_dtype("float64", rtol=0.1) == Tolerance(0.1, 1e-7)


def test_within_and_outside_tolerance():
    tol = Tolerance(1e-3, 0.0)
    assert compare(np.array([1000.0]), np.array([1000.9]), tol).agree
    result = compare(np.array([1000.0, 1.0]), np.array([1001.1, 1.0]), tol)
    assert not result.agree and result.mismatches == 1
    assert np.isclose(result.max_abs_diff, 1.1)


def test_nonfinite_agree_only_with_themselves():
    tol = Tolerance(1e-6, 1e-6)
    assert compare(np.array([np.inf, np.nan]), np.array([np.inf, np.nan]), tol).agree
    assert not compare(np.array([np.inf]), np.array([-np.inf]), tol).agree
    assert not compare(np.array([np.nan]), np.array([0.0]), tol).agree
    assert compare(np.array([np.inf]), np.array([np.inf]), tol).max_abs_diff == 0.0
