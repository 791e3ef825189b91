"""The prepared request every command works on: :class:`Problem`, made by :func:`prepare`.

Preparing parses the expression, checks the inputs against it (names, shapes, limits) and casts them
once to the dtype, so that every side sees the same numbers; it imports neither torch nor sympy. The
problem then owns what the commands share: the loss reduction (sum or mean, as ``y.sum().backward()``
does) and the creation of the torch leaves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import limits
from ..errors import InputError
from ..inputs.values import check_name, check_range, to_array, to_labels
from ..language import shapes, workload
from ..language.hints import missing_name, wrt_hint
from ..language.labels import check_ranges, integer_inputs
from ..language.program import Program, parse_program
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
    """A checked request: a parsed program (or expression), its inputs cast to the dtype, what to
    differentiate. ``tree`` is the program's output, one graph through all its steps."""

    expression: str
    tree: Node
    inputs: dict[str, np.ndarray]  # float64 arrays holding values exactly representable in the dtype; int64 labels
    wrt: list[str]
    dtype: str
    reduce: str
    output_shape: tuple[int, ...]
    program: Program | None = None  # None, or one bare expression: nothing is named

    @property
    def parsed(self) -> str:
        """The expression (or program) as backcalc read it (canonical text)."""
        return self.program.text() if self.program is not None else to_text(self.tree)

    @property
    def steps(self) -> list[Any]:
        """The program's named steps (:class:`~backcalc.language.program.Step`), in order; none for an
        expression."""
        return self.program.named if self.program is not None else []

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

    @property
    def labels(self) -> dict[str, np.ndarray]:
        """The integer inputs (class labels, indices), int64: they have no gradient."""
        return {name: value for name, value in self.inputs.items() if value.dtype.kind == "i"}

    def cast_inputs(self) -> dict[str, np.ndarray]:
        """The inputs as arrays of the dtype (labels as int64), for showing them."""
        return {
            name: value if value.dtype.kind == "i" else value.astype(self.numpy_dtype)
            for name, value in self.inputs.items()
        }

    def leaves(self, requires_grad: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """A torch tensor per input, of the dtype; those in ``requires_grad`` (default: ``wrt``) are
        leaves of the graph."""
        import torch

        from ..numeric.autograd import DTYPES

        wanted = set(self.wrt if requires_grad is None else requires_grad)
        dtype = DTYPES[self.dtype]
        return {
            name: torch.tensor(value, dtype=torch.int64)
            if value.dtype.kind == "i"
            else torch.tensor(value, dtype=dtype, requires_grad=name in wanted)
            for name, value in self.inputs.items()
        }

    def forward(
        self, tensors: Mapping[str, torch.Tensor], record: dict[int, Any] | None = None, root: Node | None = None
    ) -> torch.Tensor:
        """The output tensor of the expression at ``tensors`` (or of ``root``, one of its steps)."""
        from ..numeric.autograd import DTYPES, evaluate

        return evaluate(self.tree if root is None else root, tensors, DTYPES[self.dtype], record)

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
    program: Program | None = None,
) -> Problem:
    """Parse and check everything the user gave, without importing torch or sympy. ``program`` (or
    ``tree``, one expression) is the text already parsed (``batch`` parses a repeated one once)."""
    if dtype not in DTYPE_NAMES:
        raise InputError(f"dtype must be one of {', '.join(DTYPE_NAMES)}, not {dtype!r}")
    if reduce not in REDUCTIONS:
        raise InputError(f"reduce must be one of {', '.join(REDUCTIONS)}, not {reduce!r}")
    if program is None and tree is None:
        program = parse_program(expression, whole_numbers(inputs or {}))
    sizes = set(program.integers if program is not None else ())  # inputs read as integers: range(n)
    if program is not None:
        tree = program.output
        program = None if program.is_expression else program
    assert tree is not None
    variables = program.variables() if program is not None else tree.variables()
    arrays = {check_name(str(name)): to_array(value, str(name)) for name, value in dict(inputs or {}).items()}
    if program is not None:
        _no_value_for_steps(program, arrays)

    _each_given_once_used(variables, arrays, sizes, program, tree)
    input_shapes = {name: arrays[name].shape for name in variables}
    roots = program.roots() if program is not None else [tree]
    node_shapes = [shapes.infer(root, input_shapes) for root in roots]  # the unused steps are kept, so checked
    label_names = {name for root, found in zip(roots, node_shapes, strict=True) for name in integer_inputs(root, found)}
    for name in [] if wrt is None else wrt:
        if program is not None and program.step(name) is not None:
            raise InputError(
                f"--wrt {name}: {name} is a step of the program, not an input; every step's gradient is "
                "given anyway (intermediates)"
            )
    chosen = _chosen(variables if wrt is None else wrt, variables, label_names, wrt is None, sizes)

    # Keep the expression's order of first appearance; cast once, so both sides see the same numbers.
    cast = NUMPY_DTYPES[dtype]
    check_range({name: array for name, array in arrays.items() if name not in label_names}, dtype)
    ordered = {
        name: to_labels(arrays[name], name) if name in label_names else arrays[name].astype(cast).astype(np.float64)
        for name in variables
    }
    labels = {name: ordered[name] for name in label_names}
    for root, found in zip(roots, node_shapes, strict=True):
        check_ranges(root, found, labels)  # status 2 before any work, never an IndexError
        workload.check(root, input_shapes)  # refused before any work
    refuse_undefined(tree, ordered, cast)  # no value at all (a singular matrix to invert): nothing to compare
    return Problem(expression, tree, ordered, chosen, dtype, reduce, node_shapes[0][id(tree)], program)


