"""The operation registry: one record per operation of backcalc's language, holding everything the
package knows about it. The parser, the cost guard, shape inference, the printers and the three
evaluators are generic walkers over the expression tree that look each node's operation up here.

A record (:class:`Op`) holds:

- how it is written: its name and aliases for a call (``log``, ``ln``), or its symbol for an operator
  (``+``, ``**``/``^``, ``.T``), its precedence, and a LaTeX template;
- its arguments: how many tensors, whether a trailing integer dimension may follow (``sum(x, 0)``),
  and the options it accepts (:class:`Option`: ``keepdim=True``, ``approximate="tanh"``), each a literal
  of a declared type with its default;
- whether it is element-wise or mixes elements, and its shape rule;
- its cost: how a constant folds in floating point, and how exact coefficients grow in sympy;
- its edge rule: where calculus is delicate (kinks, poles, domain edges), with the reason;
- its refusal rule: arguments where it has no value at all (the inverse of a singular matrix), with the
  reason, for which the inputs are refused before anything runs;
- its local-gradient rule (d op / d argument, in backcalc's own language, arguments named ``u, v, w``);
- its three implementations, written separately so that their agreement means something: sympy,
  torch and NumPy. Each receives its library as the first argument, so that this package imports none
  of them (``--help`` stays fast); and its code in the files of ``--emit`` (:mod:`.code`).

This module holds the record type and the tables (the options' types are in :mod:`.option`); the
records live in the modules :mod:`backcalc.ops` gathers (:mod:`.arithmetic`, :mod:`.functions`,
:mod:`.tensors`, :mod:`.linalg`, :mod:`.layers`, ...).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .code import Code
from .option import Option, OptionError, Options, OptionValue, option_text  # noqa: F401  (re-exported)

Shape = tuple[int, ...]

#: Precedence of an atom (a call, a name, a number): binds tighter than any operator.
ATOM = 5


class Syntax(Enum):
    """How an operation is written."""

    LEAF = "leaf"  #: a number, a constant or an input name
    CALL = "call"  #: ``name(arguments)``
    INFIX = "infix"  #: ``a + b``
    PREFIX = "prefix"  #: ``-a``
    POSTFIX = "postfix"  #: ``a.T``
    SUBSCRIPT = "subscript"  #: ``a[0, 1:3]``, its key an option


class ShapeMisfitError(ValueError):
    """Raised by a shape rule; the walker adds the subexpression to the message."""


class OutOfRangeError(ValueError):
    """Raised by a constant-folding rule when a constant leaves float64's range."""


class Growth(Enum):
    """How the digits of the exact coefficients sympy builds grow through an operation."""

    KEEP = "keep"  #: as its largest argument (functions, negation, transposition)
    SUM = "sum"  #: one more bit than the largest argument (addition)
    PRODUCT = "product"  #: the sum of the arguments' digits (products, quotients)
    POWER = "power"  #: the base's digits times the constant exponent


# Signatures of the per-record rules (the libraries are passed in, never imported here).
# An edge rule: (np, args, value, node_text, constant_args, **keywords) -> [(kind, reason, mask)], with the
# keywords of the implementations (the dimension, if the record takes one, and the options).
EdgeRule = Callable[..., list[tuple[str, str, Any]]]
# A refusal rule: (np, args) -> the reason the operation has no value at these arguments, or None.
RefusalRule = Callable[..., str | None]


