"""Backprop on the expression tree itself: each operation's vector-Jacobian rule (from its record), applied
from the loss down, gives the gradient of every node as a formula in backcalc's own language
(``2*(W.T@(W@x - y))``, ``outer(g, x)``), which NumPy evaluates at any size.

The rules are written over ``g`` (the upstream gradient), ``u, v, w`` (the arguments) and ``out`` (the
node). A gradient that reaches an argument with more elements than the argument has (broadcasting) is
summed back over the broadcast dimensions: ``sum(c, 0)`` for a leading one, ``unsqueeze(sum(c, d), d)``
for one of size 1. Formulas are simplified as they are built (:mod:`backcalc.symbolic.simplify`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..language.labels import integer_inputs
from ..language.parser import parse
from ..language.shapes import infer
from ..language.tree import Node, substitute
from ..ops.arithmetic import ADD, DIV
from ..ops.functions import ONES_LIKE
from ..ops.tensors import SUM, UNSQUEEZE
from .simplify import Simplifier, number

Shape = tuple[int, ...]

_ADD, _DIV, _SUM, _UNSQUEEZE, _ONES = (op.name for op in (ADD, DIV, SUM, UNSQUEEZE, ONES_LIKE))
_PLACEHOLDERS = ("u", "v", "w")


@functools.cache
def rule(text: str) -> Node:
    """A record's rule, parsed once (the rules are the package's own text, not the user's)."""
    return parse(text)


@dataclass
class Edge:
    """What one node passes to one argument: the rule as written, and the gradient it gives."""

    parent: Node
    index: int  # which argument of the parent
    rule: str  # the record's rule over g, u, v, w, out
    contribution: Node  # the rule applied and summed back to the argument's shape, simplified


@dataclass
class Backprop:
    """The backward pass of one tree: every node's gradient formula, and every edge's contribution."""

    tree: Node
    input_shapes: Mapping[str, Shape]
    reduce: str = "sum"  # how the output becomes the loss (a scalar output is the loss)
    grads: dict[int, Node] = field(default_factory=dict)  # id(node) -> d loss / d node
    edges: list[Edge] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.simplify = Simplifier(self.input_shapes)
        self._run()

    def _run(self) -> None:
        shape = self.simplify.shape(self.tree)
        seed: Node = number(1) if not shape else Node(_ONES, (self.tree,))
        if shape and self.reduce == "mean":
            seed = Node(_DIV, (seed, number(_count(shape))))
        self.grads[id(self.tree)] = self.simplify(seed)
        # Parents before children (a program's step has several parents): every use of a node has
        # added its part to the node's gradient before the node passes it on.
        labels = set(integer_inputs(self.tree, infer(self.tree, self.input_shapes)))
        constant = _constants(self.tree, labels)
        for node in _topological(self.tree):
            # a node no gradient reaches (below a comparison, which passes none) passes none on
            if node.is_leaf or constant[id(node)] or id(node) not in self.grads:
                continue
            shapes = [self.simplify.shape(arg) for arg in node.args]
            templates = node.record.vjp_templates(shapes, node.dim, node.options)
            for index, (arg, template) in enumerate(zip(node.args, templates, strict=True)):
                if constant[id(arg)] or not template:  # "": an integer argument, which has no gradient
                    continue
                contribution = self.contribution(template, node, self.grads[id(node)], arg)
                self.edges.append(Edge(node, index, template, contribution))
                earlier = self.grads.get(id(arg))
                self.grads[id(arg)] = (
                    contribution if earlier is None else self.simplify(Node(_ADD, (earlier, contribution)))
                )

    def contribution(self, template: str, node: Node, upstream: Node, arg: Node) -> Node:
        """What ``node`` passes to its argument ``arg`` by ``template``, given its ``upstream`` gradient."""
        names = {"g": upstream, "out": node, **dict(zip(_PLACEHOLDERS, node.args, strict=False))}
        applied = self.simplify(substitute(rule(template), names))
        return self.simplify(self._sum_back(applied, self.simplify.shape(arg)))

    def _sum_back(self, formula: Node, shape: Shape) -> Node:
        """``formula`` summed over the dimensions that broadcasting added to an argument of ``shape``."""
        have = self.simplify.shape(formula)
        for _ in range(len(have) - len(shape)):
            formula = Node(_SUM, (formula,), dim=0)
        if len(have) < len(shape):
            return formula  # it broadcasts up to the argument's shape where it is used
        have = have[len(have) - len(shape) :]
        for dim, (size, want) in enumerate(zip(have, shape, strict=True)):
            if want == 1 and size != 1:
                formula = Node(_UNSQUEEZE, (Node(_SUM, (formula,), dim=dim),), dim=dim)
        return formula

    def gradient(self, name: str) -> Node | None:
        """d loss / d input ``name``: the sum over the places it is used; None if it is not used."""
        parts = [
            self.grads[id(node)]
            for node in self.tree.walk()
            if node.is_variable and node.text == name and id(node) in self.grads
        ]
        if not parts:
            return None
        total = self.simplify(functools.reduce(lambda a, b: Node(_ADD, (a, b)), parts))
        return self.simplify.to_shape(total, self.input_shapes[name])


def _topological(tree: Node) -> list[Node]:
    """Every node once, each after all its parents."""
    return list(tree.postorder())[::-1]


def _constants(tree: Node, labels: set[str]) -> dict[int, bool]:
    """Whether each node is constant (no float input below it: labels have no gradient), keyed by
    ``id``, in one pass."""
    constant: dict[int, bool] = {}
    for node in tree.postorder():
        if node.is_variable:
            constant[id(node)] = node.text in labels
        else:
            constant[id(node)] = all(constant[id(arg)] for arg in node.args)
    return constant


def _count(shape: Shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def formulas(tree: Node, input_shapes: Mapping[str, Shape], reduce: str = "sum") -> Callable[[str], Node | None]:
    """d loss / d each input, as formulas (a shortcut for :class:`Backprop`)."""
    return Backprop(tree, input_shapes, reduce).gradient
