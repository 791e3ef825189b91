"""PyTorch's spellings, a part of the whitelist parser (:mod:`.parser`): a pasted line of torch reads as
the language's own calls. Which torch name calls which record is :mod:`backcalc.ops.torch_spellings`' table::

    postfix    := atom (".T" | subscript | method)*
    method     := "." METHOD "(" arguments ")" [".values"]      (x.sum(1, keepdim=True), x.max(1).values)
    atom       := ... | MODULE "." NAME "(" arguments ")"       (torch.tanh(h), F.cross_entropy(z, y))
    MODULE     := "torch" | "F" | "nn.functional" | "torch.nn.functional"
    sizes      := size ("," size)* | "(" INTEGER ("," INTEGER)* ")"   (x.view(...), x.reshape(...))
    size       := INTEGER | KNOWN | X ".shape" "[" digits "]" | X ".size" "(" digits ")"

A method ``x.f(a, ...)`` is the call ``f(x, a, ...)`` of its record, with torch's conventions: a
dimension positional or ``dim=``, ``keepdims=`` for ``keepdim=``, a shape as separate integers, ``max``
and ``min`` along a dimension as torch's ``(values, indices)`` (``.values`` picks the values; the indices
have no gradient and are refused). A size of the reshaped tensor itself is known before any value is:
``x.view(x.shape[0], -1)`` is ``flatten(x, 1)``. ``KNOWN`` is a program's step that is an integer
literal (``n = 4``) or an input given one whole number (``n=4``). ``F`` and ``nn`` before anything but
one of their functions are a tensor's name (``F.sum(1)``). Any other attribute or method (``x.grad``,
``x.numpy()``, ``x.__class__``) is refused where it stands. No dependencies beyond the standard library.
"""

from __future__ import annotations

import difflib

from .. import limits, ops
from ..errors import ParseError
from ..ops.torch_spellings import FUNCTIONAL, METHOD, TORCH, Spelling, TorchCall, own_sizes, spelled, spellings
from .cursor import Cursor
from .tokens import Token
from .tree import Node, rebuilt

#: The module paths a pasted line may write before a function, and whose functions each holds.
MODULES = {"torch": TORCH, "torch.nn.functional": FUNCTIONAL, "nn.functional": FUNCTIONAL, "F": FUNCTIONAL}
#: The first name of a module path (the parser looks here only after one of these).
ROOTS = frozenset(path.split(".")[0] for path in MODULES)
#: Torch's attributes of a (values, indices) pair: the values have a gradient, the indices none.
VALUES, INDICES = "values", "indices"
#: ``x.shape[k]`` and ``x.size(k)``: a size of a tensor, among the sizes of ``x.view(...)``.
SHAPE, SIZE = "shape", "size"
_BOUNDS = ("min", "max")  # torch.clamp's keywords for its bounds
_CASTS = ("float", "double", "half", "to", "type")  # a tensor's dtype casts
#: Other libraries' modules, whose functions are not read (the hints know their spellings).
_FOREIGN = {"np": "NumPy", "numpy": "NumPy", "math": "math", "cmath": "cmath", "jnp": "JAX", "scipy": "SciPy"}
_FOREIGN |= {"sp": "sympy", "sympy": "sympy", "tf": "TensorFlow"}


