"""The backward pass that ``explain`` shows, edge by edge, in float64 with NumPy.

Every edge of the graph gets its operation's rule from the registry:

- an element-wise operation's **local gradient** d node / d child (``2*n1``, ``cos(x)``), shown
  through sympy; what the child receives is upstream x local, summed over broadcast dimensions;
- any other operation's **vector-Jacobian product** in matrix notation, in backcalc's own language,
  with ``dN`` for the node's upstream gradient (``dn3@n2.T``, ``outer(dn2, x)``,
  ``n2*(dn2 - unsqueeze(sum(dn2*n2, -1), -1))``); its value is what the child receives.

Each node's gradient is the sum of what its parents pass it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import SymbolicError
from ..language.parser import parse
from ..language.tree import VARIABLE, Node, substitute, to_latex, to_text
from ..numeric.broadcasting import sum_to_shape
from ..numeric.numpy_eval import evaluate
from ..ops.arithmetic import ADD
from ..symbolic.elementwise import formula_latex, formula_text, symbols_for, to_sympy
from .graph import GraphNode

_PLACEHOLDERS = ("u", "v", "w")


@dataclass(frozen=True, eq=False)
class Local:
    """The rule of one edge: d node / d child (element-wise), or the VJP the child receives."""

    formula: str
    latex: str
    value: np.ndarray | None  # float64; a VJP's is known once the upstream gradient is
    rule: Node | None = None  # a VJP rule, over the ids and the upstream gradient's name
    upstream: str = ""  # the name of the upstream gradient in the rule (dN)

    @property
    def vjp(self) -> bool:
        return self.rule is not None


@dataclass(frozen=True, eq=False)
class Contribution:
    """What one parent passes down to a node: upstream gradient x local gradient (or the VJP), summed
    to the node's shape."""

    parent: str
    upstream: np.ndarray
    local: np.ndarray  # the local gradient, or the value of the VJP rule
    value: np.ndarray
    rule: str | None = None  # the VJP rule, where the parent mixes elements


@functools.cache
def _rule(text: str) -> Node:
    """A record's rule, parsed once (the rules are the package's own text, not the user's)."""
    return parse(text)


def shallow(node: GraphNode, graph: list[GraphNode]) -> Node:
    """The node's own operation on its arguments: a variable per differentiable argument (named by its
    id), the exact subtree of a constant one."""
    by_id = {item.id: item for item in graph}
    args = tuple(
        Node(VARIABLE, (), child) if by_id[child].differentiable else by_id[child].tree for child in node.inputs
    )
    return Node(node.tree.op, args, node.tree.text, node.tree.dim, options=node.tree.options)


def definition(node: GraphNode, graph: list[GraphNode]) -> tuple[str, str]:
    """The node as a function of its inputs' ids: text and LaTeX (through sympy where it is element-wise)."""
    if node.op in ("input", "const"):
        tree = node.tree
        return node.expr, formula_latex(to_sympy(tree, symbols_for(tree.variables())))
    tree = shallow(node, graph)
    if not tree.record.elementwise:
        return to_text(tree), to_latex(tree)
    expr = to_sympy(tree, symbols_for(tree.variables()))
    if any(item.tree.name for item in graph):  # a program: its steps as written (y_hat - y, not -y + y_hat)
        return to_text(tree), formula_latex(expr)
    return formula_text(expr), formula_latex(expr)


