"""Subscripts, with torch's semantics: ``x[0]``, ``x[-1]``, ``x[1:3]``, ``x[::2]``, ``x[None]``,
``x[..., 0]``, ``x[y]`` (an integer input: advanced indexing), ``x[range(n), y]`` and ``arange(n)``.

A subscript node is the record ``subscript`` on the indexed tensor and its tensor indices (at most two,
each an integer input or ``arange``), with its key as the option ``at``: the items in the language's own
text, a tensor index written ``#`` (``":, 0"``, ``"range(3), #"``). Its vector-Jacobian rule is ``put_at``:
the upstream gradient added into zeros of the tensor's shape at the same subscript, summed where an
index repeats (as torch's backward of indexing). Pure Python here; NumPy and torch only when they run.
"""

from __future__ import annotations

import re
from typing import Any

from .code import Code
from .record import ATOM, Op, Option, OptionError, Shape, ShapeMisfitError, Syntax, register
from .rules import show

#: A tensor index in a key: the next tensor argument.
TENSOR = "#"
MAX_TENSORS = 2  # placeholders v and w of the rules
_INT = r"-?[0-9]+"
_ITEM = re.compile(rf"\A(?:{_INT}|(?:{_INT})?:(?:{_INT})?(?::(?:[0-9]+)?)?|None|\.\.\.|range\([0-9]+\)|#)\Z")


def items(key: str) -> list[str]:
    """The items of a key, each checked; OptionError for anything else."""
    parts = [part.strip() for part in key.split(",")]
    for part in parts:
        if not _ITEM.match(part):
            raise OptionError(f"at= holds a subscript: {part!r} is not an index, a slice, None, ... or range(n)")
        if part.count(":") == 2 and part.rsplit(":", 1)[1] in ("0",):
            raise OptionError("a slice's step must be positive, as in torch")
    if parts.count("...") > 1:
        raise OptionError("a subscript has at most one ...")
    if parts.count(TENSOR) > MAX_TENSORS:
        raise OptionError(f"a subscript takes at most {MAX_TENSORS} tensor indices")
    return parts


def _valid(key: str) -> bool:
    items(key)
    return True


def text_of(key: str, tensors: list[str]) -> str:
    """The subscript as written: each ``#`` replaced by its tensor's text."""
    given = iter(tensors)
    return ", ".join(next(given) if part == TENSOR else part for part in items(key))


def python_key(np: Any, key: str, tensors: list[Any]) -> tuple[Any, ...]:
    """The key as NumPy and torch take it (``range(n)`` as an integer array of ``np``'s kind)."""
    given = iter(tensors)
    result: list[Any] = []
    for part in items(key):
        if part == TENSOR:
            result.append(next(given))
        elif part == "None":
            result.append(None)
        elif part == "...":
            result.append(Ellipsis)
        elif part.startswith("range("):
            result.append(np.arange(int(part[6:-1])))
        elif ":" in part:
            bounds = [int(text) if text else None for text in [*part.split(":"), ""][:3]]
            result.append(slice(*bounds))
        else:
            result.append(int(part))
    return tuple(result)


def key_code(lib: str, key: str, tensors: tuple[str, ...], as_tuple: bool = False) -> str:
    """The key in emitted code (``lib`` is ``np`` or ``torch``): ``0, 1:3, y`` in a subscript, or a tuple
    of ``slice(...)`` items to pass to a helper. Each item is checked again: only indices, slices, None,
    ..., ``range(n)`` and the tensors' code reach the code."""
    given = iter(tensors)
    written = []
    for part in items(key):
        if part == TENSOR:
            written.append(next(given))
        elif part.startswith("range("):
            written.append(f"{lib}.arange({int(part[6:-1])})")
        elif ":" in part and as_tuple:
            bounds = [str(int(text)) if text else "None" for text in [*part.split(":"), ""][:3]]
            written.append(f"slice({', '.join(bounds)})")
        elif part == "..." and as_tuple:
            written.append("Ellipsis")
        else:
            written.append(part)
    return "(" + ", ".join(written) + ",)" if as_tuple else ", ".join(written)


