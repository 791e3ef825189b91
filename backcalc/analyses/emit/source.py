"""A self-contained Python file from formula trees: :func:`emit` writes ``loss(**inputs)``,
``gradient(**inputs)`` (a dict, input name to array) and, given a Hessian's formula, ``hessian(**inputs)``,
in NumPy or torch, with the helpers its operations call and a header saying what it computes.

The file imports NumPy or torch alone. Each function takes the inputs by name (lists or arrays:
``np.asarray``/``torch.as_tensor`` them), computes the program's steps as local assignments in order, then
its formulas. The formulas are the ones backcalc evaluates, so the numbers are backcalc's own. With
the inputs given (small enough to write out), running the file prints the loss and the gradient there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...language.tree import Node
from .writer import TARGET_TABLE, Writer, local_names

Shape = tuple[int, ...]
#: At most this many input elements are written into the file's ``__main__`` block.
MAX_EMBEDDED_ELEMENTS = 10_000


@dataclass(frozen=True)
class Signature:
    """What the emitted functions take and what the header says of them."""

    shapes: Mapping[str, Shape]  # every input, in order
    labels: Sequence[str] = ()  # the inputs that hold integer labels
    reduce: str | None = None  # how the output becomes the loss: the reduction's name, or None (a scalar)
    description: Sequence[str] = ()  # the header's lines: what the file computes, from which expression
    values: Mapping[str, np.ndarray] = field(default_factory=dict)  # the inputs, for the __main__ block


def emit(
    target: str,
    loss: Node,
    gradients: Mapping[str, Node],
    signature: Signature,
    hessian: Node | Mapping[str, Node] | None = None,
) -> str:
    """The Python source of ``loss``, ``gradient`` and (given ``hessian``) ``hessian`` in ``target``
    ("numpy" or "torch"). ``loss`` is the output's tree (reduced by ``signature.reduce``); each gradient
    and Hessian formula must have the shape it returns (the emitter broadcasts a constant or smaller one)."""
    spec = TARGET_TABLE[target]
    steps = [node.name for node in loss.postorder() if node.name]
    names = local_names([*signature.shapes, *steps])
    writer = Writer(spec, names, frozenset(signature.labels))
    # The reduction is the record of its name (sum or mean), written as any operation is.
    total = Node(signature.reduce, (loss,)) if signature.reduce else loss
    functions = [_function(writer, signature, "loss", [total], lambda codes: codes[0])]
    functions.append(_mapping_function(writer, signature, "gradient", gradients, signature.shapes))
    if isinstance(hessian, Node):
        functions.append(_function(writer, signature, "hessian", [hessian], lambda codes: codes[0]))
    elif hessian is not None:
        functions.append(_mapping_function(writer, signature, "hessian", hessian, None))
    main = _main(signature, hessian is not None)
    parts = [
        _header(signature, target, hessian is not None, bool(main)) + "\n" + spec.imports,
        *writer.helpers.values(),
        *functions,
    ]
    return "\n\n\n".join(part for part in [*parts, main] if part) + "\n"


def _mapping_function(
    writer: Writer, signature: Signature, name: str, formulas: Mapping[str, Node], shapes: Mapping[str, Shape] | None
) -> str:
    keys = list(local_names(formulas))  # each key an identifier, written as a quoted literal
    roots = [formulas[key] for key in keys]

    def returned(codes: list[str]) -> str:
        items = []
        for key, root, code in zip(keys, roots, codes, strict=True):
            want = None if shapes is None else shapes.get(key)
            if want is not None and (root.is_constant() or _shape(root, signature) != tuple(want)):
                code = writer.target.shaped.format(code, tuple(want))
            items.append(f'        "{key}": {code},')
        return "{\n" + "\n".join(items) + "\n    }" if items else "{}"

    return _function(writer, signature, name, roots, returned)


def _function(writer: Writer, signature: Signature, name: str, roots: list[Node], returned: Any) -> str:
    spec = writer.target
    lines = [f"def {name}(**inputs):"]
    for input_name in signature.shapes:
        kind = spec.labels if input_name in signature.labels else spec.array
        given = 'inputs["' + input_name + '"]'
        lines.append(f"    {writer.names[input_name]} = {kind.format(given)}")
    assignments, codes = writer.body(roots)
    lines += [f"    {line}" for line in assignments]
    lines.append(f"    return {returned(codes)}")
    return "\n".join(lines)


def _shape(node: Node, signature: Signature) -> Shape:
    from ...language.shapes import infer

    return infer(node, dict(signature.shapes))[id(node)]


def _header(signature: Signature, target: str, with_hessian: bool, with_main: bool) -> str:
    library = {"numpy": "NumPy", "torch": "torch"}[target]
    lines = [*signature.description]
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in signature.shapes.items())
    lines.append(f"For inputs of these shapes (the formulas are written for them): {shapes}.")
    if signature.labels:
        lines.append(f"Integer labels (no gradient): {', '.join(signature.labels)}.")
    lines.append("loss(**inputs): the loss; gradient(**inputs): a dict, input name to d loss / d input.")
    if with_hessian:
        lines.append("hessian(**inputs): the Hessian of the loss.")
    lines.append(f"Needs only {library}; inputs by name, as arrays or nested lists.")
    if with_main:
        lines.append("Run as a file (python FILE), it prints them at the inputs backcalc was given.")
    # Every line a comment of its own: no text of the expression can end the comment.
    return "\n".join(f"# {line}".rstrip() for text in lines for line in text.splitlines())


def _main(signature: Signature, with_hessian: bool) -> str:
    values = signature.values
    if not values or sum(np.asarray(v).size for v in values.values()) > MAX_EMBEDDED_ELEMENTS:
        return ""
    items = ", ".join('"' + name + '": ' + _literal(np.asarray(values[name]).tolist()) for name in signature.shapes)
    lines = [
        # Only as a file (python f.py): python -c of the text, or an exec, prints nothing of its own.
        'if __name__ == "__main__" and "__file__" in globals():',
        f"    INPUTS = {{{items}}}",
        '    print("loss:", float(loss(**INPUTS)))',
        "    for name, value in gradient(**INPUTS).items():",
        '        print(f"d loss / d {name}:", value)',
    ]
    if with_hessian:
        lines.append('    print("hessian:", hessian(**INPUTS))')
    return "\n".join(lines)


def _literal(value: Any) -> str:
    """A nested list of numbers as Python source (nan and inf as float("nan"), float("inf"))."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, float) and not np.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)
