"""The project's own expression tree: what the parser builds and every evaluator reads.

A :class:`Node` is an operation of the registry (``op``, a name that :func:`backcalc.ops.get` knows)
on child nodes (``args``), with an optional integer dimension (``sum(x, 0)``), the options of the
call that differ from the record's defaults (``keepdim=True``), and the span of the source text it
came from. Leaves are numbers (``text`` is the literal), constants (``pi``, ``e``)
and input variables. Printing back to text and to LaTeX is generic: each record says how it is
written.

A program of named steps (:mod:`backcalc.language.program`) is one graph: the node a step ends in
carries the step's ``name`` and is shared by every later use, so a tree here may be a DAG. The walkers
visit each node once, and a named node below the one printed is written by its name (``2*s``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .. import limits, ops

NUMBER, CONSTANT, VARIABLE = "number", "constant", "variable"
LEAVES = (NUMBER, CONSTANT, VARIABLE)


@dataclass(frozen=True, slots=True)
class Node:
    """One node of an expression tree. ``start``/``end`` index the source."""

    op: str
    args: tuple[Node, ...] = ()
    text: str = ""  # a leaf's literal, constant name or input name
    dim: int | None = None  # the dimension argument of a reduction
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    name: str = field(default="", compare=False)  # the program step this node is the value of
    options: ops.Options = ()  # a call's options, (name, value) in the record's order, defaults left out

    def __eq__(self, other: object) -> bool:
        # Structural, but a program's step is itself (two steps alike are still two steps): the
        # comparison stops there, so it never walks a shared step once per path.
        if self is other:
            return True
        if not isinstance(other, Node):
            return NotImplemented
        if self.name or other.name:
            return False
        mine = (self.op, self.text, self.dim, self.options, self.args)
        return mine == (other.op, other.text, other.dim, other.options, other.args)

    def __hash__(self) -> int:
        if self.name:
            return id(self)
        return hash((self.op, self.text, self.dim, self.options, self.args))

    @property
    def is_leaf(self) -> bool:
        return self.op in LEAVES

    @property
    def is_variable(self) -> bool:
        return self.op == VARIABLE

    @property
    def record(self) -> ops.Op:
        """The registry's record of this node's operation (not for leaves)."""
        return ops.get(self.op)

    def number(self) -> float:
        """The value of a number or constant leaf."""
        return float(self.text) if self.op == NUMBER else ops.constants()[self.text][0]

    def literal(self) -> float | None:
        """The value of a literal number or a negated one; None for anything else."""
        if self.op == NUMBER:
            return float(self.text)
        if self.args and self.args[0].op == NUMBER and self.record.syntax is ops.Syntax.PREFIX:
            return -float(self.args[0].text)
        return None

    def walk(self) -> Iterator[Node]:
        """Every node once, a node before its children (its first parent before it, in a DAG)."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            stack.extend(reversed(node.args))

    def postorder(self) -> Iterator[Node]:
        """Every node once, children before parents (without recursion): a topological order of the
        graph, the root last. A node shared by several parents (a program's step) comes once."""
        seen: set[int] = set()
        stack: list[tuple[Node, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                yield node
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.args) if id(child) not in seen)

    def variables(self) -> list[str]:
        """The input variables, in order of first appearance."""
        seen: dict[str, None] = {}
        for node in self.walk():
            if node.is_variable:
                seen.setdefault(node.text)
        return list(seen)

    def is_constant(self) -> bool:
        """True when no variable occurs below this node."""
        return not any(node.is_variable for node in self.walk())

    def mixes_elements(self) -> bool:
        """True when an output element may depend on several elements of an input (``@``, ``.T``,
        reductions, softmax): then gradients are not element-wise formulas."""
        return any(not node.is_leaf and not node.record.elementwise for node in self.walk())

    def __str__(self) -> str:
        return to_text(self)


