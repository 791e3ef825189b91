"""The backward pass in stages, for a terminal of 80 columns: forward pass, local gradients, chain rule."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..analyses.explain import Explanation
from ..formats.numfmt import text
from .brief import brief
from .messages import explanation_message
from .terminal import fancy, titled_table, verdict_word

_table = titled_table


def _local_table(explanation: Explanation, rich_output: bool) -> Table:
    """Each edge's rule: d node / d child for an element-wise node; for any other, the vector-Jacobian
    product the child receives, with dN for the node's upstream gradient."""
    vjp = any(local.vjp for item in explanation.nodes for local in item.local.values())
    title = "Local gradients and vector-Jacobian products (dN: d loss / d N)" if vjp else "Local gradients"
    table = _table(title, rich_output)
    for heading in ("edge", "formula", "value"):
        table.add_column(heading, overflow="fold")
    for item in explanation.nodes:
        node = item.node.id
        for child, local in item.local.items():
            edge = f"d{child} from {node}" if local.vjp else f"d {node} / d {child}"
            table.add_row(edge, local.formula, brief(local.value, explanation.dtype))
    return table


def render_explanation(explanation: Explanation, console: Console) -> None:
    rich_output = fancy(console)
    dtype = explanation.dtype

    forward = _table(f"Forward pass ({dtype})", rich_output)
    for heading in ("node", "op", "definition", "value"):
        forward.add_column(heading, overflow="fold")
    for item in explanation.nodes:
        node = item.node
        definition = "" if node.op == "input" else item.definition[0]
        forward.add_row(Text(node.id, style="cyan"), node.op, definition, brief(item.value, dtype))
    console.print(forward)
    root = explanation.output.node.id
    how = f"{explanation.reduce}({root})" if explanation.reduce else f"{root} (already a scalar)"
    named = root == "loss" and not explanation.reduce  # the program's own loss = ... step
    console.print(Text.assemble("" if named else "loss = ", how, " = ", (text(explanation.loss, dtype), "bold")))
    console.print()

    console.print(_local_table(explanation, rich_output))
    console.print()

    backward = _table("Backward pass (upstream x local, summed over uses)", rich_output)
    for heading in ("node", "chain rule", "d loss/d node", "autograd", "verdict"):
        backward.add_column(heading, overflow="fold")
    for item in reversed(explanation.nodes):
        if item.grad is None:
            continue
        if item.contributions:
            steps = "\n".join(
                f"from {c.parent}: {c.rule or brief(c.upstream, dtype) + ' x ' + brief(c.local, dtype)}"
                for c in item.contributions
            )
        else:
            steps = "d loss / d output"
        word = verdict_word(item.verdict.word, rich_output) if item.verdict else Text("-")
        backward.add_row(
            Text(item.node.id, style="cyan"), steps, brief(item.grad, dtype), brief(item.autograd_grad, dtype), word
        )
    console.print(backward)
    console.print()

    verdict, message = explanation.verdict, explanation_message(explanation)
    console.print(Text.assemble(verdict_word(verdict, rich_output, mark_only=True), message))
