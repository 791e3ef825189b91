"""The prepared request every command works on: :class:`Problem`, made by :func:`prepare`.

Preparing parses the expression, checks the inputs against it (names, shapes, limits) and casts them
once to the dtype, so that every side sees the same numbers; it imports neither torch nor sympy. The
problem then owns what the commands share: the loss reduction (sum or mean, as ``y.sum().backward()``
does) and the creation of the torch leaves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..inputs.values import check_name, check_range, to_array
from ..language import shapes, workload
from ..language.hints import missing_name, wrt_hint
from ..language.parser import parse
from ..language.tree import Node, to_text
from ..numeric.compare import DEFAULT_TOLERANCES
from ..numeric.refusals import refuse_undefined

if TYPE_CHECKING:
    import torch

DTYPE_NAMES = tuple(DEFAULT_TOLERANCES)
REDUCTIONS = ("sum", "mean")
NUMPY_DTYPES: dict[str, type[np.floating]] = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True, eq=False)
class Problem:
    """A checked request: a parsed expression, its inputs cast to the dtype, what to differentiate."""

    expression: str
    tree: Node
    inputs: dict[str, np.ndarray]  # float64 arrays holding values exactly representable in the dtype
    wrt: list[str]
    dtype: str
    reduce: str
    output_shape: tuple[int, ...]

    @property
    def parsed(self) -> str:
        """The expression as backcalc read it (canonical text)."""
        return to_text(self.tree)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: value.shape for name, value in self.inputs.items()}

    @property
    def numpy_dtype(self) -> type[np.floating]:
        return NUMPY_DTYPES[self.dtype]

    @property
    def reduction(self) -> str | None:
        """How the output becomes the loss: None when it is already a scalar."""
        return None if self.output_shape == () else self.reduce

    @property
    def count(self) -> int:
        """What the summed output is divided by to give the loss: N for a mean of N elements, else 1."""
        return math.prod(self.output_shape) if self.reduction == "mean" else 1

    def cast_inputs(self) -> dict[str, np.ndarray]:
        """The inputs as arrays of the dtype, for showing them."""
        return {name: value.astype(self.numpy_dtype) for name, value in self.inputs.items()}

    def leaves(self, requires_grad: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """A torch tensor per input, of the dtype; those in ``requires_grad`` (default: ``wrt``) are
        leaves of the graph."""
        import torch

        from ..numeric.autograd import DTYPES

        wanted = set(self.wrt if requires_grad is None else requires_grad)
        dtype = DTYPES[self.dtype]
        return {
            name: torch.tensor(value, dtype=dtype, requires_grad=name in wanted) for name, value in self.inputs.items()
        }

    def forward(self, tensors: Mapping[str, torch.Tensor], record: dict[int, Any] | None = None) -> torch.Tensor:
        """The output tensor of the expression at ``tensors``."""
        from ..numeric.autograd import DTYPES, evaluate

        return evaluate(self.tree, tensors, DTYPES[self.dtype], record)

    def loss(self, output: torch.Tensor) -> torch.Tensor:
        """The loss of an output: the output itself when scalar, else its sum or mean."""
        if output.dim() == 0:
            return output
        return output.sum() if self.reduce == "sum" else output.mean()


def prepare(
    expression: str,
    inputs: Mapping[str, Any] | None = None,
    wrt: Iterable[str] | None = None,
    dtype: str = "float32",
    reduce: str = "sum",
    tree: Node | None = None,
) -> Problem:
    """Parse and check everything the user gave, without importing torch or sympy. ``tree`` is the
    expression already parsed (``batch`` parses a repeated expression once)."""
    if dtype not in DTYPE_NAMES:
        raise InputError(f"dtype must be one of {', '.join(DTYPE_NAMES)}, not {dtype!r}")
    if reduce not in REDUCTIONS:
        raise InputError(f"reduce must be one of {', '.join(REDUCTIONS)}, not {reduce!r}")
    if tree is None:
        tree = parse(expression)
    variables = tree.variables()
    arrays = {check_name(str(name)): to_array(value, str(name)) for name, value in dict(inputs or {}).items()}

    missing = [name for name in variables if name not in arrays]
    if missing:
        listed = ", ".join(f"{name}=VALUE" for name in missing)
        raise InputError(f"no value for {', '.join(missing)}: give {listed}", help=missing_name(missing, list(arrays)))
    unused = [name for name in arrays if name not in variables]
    if unused:
        raise InputError(f"{', '.join(unused)} given but not used in the expression {to_text(tree)!r}")

    chosen = list(dict.fromkeys(variables if wrt is None else wrt))
    for name in chosen:
        if name not in arrays:
            known = ", ".join(variables) or "none"
            raise InputError(
                f"--wrt {name}: no input is called {name!r} (inputs: {known})", help=wrt_hint(name, variables)
            )

    # Keep the expression's order of first appearance; cast once, so both sides see the same numbers.
    cast = NUMPY_DTYPES[dtype]
    check_range(arrays, dtype)
    ordered = {name: arrays[name].astype(cast).astype(np.float64) for name in variables}
    input_shapes = {name: value.shape for name, value in ordered.items()}
    shape = shapes.output_shape(tree, input_shapes)
    workload.check(tree, input_shapes)  # refused before any work
    refuse_undefined(tree, ordered, cast)  # no value at all (a singular matrix to invert): nothing to compare
    return Problem(expression, tree, ordered, chosen, dtype, reduce, shape)


@dataclass(frozen=True)
class Backward:
    """What one forward and backward pass gave."""

    output: np.ndarray
    loss: float
    gradients: dict[str, np.ndarray]


def backward(problem: Problem, dtype: str | None = None) -> Backward:
    """Forward pass, reduction to the loss, backward pass, in ``problem.dtype`` or in ``dtype``."""
    run = problem if dtype is None else _with_dtype(problem, dtype)
    tensors = run.leaves()
    try:
        output = run.forward(tensors)
    except RuntimeError as exc:  # shapes were checked before: out of memory, or rare; report it, don't crash
        raise workload.out_of_memory(exc) or InputError(
            f"torch could not evaluate the expression: {str(exc).splitlines()[0]}"
        ) from None
    loss = run.loss(output)
    if loss.requires_grad:
        loss.backward()
    gradients = {}
    for name in run.wrt:
        grad = tensors[name].grad
        gradients[name] = (grad if grad is not None else tensors[name].new_zeros(tensors[name].shape)).numpy()
    return Backward(output.detach().numpy(), float(loss.detach()), gradients)


def _with_dtype(problem: Problem, dtype: str) -> Problem:
    # The inputs are already exact in the narrower dtype, so a wider one sees the same numbers.
    return replace(problem, dtype=dtype)
