"""The operations that mix elements: ``@``, the transpose, sums and means, dot and outer products
(softmax and logsumexp are in :mod:`.softmax`, norms in :mod:`.norms`).

An output element may depend on several elements of an input, so their gradients are not element-wise
formulas: the sympy side works on object arrays of element symbols (``W_0_1`` for ``W[0, 1]``), and
these records' sympy implementations take such arrays (and numpy to handle them) instead of scalars.
"""

from __future__ import annotations

import math
from typing import Any

from .code import Code, numpy_reduction, operator, torch_reduction
from .record import ATOM, Growth, Op, Option, Shape, ShapeMisfitError, Syntax, register
from .rules import add_along, broadcast, reduced, reduction_jacobian, show, torch_reduce


def _matmul_shape(shapes: list[Shape], dim: int | None) -> Shape:
    a, b = shapes
    if not a or not b:
        raise ShapeMisfitError(f"@ needs tensors of at least one dimension, not {show(a)} and {show(b)}")
    inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
    if inner_a != inner_b:
        raise ShapeMisfitError(f"shapes {show(a)} and {show(b)} do not fit for @ (inner sizes {inner_a} and {inner_b})")
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return b[:-2] + b[-1:]
    if len(b) == 1:
        return a[:-1]
    return (*broadcast([a[:-2], b[:-2]]), a[-2], b[-1])


def _dot_shape(shapes: list[Shape], dim: int | None) -> Shape:
    a, b = shapes
    if len(a) != 1 or len(b) != 1 or a != b:
        raise ShapeMisfitError(f"dot needs two vectors of one length, not {show(a)} and {show(b)}")
    return ()


