"""Rules that several records share: broadcasting and reduction shapes, folding, sums over object arrays.

Pure Python; the NumPy and sympy helpers receive their library as an argument.
"""

from __future__ import annotations

from typing import Any

from .record import Shape, ShapeMisfitError


def show(shape: Shape) -> str:
    return f"[{', '.join(map(str, shape))}]"


def broadcast(shapes: list[Shape], dim: int | None = None) -> Shape:
    """torch's broadcasting of several shapes."""
    ndim = max(map(len, shapes), default=0)
    result: list[int] = []
    for dims in zip(*(((1,) * (ndim - len(s)) + s) for s in shapes), strict=True):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ShapeMisfitError(f"shapes {' and '.join(show(s) for s in shapes)} do not broadcast")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def axis(shape: Shape, dim: int) -> int:
    """A dimension argument as a non-negative axis of ``shape``."""
    if not shape or not -len(shape) <= dim < len(shape):
        raise ShapeMisfitError(f"dimension {dim} is out of range for shape {show(shape)}")
    return dim % len(shape)


def reduced(shapes: list[Shape], dim: int | None, keepdim: bool = False, **options: object) -> Shape:
    """The shape after reducing over all elements (a scalar) or over one dimension; with ``keepdim``,
    the reduced dimensions stay, of size 1."""
    shape = shapes[0]
    if dim is None:
        return (1,) * len(shape) if keepdim else ()
    index = axis(shape, dim)
    return shape[:index] + ((1,) if keepdim else ()) + shape[index + 1 :]


def same(shapes: list[Shape], dim: int | None) -> Shape:
    """The shape of the (first) argument, after checking a dimension if there is one."""
    if dim is not None:
        axis(shapes[0], dim)
    return shapes[0]


def scalar(shapes: list[Shape], dim: int | None) -> Shape:
    return ()


def add_along(sp: Any, np: Any, cells: Any, dim: int | None, keepdims: bool = False) -> Any:
    """sympy's Add over all elements of an object array, or along one axis (flat sums, not pairwise)."""
    cells = np.asarray(cells, dtype=object)
    if dim is None:
        total = np.empty((), dtype=object)
        total[()] = sp.Add(*cells.flat)
        return total.reshape((1,) * cells.ndim) if keepdims else total
    index = dim % cells.ndim
    moved = np.moveaxis(cells, index, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    sums = np.empty(rows.shape[0], dtype=object)
    for i, row in enumerate(rows):
        sums[i] = sp.Add(*row)
    result = sums.reshape(moved.shape[:-1])
    return np.expand_dims(result, index) if keepdims else result


def kept(x: Any, value: Any, dim: int | None, keepdim: bool) -> Any:
    """A reduction's torch result with the reduced dimensions back, of size 1, under ``keepdim``
    (over all elements, torch's own methods have no keepdim)."""
    if not keepdim:
        return value
    return value.reshape((1,) * x.dim()) if dim is None else value.unsqueeze(dim)


def torch_reduce(method: str) -> Any:
    """A reduction's torch implementation by the tensor's method (``x.sum()``, ``x.sum(dim=d)``)."""

    def apply(torch: Any, x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
        return kept(x, getattr(x, method)() if dim is None else getattr(x, method)(dim=dim), dim, keepdim)

    return apply


def reduction_jacobian(template: str) -> Any:
    """The Jacobian rule of a linear reduction (sum, mean) of a vector over all of it: ``template`` over
    J and n (the count); of a scalar, J itself."""

    def rule(shapes: list[Shape], dim: int | None, keepdim: bool = False) -> tuple[str, ...]:
        shape = shapes[0]
        if keepdim or len(shape) > 1:
            return ("",)
        return (template.format(n=shape[0]) if shape else "J",)

    return rule


def each(np: Any, function: Any, cells: Any) -> Any:
    """An element-wise sympy function over an object array, keeping it an array."""
    apply = np.frompyfunc(function, 1, 1)
    return np.asarray(apply(np.asarray(cells, dtype=object)), dtype=object)