@dataclass(frozen=True)
class Op:
    """Everything backcalc knows about one operation."""

    name: str
    doc: str
    syntax: Syntax = Syntax.CALL
    arity: int = 1  # tensor arguments
    extra_tensors: int = 0  # ... and up to this many more (put_at's tensor indices)
    options_after: int | None = None  # the positional options come after this many tensors: layer_norm(x, (3,), w)
    listed: bool = False  # the tensors come as a list, then the dimension: cat([a, b], 0)
    takes_dim: bool = False  # a trailing integer dimension may follow: sum(x, 0)
    needs_dim: bool = False  # ... and must: unsqueeze(x, 0)
    symbols: tuple[str, ...] = ()  # operator tokens, the first one printed: ("**", "^")
    aliases: tuple[str, ...] = ()  # other call names: ln for log
    precedence: int = ATOM
    latex: str = ""  # a format template over the arguments' LaTeX: r"\exp\left({0}\right)"
    elementwise: bool = True
    shape: Callable[[list[Shape], int | None], Shape] | None = None  # None: broadcast the arguments
    fold: Callable[..., float] | None = None  # constant folding in float64 (the cost guard); None: not folded
    growth: Growth = Growth.KEEP
    work: Callable[[list[Shape], Shape], int] | None = None  # floating-point operations; None: see work_of
    local: tuple[str, ...] = ()  # d op / d argument i, in the expression language over u, v, w
    # The vector-Jacobian product backprop applies, per argument, in the expression language over g
    # (the upstream gradient), u, v, w (the arguments) and out (the node): (shapes, dim) -> templates.
    # Element-wise operations need none: theirs is g times their local rule.
    vjp: Callable[[list[Shape], int | None], tuple[str, ...]] | None = None
    # Forward mode (Hessians and Jacobians in matrix notation), per argument: d op in the direction d of
    # that argument, over d, u, v, w, out ("": constant in it); (shapes, dim, **options) -> templates.
    # Element-wise operations need none (local rule times d), nor ``linear`` ones (op with d in its place).
    jvp: Callable[..., tuple[str, ...]] | None = None
    linear: bool = False  # linear in each argument on its own (@, .T, sum, outer, reshape)
    # Of a linear op on at most one dimension: its Jacobian from an argument's Jacobian J (one dimension
    # more, the input's), per argument, over J, u, v, w ("": no rule at these shapes).
    jacobian: Callable[..., tuple[str, ...]] | None = None
    edges: EdgeRule | None = None
    refuse: RefusalRule | None = None
    sympy: Callable[..., Any] | None = None  # element-wise: (sympy, *scalars); else (sympy, *object arrays, dim=)
    torch: Callable[..., Any] | None = None  # (torch, *tensors, dim=); with no tensor argument, also dtype=
    numpy: Callable[..., Any] | None = None  # (numpy, *arrays, dim=)
    sympy_classes: tuple[str, ...] = ()  # names of sympy classes this op's numpy evaluates (sympy -> numpy)
    confused_with: str = ""  # the operation a hand-derived rule is most often given in its place (check's diagnosis)
    literal_exponent: bool = False  # torch: a literal second argument stays a Python number (x**2)
    # The options a call accepts (keyword arguments, some also positional); every rule and implementation
    # of a record with options receives their values (defaults filled in) as keyword arguments, and its
    # local rules are format templates over them: "heaviside(u) + {negative_slope}*heaviside(-u)".
    options: tuple[Option, ...] = ()
    # Where a string option chooses another function (gelu's approximate="tanh"): the local rules from
    # the options' values, instead of the templates of ``local`` (which hold the default's).
    local_of: Callable[..., tuple[str, ...]] | None = None
    # Integer (index) arguments: class labels, indices. (shapes, **options) -> the positions of the
    # arguments that must hold whole numbers (cross_entropy's target is labels at one shape, class
    # probabilities at another); None: no integer arguments. Such an argument has no gradient: its VJP
    # template is "".
    integer_args: Callable[..., tuple[int, ...]] | None = None
    # The range each integer argument's values must lie in, checked before any work:
    # (shapes, dim, **options) -> {position: (low, high)} (high excluded).
    index_range: Callable[..., dict[int, tuple[int, int]]] | None = None
    integer_output: bool = False  # the result holds whole numbers that may index (arange)
    keeps_integers: bool = False  # a subscript or reshaping: of whole numbers, its result is whole numbers
    numpy_code: Code | str | None = None  # how --emit writes it: a template over the arguments, or a Code
    torch_code: Code | str | None = None  # ... with the helpers it calls (see :mod:`.code`)

    @property
    def symbol(self) -> str:
        return self.symbols[0] if self.symbols else self.name

    def call_name_count(self) -> str:
        """How many arguments a call takes, in words: "1 argument", "1 or 2 arguments"."""
        most = self.arity + (1 if self.takes_dim else 0) + len(self.positional_options())
        if self.needs_dim:
            if self.arity == 0:
                return "1 argument, an integer"
            return f"{most} arguments (the last an integer dimension)"
        plural = "s" if most > 1 else ""
        if most > self.arity:
            return f"{self.arity} to {most} arguments" if most > self.arity + 1 else f"{self.arity} or {most} arguments"
        return f"{self.arity} argument{plural}"

    # -- options ---------------------------------------------------------------------------------
    def option(self, name: str) -> Option | None:
        """The option called ``name`` or one of its aliases (``keepdims`` is ``keepdim``)."""
        return next((option for option in self.options if name in (option.name, *option.aliases)), None)

    def positional_options(self) -> tuple[Option, ...]:
        return tuple(option for option in self.options if option.positional)

    def canonical(self, given: dict[str, OptionValue]) -> Options:
        """The options of a call as a node holds them: in the record's order, defaults left out."""
        return tuple(
            (option.name, given[option.name])
            for option in self.options
            if option.name in given and given[option.name] != option.default
        )

    def settings(self, given: Options = ()) -> dict[str, OptionValue]:
        """Every option's value for a call: the given ones, the defaults for the rest."""
        values = {option.name: option.default for option in self.options}
        values.update(given)
        return values

    def keywords(self, dim: int | None, given: Options = ()) -> dict[str, object]:
        """The keyword arguments of this record's implementations for one node: its dimension, if the
        record takes one, and its options."""
        extra: dict[str, object] = {"dim": dim} if self.takes_dim else {}
        extra.update(self.settings(given))
        return extra

    def option_texts(self, given: Options) -> list[str]:
        """A call's options as the language writes them back: the positional ones by position while
        each is given (after optional tensors, by name: conv2d(x, w, stride=2)), the rest by name."""
        values = dict(given)
        texts = []
        by_name = self.extra_tensors > 0 and self.options_after is None
        for option in self.options:
            if option.name not in values:
                by_name = by_name or option.positional
                continue
            text = option_text(values[option.name])
            by_name = by_name or not option.positional
            texts.append(f"{option.name}={text}" if by_name else text)
        return texts

    def local_rules(self, given: Options = ()) -> tuple[str, ...]:
        """The local-gradient rules, with the values of the options written in."""
        if not self.options:
            return self.local
        if self.local_of is not None:
            return self.local_of(**self.settings(given))
        values = {name: _in_rule(value) for name, value in self.settings(given).items()}
        return tuple(rule.format(**values) for rule in self.local)

    def integers(self, shapes: list[Shape], given: Options = ()) -> tuple[int, ...]:
        """The positions of this record's integer (index) arguments at these shapes."""
        if self.integer_args is None:
            return ()
        return self.integer_args(shapes, **self.settings(given))

    def ranges(self, shapes: list[Shape], dim: int | None, given: Options = ()) -> dict[int, tuple[int, int]]:
        """The range of each integer argument's values: {position: (low, high)}, high excluded."""
        if self.index_range is None:
            return {}
        return self.index_range(shapes, dim, **self.settings(given))

    def work_of(self, args: list[Shape], shape: Shape) -> int:
        """Floating-point operations of one evaluation: the result's elements for an element-wise
        operation, the arguments' for one that mixes elements, unless the record says otherwise."""
        if self.work is not None:
            return self.work(args, shape)
        if self.elementwise:
            return math.prod(shape)
        return sum(math.prod(arg) for arg in args)

    def vjp_templates(self, shapes: list[Shape], dim: int | None, given: Options = ()) -> tuple[str, ...]:
        """The VJP rule of each argument, as text over g, u, v, w and out; NotImplementedError where
        the record has none for these shapes."""
        if self.vjp is not None:
            return self.vjp(shapes, dim, **self.settings(given))
        if self.elementwise:
            return tuple(f"g*({rule})" for rule in self.local_rules(given))
        raise NotImplementedError(f"{self.name} has no vector-Jacobian rule")

    def shape_of(self, shapes: list[Shape], dim: int | None, given: Options = ()) -> Shape | None:
        """The result's shape by the record's own rule, or None when it has none (broadcasting)."""
        if self.shape is None:
            return None
        return self.shape(shapes, dim, **self.settings(given))


