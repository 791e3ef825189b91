"""Forward mode on the expression tree, in backcalc's own language: the second half of a Hessian (the
Jacobian of the gradient formula that :mod:`backcalc.symbolic.formulas` derives) and the Jacobian of an
output, in matrix notation (``A + A.T``, ``diag(1 - tanh(W@x)**2)@W``), at any size NumPy evaluates.

Two forms, each composed from the records' rules by a generic walker:

- :meth:`Forward.differential`, the derivative as the linear map it is: the formula of ``d tree`` in a
  direction (``V`` for the input ``W``: ``2*outer(V@x, x)``), by each record's forward rule (``jvp``,
  over ``d``, the direction of one argument); an element-wise operation's is its local rule times ``d``,
  a linear one's (``@``, ``.T``, ``sum``) is itself with ``d`` in the argument's place.
- :meth:`Forward.jacobian`, the matrix: d tree / d a vector input of n elements, a formula of the tree's
  shape plus ``(n,)``, for trees whose nodes on the way have at most one dimension. An element-wise
  operation's is ``diag(f'(u)) @ J``; a linear one's is its record's ``jacobian`` rule over ``J``; any
  other's is its forward rule, whose ``d`` the walker follows to ``J`` in turn.

A record without the rule it needs raises :class:`NotImplementedError` ("no rule for X yet").
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from ..language.tree import VARIABLE, Node, rebuilt, substitute
from ..ops.arithmetic import ADD, MUL
from ..ops.functions import ONES_LIKE
from ..ops.linalg import DIAG, EYE
from ..ops.tensors import MATMUL, OUTER, UNSQUEEZE
from .formulas import rule
from .simplify import Simplifier

Shape = tuple[int, ...]

_ADD, _MUL, _MATMUL, _DIAG, _EYE = (op.name for op in (ADD, MUL, MATMUL, DIAG, EYE))
_ONES, _UNSQUEEZE, _OUTER = ONES_LIKE.name, UNSQUEEZE.name, OUTER.name
_PLACEHOLDERS = ("u", "v", "w")


def no_rule(node: Node, why: str = "") -> NotImplementedError:
    return NotImplementedError(f"no rule for {node.op}{why} yet")


class Forward:
    """Forward-mode derivatives of formula trees over inputs of known shapes."""

    def __init__(self, input_shapes: Mapping[str, Shape]) -> None:
        self.simplify = Simplifier(input_shapes)
        self._fresh = 0

    def shape(self, node: Node) -> Shape:
        return self.simplify.shape(node)

    # -- the linear map --------------------------------------------------------------------------------------
    def differential(self, tree: Node, directions: Mapping[str, Node]) -> Node | None:
        """d ``tree`` when each input named in ``directions`` moves along its tree (of its shape); None
        where ``tree`` does not depend on them."""
        done: dict[int, Node | None] = {}
        for node in tree.postorder():
            if node.is_leaf:
                done[id(node)] = directions.get(node.text) if node.is_variable else None
                continue
            parts = [
                self._jvp(node, index, done[id(arg)])
                for index, arg in enumerate(node.args)
                if done[id(arg)] is not None
            ]
            done[id(node)] = self._total([part for part in parts if part is not None])
        return done[id(tree)]

    def _jvp(self, node: Node, index: int, direction: Node | None) -> Node | None:
        assert direction is not None
        op = node.record
        if op.elementwise:
            local = self._local(node, index)
            return None if local.literal() == 0 else self.simplify(Node(_MUL, (local, direction)))
        if op.linear:
            args = tuple(direction if i == index else arg for i, arg in enumerate(node.args))
            return self.simplify(rebuilt(node, args, name=""))
        template = self._template(node, index)
        if not template:
            return None  # constant in this argument (eye_like depends on its shape only)
        return self.simplify(substitute(rule(template), {"d": direction, **self._names(node)}))

    def _template(self, node: Node, index: int) -> str:
        op = node.record
        if op.jvp is None:
            raise no_rule(node)
        shapes = [self.shape(arg) for arg in node.args]
        return op.jvp(shapes, node.dim, **op.settings(node.options))[index]

    # -- the matrix --------------------------------------------------------------------------------------------
    def jacobian(self, tree: Node, seeds: Mapping[str, Node]) -> Node | None:
        """d ``tree`` / d the vector input, as a matrix formula of the tree's shape plus the input's: each
        input named in ``seeds`` has that Jacobian (``eye(n)`` for the input itself); None where
        ``tree`` does not depend on them."""
        done: dict[int, Node | None] = {}
        for node in tree.postorder():
            if node.is_leaf:
                done[id(node)] = seeds.get(node.text) if node.is_variable else None
                continue
            if len(self.shape(node)) > 1 and any(done[id(arg)] is not None for arg in node.args):
                raise no_rule(node, f" of shape {list(self.shape(node))} in a Jacobian matrix")
            parts = [
                self._jacobian_part(node, index, done[id(arg)])
                for index, arg in enumerate(node.args)
                if done[id(arg)] is not None
            ]
            done[id(node)] = self._total([part for part in parts if part is not None])
        return done[id(tree)]

    def _jacobian_part(self, node: Node, index: int, seed: Node | None) -> Node | None:
        assert seed is not None
        op = node.record
        if op.elementwise:
            return self._elementwise_jacobian(node, index, seed)
        if op.jacobian is not None:
            shapes = [self.shape(arg) for arg in node.args]
            template = op.jacobian(shapes, node.dim, **op.settings(node.options))[index]
            if not template:
                raise no_rule(node, f" of shapes {', '.join(str(list(s)) for s in shapes)} in a Jacobian matrix")
            return self.simplify(substitute(rule(template), {"J": seed, **self._names(node)}))
        if op.linear:
            raise no_rule(node, " in a Jacobian matrix")
        template = self._template(node, index)
        if not template:
            return None
        # The forward rule is linear in d: follow d, standing for this argument's direction, to J.
        self._fresh += 1
        placeholder = Node(VARIABLE, (), f"$d{self._fresh}")
        self.simplify.input_shapes[placeholder.text] = self.shape(node.args[index])
        applied = self.simplify(substitute(rule(template), {"d": placeholder, **self._names(node)}))
        found = self.jacobian(applied, {placeholder.text: seed})
        # Linear in d, the Jacobian holds d only where its shape matters (ones_like): the argument has it.
        return None if found is None else self.simplify(substitute(found, {placeholder.text: node.args[index]}))

    def _elementwise_jacobian(self, node: Node, index: int, seed: Node) -> Node | None:
        """diag(f'(u)) @ J; f'(u)*J for a scalar factor; unsqueeze(f'(u), 1)*J where the argument is
        broadcast to the node's vector (J's rows broadcast with it)."""
        local = self._local(node, index)
        if local.literal() == 0:
            return None
        mine, theirs, factor = self.shape(node), self.shape(node.args[index]), self.shape(local)
        if factor == () and theirs == mine:
            return self.simplify(Node(_MUL, (local, seed)))
        if len(mine) == 1 and theirs == mine and factor == mine:
            return self.simplify(Node(_MATMUL, (Node(_DIAG, (local,)), seed)))
        if len(mine) == 1 and len(theirs) <= 1:
            shaped = next((arg for arg in node.args if self.shape(arg) == mine), node)
            full = local if factor == mine else Node(_MUL, (local, Node(_ONES, (shaped,))))
            if theirs == ():  # J is a row: the outer product
                return self.simplify(Node(_OUTER, (full, seed)))
            return self.simplify(Node(_MUL, (Node(_UNSQUEEZE, (full,), dim=1), seed)))
        raise no_rule(node, f" broadcasting {list(theirs)} to {list(mine)} in a Jacobian matrix")

    # -- shared ------------------------------------------------------------------------------------------------
    def _local(self, node: Node, index: int) -> Node:
        """The local rule d node / d argument ``index`` of an element-wise node, at its arguments."""
        return self.simplify(substitute(rule(node.record.local_rules(node.options)[index]), self._names(node)))

    def _names(self, node: Node) -> dict[str, Node]:
        return {"out": node, **dict(zip(_PLACEHOLDERS, node.args, strict=False))}

    def _total(self, parts: list[Node]) -> Node | None:
        if not parts:
            return None
        return functools.reduce(lambda a, b: self.simplify(Node(_ADD, (a, b))), parts)


def identity(size: int) -> Node:
    """``eye(n)``: the Jacobian of a vector input of n elements with respect to itself."""
    return Node(_EYE, (), dim=size)
