"""The Kronecker product and the two block operations its gradient is written with.

``kron(A, B)`` of an m x n ``A`` and a p x q ``B`` is the mp x nq matrix of blocks ``A[i, j]*B``. A
gradient ``G`` of that shape is cut into the same m x n grid of p x q blocks ``G(i, j)``; then

- ``blockdot(G, B)[i, j] = sum(G(i, j) * B)``: each block's inner product with ``B`` (m x n), the
  gradient of ``A``;
- ``blocksum(G, A) = sum over i, j of A[i, j]*G(i, j)``: the blocks weighted by ``A`` and added
  (p x q), the gradient of ``B``.

Both are linear in each argument, and their own rules close the family (``kron``, ``blockdot`` and
``blocksum`` are each other's gradients). Vectors are one-row matrices here: ``kron(a, b)`` of an
m- and a p-vector is the mp-vector of blocks ``a[i]*b``.
"""

from __future__ import annotations

from typing import Any

from .code import Code
from .record import Growth, Op, Shape, ShapeMisfitError, register
from .rules import add_along, show


def _same_rank(name: str, a: Shape, b: Shape) -> None:
    if len(a) not in (1, 2) or len(a) != len(b):
        raise ShapeMisfitError(f"{name} needs two vectors or two matrices, not {show(a)} and {show(b)}")


def _kron_shape(shapes: list[Shape], dim: int | None) -> Shape:
    a, b = shapes
    _same_rank("kron", a, b)
    return tuple(x * y for x, y in zip(a, b, strict=True))


