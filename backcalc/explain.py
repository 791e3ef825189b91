"""The backward pass, step by step: forward values of every node of the graph, the local gradient of
every edge (each operation's local rule from the registry, shown through sympy and evaluated with
NumPy), the chain rule from the loss down to the inputs (float64), and torch's own gradient of every
node (``retain_grad``) beside it, with a verdict per node."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import __version__, limits
from .broadcasting import sum_to_shape
from .compare import Tolerance, compare
from .deadline import deadline, recursion_room, run_budget
from .display import Display
from .edges import find_edges
from .errors import InputError
from .graph import GraphNode, build_graph
from .numfmt import json_nested, json_number
from .numpy_eval import evaluate
from .ops.arithmetic import ADD
from .parser import parse
from .problem import Problem
from .sympy_formula import formula_latex, formula_text, symbols_for, to_sympy
from .tree import VARIABLE, Node, substitute
from .verdict import Verdict, Word, judge, overall

JSON_VALUE_LIMIT = 10_000  # larger tensors appear in the JSON as a summary, not element by element


@dataclass(frozen=True, eq=False)
class Local:
    """d node / d one of its inputs."""

    formula: str
    latex: str
    value: np.ndarray  # float64


@dataclass(frozen=True, eq=False)
class Contribution:
    """What one parent passes down to a node: upstream gradient x local gradient, summed to shape."""

    parent: str
    upstream: np.ndarray
    local: np.ndarray
    value: np.ndarray


@dataclass(frozen=True, eq=False)
class ExplainedNode:
    node: GraphNode
    definition: tuple[str, str]  # the node as a function of its inputs' ids: sympy text and LaTeX
    value: np.ndarray  # forward value from torch, in the dtype
    grad: np.ndarray | None  # d loss / d node by the chain rule (float64); None for constants
    autograd_grad: np.ndarray | None  # torch's, via retain_grad; None where torch keeps none
    local: dict[str, Local] = field(default_factory=dict)
    contributions: list[Contribution] = field(default_factory=list)
    verdict: Verdict | None = None


def summary(array: np.ndarray, dtype: str) -> dict[str, Any]:
    """Shape and a few statistics of a tensor too large to list."""
    with np.errstate(all="ignore"):
        return {
            "min": json_number(float(np.min(array)), dtype),
            "max": json_number(float(np.max(array)), dtype),
            "mean": json_number(float(np.mean(array)), dtype),
        }


def tensor_json(array: np.ndarray | None, dtype: str) -> Any:
    if array is None:
        return None
    if array.size > JSON_VALUE_LIMIT:
        return {"shape": list(array.shape), "summary": summary(array, dtype)}
    return json_nested(array, dtype)


@dataclass(frozen=True, eq=False, repr=False)
class Explanation(Display):
    version: str
    expression: str
    parsed: str
    dtype: str
    reduce: str | None
    nodes: list[ExplainedNode]
    loss: float
    tolerance: Tolerance
    wrt: list[str] = field(default_factory=list)  # the inputs whose gradients the JSON reports

    @property
    def output(self) -> ExplainedNode:
        return self.nodes[-1]

    @property
    def verdict(self) -> Word:
        return overall([n.verdict.word for n in self.nodes if n.verdict is not None])

    @property
    def agree(self) -> bool:
        return self.verdict.agrees

    def to_dict(self) -> dict[str, Any]:
        dtype = self.dtype
        nodes = []
        for item in self.nodes:
            node = item.node
            nodes.append(
                {
                    "id": node.id,
                    "op": node.op,
                    "expr": node.expr,
                    "inputs": list(node.inputs),
                    "definition": item.definition[0],
                    "shape": list(item.value.shape),
                    "value": tensor_json(item.value, dtype),
                    "grad": tensor_json(item.grad, dtype),
                    "autograd_grad": tensor_json(item.autograd_grad, dtype),
                    "local": {
                        child: {
                            "formula": local.formula,
                            "latex": local.latex,
                            "value": tensor_json(local.value, dtype),
                        }
                        for child, local in item.local.items()
                    },
                    "contributions": [
                        {
                            "from": c.parent,
                            "upstream": tensor_json(c.upstream, dtype),
                            "local": tensor_json(c.local, dtype),
                            "value": tensor_json(c.value, dtype),
                        }
                        for c in item.contributions
                    ],
                    "verdict": item.verdict.word.value if item.verdict else None,
                }
            )
        return {
            "backcalc": self.version,
            "expression": self.expression,
            "parsed": self.parsed,
            "dtype": dtype,
            "reduce": self.reduce,
            "nodes": nodes,
            "output": self.output.node.id,
            "loss": json_number(self.loss, dtype),
            "gradients": {
                item.node.id: tensor_json(item.grad, dtype)
                for item in self.nodes
                if item.node.op == "input" and item.node.id in self.wrt
            },
            "tolerance": {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol},
            "agree": self.agree,
            "verdict": self.verdict.value,
        }


@run_budget(limits.SYMBOLIC_SECONDS)
def explain(problem: Problem, rtol: float | None = None, atol: float | None = None) -> Explanation:
    """Every step of the backward pass of ``problem``'s loss, checked node by node against torch."""
    if problem.tree.mixes_elements():
        raise InputError(
            "explain shows element-wise expressions; for @, .T, reductions and softmax use grad, jacobian or hessian"
        )
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    graph, ids = build_graph(problem.tree)
    with recursion_room(limits.RECURSION_LIMIT):
        # Forward values in float64 at the dtype-rounded inputs: what the chain rule works with.
        record: dict[int, np.ndarray] = {}
        evaluate(problem.tree, problem.inputs, record=record)
        values64 = {ids[key]: value for key, value in record.items()}
        torch_values, torch_grads, loss = _torch_pass(problem, ids)
        with deadline(limits.SYMBOLIC_SECONDS, "local gradients"):
            definitions = {node.id: _definition(node, graph) for node in graph}
            locals_ = {node.id: _locals(node, graph, values64) for node in graph if node.differentiable}
    grads, contributions = _chain_rule(graph, locals_, values64, 1.0 / problem.count)
    edges = find_edges(problem.tree, problem.inputs, problem.numpy_dtype)
    explained = []
    for node in graph:
        grad, auto = grads.get(node.id), torch_grads.get(node.id)
        verdict = None
        if grad is not None and auto is not None:
            sides = {"chain_rule": grad, "autograd": auto}
            verdict = judge(compare(grad, auto, tolerance).outside, sides, edges, problem.output_shape)
        value = torch_values.get(node.id, values64[node.id].astype(problem.numpy_dtype))
        explained.append(
            ExplainedNode(
                node, definitions[node.id], value, grad, auto, locals_.get(node.id, {}), contributions[node.id], verdict
            )
        )
    return Explanation(
        version=__version__,
        expression=problem.expression,
        parsed=problem.parsed,
        dtype=problem.dtype,
        reduce=problem.reduction,
        nodes=explained,
        loss=loss,
        tolerance=tolerance,
        wrt=list(problem.wrt),
    )