def _matmul_vjp(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    # C = A @ B: dA = dC @ B.T and dB = A.T @ dC; with a vector, an outer product or a dot product;
    # batched, the transpose of the last two dimensions (.mT), summed back over broadcast batches.
    a, b = (len(shape) for shape in shapes)
    rules = {(2, 2): ("g @ v.T", "u.T @ g"), (2, 1): ("outer(g, v)", "u.T @ g"), (1, 2): ("v @ g", "outer(u, g)")}
    if (a, b) == (1, 1):
        return ("g*v", "g*u")
    if (a, b) in rules:
        return rules[(a, b)]
    if b == 1:
        return ("unsqueeze(g, -1)*v", "sum(u*unsqueeze(g, -1), -2)")
    if a == 1:
        return ("sum(v*unsqueeze(g, -2), -1)", "unsqueeze(u, -1)*unsqueeze(g, -2)")
    return ("g @ v.mT", "u.mT @ g")


def _matmul_jacobian(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    # Of a vector or a scalar only (a matrix's Jacobian would have three dimensions): J is d arg / d input.
    rules = {(2, 1): ("", "u @ J"), (1, 2): ("v.T @ J", ""), (1, 1): ("v @ J", "u @ J")}
    return rules.get((len(shapes[0]), len(shapes[1])), ("", ""))


def reduction_vjp(template: str) -> Any:
    """The rule of a reduction: the upstream gradient put back along the reduced dimension."""

    def rule(shapes: list[Shape], dim: int | None, keepdim: bool = False, **options: Any) -> tuple[str, ...]:
        shape = shapes[0]
        count = 1
        for size in shape if dim is None else (shape[dim],):
            count *= size
        kept = dim is None or keepdim  # g and out broadcast back as they are
        back = "g" if kept else f"unsqueeze(g, {dim})"
        keep = "out" if kept else f"unsqueeze(out, {dim})"
        return (template.format(g=back, out=keep, n=count, **options),)

    return rule


def _sympy_mean(sp: Any, np: Any, x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    count = x.size if dim is None else x.shape[dim]
    return add_along(sp, np, x, dim, keepdims=keepdim) * sp.Rational(1, count)


#: The option of every reduction that takes a dimension, as torch spells it (and as NumPy: torch takes both).
KEEPDIM = Option("keepdim", False, aliases=("keepdims",))


# torch's .T of more than two dimensions is deprecated: every dimension reversed, in emitted code.
_TORCH_TRANSPOSE = """def _transpose(a):
    return a.permute(*reversed(range(a.dim())))"""


MATMUL = register(
    Op(
        "matmul",
        "matrix product, as torch.matmul: a @ b (vectors, matrices, batches)",
        syntax=Syntax.INFIX,
        arity=2,
        symbols=("@",),
        precedence=2,
        latex="{0} {1}",
        elementwise=False,
        shape=_matmul_shape,
        growth=Growth.PRODUCT,
        vjp=_matmul_vjp,
        linear=True,
        jacobian=_matmul_jacobian,
        work=lambda args, shape: 2 * max(1, math.prod(shape)) * args[0][-1],  # m x k @ k x n: 2*m*k*n
        sympy=lambda sp, np, a, b: np.asarray(np.matmul(a, b), dtype=object),
        torch=lambda torch, a, b: torch.matmul(a, b),
        numpy_code=operator("{0} @ {1}", 2),
        torch_code=operator("{0} @ {1}", 2),
        numpy=lambda np, a, b: np.matmul(a, b),
    )
)
TRANSPOSE = register(
    Op(
        "transpose",
        "all dimensions reversed: a.T or transpose(a)",
        syntax=Syntax.POSTFIX,
        symbols=(".T",),
        latex="{{{0}}}^{{T}}",
        elementwise=False,
        shape=lambda shapes, dim: tuple(reversed(shapes[0])),
        vjp=lambda shapes, dim: ("g.T",),
        linear=True,
        jacobian=lambda shapes, dim: ("J" if len(shapes[0]) <= 1 else "",),
        sympy=lambda sp, np, a: np.transpose(a),
        torch=lambda torch, a: a.permute(*reversed(range(a.dim()))),
        numpy_code=operator("{0}.T", ATOM),  # NumPy's .T reverses every dimension, as transpose does
        torch_code=Code("_transpose({0})", (_TORCH_TRANSPOSE,)),
        numpy=lambda np, a: np.transpose(a),
    )
)
SUM = register(
    Op(
        "sum",
        "the sum of all elements, or along dimension d: sum(x), sum(x, d), sum(x, d, keepdim=True)",
        takes_dim=True,
        options=(KEEPDIM,),
        latex=r"\sum {0}",
        elementwise=False,
        shape=reduced,
        vjp=reduction_vjp("{g}*ones_like(u)"),
        linear=True,
        jacobian=reduction_jacobian("sum(J, 0)"),
        sympy=lambda sp, np, x, dim=None, keepdim=False: add_along(sp, np, x, dim, keepdims=keepdim),
        torch=torch_reduce("sum"),
        numpy_code=numpy_reduction("sum"),
        torch_code=torch_reduction("sum"),
        numpy=lambda np, x, dim=None, keepdim=False: np.asarray(np.sum(x, axis=dim, keepdims=keepdim)),
    )
)
register(
    Op(
        "mean",
        "the mean of all elements, or along dimension d: mean(x), mean(x, d), mean(x, d, keepdim=True)",
        takes_dim=True,
        options=(KEEPDIM,),
        latex=r"\operatorname{{mean}} {0}",
        elementwise=False,
        shape=reduced,
        vjp=reduction_vjp("{g}*ones_like(u)/{n}"),
        linear=True,
        jacobian=reduction_jacobian("sum(J, 0)/{n}"),
        sympy=_sympy_mean,
        torch=torch_reduce("mean"),
        numpy_code=numpy_reduction("mean"),
        torch_code=torch_reduction("mean"),
        numpy=lambda np, x, dim=None, keepdim=False: np.asarray(np.mean(x, axis=dim, keepdims=keepdim)),
    )
)
register(
    Op(
        "dot",
        "the dot product of two vectors of one length",
        arity=2,
        latex=r"{0} \cdot {1}",
        elementwise=False,
        shape=_dot_shape,
        vjp=lambda shapes, dim: ("g*v", "g*u"),
        linear=True,
        jacobian=lambda shapes, dim: ("v @ J", "u @ J"),
        growth=Growth.PRODUCT,
        sympy=lambda sp, np, a, b: add_along(sp, np, a * b, None),
        torch=lambda torch, a, b: torch.dot(a, b),
        numpy_code="np.dot({0}, {1})",
        torch_code="torch.dot({0}, {1})",
        numpy=lambda np, a, b: np.asarray(np.dot(a, b)),
    )
)


def _unsqueeze_shape(shapes: list[Shape], dim: int | None) -> Shape:
    (shape,) = shapes
    assert dim is not None  # the parser asks for it
    if not -len(shape) - 1 <= dim <= len(shape):
        raise ShapeMisfitError(f"dimension {dim} is out of range to insert into shape {show(shape)}")
    index = dim % (len(shape) + 1)
    return (*shape[:index], 1, *shape[index:])


def _outer_shape(shapes: list[Shape], dim: int | None) -> Shape:
    a, b = shapes
    if len(a) != 1 or len(b) != 1:
        raise ShapeMisfitError(f"outer needs two vectors, not {show(a)} and {show(b)}")
    return (a[0], b[0])


UNSQUEEZE = register(
    Op(
        "unsqueeze",
        "x with a new dimension of size 1 inserted at d, as torch.unsqueeze: unsqueeze(x, d)",
        takes_dim=True,
        needs_dim=True,
        latex=r"{0}",
        elementwise=False,
        shape=_unsqueeze_shape,
        vjp=lambda shapes, dim: (f"sum(g, {dim})",),
        linear=True,
        jacobian=lambda shapes, dim: ("unsqueeze(J, 0)" if shapes[0] == () else "",),
        sympy=lambda sp, np, x, dim=None: np.expand_dims(x, dim),
        torch=lambda torch, x, dim=None: torch.unsqueeze(x, dim),
        numpy_code="np.expand_dims({0}, {dim})",
        torch_code="torch.unsqueeze({0}, {dim})",
        numpy=lambda np, x, dim=None: np.expand_dims(x, dim),
    )
)
OUTER = register(
    Op(
        "outer",
        "the outer product of two vectors: outer(a, b)[i, j] = a[i]*b[j]",
        arity=2,
        latex=r"{0} {{{1}}}^{{T}}",
        elementwise=False,
        shape=_outer_shape,
        vjp=lambda shapes, dim: ("g @ v", "u @ g"),
        linear=True,
        growth=Growth.PRODUCT,
        sympy=lambda sp, np, a, b: np.asarray(np.multiply.outer(a, b), dtype=object),
        torch=lambda torch, a, b: torch.outer(a, b),
        numpy_code="np.outer({0}, {1})",
        torch_code="torch.outer({0}, {1})",
        numpy=lambda np, a, b: np.outer(a, b),
    )
)


def _matrix_transpose_shape(shapes: list[Shape], dim: int | None) -> Shape:
    (shape,) = shapes
    if len(shape) < 2:
        raise ShapeMisfitError(f".mT needs at least two dimensions, not {show(shape)}")
    return (*shape[:-2], shape[-1], shape[-2])


MATRIX_TRANSPOSE = register(
    Op(
        "matrix_transpose",
        "the last two dimensions swapped, as torch's x.mT: a.mT or matrix_transpose(a)",
        syntax=Syntax.POSTFIX,
        symbols=(".mT",),
        latex="{{{0}}}^{{T}}",
        elementwise=False,
        shape=_matrix_transpose_shape,
        vjp=lambda shapes, dim: ("g.mT",),
        linear=True,
        sympy=lambda sp, np, a: np.swapaxes(a, -1, -2),
        torch=lambda torch, a: a.mT,
        numpy_code="np.swapaxes({0}, -1, -2)",
        torch_code="torch.transpose({0}, -1, -2)",
        numpy=lambda np, a: np.swapaxes(a, -1, -2),
    )
)