def _in_rule(value: OptionValue) -> str:
    """An option's value inside a local rule: a negative number in parentheses."""
    text = option_text(value)
    return f"({text})" if text.startswith("-") else text


_REGISTRY: dict[str, Op] = {}
_CALLS: dict[str, Op] = {}  # call names and aliases -> record
_INFIX: dict[str, Op] = {}
_PREFIX: dict[str, Op] = {}
_POSTFIX: dict[str, Op] = {}
_CONSTANTS: dict[str, tuple[float, str, str]] = {}  # name -> (value, sympy attribute, LaTeX)


def register(op: Op) -> Op:
    """Add a record; every name and symbol must be new."""
    if op.name in _REGISTRY:
        raise ValueError(f"operation {op.name!r} registered twice")
    if op.takes_dim and op.positional_options():
        raise ValueError(f"{op.name}: a positional option after an optional dimension would be ambiguous")
    _REGISTRY[op.name] = op
    table = {Syntax.INFIX: _INFIX, Syntax.PREFIX: _PREFIX, Syntax.POSTFIX: _POSTFIX}.get(op.syntax)
    if table is not None:
        for symbol in op.symbols:
            table[symbol] = op
    if op.syntax is Syntax.CALL or op.syntax is Syntax.POSTFIX:
        for name in (op.name, *op.aliases):
            _CALLS[name] = op
    return op


