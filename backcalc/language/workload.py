"""What one run will cost, estimated from the expression and the input shapes before anything runs.

Each operation node costs the elements of its result (element-wise work, reductions count their
input) and a matrix product ``@`` of m x k by k x n costs 2*m*k*n (times any batch dimensions). Memory
counts the elements of the inputs and of every result at 8 bytes, twice: the forward pass keeps each
result for the backward pass, which makes a gradient of the same size. A run over
:data:`~backcalc.limits.MAX_WORK` or :data:`~backcalc.limits.MAX_WORK_BYTES` is refused with the
estimate in the message; :func:`out_of_memory` turns a real allocation failure into an error that names
the sizes of the last estimated run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .. import limits
from ..errors import LimitError
from .shapes import Shape, infer
from .tree import Node

BYTES_PER_ELEMENT = 8 * 2  # float64 at most, and a gradient beside each value


@dataclass(frozen=True)
class Workload:
    """The estimate for one expression on inputs of given shapes."""

    flops: int  #: floating-point operations of the forward pass
    elements: int  #: elements of the inputs and of every operation's result
    shapes: tuple[tuple[str, Shape], ...]  #: the input shapes it was made for

    @property
    def bytes(self) -> int:
        return self.elements * BYTES_PER_ELEMENT

    def inputs(self) -> str:
        """The inputs' shapes, for a message."""
        return "inputs " + ", ".join(f"{name} {list(shape)}" for name, shape in self.shapes)

    def sizes(self) -> str:
        """The inputs' shapes and the estimate, for a message."""
        return f"{self.inputs()}; estimated {self.flops:.3g} operations and {_size(self.bytes)} of tensors"


_LAST: ContextVar[Workload | None] = ContextVar("backcalc_workload", default=None)


def estimate(tree: Node, inputs: Mapping[str, Shape]) -> Workload:
    """The work and memory of one run of ``tree`` on inputs of these shapes."""
    shapes = infer(tree, inputs)
    flops = 0
    elements = sum(math.prod(shape) for shape in inputs.values())
    for node in tree.walk():
        if node.is_leaf:
            continue
        shape = shapes[id(node)]
        elements += math.prod(shape)
        flops += node.record.work_of([shapes[id(arg)] for arg in node.args], shape)
    return Workload(flops, elements, tuple((name, tuple(shape)) for name, shape in inputs.items()))


def check(tree: Node, inputs: Mapping[str, Shape]) -> Workload:
    """The estimate, or :class:`LimitError` if it is over a limit. Remembered for :func:`out_of_memory`."""
    work = estimate(tree, inputs)
    _LAST.set(work)
    if work.flops > limits.MAX_WORK:
        raise LimitError(
            f"this run would take about {work.flops:.3g} floating-point operations "
            f"({work.inputs()}); the limit is {limits.MAX_WORK:.3g}"
        )
    if work.bytes > limits.MAX_WORK_BYTES:
        raise LimitError(
            f"this run would hold about {_size(work.bytes)} of tensors ({work.elements:,} elements of inputs and "
            f"intermediate results, each with its gradient; {work.inputs()}); "
            f"the limit is {_size(limits.MAX_WORK_BYTES)}"
        )
    return work


def forget() -> None:
    """Forget the last estimate (a new case begins), so that no error names another case's sizes."""
    _LAST.set(None)


_TORCH_OOM = re.compile(r"can't allocate memory|out of memory|not enough memory", re.IGNORECASE)
_TRIED = re.compile(r"tried to allocate (\d+) bytes")


def out_of_memory(exc: BaseException) -> LimitError | None:
    """A :class:`LimitError` saying "out of memory" with the sizes, if ``exc`` is an allocation failure
    (a :class:`MemoryError`, or torch's ``RuntimeError: ... can't allocate memory``); else None."""
    if not isinstance(exc, MemoryError) and not (isinstance(exc, RuntimeError) and _TORCH_OOM.search(str(exc))):
        return None
    tried = _TRIED.search(str(exc))
    what = f" (an allocation of {_size(int(tried.group(1)))} failed)" if tried else ""
    work = _LAST.get()
    sizes = f"; {work.sizes()}" if work else ""
    return LimitError(f"out of memory{what}{sizes}: use smaller inputs")


def _size(count: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


@contextmanager
def memory_guard() -> Iterator[None]:
    """Inside the block, an allocation failure is raised as :func:`out_of_memory`'s error."""
    try:
        yield
    except (MemoryError, RuntimeError) as exc:
        error = out_of_memory(exc)
        if error is None:
            raise
        raise error from exc
