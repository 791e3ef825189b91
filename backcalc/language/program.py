"""A program of named steps, as backprop is taught: ``y_hat = w*x; s = y_hat - y; loss = s**2``.

Statements are separated by newlines or ``;`` (a newline inside parentheses continues the statement);
``#`` starts a comment. Each statement is ``NAME = EXPRESSION``, and the last may be a bare expression.
A step may use the inputs and any earlier step; the output is the last statement's value.

The program becomes one graph of the project's tree (:class:`~backcalc.language.tree.Node`): the node a
step's expression ends in carries the step's ``name`` and is the very object every later use points at,
so each walker sees a step once, whatever the number of its uses. One expression is a program of one
statement, parsed exactly as before.

The limits hold for the program as a whole: its length, its nodes, the depth of the whole graph, and
the constants that flow through it. Errors point at the line and column.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .. import limits, ops
from ..errors import ParseError
from .cost import check_cost
from .parser import parse
from .tree import NUMBER, Node, rebuilt, substitute, to_text

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_STATEMENT_MARKS = ("\n", ";", "#", "=", "\r")


@dataclass(frozen=True)
class Step:
    """One statement: its name ("" for a bare last expression), its node in the program's graph, and
    where it was written."""

    name: str
    node: Node
    line: int
    start: int  # offset of the expression in the program's source
    end: int
    at: int = 0  # offset of the step's name (of the expression, for a bare one)

    @property
    def expression(self) -> str:
        """The step's expression in canonical text, earlier steps by their names."""
        return to_text(self.node)


@dataclass(frozen=True)
class Program:
    """A parsed program: its steps in order, and its output (the last step's node)."""

    source: str
    steps: tuple[Step, ...]
    integers: tuple[str, ...] = ()  # the inputs read as whole numbers when the text was (range(n), view(n, -1))

    @property
    def output(self) -> Node:
        return self.steps[-1].node

    @property
    def is_expression(self) -> bool:
        """True for one bare expression, the language as it was before programs: nothing is named."""
        return len(self.steps) == 1 and not self.steps[0].name

    @property
    def named(self) -> list[Step]:
        """The steps that have names, in program order."""
        return [step for step in self.steps if step.name]

    def text(self) -> str:
        """The program in canonical text, one statement after another: ``a = w*x; b = a - y; b**2``."""
        return "; ".join(f"{step.name} = {step.expression}" if step.name else step.expression for step in self.steps)

    def unused(self) -> list[Step]:
        """The named steps the output does not use (kept, and given no gradient)."""
        used = {id(node) for node in self.output.walk()}
        return [step for step in self.named if id(step.node) not in used]

    def roots(self) -> list[Node]:
        """The output, and every step it does not use: together they reach every node of the program."""
        return [self.output, *(step.node for step in self.unused())]

    def variables(self) -> list[str]:
        """The inputs, in order of first appearance in the program."""
        seen: dict[str, None] = {}
        for step in self.steps:
            for name in step.node.variables():
                seen.setdefault(name)
        return list(seen)

    def step(self, name: str) -> Step | None:
        return next((step for step in self.named if step.name == name), None)

    def position(self, offset: int) -> str:
        line, column = line_column(self.source, offset)
        return f"line {line}, column {column}"


class Known(dict[str, int]):
    """Names whose integer value is known when the text is read; remembers the names read."""

    def __init__(self, values: Mapping[str, int] | None = None) -> None:
        super().__init__(values or {})
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> int:
        self.read.add(name)
        return super().__getitem__(name)