def local_rules(node: GraphNode, graph: list[GraphNode], values64: dict[str, np.ndarray]) -> dict[str, Local]:
    """The rule of every edge from ``node`` to a differentiable child."""
    if node.op in ("input", "const"):
        return {}
    tree = shallow(node, graph)
    if not tree.record.elementwise:
        return _vjp_rules(node, tree, graph, values64)
    placeholders = dict(zip(_PLACEHOLDERS, tree.args, strict=False))
    result: dict[str, Local] = {}
    for index, child in enumerate(node.inputs):
        if child in result or not tree.args[index].is_variable:
            continue
        # A child used twice (x*x) gets the sum of its rules: d(u*v)/dx = v + u at u = v = x.
        rules = [
            substitute(_rule(tree.record.local_rules(tree.options)[i]), placeholders)
            for i, other in enumerate(node.inputs)
            if other == child
        ]
        derivative = functools.reduce(lambda a, b: Node(ADD.name, (a, b)), rules)
        expr = to_sympy(derivative, symbols_for(derivative.variables()))
        value = evaluate(derivative, {name: values64[name] for name in derivative.variables()})
        result[child] = Local(formula_text(expr), formula_latex(expr), value)
    return result


def _vjp_rules(
    node: GraphNode, tree: Node, graph: list[GraphNode], values64: dict[str, np.ndarray]
) -> dict[str, Local]:
    """The vector-Jacobian product each differentiable child receives, as a rule over the ids."""
    taken = {item.id for item in graph}
    upstream = "d" + node.id
    while upstream in taken:
        upstream += "_"
    shapes = [tuple(np.shape(values64[child])) for child in node.inputs]
    try:
        templates = tree.record.vjp_templates(shapes, tree.dim, tree.options)
    except NotImplementedError as exc:
        raise SymbolicError(f"explain cannot show {node.expr}: {exc}") from None
    names = {"g": Node(VARIABLE, (), upstream), "out": Node(VARIABLE, (), node.id)}
    names.update(zip(_PLACEHOLDERS, tree.args, strict=False))
    result: dict[str, Local] = {}
    for index, child in enumerate(node.inputs):
        if not tree.args[index].is_variable or not templates[index]:  # "": a label, with no gradient
            continue
        rule = substitute(_rule(templates[index]), names)
        if child in result:  # used twice (x@x): both rules add up
            earlier = result[child].rule
            assert earlier is not None
            rule = Node(ADD.name, (earlier, rule))
        result[child] = Local(to_text(rule), to_latex(rule), None, rule, upstream)
    return result


def chain_rule(
    graph: list[GraphNode], locals_: dict[str, dict[str, Local]], values64: dict[str, np.ndarray], scale: float
) -> tuple[dict[str, np.ndarray], dict[str, list[Contribution]]]:
    """From the loss down: each node's gradient is the sum of what its parents pass it. A VJP rule's
    value is filled in here, where its upstream gradient is known."""
    grads: dict[str, np.ndarray] = {graph[-1].id: np.full(np.shape(values64[graph[-1].id]), scale)}
    contributions: dict[str, list[Contribution]] = {node.id: [] for node in graph}
    for node in reversed(graph):
        upstream = grads.get(node.id)
        if upstream is None:
            continue
        node_shape = np.shape(values64[node.id])
        for child, local in list(locals_.get(node.id, {}).items()):
            child_shape = np.shape(values64[child])
            with np.errstate(all="ignore"):
                if local.rule is not None:
                    env = {**values64, local.upstream: upstream}
                    received = evaluate(local.rule, {name: env[name] for name in local.rule.variables()})
                    locals_[node.id][child] = local = Local(local.formula, local.latex, received, local.rule)
                    full = np.broadcast_to(received, _at_least(received.shape, child_shape))
                    passed = sum_to_shape(full, child_shape)
                else:
                    assert local.value is not None
                    passed = sum_to_shape(np.broadcast_to(upstream * local.value, node_shape), child_shape)
            assert local.value is not None
            rule = local.formula if local.vjp else None
            contributions[child].append(Contribution(node.id, upstream, local.value, passed, rule))
            grads[child] = grads[child] + passed if child in grads else passed
    return grads, contributions


def _at_least(shape: tuple[int, ...], child: tuple[int, ...]) -> tuple[int, ...]:
    """A VJP's value broadcast up to the child's shape where it is smaller (a scalar rule)."""
    return tuple(np.broadcast_shapes(shape, child))
