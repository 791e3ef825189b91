"""The computational graph as Graphviz DOT, in micrograd's style: a record per node with its value and
its gradient, a small node per operation; and rendering through Graphviz's ``dot`` program."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from .. import ops
from ..errors import InputError, OutputError
from ..formats.numfmt import text
from .brief import brief

if TYPE_CHECKING:
    from ..analyses.explain import Explanation


def _escape(text: str) -> str:
    for char in '\\{}|<>"':
        text = text.replace(char, "\\" + char)
    return text


def to_dot(explanation: Explanation) -> str:
    dtype = explanation.dtype
    lines = [
        "digraph backcalc {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        f'  label="{_escape(explanation.parsed)}   loss = {text(explanation.loss, dtype)}";',
    ]
    for item in explanation.nodes:
        node = item.node
        title = node.id if node.op == "input" else f"{node.id} = {node.expr}"
        shape = f"shape [{', '.join(map(str, item.value.shape))}]" if item.value.shape else "scalar"
        fields = [title, shape, f"value {brief(item.value, dtype)}"]
        if item.grad is not None:
            fields.append(f"grad {brief(item.grad, dtype)}")
        label = "{ " + " | ".join(_escape(f) for f in fields) + " }"
        lines.append(f'  "{node.id}" [shape=record, label="{label}"];')
        if node.inputs:
            op = ops.get(node.op).symbol  # "+" for an operator, the name for a function
            lines.append(f'  "{node.id}_op" [shape=ellipse, label="{_escape(op)}"];')
            lines.append(f'  "{node.id}_op" -> "{node.id}";')
            lines.extend(f'  "{child}" -> "{node.id}_op";' for child in node.inputs)
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_program() -> str | None:
    return shutil.which("dot")


def write_text(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def render(source: str, path: str, fmt: str) -> None:
    """Run ``dot -T<fmt>``; say clearly when Graphviz is missing or fails."""
    program = dot_program()
    if program is None:
        raise InputError("Graphviz's `dot` program is not installed (apt-get install graphviz)")
    try:
        subprocess.run(
            [program, f"-T{fmt}", "-o", path], input=source, text=True, check=True, capture_output=True, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        raise OutputError(f"dot could not render {path!r}: {exc.stderr.strip().splitlines()[-1:] or exc}") from None
    except subprocess.TimeoutExpired:
        raise InputError(f"dot took longer than 120 s to render {path!r}") from None
