"""The operations that mix elements: ``@``, the transpose, reductions, softmax, dot products, norms.

An output element may depend on several elements of an input, so their gradients are not element-wise
formulas: the sympy side works on object arrays of element symbols (``W_0_1`` for ``W[0, 1]``), and
these records' sympy implementations take such arrays (and numpy to handle them) instead of scalars.
"""

from __future__ import annotations

from typing import Any

from .record import Growth, Op, Shape, ShapeMisfit, Syntax, register
from .rules import add_along, broadcast, each, reduced, same, scalar, show


def _matmul_shape(shapes: list[Shape], dim: int | None) -> Shape:
    a, b = shapes
    if not a or not b:
        raise ShapeMisfit(f"@ needs tensors of at least one dimension, not {show(a)} and {show(b)}")
    inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
    if inner_a != inner_b:
        raise ShapeMisfit(f"shapes {show(a)} and {show(b)} do not fit for @ (inner sizes {inner_a} and {inner_b})")
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
        raise ShapeMisfit(f"dot needs two vectors of one length, not {show(a)} and {show(b)}")
    return ()


def _last_or(x: Any, dim: int | None) -> int:
    return -1 if dim is None else dim


def _norm_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    return [("kink", f"{text} at the zero vector: the 2-norm has no derivative there", np.asarray(value == 0))]


def total(sp: Any, expr: Any, shape: Shape) -> Any:
    """The sum of all elements of a matrix expression, as a scalar (vectors are columns)."""
    if not shape:
        return expr
    if isinstance(expr, sp.HadamardPower) and expr.exp == 2:
        return sp.Trace(expr.base.T * expr.base)  # the sum of squares
    if len(shape) == 1:
        return sp.Trace(sp.OneMatrix(1, shape[0]) * expr)
    return sp.Trace(sp.OneMatrix(1, shape[0]) * expr * sp.OneMatrix(shape[1], 1))


def _matrix_matmul(sp: Any, args: list[Any], shapes: list[Shape]) -> Any:
    a, b = args
    if len(shapes[0]) == 1 and len(shapes[1]) == 1:
        return sp.Trace(a.T * b)
    if len(shapes[0]) == 2:
        return a * b
    raise NotImplementedError


def _matrix_total(mean: bool) -> Any:
    def rule(sp: Any, args: list[Any], shapes: list[Shape], dim: int | None = None) -> Any:
        if dim is not None:
            raise NotImplementedError  # a reduction over one dimension
        result = total(sp, args[0], shapes[0])
        count = 1
        for size in shapes[0]:
            count *= size
        return result / count if mean else result

    return rule