def _quotient_shape(name: str) -> Any:
    """The grid of blocks of the first argument, when the second is one block (``blockdot``) or the grid."""

    def rule(shapes: list[Shape], dim: int | None) -> Shape:
        g, part = shapes
        _same_rank(name, g, part)
        if any(size == 0 or whole % size for whole, size in zip(g, part, strict=True)):
            raise ShapeMisfitError(f"{name}: {show(g)} is not a whole grid of {show(part)}")
        return tuple(whole // size for whole, size in zip(g, part, strict=True))

    return rule


def _grid(x: Any, rows: int, cols: int) -> Any:
    """A 2-D (or 1-D) array cut into a rows x cols grid of blocks: axes (i, k, j, l), block (i, j)."""
    matrix = x.reshape(1, -1) if x.ndim == 1 else x
    return matrix.reshape(rows, matrix.shape[0] // rows, cols, matrix.shape[1] // cols)


def _as_matrix(x: Any) -> Any:
    return x.reshape(1, -1) if x.ndim == 1 else x


def _blockdot(np: Any, g: Any, b: Any, total: Any = None) -> Any:
    """sum over each p x q block of g times b: an m x n result (m-vector for vectors)."""
    part = _as_matrix(b)
    grid = _grid(g, _as_matrix(g).shape[0] // part.shape[0], _as_matrix(g).shape[1] // part.shape[1])
    products = grid * part[None, :, None, :]
    summed = total(products) if total else products.sum(axis=(1, 3))
    return summed.reshape(-1) if g.ndim == 1 else summed


def _blocksum(np: Any, g: Any, a: Any, total: Any = None) -> Any:
    """sum over the blocks (i, j) of a[i, j] times block (i, j): a p x q result (p-vector for vectors)."""
    weights = _as_matrix(a)
    grid = _grid(g, weights.shape[0], weights.shape[1])
    products = grid * weights[:, None, :, None]
    summed = total(products, (0, 2)) if total else products.sum(axis=(0, 2))
    return summed.reshape(-1) if g.ndim == 1 else summed


def _sympy_total(sp: Any, np: Any) -> Any:
    """Exact flat sums over two axes of an object array (sympy's Add of all terms at once)."""

    def total(cells: Any, axes: tuple[int, int] = (1, 3)) -> Any:
        moved = np.moveaxis(cells, axes, (-2, -1))
        flat = moved.reshape(*moved.shape[:-2], -1)
        return add_along(sp, np, flat, -1)

    return total


def _torch_grid_sum(torch: Any, g: Any, part: Any, weights_first: bool) -> Any:
    matrix = g.reshape(1, -1) if g.dim() == 1 else g
    small = part.reshape(1, -1) if part.dim() == 1 else part
    if weights_first:  # blocksum: part is the m x n grid of weights
        grid = matrix.reshape(small.shape[0], matrix.shape[0] // small.shape[0], small.shape[1], -1)
        result = torch.einsum("ikjl,ij->kl", grid, small)
    else:  # blockdot: part is one p x q block
        grid = matrix.reshape(matrix.shape[0] // small.shape[0], small.shape[0], -1, small.shape[1])
        result = torch.einsum("ikjl,kl->ij", grid, small)
    return result.reshape(-1) if g.dim() == 1 else result


# The block operations in emitted code, as :func:`_blockdot`, :func:`_blocksum` and the torch side compute them.
_NUMPY_BLOCKDOT = """def _blockdot(g, b):
    matrix = g.reshape(1, -1) if g.ndim == 1 else g
    part = b.reshape(1, -1) if b.ndim == 1 else b
    rows, cols = matrix.shape[0] // part.shape[0], matrix.shape[1] // part.shape[1]
    grid = matrix.reshape(rows, part.shape[0], cols, part.shape[1])
    summed = (grid * part[None, :, None, :]).sum(axis=(1, 3))
    return summed.reshape(-1) if g.ndim == 1 else summed"""
_NUMPY_BLOCKSUM = """def _blocksum(g, a):
    matrix = g.reshape(1, -1) if g.ndim == 1 else g
    weights = a.reshape(1, -1) if a.ndim == 1 else a
    rows, cols = weights.shape
    grid = matrix.reshape(rows, matrix.shape[0] // rows, cols, matrix.shape[1] // cols)
    summed = (grid * weights[:, None, :, None]).sum(axis=(0, 2))
    return summed.reshape(-1) if g.ndim == 1 else summed"""
_TORCH_BLOCKDOT = """def _blockdot(g, b):
    matrix = g.reshape(1, -1) if g.dim() == 1 else g
    small = b.reshape(1, -1) if b.dim() == 1 else b
    grid = matrix.reshape(matrix.shape[0] // small.shape[0], small.shape[0], -1, small.shape[1])
    result = torch.einsum("ikjl,kl->ij", grid, small)
    return result.reshape(-1) if g.dim() == 1 else result"""
_TORCH_BLOCKSUM = """def _blocksum(g, a):
    matrix = g.reshape(1, -1) if g.dim() == 1 else g
    small = a.reshape(1, -1) if a.dim() == 1 else a
    grid = matrix.reshape(small.shape[0], matrix.shape[0] // small.shape[0], small.shape[1], -1)
    result = torch.einsum("ikjl,ij->kl", grid, small)
    return result.reshape(-1) if g.dim() == 1 else result"""


def _product_work(args: list[Shape], shape: Shape) -> int:
    count = 1
    for size in args[0]:
        count *= size
    return 2 * count


KRON = register(
    Op(
        "kron",
        "the Kronecker product of two matrices (or two vectors): kron(A, B), the blocks A[i, j]*B",
        arity=2,
        latex=r"{0} \otimes {1}",
        elementwise=False,
        shape=_kron_shape,
        growth=Growth.PRODUCT,
        work=lambda args, shape: _product_work([shape], shape) // 2,
        vjp=lambda shapes, dim: ("blockdot(g, v)", "blocksum(g, u)"),
        linear=True,
        sympy=lambda sp, np, a, b: np.asarray(np.kron(a, b), dtype=object),
        torch=lambda torch, a, b: torch.kron(a, b),
        numpy_code="np.kron({0}, {1})",
        torch_code="torch.kron({0}, {1})",
        numpy=lambda np, a, b: np.kron(a, b),
    )
)
register(
    Op(
        "blockdot",
        "G cut into blocks of B's shape, each block's inner product with B (kron's gradient): blockdot(G, B)",
        arity=2,
        latex=r"\operatorname{{blockdot}}\left({0}, {1}\right)",
        elementwise=False,
        shape=_quotient_shape("blockdot"),
        growth=Growth.PRODUCT,
        work=_product_work,
        vjp=lambda shapes, dim: ("kron(g, v)", "blocksum(u, g)"),
        sympy=lambda sp, np, g, b: _blockdot(np, g, b, _sympy_total(sp, np)),
        torch=lambda torch, g, b: _torch_grid_sum(torch, g, b, weights_first=False),
        numpy_code=Code("_blockdot({0}, {1})", (_NUMPY_BLOCKDOT,)),
        torch_code=Code("_blockdot({0}, {1})", (_TORCH_BLOCKDOT,)),
        numpy=_blockdot,
    )
)
register(
    Op(
        "blocksum",
        "G cut into a grid of A's shape, its blocks weighted by A and added (kron's gradient): blocksum(G, A)",
        arity=2,
        latex=r"\operatorname{{blocksum}}\left({0}, {1}\right)",
        elementwise=False,
        shape=_quotient_shape("blocksum"),
        growth=Growth.PRODUCT,
        work=_product_work,
        vjp=lambda shapes, dim: ("kron(v, g)", "blockdot(u, g)"),
        sympy=lambda sp, np, g, a: _blocksum(np, g, a, _sympy_total(sp, np)),
        torch=lambda torch, g, a: _torch_grid_sum(torch, g, a, weights_first=True),
        numpy_code=Code("_blocksum({0}, {1})", (_NUMPY_BLOCKSUM,)),
        torch_code=Code("_blocksum({0}, {1})", (_TORCH_BLOCKSUM,)),
        numpy=_blocksum,
    )
)
