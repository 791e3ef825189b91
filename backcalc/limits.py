"""The documented bounds on what one input may cost. Each is checked before the work it guards."""

from __future__ import annotations

MAX_EXPRESSION_LENGTH = 10_000
"""Characters in an expression."""

MAX_DEPTH = 100
"""Nesting depth of the expression tree (parentheses, operators, function calls)."""

MAX_NODES = 5_000
"""Nodes (numbers, names, operations) in the expression tree."""

MAX_NUMBER_LENGTH = 64
"""Characters in one number literal."""

MAX_CONSTANT_DIGITS = 300
"""A constant subexpression (``2**1000``) must stay within float64's range: 10**-300 .. 10**300."""

MAX_COEFFICIENT_DIGITS = 4_000
"""Digits of the exact integers sympy may build by distributing constant powers, like ``(2*x)**1000``."""

MAX_ELEMENTS = 10_000_000
"""Elements in one input tensor, and in the broadcast output."""

MAX_NDIM = 32
"""Dimensions of one input tensor."""

MAX_FILE_BYTES = 256 * 2**20
"""Bytes in one ``@file`` value (at most this many are ever read, whatever the file claims), and in one
line of ``batch`` input."""

MAX_JSON_DEPTH = MAX_NDIM + 2
"""Nesting of arrays and objects in JSON input (a value file or a ``batch`` line): a line's object and
its ``inputs`` object around a value of :data:`MAX_NDIM` dimensions."""

MAX_VALUE_TEXT = 1_000_000
"""Characters of one literal value typed on the command line (use ``@file`` for more)."""

RECURSION_LIMIT = 20_000
"""Python's recursion limit while a tree is parsed or evaluated: depth 100 takes several frames a level
in the parser and many more inside sympy."""

MAX_SYMBOLIC_ELEMENTS = 400
"""Input elements (all inputs together) up to which an expression that mixes elements (``@``,
reductions, softmax) is also differentiated by sympy element by element, each element its own symbol:
the witness of the formula in matrix notation, and the Jacobians and Hessians. Beyond, there is no
witness (the formula still answers), and Jacobians and Hessians are refused."""

MAX_DERIVATIVE_ENTRIES = 10_000
"""Entries of a Jacobian (output elements x input elements) or a Hessian (variables squared)."""

MAX_FD_EVALUATIONS = 20_000
"""Evaluations of the whole expression that finite differences may take when it mixes elements
(``@``, reductions): two per element of the input."""

MAX_WORK = 20_000_000_000
"""Floating-point operations of one forward pass, estimated before anything runs: the elements of every
operation's result, and 2*m*k*n for each ``@`` of an m x k by a k x n matrix (batched ``@`` too). The
backward pass costs about twice as much again; 20 GFLOP takes a few seconds on one core."""

MAX_WORK_BYTES = 2 * 2**30
"""Memory of the intermediate tensors of one run, estimated before anything runs: the elements of every
input and every operation's result, at 8 bytes each, twice (the forward pass keeps each result for the
backward pass, which makes a gradient of the same size)."""

SYMBOLIC_SECONDS = 10.0
"""Seconds sympy may spend in one run, all inputs together: converting, differentiating and printing.
Beyond it the symbolic side is skipped (verdict ``unchecked``, with the reason) and autograd answers."""

SIMPLIFY_SECONDS = 2.0
"""Seconds ``--simplify`` may spend on one formula before the unsimplified one is shown instead."""


def describe() -> str:
    """One line per limit, for ``--help`` and the README."""
    return "\n".join(
        [
            f"  expression: {MAX_EXPRESSION_LENGTH:,} characters, depth {MAX_DEPTH}, {MAX_NODES:,} nodes",
            f"  constants: within 1e-{MAX_CONSTANT_DIGITS}..1e{MAX_CONSTANT_DIGITS}; "
            f"exact coefficients up to {MAX_COEFFICIENT_DIGITS:,} digits",
            f"  tensors: {MAX_ELEMENTS:,} elements, {MAX_NDIM} dimensions; files: {MAX_FILE_BYTES // 2**20} MiB",
            f"  work of one run (estimated first): {MAX_WORK / 1e9:g} GFLOP, {MAX_WORK_BYTES / 2**30:g} GiB of tensors",
            f"  @ and reductions: sympy's element-by-element witness up to {MAX_SYMBOLIC_ELEMENTS} input elements; "
            f"{MAX_DERIVATIVE_ENTRIES:,} Jacobian or Hessian entries",
            f"  symbolic work: {SYMBOLIC_SECONDS:g} s a run, then the symbolic side is skipped "
            f"(--simplify: {SIMPLIFY_SECONDS:g} s a formula, then unsimplified)",
        ]
    )