def _numpy_logsumexp(np: Any, x: Any, dim: int | None = None) -> Any:
    top = np.max(x, axis=dim, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.log(np.sum(np.exp(x - top), axis=dim, keepdims=True)) + top
    return np.squeeze(total, axis=dim) if dim is not None else total.reshape(())


def _numpy_softmax(np: Any, x: Any, dim: int | None = None) -> Any:
    if x.ndim == 0:
        return np.ones_like(x)
    axis = _last_or(x, dim)
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _numpy_log_softmax(np: Any, x: Any, dim: int | None = None) -> Any:
    if x.ndim == 0:
        return np.zeros_like(x)
    axis = _last_or(x, dim)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _sympy_softmax(sp: Any, np: Any, x: Any, dim: int | None = None) -> Any:
    if x.ndim == 0:
        return np.asarray(sp.Integer(1), dtype=object)
    powers = each(np, sp.exp, x)
    return powers / add_along(sp, np, powers, _last_or(x, dim), keepdims=True)


def _sympy_log_softmax(sp: Any, np: Any, x: Any, dim: int | None = None) -> Any:
    if x.ndim == 0:
        return np.asarray(sp.Integer(0), dtype=object)
    totals = add_along(sp, np, each(np, sp.exp, x), _last_or(x, dim), keepdims=True)
    return x - each(np, sp.log, totals)


def _sympy_mean(sp: Any, np: Any, x: Any, dim: int | None = None) -> Any:
    count = x.size if dim is None else x.shape[dim]
    return add_along(sp, np, x, dim) * sp.Rational(1, count)


def _torch_reduce(method: str) -> Any:
    return lambda torch, x, dim=None: getattr(x, method)() if dim is None else getattr(x, method)(dim=dim)


def _torch_softmax(name: str) -> Any:
    def apply(torch: Any, x: Any, dim: int | None = None) -> Any:
        if x.dim() == 0:  # torch would need a dimension: the softmax of one number is 1 (log: 0)
            return torch.ones_like(x) if name == "softmax" else torch.zeros_like(x)
        return getattr(torch, name)(x, dim=_last_or(x, dim))

    return apply


register(
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
        matrix=_matrix_matmul,
        sympy=lambda sp, np, a, b: np.asarray(np.matmul(a, b), dtype=object),
        torch=lambda torch, a, b: torch.matmul(a, b),
        numpy=lambda np, a, b: np.matmul(a, b),
    )
)
register(
    Op(
        "transpose",
        "all dimensions reversed: a.T or transpose(a)",
        syntax=Syntax.POSTFIX,
        symbols=(".T",),
        latex="{{{0}}}^{{T}}",
        elementwise=False,
        shape=lambda shapes, dim: tuple(reversed(shapes[0])),
        matrix=lambda sp, args, shapes: args[0].T if len(shapes[0]) == 2 else args[0],
        sympy=lambda sp, np, a: np.transpose(a),
        torch=lambda torch, a: a.permute(*reversed(range(a.dim()))),
        numpy=lambda np, a: np.transpose(a),
    )
)
register(
    Op(
        "sum",
        "the sum of all elements, or along dimension d: sum(x), sum(x, d)",
        takes_dim=True,
        latex=r"\sum {0}",
        elementwise=False,
        shape=reduced,
        matrix=_matrix_total(mean=False),
        sympy=lambda sp, np, x, dim=None: add_along(sp, np, x, dim),
        torch=_torch_reduce("sum"),
        numpy=lambda np, x, dim=None: np.sum(x, axis=dim),
    )
)
register(
    Op(
        "mean",
        "the mean of all elements, or along dimension d: mean(x), mean(x, d)",
        takes_dim=True,
        latex=r"\operatorname{{mean}} {0}",
        elementwise=False,
        shape=reduced,
        matrix=_matrix_total(mean=True),
        sympy=_sympy_mean,
        torch=_torch_reduce("mean"),
        numpy=lambda np, x, dim=None: np.asarray(np.mean(x, axis=dim)),
    )
)
register(
    Op(
        "logsumexp",
        "log(sum(exp(x))), stably, over all elements or along dimension d",
        takes_dim=True,
        latex=r"\operatorname{{logsumexp}}\left({0}\right)",
        elementwise=False,
        shape=reduced,
        sympy=lambda sp, np, x, dim=None: each(np, sp.log, add_along(sp, np, each(np, sp.exp, x), dim)),
        torch=lambda torch, x, dim=None: torch.logsumexp(x.reshape(-1), dim=0)
        if dim is None
        else torch.logsumexp(x, dim=dim),
        numpy=_numpy_logsumexp,
    )
)
register(
    Op(
        "softmax",
        "exp(x) / sum(exp(x)) along the last dimension, or along d: softmax(x), softmax(x, d)",
        takes_dim=True,
        latex=r"\operatorname{{softmax}}\left({0}\right)",
        elementwise=False,
        shape=same,
        sympy=_sympy_softmax,
        torch=_torch_softmax("softmax"),
        numpy=_numpy_softmax,
    )
)
register(
    Op(
        "log_softmax",
        "log(softmax(x)), stably, along the last dimension or along d: log_softmax(x), log_softmax(x, d)",
        takes_dim=True,
        latex=r"\log\operatorname{{softmax}}\left({0}\right)",
        elementwise=False,
        shape=same,
        sympy=_sympy_log_softmax,
        torch=_torch_softmax("log_softmax"),
        numpy=_numpy_log_softmax,
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
        growth=Growth.PRODUCT,
        matrix=lambda sp, args, shapes: sp.Trace(args[0].T * args[1]),
        sympy=lambda sp, np, a, b: add_along(sp, np, a * b, None),
        torch=lambda torch, a, b: torch.dot(a, b),
        numpy=lambda np, a, b: np.asarray(np.dot(a, b)),
    )
)
register(
    Op(
        "norm",
        "the 2-norm sqrt(sum(x**2)) of all elements",
        latex=r"\left\lVert {0} \right\rVert",
        elementwise=False,
        shape=scalar,
        edges=_norm_edges,
        sympy=lambda sp, np, x: each(np, sp.sqrt, add_along(sp, np, x * x, None)),
        torch=lambda torch, x: torch.linalg.vector_norm(x),
        numpy=lambda np, x: np.sqrt(np.sum(x * x)),
    )
)
