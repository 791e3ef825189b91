"""What ``batch`` keeps between lines: each expression's tree and symbolic side, derived once."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ...errors import SymbolicSizeError
from ...language.program import Program, parse_program
from ...language.tree import Node

CACHE_SIZE = 256  # distinct expressions kept


class Derivations:
    """The parsed tree (a program's output) and, once asked for, the symbolic side of the last
    :data:`CACHE_SIZE` expressions."""

    def __init__(self) -> None:
        self._cache: OrderedDict[str, tuple[Node, Any]] = OrderedDict()
        self._programs: dict[str, Program] = {}  # the cached expressions that are programs of steps
        self._mixes: dict[str, bool] = {}

    def parsed(self, expression: str) -> tuple[Node, Any]:
        """The tree and, once asked for, the :class:`~backcalc.symbolic.side.Differentiator` of an expression."""
        if expression in self._cache:
            self._cache.move_to_end(expression)
            return self._cache[expression]
        program = parse_program(expression)
        entry = (program.output, None)
        self._cache[expression] = entry
        if not program.is_expression:
            self._programs[expression] = program
        if len(self._cache) > CACHE_SIZE:
            dropped, _ = self._cache.popitem(last=False)
            self._programs.pop(dropped, None)
        return entry

    def program(self, expression: str) -> Program | None:
        """The program of a cached expression with named steps; None for one bare expression."""
        return self._programs.get(expression)

    def differentiator(
        self, expression: str, tree: Node, shapes: dict[str, tuple[int, ...]], labels: dict[str, Any] | None = None
    ) -> Any:
        """The cached symbolic side. An element-wise expression has one for all shapes; one that mixes
        elements has one per set of input shapes (each element is its own symbol)."""
        _, cached = self._cache[expression]
        if cached is None:
            cached = {}
            self._cache[expression] = (tree, cached)
        mixes = self._mixes.get(expression)
        if mixes is None:
            if len(self._mixes) > 4 * CACHE_SIZE:
                self._mixes.clear()
            mixes = self._mixes[expression] = tree.mixes_elements()
        key: tuple[Any, ...] = tuple(sorted(shapes.items())) if mixes else ()
        if labels:  # the element-by-element side holds the labels' values: one per set of them
            key += tuple((name, value.tobytes()) for name, value in sorted(labels.items()))
        if key not in cached:
            from ...symbolic.side import differentiator_for

            try:
                cached[key] = differentiator_for(tree, shapes, labels)
            except SymbolicSizeError:
                cached[key] = None  # compute() says why when it tries again
        return cached[key]
