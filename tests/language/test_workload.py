"""The up-front estimate of work and memory, and out-of-memory errors."""

from __future__ import annotations

import numpy as np
import pytest

import backcalc
from backcalc import limits
from backcalc.errors import LimitError
from backcalc.language.parser import parse
from backcalc.language.workload import check, estimate, out_of_memory

TORCH_OOM = (
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
    "you tried to allocate 80000000000 bytes. Error code 12 (Cannot allocate memory)"
)


def test_element_wise_work_counts_each_operation_once_per_element():
    work = estimate(parse("sin(x)*y + 1"), {"x": (10, 3), "y": (3,)})
    assert work.flops == 3 * 30  # sin, *, +
    assert work.elements == 30 + 3 + 3 * 30


def test_matmul_counts_2mkn():
    work = estimate(parse("A@B"), {"A": (4, 5), "B": (5, 6)})
    assert work.flops == 2 * 4 * 5 * 6
    assert estimate(parse("dot(v, v)"), {"v": (7,)}).flops == 14
    assert estimate(parse("A@v"), {"A": (2, 4, 5), "v": (5,)}).flops == 2 * 2 * 4 * 5


def test_a_chain_of_30_large_matrix_products_is_refused_with_the_estimate():
    chain = "@".join(["A"] * 31)
    with pytest.raises(LimitError, match=r"about 1\.62e\+12 floating-point operations .*A \[3000, 3000\]"):
        check(parse(f"sum({chain})"), {"A": (3000, 3000)})


def test_sixteen_factors_on_ten_million_elements_are_refused_with_the_estimate():
    with pytest.raises(LimitError, match=r"about 2\.38 GiB of tensors \(160,000,000 elements"):
        check(parse("*".join(["x"] * 16)), {"x": (10**7,)})


def test_1000_by_1000_float64_products_stay_allowed():
    check(parse("sum(A@A@A) + sum(sin(A)*cos(A))"), {"A": (1000, 1000)})


def test_prepare_refuses_before_any_work(monkeypatch):
    monkeypatch.setattr(limits, "MAX_WORK", 1000)
    with pytest.raises(LimitError, match="floating-point operations"):
        backcalc.gradient("sum(A@A)", A=np.ones((10, 10)))


def test_out_of_memory_names_the_sizes(monkeypatch):
    from backcalc.analyses import gradient as api

    def exhausted(*args, **kwargs):
        raise RuntimeError(TORCH_OOM)

    monkeypatch.setattr(api, "backward", exhausted)
    with pytest.raises(LimitError, match=r"out of memory \(an allocation of 74.5 GiB failed\); inputs x \[3\]"):
        backcalc.gradient("x*2", x=[1, 2, 3])


def test_only_allocation_failures_are_out_of_memory():
    assert out_of_memory(MemoryError()) is not None
    assert out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")) is not None
    assert out_of_memory(RuntimeError("shape mismatch")) is None
    assert out_of_memory(ValueError("can't allocate memory")) is None


OOM_PROBE = """
import resource, sys
import torch, sympy, numpy  # loaded before the limit: only the computation may run out
import backcalc.api, backcalc.numeric.autograd, backcalc.symbolic.side, backcalc.render.terminal
from backcalc.cli import cli

size = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize")) * 1024
limit = size + 300 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
cli(sys.argv[1:])
"""


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_really_running_out_of_memory_is_status_2_with_the_sizes(tmp_path, warm_python):
    import subprocess

    # Small inputs, large intermediates (c*r is 3000 x 3000): the estimate (1 GiB) passes, 300 MiB do not.
    np.save(tmp_path / "c.npy", np.ones((3000, 1)))
    np.save(tmp_path / "r.npy", np.ones((1, 3000)))
    argv = ["*".join(["(c*r)"] * 4), f"c=@{tmp_path / 'c.npy'}", f"r=@{tmp_path / 'r.npy'}", "--dtype", "float64"]
    result = subprocess.run(warm_python("-c", OOM_PROBE, *argv), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("backcalc: error: out of memory")
    assert "inputs c [3000, 1], r [1, 3000]" in line


@pytest.mark.parametrize("error", [RuntimeError(TORCH_OOM), MemoryError()], ids=["torch", "python"])
def test_out_of_memory_in_the_backward_pass_is_status_2(run, monkeypatch, error):
    import torch

    def exhausted(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(torch.Tensor, "backward", exhausted)
    result = run("x*y", "x=[1,2,3]", "y=2")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("backcalc: error: out of memory")
    assert "inputs x [3], y []" in result.stderr and len(result.stderr.splitlines()) == 1
