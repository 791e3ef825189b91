"""The backward pass, step by step: forward values of every node of the graph, the local gradient of
every edge (sympy), the chain rule from the loss down to the inputs (numpy, float64), and torch's own
gradient of every node (``retain_grad``) beside it, with a verdict per node."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import __version__, limits, numeric
from .api import NUMPY_DTYPES, Problem
from .compare import Tolerance, compare
from .deadline import deadline, recursion_room
from .display import Display
from .errors import InputError
from .graph import GraphNode, build_graph
from .numeric import Edge, sum_to_shape
from .numfmt import json_nested, json_number
from .tree import Node, to_text
from .verdict import AGREE, Verdict, judge, overall

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
    def verdict(self) -> str:
        return overall([n.verdict.word for n in self.nodes if n.verdict is not None])

    @property
    def agree(self) -> bool:
        return all(n.verdict.word == AGREE for n in self.nodes if n.verdict is not None)

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
                    "verdict": item.verdict.word if item.verdict else None,
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
            "verdict": self.verdict,
        }


def explain(problem: Problem, rtol: float | None = None, atol: float | None = None) -> Explanation:
    """Every step of the backward pass of ``problem``'s loss, checked node by node against torch."""
    import sympy

    from . import autograd, symbolic

    if problem.tree.mixes_elements():
        raise InputError(
            "explain shows element-wise expressions; for @, .T, reductions and softmax use grad, jacobian or hessian"
        )
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    graph, ids = build_graph(problem.tree)
    by_id = {node.id: node for node in graph}
    shape = problem.output_shape
    scalar = shape == ()
    scale = 1.0 / math.prod(shape) if problem.reduce == "mean" and not scalar else 1.0

    with recursion_room(limits.RECURSION_LIMIT):
        # Forward values in float64 at the dtype-rounded inputs: what the chain rule works with.
        record: dict[int, np.ndarray] = {}
        numeric.evaluate(problem.tree, problem.inputs, record=record)
        values64 = {ids[key]: value for key, value in record.items()}
        torch_values, torch_grads, loss, reduce = _torch_pass(problem, ids, autograd)

        locals_: dict[str, dict[str, Local]] = {}
        definitions: dict[str, tuple[str, str]] = {}
        with deadline(limits.SYMBOLIC_SECONDS, "local gradients"):
            for node in graph:
                if node.op in ("input", "const"):
                    definitions[node.id] = (
                        node.expr,
                        symbolic.formula_latex(symbolic.to_sympy(node.tree, {node.id: sympy.Symbol(node.id)})),
                    )
                    continue
                local_expr, symbols = _local_expression(node, by_id, symbolic)
                definitions[node.id] = (symbolic.formula_text(local_expr), symbolic.formula_latex(local_expr))
                if not node.differentiable:
                    continue
                env = {symbols[child]: values64[child] for child in symbols}
                locals_[node.id] = {}
                for child in node.distinct_inputs:
                    if child not in symbols:
                        continue
                    derivative = sympy.diff(local_expr, symbols[child])
                    locals_[node.id][child] = Local(
                        symbolic.formula_text(derivative),
                        symbolic.formula_latex(derivative),
                        symbolic.evaluate(derivative, env),
                    )

    # The chain rule, from the loss down: each node's gradient is the sum of what its parents pass.
    grads: dict[str, np.ndarray] = {graph[-1].id: np.full(np.shape(values64[graph[-1].id]), scale)}
    contributions: dict[str, list[Contribution]] = {node.id: [] for node in graph}
    for node in reversed(graph):
        upstream = grads.get(node.id)
        if upstream is None:
            continue
        node_shape = np.shape(values64[node.id])
        for child, local in locals_.get(node.id, {}).items():
            child_shape = np.shape(values64[child])
            with np.errstate(all="ignore"):
                passed = sum_to_shape(np.broadcast_to(upstream * local.value, node_shape), child_shape)
            contributions[child].append(Contribution(node.id, upstream, local.value, passed))
            grads[child] = grads[child] + passed if child in grads else passed

    edges: list[Edge] = []
    numeric.evaluate(problem.tree, problem.inputs, edges, NUMPY_DTYPES[problem.dtype])
    cast = NUMPY_DTYPES[problem.dtype]
    explained = []
    for node in graph:
        # A literal exponent stays a Python number in torch (see autograd.py): show numpy's value.
        value = torch_values[node.id] if node.id in torch_values else values64[node.id].astype(cast)
        grad = grads.get(node.id)
        auto = torch_grads.get(node.id)
        verdict = None
        if grad is not None and auto is not None:
            comparison = compare(grad, auto, tolerance)
            verdict = judge(comparison.outside, {"chain_rule": grad, "autograd": auto}, edges, shape)
        explained.append(
            ExplainedNode(
                node,
                definitions[node.id],
                value,
                grad,
                auto,
                locals_.get(node.id, {}),
                contributions[node.id],
                verdict,
            )
        )
    return Explanation(
        version=__version__,
        expression=problem.expression,
        parsed=to_text(problem.tree),
        dtype=problem.dtype,
        reduce=reduce,
        nodes=explained,
        loss=loss,
        tolerance=tolerance,
        wrt=list(problem.wrt),
    )


def _local_expression(node: GraphNode, by_id: dict[str, GraphNode], symbolic: Any) -> tuple[Any, dict[str, Any]]:
    """The node's own operation on its arguments: a symbol per differentiable argument (named by its
    id), the exact value of a constant one."""
    args = []
    for child_id in node.inputs:
        child = by_id[child_id]
        args.append(Node("variable", (), child_id) if child.differentiable else child.tree)
    shallow = Node(node.tree.op, tuple(args), node.tree.text)
    symbols = symbolic.symbols_for(shallow.variables())
    return symbolic.to_sympy(shallow, symbols), symbols


def _torch_pass(
    problem: Problem, ids: dict[int, str], autograd: Any
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float, str | None]:
    """Forward values of every node and torch's gradient of every node that requires one."""
    import torch

    dtype = autograd.DTYPES[problem.dtype]
    tensors = {name: torch.tensor(value, dtype=dtype, requires_grad=True) for name, value in problem.inputs.items()}
    record: dict[int, torch.Tensor] = {}
    output = autograd.evaluate(problem.tree, tensors, dtype, record)
    by_id: dict[str, torch.Tensor] = {}
    for key, tensor in record.items():
        by_id.setdefault(ids[key], tensor)
        if tensor.requires_grad and not tensor.is_leaf:
            tensor.retain_grad()
    loss, reduce = autograd.to_loss(output, problem.reduce)
    if loss.requires_grad:
        loss.backward()
    values = {node_id: tensor.detach().numpy() for node_id, tensor in by_id.items()}
    grads = {node_id: tensor.grad.numpy() for node_id, tensor in by_id.items() if tensor.grad is not None}
    return values, grads, float(loss.detach()), reduce