def substitute(tree: Node, replacements: dict[str, Node]) -> Node:
    """``tree`` with each variable named in ``replacements`` replaced by its subtree (a node shared
    in ``tree`` stays shared)."""
    return rewrite(tree, lambda node: replacements.get(node.text) if node.is_variable else None)


def rewrite(tree: Node, replace: Callable[[Node], Node | None]) -> Node:
    """``tree`` with each node for which ``replace`` gives a node replaced by it (not looked into),
    the rest rebuilt only where something below changed; a shared node stays shared."""
    done: dict[int, Node] = {}
    for node in tree.postorder():
        new = replace(node)
        if new is not None:
            done[id(node)] = new
        elif node.is_leaf:
            done[id(node)] = node
        else:
            args = tuple(done[id(arg)] for arg in node.args)
            same = all(a is b for a, b in zip(args, node.args, strict=True))
            done[id(node)] = node if same else rebuilt(node, args)
    return done[id(tree)]


def rebuilt(node: Node, args: tuple[Node, ...], **changes: object) -> Node:
    """``node`` on new arguments, everything else (span, step name, options) kept unless changed."""
    fields = {"text": node.text, "dim": node.dim, "start": node.start, "end": node.end, "name": node.name}
    return Node(node.op, args, options=node.options, **{**fields, **changes})  # type: ignore[arg-type]


def to_text(node: Node, named: bool = False) -> str:
    """Canonical text: explicit ``*``, ``**`` for powers, fewest parentheses; parses back to ``node``.
    A program's step below ``node`` is written by its name; ``node`` itself too when ``named``."""
    if node.name and named:
        return node.name
    if node.is_leaf:
        return node.text
    op = node.record
    syntax = op.syntax
    if syntax is ops.Syntax.CALL and op.listed:  # cat([a, b], 0)
        given = "" if node.dim is None else f", {node.dim}"
        return f"{op.name}([{', '.join(to_text(arg, True) for arg in node.args)}]{given})"
    if syntax is ops.Syntax.CALL:
        dim = [] if node.dim is None else [str(node.dim)]
        options = op.option_texts(node.options)
        args = [to_text(arg, True) for arg in node.args]
        lead = len(args) if op.options_after is None else op.options_after  # layer_norm(x, (3,), w)
        return f"{op.name}({', '.join([*args[:lead], *dim, *options[:1], *args[lead:], *options[1:]])})"
    if syntax is ops.Syntax.SUBSCRIPT:
        child, *tensors = node.args
        key = str(op.settings(node.options)["at"])
        items = iter(to_text(tensor, True) for tensor in tensors)
        inner = ", ".join(next(items) if part.strip() == "#" else part.strip() for part in key.split(","))
        return _wrap(child, not child.name and (precedence(child) < ops.ATOM or child.op == NUMBER)) + f"[{inner}]"
    if syntax is ops.Syntax.POSTFIX:
        # `2.T` would read as `2. T`: a number gets parentheses too.
        child = node.args[0]
        return _wrap(child, not child.name and (precedence(child) < ops.ATOM or child.op == NUMBER)) + op.symbol
    if syntax is ops.Syntax.PREFIX:
        # `-x**2` needs no parentheses (power binds tighter); `-(-x)` and `-(a*b)` do.
        child = node.args[0]
        return op.symbol + _wrap(child, precedence(child) <= op.precedence)
    left, right = node.args
    mine = op.precedence
    if mine == ops.POWER:
        # Right-associative: parenthesise a power or sign on the left, a sum or product on the right.
        return f"{_wrap(left, precedence(left) <= mine)}{op.symbol}{_wrap(right, precedence(right) < ops.SIGN)}"
    # Left-associative: `a - (b - c)` and `a / (b * c)` keep their parentheses; `@` beside `*` or `/`
    # gets them too, for the reader: `(g@W.T)*h`, not `g@W.T*h`.
    mixed = mine == ops.PRODUCT and _MATMUL in (op.name, left.op)
    # Comparisons do not chain: (a < b) < c keeps its parentheses.
    chained = mine < ops.SUM and precedence(left) == mine
    left_text = _wrap(
        left, chained or precedence(left) < mine or (mixed and left.op != op.name and precedence(left) == mine)
    )
    right_mixed = mine == ops.PRODUCT and _MATMUL in (op.name, right.op) and right.op != op.name
    right_text = _wrap(right, precedence(right) <= mine or (right_mixed and precedence(right) == mine))
    # Sums are spaced, products are not: `2*x + 3*y`, `W@x`.
    sep = f" {op.symbol} " if mine <= ops.SUM else op.symbol
    return f"{left_text}{sep}{right_text}"