def _subscript_code(lib: str) -> Any:
    return lambda x, *tensors, at=":": f"{x}[{key_code(lib, at, tensors)}]"


def _put_at_code(lib: str) -> Any:
    return lambda g, like, *tensors, at="": f"_put_at({g}, {like}, {key_code(lib, at, tensors, as_tuple=True)})"


# put_at in emitted code, as :func:`_put_at` and :func:`_torch_put_at` compute it.
_NUMPY_PUT_AT = """def _put_at(g, like, key):
    flat = np.zeros(np.size(like), dtype=np.result_type(g, like))
    positions = np.arange(np.size(like)).reshape(np.shape(like))[key]
    np.add.at(flat, np.broadcast_to(positions, np.shape(g)).ravel(), np.ravel(g))
    return flat.reshape(np.shape(like))"""
_TORCH_PUT_AT = """def _put_at(g, like, key):
    positions = torch.arange(like.numel()).reshape(like.shape)[key]
    flat = torch.zeros(like.numel(), dtype=g.dtype)
    flat = flat.index_add(0, positions.expand(g.shape).reshape(-1), g.reshape(-1))
    return flat.reshape(like.shape)"""


def _positions(np: Any, shape: Shape, key: str, tensors: list[Any]) -> Any:
    """The flat position in a tensor of ``shape`` of every element the subscript reads."""
    return np.arange(_count(shape)).reshape(shape)[python_key(np, key, tensors)]