def parse_program(source: str, integers: Mapping[str, int] | None = None) -> Program:
    """Parse a program (or one expression) into its steps, or raise :class:`ParseError`. ``integers``:
    inputs whose value is one whole number, known to the places that need an integer (``range(n)``)."""
    known = Known(integers)
    if not isinstance(source, str) or not any(mark in source for mark in _STATEMENT_MARKS):
        tree = parse(source, known)  # one expression: the parser's own checks and messages, unchanged
        return Program(source, (Step("", tree, 1, 0, len(source)),), tuple(sorted(known.read)))
    if len(source) > limits.MAX_EXPRESSION_LENGTH:
        raise ParseError(
            f"the program is {len(source):,} characters long (comments too); the limit is "
            f"{limits.MAX_EXPRESSION_LENGTH:,}",
            source[:200],
            0,
            1,
            program=True,
        )
    builder = _Builder(source)
    if len(builder.statements) == 1 and _assignment(builder.clean) is None:  # one expression (an option's =)
        start, end = builder.statements[0]
        # The statement alone (no comment, no stray ;), at its own columns.
        alone = builder.clean == source and source.strip() == source[start:end].strip()
        tree = parse(source if alone else " " * start + builder.clean[start:end], known)
        return Program(source, (Step("", tree, 1, start, end),), tuple(sorted(known.read)))
    builder.known = known
    return builder.build()


