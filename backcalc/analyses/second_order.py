"""Hessians and Jacobians in matrix notation, at any size NumPy evaluates: the formula, its values, and
torch's products that check it where the matrix is too large to compare entry by entry.

The Hessian of the loss with respect to one input is the Jacobian of its gradient formula (backprop on
the tree, :mod:`backcalc.symbolic.formulas`), derived by forward mode over that formula
(:mod:`backcalc.symbolic.forward`): a matrix for a vector (``A + A.T``), the linear map it is for a
matrix (``V -> 2*outer(V@x, x)``, the formula in the direction ``V``). The Jacobian of the output is the
same walk over the expression. A large Hessian is checked by Hessian-vector products against torch's
double backward, a large Jacobian by Jacobian-vector products, each at seeded random vectors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import limits
from ..language import workload
from ..language.tree import VARIABLE, Node, printable, rebuilt, to_text
from ..numeric.numpy_eval import evaluate
from ..ops.arithmetic import MUL
from ..ops.functions import ONES_LIKE
from ..symbolic.formulas import Backprop
from ..symbolic.forward import Forward, identity
from ..symbolic.lowering import for_numpy
from ..symbolic.simplify import Simplifier
from .problem import Problem

PRODUCTS = 3  # random vectors at which a large derivative is checked
_SEED = 0


@dataclass(frozen=True, eq=False)
class Formula:
    """A derivative in matrix notation: maps a direction of ``in_shape`` to a change of ``out_shape``.
    ``direction`` None: ``tree`` is the matrix itself (shape out + in); else ``tree`` is the change along
    the input named ``direction`` (a linear map)."""

    tree: Node
    direction: str | None
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    shapes: Mapping[str, tuple[int, ...]]  # of the inputs, and of the direction

    @property
    def text(self) -> str | None:
        return to_text(self.tree) if printable(self.tree) else None

    @property
    def entries(self) -> int:
        return math.prod(self.out_shape) * math.prod(self.in_shape)

    def lowered(self) -> Node:
        return for_numpy(self.tree, self.shapes)

    def matrix(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Every entry, of shape out + in (float64): the formula evaluated, or the map on each basis direction."""
        lowered = self.lowered()
        if self.direction is None:
            value = evaluate(lowered, inputs)
            return np.array(np.broadcast_to(value, self.out_shape + self.in_shape), dtype=np.float64)
        size = math.prod(self.in_shape)
        columns = []
        for index in range(size):
            basis = np.zeros(size)
            basis[index] = 1.0
            columns.append(self._along(lowered, inputs, basis.reshape(self.in_shape)).reshape(-1))
        stacked = np.array(columns, dtype=np.float64).T if columns else np.zeros((math.prod(self.out_shape), 0))
        return stacked.reshape(self.out_shape + self.in_shape)

    def product(self, inputs: Mapping[str, np.ndarray], matrix: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
        """The derivative applied to ``vector`` (of ``in_shape``): ``matrix`` times it, or the map at it."""
        if matrix is not None:
            flat = matrix.reshape(math.prod(self.out_shape), -1) @ vector.reshape(-1)
            return flat.reshape(self.out_shape)
        return self._along(self.lowered(), inputs, vector)

    def _along(self, lowered: Node, inputs: Mapping[str, np.ndarray], vector: np.ndarray) -> np.ndarray:
        assert self.direction is not None
        value = evaluate(lowered, {**inputs, self.direction: vector})
        return np.array(np.broadcast_to(value, self.out_shape), dtype=np.float64)


def _unnamed(tree: Node) -> Node:
    """The tree with a program's steps written out (a formula to paste names no step)."""
    done: dict[int, Node] = {}
    for node in tree.postorder():
        args = tuple(done[id(arg)] for arg in node.args)
        done[id(node)] = rebuilt(node, args, name="") if node.name or node.args else node
    return done[id(tree)]


def _direction_name(problem: Problem) -> str:
    name = "V"
    while name in problem.inputs:
        name += "_"
    return name


def _derive(problem: Problem, tree: Node, name: str, out_shape: tuple[int, ...]) -> Formula:
    """d ``tree`` / d input ``name``: the matrix where the walk allows it and it has at most
    ``limits.MAX_MATRIX_DERIVATIVE_ENTRIES`` entries, else the linear map."""
    shape = problem.inputs[name].shape
    direction = _direction_name(problem)
    shapes = {**problem.shapes, direction: shape}
    forward = Forward(shapes)
    entries = math.prod(shape) * math.prod(out_shape)
    if len(shape) == 1 and len(out_shape) <= 1 and entries <= limits.MAX_MATRIX_DERIVATIVE_ENTRIES:
        try:
            matrix = forward.jacobian(tree, {name: identity(shape[0])})
            return Formula(_or_zero(matrix), None, shape, out_shape, shapes)
        except NotImplementedError:
            pass  # a node on the way has two dimensions: the linear map instead
    if shape == ():  # along the one direction 1, the map is the derivative itself
        along = forward.differential(tree, {name: Node("number", (), "1")})
        return Formula(_or_zero(along), None, (), out_shape, shapes)
    along = forward.differential(tree, {name: Node(VARIABLE, (), direction)})
    return Formula(_or_zero(along), direction, shape, out_shape, shapes)


def _or_zero(formula: Node | None) -> Node:
    return formula if formula is not None else Node("number", (), "0")


def hessian_formula(problem: Problem) -> Formula:
    """The Hessian of the loss with respect to the one ``wrt`` input; NotImplementedError where a
    record has no rule for it (or for several inputs)."""
    if len(problem.wrt) != 1:
        raise NotImplementedError("several --wrt inputs at once (one at a time)")
    (name,) = problem.wrt
    tree = _unnamed(problem.tree)
    gradient = Backprop(tree, problem.shapes, problem.reduce).gradient(name)
    if gradient is None:
        gradient = Node("number", (), "0")
    shape = problem.inputs[name].shape
    if Simplifier(problem.shapes).shape(gradient) != shape:  # a formula that broadcasts to the input's shape
        gradient = Node(MUL.name, (gradient, Node(ONES_LIKE.name, (Node(VARIABLE, (), name),))))
    formula = _derive(problem, gradient, name, shape)
    _bounded(problem, formula)
    return formula


def jacobian_formula(problem: Problem, name: str) -> Formula:
    """The Jacobian of the output with respect to input ``name``."""
    formula = _derive(problem, _unnamed(problem.tree), name, problem.output_shape)
    _bounded(problem, formula)
    return formula


def _bounded(problem: Problem, formula: Formula) -> None:
    """Refuse a formula whose matrix or evaluation would cost too much, before any of it runs (and one
    of another shape than its derivative's, which would be a rule's mistake: element by element then)."""
    want = formula.out_shape + (formula.in_shape if formula.direction is None else ())
    have = Simplifier(formula.shapes).shape(formula.tree)
    if have != want and not (formula.tree.literal() == 0):
        raise NotImplementedError(f"the formula has shape {list(have)}, not {list(want)}")
    workload.check(formula.lowered(), formula.shapes)


def random_vectors(shape: tuple[int, ...], count: int = PRODUCTS) -> list[np.ndarray]:
    rng = np.random.default_rng(_SEED)
    return [rng.standard_normal(shape) for _ in range(count)]


def torch_hvps(problem: Problem, vectors: list[np.ndarray]) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """The output, the loss, and torch's Hessian-vector products (double backward) of the loss with
    respect to the one ``wrt`` input."""
    import torch

    (name,) = problem.wrt
    tensors = problem.leaves()
    output = problem.forward(tensors)
    loss = problem.loss(output)
    x = tensors[name]
    (gradient,) = torch.autograd.grad(loss, x, create_graph=True, allow_unused=True)
    products = [_second_backward(torch, gradient, x, vector) for vector in vectors]
    return output.detach().numpy(), float(loss.detach()), products


def _second_backward(torch: Any, first: Any, x: Any, vector: np.ndarray) -> np.ndarray:
    """d (first . vector) / d x. (A scalar's backward, without grad_outputs: torch then does not
    import its symbolic shapes, and sympy with them.)"""
    if first is None or not first.requires_grad:
        return np.zeros(vector.shape)
    dot = (first * torch.tensor(vector, dtype=first.dtype)).sum()
    (product,) = torch.autograd.grad(dot, x, retain_graph=True, allow_unused=True)
    return np.zeros(vector.shape) if product is None else product.detach().numpy()


def torch_jvps(problem: Problem, name: str, vectors: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The output, and torch's Jacobian-vector products with respect to input ``name``, by the double
    backward: J v = d/du ((J^T u) . v), for any u."""
    import torch

    tensors = problem.leaves(requires_grad=[name])
    output = problem.forward(tensors)
    u = torch.zeros_like(output, requires_grad=True)
    (pulled,) = torch.autograd.grad((output * u).sum(), tensors[name], create_graph=True, allow_unused=True)
    products = []
    for vector in vectors:
        if pulled is None or not pulled.requires_grad:
            products.append(np.zeros(problem.output_shape))
            continue
        dot = (pulled * torch.tensor(vector, dtype=pulled.dtype)).sum()
        (product,) = torch.autograd.grad(dot, u, retain_graph=True, allow_unused=True)
        products.append(np.zeros(problem.output_shape) if product is None else product.detach().numpy())
    return output.detach().numpy(), products