def _count(shape: Shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _shape(shapes: list[Shape], dim: int | None, at: str = "") -> Shape:
    import numpy as np  # a zero-strided stand-in: no memory for the tensor itself

    tensor, *indices = shapes
    stand_in = np.broadcast_to(np.float64(0), tensor)
    try:
        picked = stand_in[python_key(np, at, [np.zeros(shape, dtype=np.int64) for shape in indices])]
    except IndexError as exc:
        raise ShapeMisfitError(f"[{text_of(at, ['#'] * len(indices))}] does not fit {show(tensor)}: {exc}") from None
    return tuple(np.shape(picked))


def _axes(at: str, ndim: int) -> dict[int, int]:
    """The axis of the indexed tensor that each tensor index reads, by its argument position."""
    parts = items(at)
    consuming = [part for part in parts if part not in ("None", "...")]
    axis, found, position = 0, {}, 1
    for part in parts:
        if part == "...":
            axis += ndim - len(consuming)
        elif part != "None":
            if part == TENSOR:
                found[position] = axis
                position += 1
            axis += 1
    return found


def _ranges(shapes: list[Shape], dim: int | None, at: str = "") -> dict[int, tuple[int, int]]:
    tensor = shapes[0]
    return {position: (-tensor[axis], tensor[axis]) for position, axis in _axes(at, len(tensor)).items()}


def _vjp(shapes: list[Shape], dim: int | None, at: str = "") -> tuple[str, ...]:
    tensors = ", ".join(["v", "w"][: len(shapes) - 1])
    return (f'put_at(g, u{", " if tensors else ""}{tensors}, at="{at}")', *[""] * (len(shapes) - 1))


def _put_at(np: Any, g: Any, like: Any, *tensors: Any, at: str = "") -> Any:
    flat = np.zeros(_count(np.shape(like)), dtype=np.result_type(g, like))
    positions = _positions(np, np.shape(like), at, list(tensors))
    np.add.at(flat, np.broadcast_to(positions, np.shape(g)).ravel(), np.ravel(g))
    return flat.reshape(np.shape(like))


def _torch_put_at(torch: Any, g: Any, like: Any, *tensors: Any, at: str = "") -> Any:
    positions = _positions(torch, tuple(like.shape), at, list(tensors))
    flat = torch.zeros(like.numel(), dtype=g.dtype)
    flat = flat.index_add(0, positions.expand(g.shape).reshape(-1), g.reshape(-1))
    return flat.reshape(like.shape)


def _sympy_put_at(sp: Any, np: Any, g: Any, like: Any, *tensors: Any, at: str = "") -> Any:
    cells = np.full(_count(np.shape(like)), sp.Integer(0), dtype=object)
    positions = np.broadcast_to(_positions(np, np.shape(like), at, [np.asarray(t) for t in tensors]), np.shape(g))
    for position, value in zip(positions.ravel(), np.asarray(g, dtype=object).ravel(), strict=True):
        cells[position] = cells[position] + value
    return cells.reshape(np.shape(like))


def _sympy_subscript(sp: Any, np: Any, x: Any, *tensors: Any, at: str = ":") -> Any:
    cells = np.asarray(x)  # a label's whole numbers stay integers, to index with
    cells = cells if cells.dtype.kind == "i" else np.asarray(x, dtype=object)
    return cells[python_key(np, at, [np.asarray(t) for t in tensors])]


def _put_vjp(shapes: list[Shape], dim: int | None, at: str = ":") -> tuple[str, ...]:
    # put_at is linear in g: its rule is g read back at the same subscript (the rest have none).
    return ("g[" + text_of(at, ["v", "w"][: len(shapes) - 2]) + "]", *[""] * (len(shapes) - 1))


def _like_shape(shapes: list[Shape], dim: int | None, at: str = ":") -> Shape:
    return shapes[1]


def _no_arguments(shapes: list[Shape], dim: int | None, **options: Any) -> tuple[str, ...]:
    return ()


_AT = Option("at", ":", valid=_valid)

SUBSCRIPT = register(
    Op(
        "subscript",
        "x[...]: integers, slices with steps, None, ..., range(n) and integer inputs, as torch indexes",
        syntax=Syntax.SUBSCRIPT,
        symbols=("[", "]"),
        options=(_AT,),
        latex=r"{0}",
        elementwise=False,
        shape=_shape,
        vjp=_vjp,
        linear=True,
        integer_args=lambda shapes, at=":": tuple(range(1, len(shapes))),
        index_range=_ranges,
        keeps_integers=True,
        sympy=_sympy_subscript,
        torch=lambda torch, x, *tensors, at=":": x[python_key(torch, at, list(tensors))],
        numpy_code=Code(_subscript_code("np"), precedence=ATOM),
        torch_code=Code(_subscript_code("torch"), precedence=ATOM),
        numpy=lambda np, x, *tensors, at=":": np.asarray(x)[python_key(np, at, list(tensors))],
    )
)
register(
    Op(
        "put_at",
        'zeros like u with g added at the subscript at= (summed where it repeats): put_at(g, u, y, at="#, 0")',
        arity=2,
        extra_tensors=MAX_TENSORS,
        options=(_AT,),
        latex=r"\operatorname{{put}}\left({0}, {1}\right)",
        elementwise=False,
        shape=_like_shape,
        vjp=_put_vjp,
        integer_args=lambda shapes, at=":": tuple(range(2, len(shapes))),
        index_range=lambda shapes, dim, at=":": {p + 1: r for p, r in _ranges(shapes[1:], dim, at).items()},
        sympy=_sympy_put_at,
        torch=_torch_put_at,
        numpy_code=Code(_put_at_code("np"), (_NUMPY_PUT_AT,)),
        torch_code=Code(_put_at_code("torch"), (_TORCH_PUT_AT,)),
        numpy=_put_at,
    )
)


def _arange_shape(shapes: list[Shape], dim: int | None, end: int = 0) -> Shape:
    if end < 1:
        raise ShapeMisfitError("arange(n) needs a positive integer n")
    return (end,)


register(
    Op(
        "arange",
        "the integers 0, 1, ..., n-1, as torch.arange(n): an index, as in x[arange(3), y]",
        arity=0,
        options=(Option("end", 0, positional=True),),
        latex=r"\operatorname{{arange}}",
        elementwise=False,
        shape=_arange_shape,
        vjp=_no_arguments,
        integer_output=True,
        sympy=lambda sp, np, end=0: np.arange(end),
        torch=lambda torch, end=0, dtype=None: torch.arange(end),  # whole numbers, whatever the run's dtype
        numpy_code="np.arange({end})",
        torch_code="torch.arange({end})",
        numpy=lambda np, end=0: np.arange(end),
    )
)