def line_column(source: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``source``."""
    before = source[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.clean = _blank_comments(source)  # the same offsets, comments as spaces
        self.statements = list(split_statements(self.clean))
        self.assigned = {
            name: index
            for index, (start, end) in enumerate(self.statements)
            if (name := _target(self.clean[start:end]))
        }
        self.known = Known()  # the inputs given one whole number
        self.steps: list[Step] = []
        self.nodes: dict[str, Node] = {}  # step name -> its node
        self.count = 0

    def error(self, message: str, start: int, end: int | None = None, help: str | None = None) -> ParseError:
        return ParseError(message, self.source, start, end, help, program=True)

    def build(self) -> Program:
        if not self.statements:
            raise self.error("the program is empty (only comments and blank lines)", 0)
        for index, (start, end) in enumerate(self.statements):
            self.statement(start, end, last=index == len(self.statements) - 1)
        output = self.steps[-1]
        if output.node.is_constant():
            raise self.error(
                "the program's output does not depend on any input: there is nothing to differentiate",
                output.start,
                output.end,
                help=_constant_steps_help(self.steps[:-1]),
            )
        program = Program(self.source, tuple(self.steps), tuple(sorted(self.known.read - set(self.nodes))))
        for root in [output, *program.unused()]:  # a step the loss does not use is kept: bounded too
            check_program_size(root.node, self.source, self.count, root.start, root.end)
        for step in self.steps:
            try:
                check_cost(step.node, self.source)  # constants that grow from step to step
            except ParseError as exc:
                raise self.error(exc.message, exc.start, exc.end, exc.help) from None
        return program

    def statement(self, start: int, end: int, last: bool) -> None:
        text = self.clean[start:end]
        equals = _assignment(text)
        name = ""
        name_at = start + _indent(text)
        if equals is not None:
            name = self.target(text[:equals], start)
            start = start + equals + 1
            text = self.clean[start:end]
            if not text.strip():
                raise self.error(f"nothing after '=': give {name} an expression", start - 1)
        elif not last:
            where = start + _indent(text)
            raise self.error("only the last statement may be a bare expression: name it (NAME = ...)", where, end)
        stripped = text.strip()
        offset = start + _indent(text)
        # Steps that are integer literals (n = 4) are known integers too: range(n), x.view(n, -1).
        steps = {name: int(node.text) for name, node in self.nodes.items() if node.op == NUMBER and node.text.isdigit()}
        self.known.update(steps)  # a step's name is the step's, never an input's
        try:
            tree = _shifted(parse(stripped, self.known), offset)
        except ParseError as exc:
            raise self.error(exc.message, offset + exc.start, offset + exc.end, exc.help) from None
        self.count += sum(1 for _ in tree.walk())
        node = self.link(tree, name)
        line = line_column(self.source, offset)[0]
        self.steps.append(Step(name, node, line, offset, offset + len(stripped), name_at if name else offset))
        if name:
            self.nodes[name] = node

    def target(self, text: str, start: int) -> str:
        name = text.strip()
        where = start + _indent(text)
        span = where + max(len(name), 1)
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise self.error(f"the left of '=' must be a step's name, not {name!r}", where, span)
        if name in ops.reserved_names():
            kind = "constant" if ops.is_constant_name(name) else "function"
            raise self.error(f"a step cannot be named {name}: {name} is a {kind} of the language", where, span)
        if name in self.nodes:
            first = next(step for step in self.steps if step.name == name)
            raise self.error(
                f"{name} is assigned twice (first at line {first.line}): give each step its own name", where, span
            )
        return name

    def link(self, tree: Node, name: str) -> Node:
        """The step's tree with earlier steps' nodes in place of their names, its root named."""
        for node in tree.walk():
            if node.is_variable and node.text not in self.nodes and node.text in self.assigned:
                index = self.assigned[node.text]
                own = index == len(self.steps)
                line = line_column(self.source, self.statements[index][0])[0]
                why = "a step may not take an input's name" if own else "a step may use the inputs and earlier steps"
                where = "in its own definition" if own else "before it is defined"
                raise self.error(f"{node.text} is used {where} (line {line} assigns it): {why}", node.start, node.end)
        linked = substitute(tree, self.nodes) if self.nodes else tree
        if not name:
            return linked
        if linked.name or linked.is_variable:
            alias = linked.name or linked.text
            raise self.error(
                f"{name} = {alias} only gives {alias} another name: use {alias} itself", tree.start, tree.end
            )
        return rebuilt(linked, linked.args, name=name)


def split_statements(source: str) -> Iterator[tuple[int, int]]:
    """The (start, end) of each non-blank statement of ``source`` (comments already blanked): split at
    ``;``, and at newlines outside parentheses."""
    depth = 0
    start = 0
    for position, char in enumerate(source):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char == ";" or (char in "\r\n" and depth == 0):
            if source[start:position].strip():
                yield start, position
            start = position + 1
            depth = 0
    if source[start:].strip():
        yield start, len(source)


def _blank_comments(source: str) -> str:
    """``source`` with each comment (``#`` to the end of its line, outside quotes) turned into spaces."""
    out = list(source)
    quote = ""
    comment = False
    for position, char in enumerate(source):
        if comment:
            if char in "\r\n":  # a line ends at either (old Mac files end their lines with \r alone)
                comment = False
            else:
                out[position] = " "
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
            out[position] = " "
    return "".join(out)


def _shifted(tree: Node, offset: int) -> Node:
    """The tree with its spans moved by ``offset`` (from the statement into the whole program)."""
    done: dict[int, Node] = {}
    for node in tree.postorder():
        args = tuple(done[id(arg)] for arg in node.args)
        done[id(node)] = rebuilt(node, args, start=node.start + offset, end=node.end + offset)
    return done[id(tree)]


def check_program_size(output: Node, source: str, count: int, start: int, end: int) -> None:
    """Bound the program as a whole: its nodes, and the depth of its graph."""
    if count > limits.MAX_NODES:
        raise ParseError(f"the program has more than {limits.MAX_NODES:,} nodes", source, start, end, program=True)
    depth: dict[int, int] = {}
    for node in output.postorder():
        depth[id(node)] = 1 + max((depth[id(arg)] for arg in node.args), default=0)
    if depth[id(output)] > limits.MAX_DEPTH:
        raise ParseError(
            f"the program nests {depth[id(output)]} levels deep, step into step; the limit is {limits.MAX_DEPTH}",
            source,
            start,
            end,
            program=True,
        )


def _assignment(text: str) -> int | None:
    """The offset of the statement's ``=`` (outside parentheses; not ``==``, ``<=``, ``>=``, ``!=``)."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "=" and depth == 0:
            before = text[index - 1] if index else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if before not in "=<>!" and after != "=":
                return index
    return None


def _target(text: str) -> str:
    """The name a statement assigns, or ""."""
    equals = _assignment(text)
    return text[:equals].strip() if equals is not None else ""


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _constant_steps_help(steps: list[Step]) -> str | None:
    """What to do when a step meant as an input is a constant (``x = 3``): a step never takes an input's value."""
    names = [step.name for step in steps if step.node.is_constant() and not _uses_steps(step.node)]
    if not names:
        return None
    which = f"{names[0]} is a step" if len(names) == 1 else f"{', '.join(names)} are steps"
    return f"{which} with a constant value, not an input; to differentiate with respect to it, remove its line"


def _uses_steps(node: Node) -> bool:
    return any(part.name for part in node.walk() if part is not node)
