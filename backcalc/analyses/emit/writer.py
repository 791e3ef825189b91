"""The generic walker of emitted code: formula trees to the lines of one Python function body, each
node written by its record's ``numpy_code`` or ``torch_code`` (:mod:`backcalc.ops.code`).

A program's step becomes a local assignment under its name, a node that several formulas share
one temporary (``_t1 = ...``), computed once as NumPy's evaluator computes it once; everything else
is written inline, parenthesized as Python needs. Nothing of the user's text reaches the code but
names, which are identifiers, renamed where they would meet a name of the code (``np``, a Python
builtin, a helper): every name the code itself makes starts with ``_``, no user name does.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ... import ops
from ...errors import InputError
from ...language.tree import CONSTANT, NUMBER, Node
from ...ops.code import TARGETS, Code, as_code, helper_name

# Python's parser takes at most 200 nested parentheses: deeper code is cut into temporaries.
_MAX_NESTING = 32
_EXACT_DIGITS = 15  # an integer literal of at most this many digits is written as one (a float beyond)
_IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
#: Names the emitted code uses that a user's name must not take (the imports, the functions' parameter).
_TAKEN = {*TARGETS.values(), "inputs", "math"} | set(dir(builtins)) | set(keyword.kwlist)


@dataclass(frozen=True)
class Target:
    """What emitted code of one target writes around the operations."""

    name: str
    imports: str
    array: str  # an input of floats, by name: {0} is inputs["x"]
    labels: str  # an input of integer labels
    literal: str  # a number where it must be an array ({0} its Python literal)
    constants: Mapping[str, str]  # the language's constants
    shaped: str  # {0} broadcast to the shape {1}, as an array of its own
    # A Python number beside a tensor of whole numbers gives the library's default float (torch's
    # float32): there the number is written as a float64 array.
    wraps_beside_integers: bool = False


TORCH_FLOAT = "torch.float64"
TARGET_TABLE = {
    "numpy": Target(
        "numpy",
        "import numpy as np",
        "np.asarray({0}, dtype=np.float64)",
        "np.asarray({0}, dtype=np.int64)",
        "np.float64({0})",
        {"pi": "np.pi", "e": "np.e"},
        "np.broadcast_to(np.asarray({0}, dtype=np.float64), {1}).copy()",
    ),
    "torch": Target(
        "torch",
        "import torch",
        f"torch.as_tensor({{0}}, dtype={TORCH_FLOAT})",
        "torch.as_tensor({0}, dtype=torch.int64)",
        f"torch.tensor({{0}}, dtype={TORCH_FLOAT})",
        {"pi": "torch.pi", "e": "torch.e"},
        f"torch.broadcast_to(torch.as_tensor({{0}}, dtype={TORCH_FLOAT}), {{1}}).clone()",
        wraps_beside_integers=True,
    ),
}


def local_names(names: Iterable[str]) -> dict[str, str]:
    """A Python name for each user name (inputs and steps): itself where it is free, else renamed
    (``np`` to ``np_``, ``_x`` to ``v_x``); never one of the code's own."""
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
            raise InputError(f"{name!r} cannot name a variable of emitted code")
    chosen: dict[str, str] = {}
    used = set(wanted)
    for name in wanted:
        local = name if not name.startswith("_") else "v" + name
        if local in _TAKEN or (local != name and local in used):
            while local in _TAKEN or local in used:
                local += "_"
        used.add(local)
        chosen[name] = local
    return chosen