def _shallow(node: GraphNode, graph: list[GraphNode]) -> Node:
    """The node's own operation on its arguments: a variable per differentiable argument (named by its
    id), the exact subtree of a constant one."""
    by_id = {item.id: item for item in graph}
    args = tuple(
        Node(VARIABLE, (), child) if by_id[child].differentiable else by_id[child].tree for child in node.inputs
    )
    return Node(node.tree.op, args, node.tree.text, node.tree.dim)


def _definition(node: GraphNode, graph: list[GraphNode]) -> tuple[str, str]:
    """The node as a function of its inputs' ids: sympy text and LaTeX."""
    tree = node.tree if node.op in ("input", "const") else _shallow(node, graph)
    expr = to_sympy(tree, symbols_for(tree.variables()))
    return (node.expr if node.op in ("input", "const") else formula_text(expr)), formula_latex(expr)


def _locals(node: GraphNode, graph: list[GraphNode], values64: dict[str, np.ndarray]) -> dict[str, Local]:
    """d node / d each differentiable input, by the record's local rule (arguments named u, v, w)."""
    if node.op in ("input", "const"):
        return {}
    shallow = _shallow(node, graph)
    placeholders = dict(zip(_PLACEHOLDERS, shallow.args, strict=False))
    result: dict[str, Local] = {}
    for index, child in enumerate(node.inputs):
        if child in result or not shallow.args[index].is_variable:
            continue
        # A child used twice (x*x) gets the sum of its rules: d(u*v)/dx = v + u at u = v = x.
        rules = [
            substitute(_rule(node.tree.record.local[i]), placeholders)
            for i, other in enumerate(node.inputs)
            if other == child
        ]
        derivative = functools.reduce(lambda a, b: Node(_PLUS, (a, b)), rules)
        expr = to_sympy(derivative, symbols_for(derivative.variables()))
        value = evaluate(derivative, {name: values64[name] for name in derivative.variables()})
        result[child] = Local(formula_text(expr), formula_latex(expr), value)
    return result


_PLACEHOLDERS = ("u", "v", "w")
_PLUS = ADD.name


@functools.cache
def _rule(text: str) -> Node:
    """A record's local rule, parsed once (the rules are the package's own text, not the user's)."""
    return parse(text)


def _chain_rule(
    graph: list[GraphNode], locals_: dict[str, dict[str, Local]], values64: dict[str, np.ndarray], scale: float
) -> tuple[dict[str, np.ndarray], dict[str, list[Contribution]]]:
    """From the loss down: each node's gradient is the sum of what its parents pass it."""
    grads: dict[str, np.ndarray] = {graph[-1].id: np.full(np.shape(values64[graph[-1].id]), scale)}
    contributions: dict[str, list[Contribution]] = {node.id: [] for node in graph}
    for node in reversed(graph):
        upstream = grads.get(node.id)
        if upstream is None:
            continue
        node_shape = np.shape(values64[node.id])
        for child, local in locals_.get(node.id, {}).items():
            with np.errstate(all="ignore"):
                passed = sum_to_shape(np.broadcast_to(upstream * local.value, node_shape), np.shape(values64[child]))
            contributions[child].append(Contribution(node.id, upstream, local.value, passed))
            grads[child] = grads[child] + passed if child in grads else passed
    return grads, contributions


def _torch_pass(problem: Problem, ids: dict[int, str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """Forward values of every node and torch's gradient of every node that requires one."""
    tensors = problem.leaves(requires_grad=problem.inputs)
    record: dict[int, Any] = {}
    output = problem.forward(tensors, record)
    by_id: dict[str, Any] = {}
    for key, tensor in record.items():
        by_id.setdefault(ids[key], tensor)
        if tensor.requires_grad and not tensor.is_leaf:
            tensor.retain_grad()
    loss = problem.loss(output)
    if loss.requires_grad:
        loss.backward()
    values = {node_id: tensor.detach().numpy() for node_id, tensor in by_id.items()}
    grads = {node_id: tensor.grad.numpy() for node_id, tensor in by_id.items() if tensor.grad is not None}
    return values, grads, float(loss.detach())
