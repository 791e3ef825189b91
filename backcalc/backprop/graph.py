"""The computational graph of an expression, as typed: one node per operation, per number or constant,
and one per input variable (so a variable used twice feeds two operations, or one operation twice).

Node ids: an input is its own name, and so is a program's step (the node its expression ends in);
other operations are ``n1, n2, ...`` and numbers and constants ``c1, c2, ...`` in forward order
(children before parents), skipping any id an input or a step already uses. A step used twice is one
node with two parents.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..language.tree import Node, to_text


@dataclass(frozen=True)
class GraphNode:
    id: str
    op: str  # "input", "const", or the registry name of the operation
    expr: str  # canonical text of the subexpression
    inputs: tuple[str, ...]  # ids of the arguments, in order (``x*x`` has ("x", "x"))
    tree: Node  # the subexpression
    differentiable: bool  # depends on an input

    @property
    def distinct_inputs(self) -> list[str]:
        return list(dict.fromkeys(self.inputs))


def build_graph(tree: Node, labels: Collection[str] = ()) -> tuple[list[GraphNode], dict[int, str]]:
    """The graph's nodes in forward (topological) order, the output last, and the id of every tree
    node (keyed by ``id(tree_node)``). ``labels``, the integer inputs, are not differentiable, nor is
    what depends on nothing else (``one_hot(y, 3)``)."""
    taken = set(tree.variables()) | {node.name for node in tree.walk() if node.name}
    counters = {"n": 0, "c": 0}
    nodes: list[GraphNode] = []
    ids: dict[int, str] = {}
    inputs_seen: set[str] = set()

    def fresh(prefix: str) -> str:
        while True:
            counters[prefix] += 1
            candidate = f"{prefix}{counters[prefix]}"
            if candidate not in taken:
                return candidate

    # Post-order: children get their ids before their parents.
    for node in tree.postorder():
        if node.is_variable:
            ids[id(node)] = node.text
            if node.text not in inputs_seen:
                inputs_seen.add(node.text)
                nodes.append(GraphNode(node.text, "input", node.text, (), node, node.text not in labels))
            continue
        constant = all(item.text in labels for item in node.walk() if item.is_variable)
        if node.is_leaf:
            node_id, op = node.name or fresh("c"), "const"
        else:
            node_id, op = node.name or fresh("n"), node.op
        ids[id(node)] = node_id
        args = tuple(ids[id(child)] for child in node.args)
        nodes.append(GraphNode(node_id, op, to_text(node), args, node, not constant))
    return nodes, ids
