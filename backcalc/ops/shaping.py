"""Reshaping, as torch does it: ``reshape(x, (2, -1))``, ``flatten(x, start_dim, end_dim)``,
``squeeze(x)`` and ``squeeze(x, d)``, ``permute(x, (1, 0))``, ``swapdims(x, 0, 1)`` (torch's
``x.transpose(0, 1)``). Each moves elements without changing them,
so its vector-Jacobian rule moves the upstream gradient back: ``reshape(g, shape of x)``, or the inverse
permutation. Of whole numbers (a label), each gives whole numbers.
"""

from __future__ import annotations

from typing import Any

from .code import Code
from .record import Op, Option, Shape, ShapeMisfitError, option_text, register
from .rules import axis, show


def _count(shape: Shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _reshape_shape(shapes: list[Shape], dim: int | None, shape: tuple[int, ...] = (-1,)) -> Shape:
    (given,) = shapes
    known = [size for size in shape if size != -1]
    if shape.count(-1) > 1 or any(size < -1 for size in shape):
        raise ShapeMisfitError(f"reshape takes sizes >= 0 and at most one -1, not {option_text(shape)}")
    total, rest = _count(given), _count(tuple(known))
    if shape.count(-1) and rest and total % rest == 0:
        return tuple(total // rest if size == -1 else size for size in shape)
    if shape.count(-1) or rest != total:
        raise ShapeMisfitError(f"shape {option_text(shape)} is invalid for {show(given)} ({total} elements)")
    return tuple(shape)


def _back(shapes: list[Shape], dim: int | None, **options: Any) -> tuple[str, ...]:
    return (f"reshape(g, {option_text(tuple(shapes[0]))})",)


def _flatten_shape(shapes: list[Shape], dim: int | None, start_dim: int = 0, end_dim: int = -1) -> Shape:
    (given,) = shapes
    if not given:
        return (1,)
    first, last = axis(given, start_dim), axis(given, end_dim)
    if first > last:
        raise ShapeMisfitError(f"flatten's start_dim {start_dim} comes after its end_dim {end_dim}")
    return (*given[:first], _count(given[first : last + 1]), *given[last + 1 :])


def _squeeze_shape(shapes: list[Shape], dim: int | None) -> Shape:
    (given,) = shapes
    if dim is None:
        return tuple(size for size in given if size != 1)
    if not given:
        return ()
    index = axis(given, dim)
    return given if given[index] != 1 else given[:index] + given[index + 1 :]


def _permute_shape(shapes: list[Shape], dim: int | None, dims: tuple[int, ...] = ()) -> Shape:
    (given,) = shapes
    if len(dims) != len(given) or sorted(d % max(1, len(given)) for d in dims) != list(range(len(given))):
        raise ShapeMisfitError(f"permute of {show(given)} needs each of its {len(given)} dimensions once, not {dims}")
    return tuple(given[d] for d in dims)


def _permute_vjp(shapes: list[Shape], dim: int | None, dims: tuple[int, ...] = ()) -> tuple[str, ...]:
    count = len(shapes[0])
    order = [d % count for d in dims]
    inverse = tuple(order.index(i) for i in range(count))
    return (f"permute(g, {option_text(inverse)})",)


def _sympy_squeeze(sp: Any, np: Any, x: Any, dim: int | None = None) -> Any:
    return np.reshape(x, _squeeze_shape([np.shape(x)], dim))


# squeeze in emitted NumPy code: a dimension not of size 1 stays, as in torch.
_NUMPY_SQUEEZE = """def _squeeze(x, dim):
    if dim is None:
        return np.squeeze(x)
    return np.squeeze(x, dim) if np.ndim(x) and np.shape(x)[dim] == 1 else x"""
# flatten in emitted NumPy code (NumPy has none of start_dim and end_dim).
_NUMPY_FLATTEN = """def _flatten(x, start_dim, end_dim):
    shape = np.shape(x)
    if not shape:
        return np.reshape(x, (1,))
    start, end = start_dim % len(shape), end_dim % len(shape)
    return np.reshape(x, (*shape[:start], -1, *shape[end + 1 :]))"""


register(
    Op(
        "reshape",
        "x with a new shape of the same elements, as torch.reshape: reshape(x, (2, -1))",
        options=(Option("shape", (-1,), positional=True),),
        latex=r"\operatorname{{reshape}}\left({0}\right)",
        elementwise=False,
        shape=_reshape_shape,
        vjp=_back,
        linear=True,
        keeps_integers=True,
        sympy=lambda sp, np, x, shape=(-1,): np.reshape(x, _reshape_shape([np.shape(x)], None, shape)),
        torch=lambda torch, x, shape=(-1,): torch.reshape(x, shape),
        numpy_code="np.reshape({0}, {shape})",
        torch_code="torch.reshape({0}, {shape})",
        numpy=lambda np, x, shape=(-1,): np.reshape(x, shape),
    )
)
register(
    Op(
        "flatten",
        "dimensions start_dim to end_dim made one, as torch.flatten: flatten(x), flatten(x, 1)",
        options=(Option("start_dim", 0, positional=True), Option("end_dim", -1, positional=True)),
        latex=r"\operatorname{{flatten}}\left({0}\right)",
        elementwise=False,
        shape=_flatten_shape,
        vjp=_back,
        linear=True,
        keeps_integers=True,
        sympy=lambda sp, np, x, start_dim=0, end_dim=-1: np.reshape(
            x, _flatten_shape([np.shape(x)], None, start_dim, end_dim)
        ),
        torch=lambda torch, x, start_dim=0, end_dim=-1: torch.flatten(x, start_dim, end_dim),
        numpy_code=Code("_flatten({0}, {start_dim}, {end_dim})", (_NUMPY_FLATTEN,)),
        torch_code="torch.flatten({0}, {start_dim}, {end_dim})",
        numpy=lambda np, x, start_dim=0, end_dim=-1: np.reshape(
            x, _flatten_shape([np.shape(x)], None, start_dim, end_dim)
        ),
    )
)
register(
    Op(
        "squeeze",
        "x without its dimensions of size 1, or without dimension d if it has size 1: squeeze(x), squeeze(x, d)",
        takes_dim=True,
        latex=r"\operatorname{{squeeze}}\left({0}\right)",
        elementwise=False,
        shape=_squeeze_shape,
        vjp=_back,
        linear=True,
        keeps_integers=True,
        sympy=_sympy_squeeze,
        torch=lambda torch, x, dim=None: torch.squeeze(x) if dim is None else torch.squeeze(x, dim),
        numpy_code=Code("_squeeze({0}, {dim})", (_NUMPY_SQUEEZE,)),
        torch_code=Code(lambda x, dim=None: f"torch.squeeze({x})" if dim is None else f"torch.squeeze({x}, {dim})"),
        numpy=lambda np, x, dim=None: np.reshape(x, _squeeze_shape([np.shape(x)], dim)),
    )
)
register(
    Op(
        "permute",
        "x with its dimensions reordered, as torch.permute: permute(x, (1, 0))",
        options=(Option("dims", (), positional=True),),
        latex=r"\operatorname{{permute}}\left({0}\right)",
        elementwise=False,
        shape=_permute_shape,
        vjp=_permute_vjp,
        linear=True,
        keeps_integers=True,
        sympy=lambda sp, np, x, dims=(): np.transpose(x, dims),
        torch=lambda torch, x, dims=(): torch.permute(x, dims),
        numpy_code="np.transpose({0}, {dims})",
        torch_code="torch.permute({0}, {dims})",
        numpy=lambda np, x, dims=(): np.transpose(x, dims),
    )
)


def _swap_shape(shapes: list[Shape], dim: int | None, dim0: int = 0, dim1: int = 1) -> Shape:
    (given,) = shapes
    first, second = axis(given, dim0), axis(given, dim1)
    order = list(given)
    order[first], order[second] = order[second], order[first]
    return tuple(order)


def _swap_vjp(shapes: list[Shape], dim: int | None, dim0: int = 0, dim1: int = 1) -> tuple[str, ...]:
    return (f"swapdims(g, {dim0}, {dim1})",)  # a swap undoes itself


register(
    Op(
        "swapdims",
        "x with dimensions dim0 and dim1 swapped, as torch.transpose(x, dim0, dim1): swapdims(x, 0, 1)",
        options=(Option("dim0", 0, positional=True), Option("dim1", 1, positional=True)),
        latex=r"\operatorname{{swapdims}}\left({0}\right)",
        elementwise=False,
        shape=_swap_shape,
        vjp=_swap_vjp,
        keeps_integers=True,
        sympy=lambda sp, np, x, dim0=0, dim1=1: np.swapaxes(x, dim0, dim1),
        torch=lambda torch, x, dim0=0, dim1=1: torch.transpose(x, dim0, dim1),
        numpy=lambda np, x, dim0=0, dim1=1: np.swapaxes(x, dim0, dim1),
        numpy_code="np.swapaxes({0}, {dim0}, {dim1})",
        torch_code="torch.transpose({0}, {dim0}, {dim1})",
    )
)


# -- cat, stack -------------------------------------------------------------------------------------
def _cat_shape(shapes: list[Shape], dim: int | None) -> Shape:
    first = shapes[0]
    index = axis(first, 0 if dim is None else dim)
    for shape in shapes[1:]:
        if len(shape) != len(first) or any(
            a != b for i, (a, b) in enumerate(zip(shape, first, strict=True)) if i != index
        ):
            raise ShapeMisfitError(
                f"cat along {index} needs shapes alike but there, not {show(first)} and {show(shape)}"
            )
    return (*first[:index], sum(shape[index] for shape in shapes), *first[index + 1 :])


def _cat_vjp(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    # Each tensor gets its own stretch of g along the dimension: g[:, a:b] for the second of a cat along 1.
    index = axis(shapes[0], 0 if dim is None else dim)
    rules, start = [], 0
    for shape in shapes:
        rules.append("g[" + ":, " * index + f"{start}:{start + shape[index]}]")
        start += shape[index]
    return tuple(rules)


def _stack_shape(shapes: list[Shape], dim: int | None) -> Shape:
    first = shapes[0]
    if any(shape != first for shape in shapes):
        raise ShapeMisfitError(f"stack needs tensors of one shape, not {' and '.join(show(s) for s in shapes)}")
    index = _stack_axis(first, dim)
    return (*first[:index], len(shapes), *first[index:])


def _stack_axis(shape: Shape, dim: int | None) -> int:
    given = 0 if dim is None else dim
    if not -len(shape) - 1 <= given <= len(shape):
        raise ShapeMisfitError(f"dimension {given} is out of range to stack tensors of shape {show(shape)}")
    return given % (len(shape) + 1)


def _stack_vjp(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    index = _stack_axis(shapes[0], dim)
    return tuple("g[" + ":, " * index + f"{i}]" for i in range(len(shapes)))


register(
    Op(
        "cat",
        "tensors joined along dimension d (0 unless given), as torch.cat: cat([a, b], 1)",
        takes_dim=True,
        listed=True,
        latex=r"\operatorname{{cat}}\left({0}, \ldots\right)",
        elementwise=False,
        shape=_cat_shape,
        vjp=_cat_vjp,
        sympy=lambda sp, np, *xs, dim=None: np.concatenate(xs, axis=0 if dim is None else dim),
        torch=lambda torch, *xs, dim=None: torch.cat(xs, 0 if dim is None else dim),
        numpy_code=Code(lambda *xs, dim=None: f"np.concatenate([{', '.join(xs)}], axis={dim or 0})"),
        torch_code=Code(lambda *xs, dim=None: f"torch.cat([{', '.join(xs)}], {dim or 0})"),
        numpy=lambda np, *xs, dim=None: np.concatenate(xs, axis=0 if dim is None else dim),
    )
)
register(
    Op(
        "stack",
        "tensors of one shape stacked along a new dimension d (0 unless given), as torch.stack: stack([a, b], 1)",
        takes_dim=True,
        listed=True,
        latex=r"\operatorname{{stack}}\left({0}, \ldots\right)",
        elementwise=False,
        shape=_stack_shape,
        vjp=_stack_vjp,
        sympy=lambda sp, np, *xs, dim=None: np.stack(xs, axis=0 if dim is None else dim),
        torch=lambda torch, *xs, dim=None: torch.stack(xs, 0 if dim is None else dim),
        numpy_code=Code(lambda *xs, dim=None: f"np.stack([{', '.join(xs)}], axis={dim or 0})"),
        torch_code=Code(lambda *xs, dim=None: f"torch.stack([{', '.join(xs)}], {dim or 0})"),
        numpy=lambda np, *xs, dim=None: np.stack(xs, axis=0 if dim is None else dim),
    )
)