@dataclass
class Writer:
    """Writes the formulas of one function body; keeps the helpers they call, for the file."""

    target: Target
    names: Mapping[str, str]  # user name -> local name
    labels: frozenset[str] = frozenset()  # the inputs of whole numbers
    helpers: dict[str, str] = field(default_factory=dict)  # name -> source, in order of first use

    def body(self, roots: list[Node]) -> tuple[list[str], list[str]]:
        """The assignments the ``roots`` need (steps and shared nodes, in order), and each root's code."""
        uses = _uses(roots)
        assigned: dict[int, str] = {}
        inline: dict[int, tuple[str, int]] = {}
        depths: dict[int, int] = {}  # how deep each inline node's code nests
        lines: list[str] = []
        taken: set[str] = set()
        for node in _postorder(roots):
            if node.is_leaf:
                continue
            text, precedence = self.node(node, assigned, inline)
            depth = 1 + max((depths.get(id(arg), 0) for arg in node.args), default=0)
            local = self.names.get(node.name) if node.name else None
            if local is not None and local not in taken:
                assigned[id(node)] = local
            elif uses[id(node)] > 1 or node.name or depth > _MAX_NESTING:
                assigned[id(node)] = f"_t{len(assigned) - len(taken) + 1}"  # no user name starts with _
            else:
                inline[id(node)] = (text, precedence)
                depths[id(node)] = depth
                continue
            if local is not None and assigned[id(node)] == local:
                taken.add(local)
            lines.append(f"{assigned[id(node)]} = {text}")
        return lines, [self.argument(root, assigned, inline) for root in roots]

    def node(self, node: Node, assigned: dict[int, str], inline: dict[int, tuple[str, int]]) -> tuple[str, int]:
        """One node's code and its precedence, from its arguments' code."""
        op = node.record
        code = as_code(getattr(op, f"{self.target.name}_code"))
        if code is None:  # every record has both (a test goes over the registry): a record added without them
            raise InputError(f"--emit cannot write {op.name} in {self.target.name} code yet (its record has none)")
        literals = all(arg.op in (NUMBER, CONSTANT) for arg in node.args)
        beside_integers = self.target.wraps_beside_integers and any(self._integral(arg) for arg in node.args)
        args = []
        for index, arg in enumerate(node.args):
            # Of numbers alone, the first is an array (2/0 is inf, as NumPy and torch give it, not an error).
            bare = code.precedence is not None and not (literals and index == 0) and not beside_integers
            text = self.argument(arg, assigned, inline, bare)
            inner = ops.ATOM if arg.is_leaf or id(arg) in assigned else inline[id(arg)][1]
            args.append(f"({text})" if _needs_parentheses(code, op.syntax, index, inner) else text)
        text = code.write(args, op.keywords(node.dim, node.options))
        self._note_helpers(text, code.helpers)
        return text, ops.ATOM if code.precedence is None else code.precedence

    def _integral(self, node: Node) -> bool:
        """Whether the node holds whole numbers (labels, ``arange``, a subscript or reshaping of them)."""
        if node.is_leaf:
            return node.is_variable and node.text in self.labels
        op = node.record
        return op.integer_output or (op.keeps_integers and bool(node.args) and self._integral(node.args[0]))

    def _note_helpers(self, text: str, sources: tuple[str, ...]) -> None:
        """Keep the helpers ``text`` calls, and those they call in turn (each once, in order of use)."""
        calls = text
        for _ in sources:
            for source in sources:
                name = helper_name(source)
                if name not in self.helpers and re.search(rf"\b{name}\(", calls):
                    self.helpers[name] = source
                    calls += "\n" + source
                    break

    def argument(
        self, node: Node, assigned: dict[int, str], inline: dict[int, tuple[str, int]], bare: bool = False
    ) -> str:
        """The code of a node used as an argument (a number is a Python literal only beside an array)."""
        if node.is_variable:
            return self.names[node.text]
        if node.op == CONSTANT:
            text = self.target.constants[node.text]
            return text if bare else self.target.literal.format(text)
        if node.op == NUMBER:
            value = float(node.text)
            text = repr(value) if math.isfinite(value) else f"float({str(value)!r})"
            if node.text.isdigit() and len(node.text) <= _EXACT_DIGITS:
                text = node.text  # x ** 2, as typed
            return text if bare else self.target.literal.format(text)
        return assigned.get(id(node)) or inline[id(node)][0]


def _needs_parentheses(code: Code, syntax: ops.Syntax, index: int, inner: int) -> bool:
    """Whether an argument of this precedence needs parentheses in an operator's code."""
    outer = code.precedence
    if outer is None or inner > outer:
        return False
    if inner < outer:
        return True
    if outer == ops.ATOM:
        return False
    if syntax is ops.Syntax.PREFIX:
        return True
    # Left-associative but a power: a - (b - c), (a**b)**c.
    return index == 0 if outer == ops.POWER else index > 0


def _postorder(roots: list[Node]) -> list[Node]:
    seen: set[int] = set()
    order = []
    for root in roots:
        for node in root.postorder():
            if id(node) not in seen:
                seen.add(id(node))
                order.append(node)
    return order


def _uses(roots: list[Node]) -> dict[int, int]:
    """How many parents use each node, over all the roots (a root counts as used once)."""
    counts: dict[int, int] = {}
    for root in roots:
        counts[id(root)] = counts.get(id(root), 0) + 1
    for node in _postorder(roots):
        for arg in node.args:
            counts[id(arg)] = counts.get(id(arg), 0) + 1
    return counts