_MATMUL = ops.infix_at(ops.PRODUCT)["@"].name


def _wrap(node: Node, parens: bool) -> str:
    text = to_text(node, True)
    return f"({text})" if parens and not node.name else text


def printed_size(node: Node, known: dict[int, tuple[Node, int]] | None = None) -> int:
    """The nodes :func:`to_text` writes for ``node`` (with ``named``): a program's step counts one,
    and a node shared within a formula counts once per use. Counted on the graph, without writing;
    ``known`` keeps the counts for the next formula that shares nodes with this one."""
    counts: dict[int, tuple[Node, int]] = {} if known is None else known
    for item in node.postorder():
        seen = counts.get(id(item))
        if seen is None or seen[0] is not item:
            size = 1 if item.name else 1 + sum(counts[id(arg)][1] for arg in item.args)
            counts[id(item)] = (item, size)
    return counts[id(node)][1]


def printable(node: Node, known: dict[int, tuple[Node, int]] | None = None) -> bool:
    """True when the formula is small enough to write out (:data:`~backcalc.limits.MAX_FORMULA_NODES`)."""
    return printed_size(node, known) <= limits.MAX_FORMULA_NODES


def precedence(node: Node) -> int:
    """How tightly the node's text binds: a name (a leaf, or a program's step) binds tightest."""
    return ops.ATOM if node.is_leaf or node.name else node.record.precedence


def to_latex(node: Node, names: dict[str, str] | None = None) -> str:
    """LaTeX of the tree from each record's template; ``names`` maps input names to LaTeX symbols. A
    program's step below ``node`` is written by its name."""
    return _latex(node, names or {}, top=True)


def _latex(node: Node, names: dict[str, str], top: bool = False) -> str:
    if node.name and not top:
        return names.get(node.name, node.name)
    if node.op == VARIABLE:
        return (names or {}).get(node.text, node.text)
    if node.op == CONSTANT:
        return ops.constants()[node.text][2]
    if node.op == NUMBER:
        return node.text
    op = node.record
    if op.syntax is ops.Syntax.SUBSCRIPT:  # x_{[0, 1:3]}, its tensor indices by their LaTeX
        tensors = iter(_latex(arg, names) for arg in node.args[1:])
        key = str(op.settings(node.options)["at"]).split(",")
        inner = ", ".join(next(tensors) if part.strip() == "#" else part.strip() for part in key)
        return rf"{{{_latex(node.args[0], names)}}}_{{\left[{inner}\right]}}"
    parts = []
    for index, child in enumerate(node.args):
        text = _latex(child, names)
        loose = precedence(child) < op.precedence if index == 0 else precedence(child) <= op.precedence
        if op.syntax is ops.Syntax.CALL or (op.precedence == ops.POWER and index == 1):
            loose = False  # inside the call's own parentheses, or up in the exponent
        parts.append(rf"\left({text}\right)" if loose and op.syntax is not ops.Syntax.CALL else text)
    latex = op.latex.format(*parts, all=", ".join(parts))  # {all}: every argument (linear's optional bias)
    if node.dim is not None:
        latex += rf"_{{\text{{dim}} {node.dim}}}"
    if node.options:
        options = ", ".join(f"{name}={ops.option_text(value)}" for name, value in node.options)
        escaped = options.replace("_", "\\_").replace("#", "\\#")
        latex += rf"\left[\text{{{escaped}}}\right]"
    return latex