class MethodRules(Cursor):
    """The torch rules of the parser; the helpers below are the parser's own."""

    def integer(self) -> int:
        raise NotImplementedError

    def call(self, name: Token, op: ops.Op, first: Node | None = None) -> Node:
        raise NotImplementedError

    def listed_call(self, name: Token, op: ops.Op) -> Node:
        raise NotImplementedError

    def integers(self, name: Token, option: ops.Option) -> ops.OptionValue:
        raise NotImplementedError

    def span_error(self, message: str, start: int, end: int) -> ParseError:
        return ParseError(message, self.source, start, end)

    # -- torch.f(...) ----------------------------------------------------------------------------
    def module_call(self, root: Token) -> Node | None:
        """``torch.f(...)``, ``F.f(...)``, ``torch.nn.functional.f(...)``, or None where ``F`` (or
        ``nn``) is a tensor's name (``F.sum(1)``, ``F.T``): then it is read as a name."""
        parts, at = [root], self.pos
        while self.tokens[at].text == "." and self.tokens[at + 1].kind == "name":
            parts.append(self.tokens[at + 1])
            at += 2
        path, name = ".".join(part.text for part in parts[:-1]), parts[-1]
        module = MODULES.get(path)
        calls = self.tokens[at].text == "(" and self.tokens[at].kind == "op"
        found = spelled(module, name.text) if module is not None and len(parts) > 1 else None
        if found is not None and calls:
            self.pos = at
            return self.torch_call(name, found, None, root.start)
        if root.text != TORCH:
            return None  # a tensor called F or nn (F.sum(1)): its methods read as any tensor's
        if len(parts) == 1:
            raise self.error(f"expected a function's name after '{root.text}.'", self.tokens[self.pos])
        dotted = ".".join(part.text for part in parts)
        if module is None:
            modules = ", ".join(f"{module}.f" for module in MODULES)
            raise self.span_error(f"{path} is not a module backcalc reads (only {modules})", root.start, parts[-2].end)
        if not calls:
            raise self.span_error(
                f"attribute access is not allowed: {dotted} (call a function: {path}.exp(x))", root.start, name.end
            )
        near = difflib.get_close_matches(name.text, spellings(module), n=1, cutoff=0.7)
        hint = f"; did you mean {path}.{near[0]}?" if near else f" (it reads {path}'s functions of the operations)"
        raise self.span_error(f"{dotted} is not a function backcalc knows{hint}", root.start, name.end)

    def torch_call(self, name: Token, found: TorchCall, receiver: Node | None, start: int) -> Node:
        """The call of ``found``'s record as torch writes its arguments, spanning from ``start``."""
        handlers = {
            Spelling.CALL: self.plain_call,
            Spelling.PAIR: self.pair_call,
            Spelling.SIZES: self.sizes_call,
            Spelling.DIMS: self.dims_call,
            Spelling.BOUNDS: self.bounds_call,
            Spelling.DIM: self.dim_call,
        }
        node = handlers[found.spelling](name, found.op, receiver)
        return rebuilt(node, node.args, start=start)

    def plain_call(self, name: Token, record: ops.Op, receiver: Node | None) -> Node:
        return (
            self.listed_call(name, record) if record.listed and receiver is None else self.call(name, record, receiver)
        )

    # -- x.f(...) --------------------------------------------------------------------------------
    def method(self, receiver: Node) -> Node:
        """``x.f(...)``: the method's call on ``receiver``; anything else after a ``.`` is refused there."""
        dot = self.advance()
        if self.token.kind != "name":
            raise self.error("expected a method's name after '.' (x.sum(1), x.exp())", dot)
        name = self.advance()
        if receiver.is_variable and receiver.text in _FOREIGN:
            raise self.span_error(
                f"{receiver.text}.{name.text} is {_FOREIGN[receiver.text]}'s: backcalc reads its own spellings and "
                "torch's (torch.exp(x), x.exp())",
                receiver.start,
                name.end,
            )
        found = spelled(METHOD, name.text)
        if found is None or not self.at("("):
            raise self.not_a_method(receiver, name)
        return self.torch_call(name, found, receiver, receiver.start)

    def not_a_method(self, receiver: Node, name: Token) -> ParseError:
        spot = self.span_error
        if receiver.is_variable and receiver.text in ROOTS and self.at("("):  # F.zeros_like(x)
            dotted = f"{receiver.text}.{name.text}"
            return spot(f"{dotted} is not a function backcalc knows, nor a method", receiver.start, name.end)
        if name.text in (VALUES, INDICES):
            return spot(
                f".{name.text} is only for torch's max and min along a dimension: x.max(1).values", name.start, name.end
            )
        if name.text in (SHAPE, SIZE):
            return spot(
                f"x.{name.text} is only for the sizes of view and reshape: x.view(x.shape[0], -1)", name.start, name.end
            )
        if not self.at("("):
            return spot(
                f"attribute access is not allowed: .{name.text} (only .T, .mT and tensor methods: x.sum(1), x.exp())",
                name.start - 1,
                name.end,
            )
        if name.text in _CASTS:
            return spot(
                f".{name.text}() changes the dtype: backcalc computes every tensor in one (--dtype); drop it",
                name.start,
                name.end,
            )
        near = difflib.get_close_matches(name.text, spellings(METHOD), n=1, cutoff=0.7)
        hint = f"did you mean .{near[0]}()?" if near else "the methods are those of the operations: x.sum(1), x.exp()"
        return spot(f"unknown method .{name.text}(); {hint}", name.start, name.end)

    def dim_call(self, name: Token, record: ops.Op, receiver: Node | None) -> Node:
        """``F.softmax(x, dim=1)``: torch's implicit dimension is not the language's last one, so it is asked for."""
        node = self.call(name, record, receiver)
        if node.dim is None:
            raise self.span_error(
                f"torch's {name.text}() needs its dimension here ({name.text}(x, dim=1)): without one torch "
                "picks it by the number of dimensions",
                name.start,
                node.end,
            )
        return node

    def pair_call(self, name: Token, record: ops.Op, receiver: Node | None) -> Node:
        """``x.max(1).values``: along a dimension torch gives (values, indices), and ``.values`` picks the
        values; ``x.max()`` (no dimension) is the maximum of all, a tensor."""
        node = self.call(name, record, receiver)
        if node.dim is None:
            return node
        after = self.tokens[self.pos + 1]
        if self.at(".") and after.text == VALUES:
            self.advance()
            return rebuilt(node, node.args, end=self.advance().end)
        if self.at(".") and after.text == INDICES:
            raise self.span_error(
                f"the indices of {name.text}() are whole numbers with no gradient: backcalc differentiates "
                f"the values (.values)",
                after.start,
                after.end,
            )
        raise self.span_error(
            f"{name.text}() along a dimension gives torch's (values, indices): write .values after it",
            name.start,
            node.end,
        )

    # -- sizes and dimensions: x.view(n, -1), x.permute(1, 0) -------------------------------------
    def sizes_call(self, name: Token, record: ops.Op, receiver: Node | None) -> Node:
        """``x.view(a, b)``, ``x.reshape((a, b))``: sizes, separate or one tuple; ``x.shape[k]`` too."""
        return self.integers_call(name, record, receiver, own=True)

    def dims_call(self, name: Token, record: ops.Op, receiver: Node | None) -> Node:
        """``x.permute(1, 0)``, ``x.permute((1, 0))``: dimensions, separate or one tuple."""
        return self.integers_call(name, record, receiver, own=False)

    def integers_call(self, name: Token, record: ops.Op, receiver: Node | None, own: bool) -> Node:
        assert receiver is not None, "the torch functions take their shape as the record's tuple"
        (option,) = record.positional_options()
        self.advance()  # "("
        sizes: list[int | tuple[int]] = []
        if self.at("("):
            sizes.extend(self.integers(name, option))  # type: ignore[arg-type]
        elif not self.at(")"):
            sizes.append(self.size(name, receiver, own))
            while self.at(","):
                comma = self.advance()
                if len(sizes) >= limits.MAX_NDIM:
                    raise self.error(f"{name.text}() takes at most {limits.MAX_NDIM} integers", comma)
                sizes.append(self.size(name, receiver, own))
        if not self.at(")"):
            raise self.error(f"expected ')' before {self.token.text!r}" if self.token.kind != "end" else "expected ')'")
        close = self.advance()
        if not sizes:
            raise self.span_error(f"{name.text}() needs its {_words(own)}", name.start, close.end)
        if any(isinstance(size, tuple) for size in sizes):
            return self.flattened(name, receiver, sizes, close)
        try:
            value = option.check(tuple(sizes))  # type: ignore[arg-type]
        except ops.OptionError as exc:
            raise self.span_error(f"{name.text}(): {exc}", name.start, close.end) from None
        options = record.canonical({option.name: value})
        return Node(record.name, (receiver,), start=receiver.start, end=close.end, options=options)

    def size(self, name: Token, receiver: Node, own: bool) -> int | tuple[int]:
        """One integer, a known step's, or (``own``) one of the reshaped tensor's sizes (``x.shape[0]``)."""
        token, after = self.token, self.tokens[self.pos + 1]
        if token.kind == "name" and token.text in self.known and after.text in (",", ")"):
            self.advance()
            return self.known[token.text]
        if own and token.kind == "name" and after.text == ".":
            return self.own_size(name, receiver)
        number = self.tokens[self.pos + (1 if self.at("-") else 0)]
        if number.kind == "number" and number.text.isdigit():
            if len(number.text) > limits.MAX_NUMBER_LENGTH:
                raise self.error(f"number literal is longer than {limits.MAX_NUMBER_LENGTH} characters", number)
            return self.integer()
        what = "integers like 2 or -1, or the tensor's own sizes (x.shape[0])" if own else "integers like 1 or 0"
        if token.kind == "name" and after.text in (",", ")") and token.text != receiver.text:
            n = token.text
            what += f"; {n} is not known when the line is read (a step {n} = 4 or an input {n}=4 is)"
        raise self.error(f"the {_words(own)} of {name.text}() are {what}", token)

    def own_size(self, name: Token, receiver: Node) -> tuple[int]:
        """``x.shape[k]`` or ``x.size(k)`` of the tensor ``x`` being reshaped: the marker ``(k,)``."""
        tensor = self.advance()
        self.advance()  # "."
        attribute = self.advance()
        brackets = {SHAPE: ("[", "]"), SIZE: ("(", ")")}.get(attribute.text)
        if brackets is None or not self.at(brackets[0]):
            raise self.span_error(
                f"a size in {name.text}() is {tensor.text}.shape[k] or {tensor.text}.size(k)",
                tensor.start,
                attribute.end,
            )
        if not (receiver.is_variable and receiver.text == tensor.text):
            raise self.span_error(
                f"only the reshaped tensor's own sizes are known when the line is read: "
                f"{tensor.text}.{attribute.text} is not {_text(receiver)}'s",
                tensor.start,
                attribute.end,
            )
        self.advance()
        digits = self.token.kind == "number" and self.token.text.isdigit()
        if not digits or self.tokens[self.pos + 1].text != brackets[1]:
            raise self.error(f"{tensor.text}.{attribute.text} takes one whole number k: {tensor.text}.{SHAPE}[0]")
        index = self.integer()
        self.advance()
        return (index,)

    def flattened(self, name: Token, receiver: Node, sizes: list[int | tuple[int]], close: Token) -> Node:
        """``x.view(x.shape[0], ..., x.shape[k-1], -1)`` is ``flatten(x, k)``; nothing else from a shape."""
        count = len(sizes) - 1
        if sizes != [*((index,) for index in range(count)), -1]:
            r = _text(receiver)
            raise self.span_error(
                f"{name.text}() reads {r}'s own sizes only as {r}.{name.text}({r}.shape[0], ..., {r}.shape[k-1], -1)"
                f" (flatten({r}, k)); give the other sizes as integers",
                name.start,
                close.end,
            )
        flatten, option = own_sizes()
        options = flatten.canonical({option: count})
        return Node(flatten.name, (receiver,), start=receiver.start, end=close.end, options=options)

    # -- x.clamp(lo, hi) -------------------------------------------------------------------------
    def bounds_call(self, name: Token, record: ops.Op, receiver: Node | None) -> Node:
        """``x.clamp(lo, hi)``, ``x.clamp(min=lo, max=hi)``: the record's clamp(x, lo, hi) takes both."""
        self.advance()  # "("
        tensor = self.comparison() if receiver is None else receiver
        bounds: dict[str, Node] = {}
        first = receiver is not None and not self.at(")")
        while first or self.at(","):
            if not first:
                self.advance()
            first = False
            key, where = _BOUNDS[len(bounds) % 2], self.token
            if self.token.kind == "name" and self.tokens[self.pos + 1].text == "=":
                key = self.advance().text
                self.advance()
            if key not in _BOUNDS or key in bounds:
                raise self.error(f"{name.text}() takes the bounds min= and max=, once each", where)
            bounds[key] = self.comparison()
        if not self.at(")"):
            raise self.error(f"expected ')' before {self.token.text!r}" if self.token.kind != "end" else "expected ')'")
        close = self.advance()
        if len(bounds) != 2:
            raise self.span_error(
                f"{name.text}() needs both bounds, as clamp(x, lo, hi); for min=0 alone, write relu(x)",
                name.start,
                close.end,
            )
        lower, upper = (bounds[key] for key in _BOUNDS)
        return Node(record.name, (tensor, lower, upper), start=tensor.start, end=close.end)


def _words(own: bool) -> str:
    return "sizes" if own else "dimensions"


def _text(node: Node) -> str:
    return node.text if node.is_variable else "the tensor"