def constant(name: str, value: float, sympy_name: str, latex: str) -> None:
    """Add a named constant of the language (``pi``, ``e``)."""
    _CONSTANTS[name] = (value, sympy_name, latex)


def get(name: str) -> Op:
    """The record of an operation, by its canonical name (``Node.op``)."""
    return _REGISTRY[name]


def all_ops() -> Iterator[Op]:
    return iter(_REGISTRY.values())


def function(name: str) -> Op | None:
    """The record called ``name`` (or an alias) in a call, or None."""
    return _CALLS.get(name)


def function_names() -> list[str]:
    """Every name that can be called, canonical names first."""
    canonical = [op.name for op in _REGISTRY.values() if op.name in _CALLS]
    return canonical + [name for name in _CALLS if name not in canonical]


def closest_function(name: str) -> str | None:
    """The known function name nearest to ``name``, for "did you mean" hints."""
    matches = difflib.get_close_matches(name.lower(), function_names(), n=1, cutoff=0.5)
    return matches[0] if matches else None


def infix(symbol: str) -> Op | None:
    return _INFIX.get(symbol)


def infix_at(precedence: int) -> dict[str, Op]:
    """The infix operators of one precedence level, by symbol."""
    return {symbol: op for symbol, op in _INFIX.items() if op.precedence == precedence}


def prefix(symbol: str) -> Op | None:
    return _PREFIX.get(symbol)


def postfix(symbol: str) -> Op | None:
    return _POSTFIX.get(symbol)


def constants() -> dict[str, tuple[float, str, str]]:
    return dict(_CONSTANTS)


def is_constant_name(name: str) -> bool:
    return name in _CONSTANTS


def reserved_names() -> set[str]:
    """Names an input may not take: functions, aliases and constants."""
    return set(_CALLS) | set(_CONSTANTS)
