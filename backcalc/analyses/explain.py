"""The backward pass, step by step, for every expression of the language: forward values of every node
of the graph, the local rule of every edge and the chain rule from the loss down to the inputs
(:mod:`backcalc.backprop.chain_rule`, float64), and torch's own gradient of every node (``retain_grad``)
beside it, with a verdict per node."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import limits
from .._version import __version__
from ..backprop.chain_rule import Contribution, Local, chain_rule, definition, local_rules
from ..backprop.graph import GraphNode, build_graph
from ..formats.numfmt import json_nested, json_number
from ..limits import deadline, recursion_room, run_budget
from ..numeric.compare import Tolerance, compare
from ..numeric.edges import find_edges
from ..numeric.numpy_eval import evaluate
from ..numeric.verdict import Verdict, Word, judge, overall
from .problem import Problem

JSON_VALUE_LIMIT = 10_000  # larger tensors appear in the JSON as a summary, not element by element


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
class Explanation:
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
        """The gravest node's; ``unchecked`` when torch has a gradient for no node (the loss does not
        depend on the inputs), at least ``edge`` when the loss is not finite."""
        words = [n.verdict.word for n in self.nodes if n.verdict is not None]
        if not words:
            return Word.UNCHECKED
        return overall(words + ([] if math.isfinite(self.loss) else [Word.EDGE]))

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
                            "vjp": local.vjp,
                        }
                        for child, local in item.local.items()
                    },
                    "contributions": [
                        {
                            "from": c.parent,
                            "upstream": tensor_json(c.upstream, dtype),
                            "local": tensor_json(c.local, dtype),
                            "value": tensor_json(c.value, dtype),
                            "rule": c.rule,
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
    tolerance = Tolerance.for_dtype(problem.dtype, rtol, atol)
    graph, ids = build_graph(problem.tree, problem.labels)
    with recursion_room(limits.RECURSION_LIMIT):
        # Forward values in float64 at the dtype-rounded inputs: what the chain rule works with.
        record: dict[int, np.ndarray] = {}
        evaluate(problem.tree, problem.inputs, record=record)
        values64 = {ids[key]: value for key, value in record.items()}
        torch_values, torch_grads, loss = _torch_pass(problem, ids)
        with deadline(limits.SYMBOLIC_SECONDS, "local gradients"):
            definitions = {node.id: definition(node, graph) for node in graph}
            locals_ = {node.id: local_rules(node, graph, values64) for node in graph if node.differentiable}
        grads, contributions = chain_rule(graph, locals_, values64, 1.0 / problem.count)
    edges = find_edges(problem.tree, problem.inputs, problem.numpy_dtype)
    reference: dict[str, np.ndarray] | None = None  # torch's float64 gradients: the witness of rounding
    explained = []
    for node in graph:
        grad, auto = grads.get(node.id), torch_grads.get(node.id)
        verdict = None
        if grad is not None and auto is not None:
            sides = {"chain_rule": grad, "autograd": auto}
            comparison = compare(grad, auto, tolerance)
            if comparison.mismatches and problem.dtype != "float64" and reference is None:
                reference = _torch_pass(replace(problem, dtype="float64"), ids)[1]
            verdict = judge(
                comparison.outside,
                sides,
                edges,
                problem.output_shape,
                coarse=problem.tree.mixes_elements(),
                reference=reference.get(node.id) if reference is not None else None,
            )
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