def _each_given_once_used(
    variables: list[str], arrays: Mapping[str, Any], sizes: set[str], program: Program | None, tree: Node
) -> None:
    """A value for every input, and every value used (an input read as an integer, range(n), is)."""
    missing = [name for name in variables if name not in arrays]
    if missing:
        listed = ", ".join(f"{name}=VALUE" for name in missing)
        raise InputError(f"no value for {', '.join(missing)}: give {listed}", help=missing_name(missing, list(arrays)))
    unused = [name for name in arrays if name not in variables and name not in sizes]
    if unused:
        where = f"the program {program.text()!r}" if program is not None else f"the expression {to_text(tree)!r}"
        raise InputError(f"{', '.join(unused)} given but not used in {where}")


def whole_numbers(inputs: Mapping[str, Any]) -> dict[str, int]:
    """The inputs given one whole number (``n=4``): known when the text is read, for the places that
    need an integer there (``range(n)``, ``x.view(n, -1)``)."""
    known = {}
    for name, value in inputs.items():
        if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating | np.ndarray
        ):
            continue
        if np.ndim(value) == 0 and np.asarray(value).dtype.kind in "iuf":
            number = float(value)
            if number.is_integer() and 0 <= number <= limits.MAX_ELEMENTS:
                known[str(name)] = int(number)
    return known


def _chosen(
    wanted: Iterable[str], variables: list[str], labels: set[str], default: bool, sizes: set[str] | None = None
) -> list[str]:
    """The inputs to differentiate: those asked for (by default every input but the labels and the sizes,
    the inputs read as integers, as ``range(n)`` reads torch's ``n``, a Python int)."""
    chosen = [name for name in dict.fromkeys(wanted) if not (default and name in labels | (sizes or set()))]
    for name in chosen:
        if name not in variables:
            known = ", ".join(variables) or "none"
            raise InputError(
                f"--wrt {name}: no input is called {name!r} (inputs: {known})", help=wrt_hint(name, variables)
            )
        if name in labels:
            raise InputError(f"--wrt {name}: {name} is an integer input (an index or class label) and has no gradient")
    return chosen


def _no_value_for_steps(program: Program, arrays: Mapping[str, np.ndarray]) -> None:
    """A step's name is not an input's: refuse a value given for it."""
    for name in arrays:
        step = program.step(name)
        if step is not None:
            raise InputError(
                f"{name} is a step of the program ({program.position(step.at)}), and a step may not take "
                f"an input's name: give no value for {name}, or rename the step"
            )


@dataclass(frozen=True)
class Backward:
    """What one forward and backward pass gave."""

    output: np.ndarray
    loss: float
    gradients: dict[str, np.ndarray]
    steps: dict[str, np.ndarray] = field(default_factory=dict)  # a program's steps: each one's value
    step_gradients: dict[str, np.ndarray | None] = field(default_factory=dict)  # by retain_grad; None: unused


def backward(problem: Problem, dtype: str | None = None) -> Backward:
    """Forward pass, reduction to the loss, backward pass, in ``problem.dtype`` or in ``dtype``."""
    run = problem if dtype is None else _with_dtype(problem, dtype)
    tensors = run.leaves()
    record: dict[int, Any] = {}
    try:
        output = run.forward(tensors, record if run.steps else None)
    except RuntimeError as exc:  # shapes were checked before: out of memory, or rare; report it, don't crash
        raise workload.out_of_memory(exc) or InputError(
            f"torch could not evaluate the expression: {str(exc).splitlines()[0]}"
        ) from None
    loss = run.loss(output)
    steps = {step.name: record.get(id(step.node)) for step in run.steps}
    for tensor in steps.values():
        if tensor is not None and tensor.requires_grad:
            tensor.retain_grad()  # d loss / d step, as a script would ask torch for it
    if loss.requires_grad:
        loss.backward()
    gradients = {}
    for name in run.wrt:
        grad = tensors[name].grad
        gradients[name] = (grad if grad is not None else tensors[name].new_zeros(tensors[name].shape)).numpy()
    values, step_gradients = _step_results(run, tensors, steps)
    return Backward(output.detach().numpy(), float(loss.detach()), gradients, values, step_gradients)


def _step_results(
    run: Problem, tensors: Mapping[str, torch.Tensor], steps: Mapping[str, torch.Tensor | None]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    """Each step's value and gradient; a step the output does not use is evaluated on its own, and
    has no gradient."""
    import torch

    values: dict[str, np.ndarray] = {}
    grads: dict[str, np.ndarray | None] = {}
    for step in run.steps:
        tensor = steps[step.name]
        if tensor is None:
            with torch.no_grad():
                values[step.name] = run.forward(tensors, root=step.node).detach().numpy()
            grads[step.name] = None
            continue
        values[step.name] = tensor.detach().numpy()
        grad = tensor.grad
        grads[step.name] = (grad if grad is not None else torch.zeros_like(tensor)).detach().numpy()
    return values, grads


def _with_dtype(problem: Problem, dtype: str) -> Problem:
    # The inputs are already exact in the narrower dtype, so a wider one sees the same numbers.
    return replace(problem, dtype=dtype)
