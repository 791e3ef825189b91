"""The layers of a network course, as ``torch.nn.functional`` defines them: ``linear(x, W, b)``
(``x @ W.T + b``, the bias optional), ``layer_norm(x, (D,), weight, bias, eps=1e-05)``,
``batch_norm(x, weight, bias, eps=1e-05)`` in training mode (the batch's mean and biased variance over
every axis but the channel axis 1, as CS231n and ``F.batch_norm(training=True)``) and
``dropout(x, mask, p)`` with a given mask (``x * mask / (1 - p)``).

Their vector-Jacobian rules are the ones a course derives, in matrix notation: for ``linear``,
``dx = dY @ W`` and ``dW = dY.T @ x``, ``db = sum(dY, 0)``; for a normalization, with ``xhat`` the
normalized input (the layer itself without weight and bias) and ``dxhat = dY * weight``,
``dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)``, the means over the
normalized axes, and ``dweight = sum(dY * xhat)``, ``dbias = sum(dY)`` over the others.
"""

from __future__ import annotations

import math
from typing import Any

from .code import Code, operator
from .record import Growth, Op, Option, OptionError, Shape, ShapeMisfitError, option_text, register
from .rules import show


# -- linear -----------------------------------------------------------------------------------------
def _linear_shape(shapes: list[Shape], dim: int | None) -> Shape:
    x, weight, *bias = shapes
    if len(weight) != 2:
        raise ShapeMisfitError(f"linear needs a weight matrix (out_features, in_features), not {show(weight)}")
    if not x or x[-1] != weight[1]:
        raise ShapeMisfitError(f"linear of x {show(x)} needs x's last size {weight[1]} (W is {show(weight)})")
    if bias and bias[0] not in ((weight[0],), ()):
        raise ShapeMisfitError(
            f"linear's bias must be of shape [{weight[0]}] (W is {show(weight)}), not {show(bias[0])}"
        )
    return (*x[:-1], weight[0])


def _linear_vjp(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    x, weight = shapes[0], shapes[1]
    if len(x) == 1:
        rules = ("g @ v", "outer(g, u)", "g")
    elif len(x) == 2:
        rules = ("g @ v", "g.T @ u", "sum(g, 0)")
    else:  # a batch of any shape: its rows, as one matrix
        rows, columns = f"reshape(g, (-1, {weight[0]}))", f"reshape(u, (-1, {weight[1]}))"
        rules = ("g @ v", f"{rows}.T @ {columns}", f"sum({rows}, 0)")
    if len(shapes) == 3 and not shapes[2]:
        rules = (*rules[:2], "sum(g)")  # a scalar bias
    return rules[: len(shapes)]


def _numpy_linear(np: Any, x: Any, weight: Any, bias: Any = None) -> Any:
    product = np.matmul(x, np.transpose(weight))
    return product if bias is None else product + bias


def _sympy_linear(sp: Any, np: Any, x: Any, weight: Any, bias: Any = None) -> Any:
    return np.asarray(_numpy_linear(np, x, weight, bias), dtype=object)


LINEAR = register(
    Op(
        "linear",
        "x @ W.T + b, as torch.nn.functional.linear (the bias optional): linear(x, W), linear(x, W, b)",
        arity=2,
        extra_tensors=1,
        latex=r"\operatorname{{linear}}\left({all}\right)",
        elementwise=False,
        shape=_linear_shape,
        growth=Growth.PRODUCT,
        work=lambda args, shape: 2 * max(1, math.prod(shape)) * args[1][1],
        vjp=_linear_vjp,
        sympy=_sympy_linear,
        torch=lambda torch, x, weight, bias=None: torch.nn.functional.linear(x, weight, bias),
        numpy=_numpy_linear,
        numpy_code=Code(lambda x, w, *b: f"({x} @ np.swapaxes({w}, -1, -2)" + "".join(f" + {v}" for v in b) + ")"),
        torch_code=Code(lambda x, w, *b: f"torch.nn.functional.linear({x}, {w}" + "".join(f", {v}" for v in b) + ")"),
    )
)


# -- normalizations ---------------------------------------------------------------------------------
def _mean(text: str, axes: tuple[int, ...]) -> str:
    for axis in axes:
        text = f"mean({text}, {axis}, keepdim=True)"
    return text


def _total(text: str, axes: tuple[int, ...]) -> str:
    for axis in sorted(axes, reverse=True):  # from the last, so that the others keep their numbers
        text = f"sum({text}, {axis})"
    return text


def _normalization_vjp(
    shapes: list[Shape], xhat: str, axes: tuple[int, ...], eps: float, per_channel: str, others: tuple[int, ...]
) -> tuple[str, ...]:
    """The course's rules of a normalization over ``axes`` (of x), its weight and bias over ``others``."""
    upstream = f"g*{per_channel}" if len(shapes) > 1 else "g"
    variance = _mean(f"(u - {_mean('u', axes)})**2", axes)  # biased
    if len(axes) == 1:
        variance = f"var(u, {axes[0]}, keepdim=True, correction=0)"
    rstd = f"sqrt({variance} + {option_text(eps)})"
    dx = f"({upstream} - {_mean(upstream, axes)} - {xhat}*{_mean(f'{upstream}*{xhat}', axes)})/{rstd}"
    return (dx, _total(f"g*{xhat}", others), _total("g", others))[: len(shapes)]


def _check_eps(value: Any) -> bool:
    if not value > 0:
        raise OptionError(f"eps= must be a positive number, not {value}")
    return True


_EPS = Option("eps", 1e-05, valid=_check_eps)


def _normalized_rows(sp: Any, np: Any, rows: Any, eps: float) -> Any:
    """Each row of an object array minus its mean, over sqrt(its biased variance + eps), in sympy."""
    result = np.empty(rows.shape, dtype=object)
    for i, row in enumerate(rows):
        mean = sp.Add(*row) / len(row)
        variance = sp.Add(*((cell - mean) ** 2 for cell in row)) / len(row)
        scale = 1 / sp.sqrt(variance + sp.Float(eps))
        for j, cell in enumerate(row):
            result[i, j] = (cell - mean) * scale
    return result


def _layer_shape(
    shapes: list[Shape], dim: int | None, normalized_shape: tuple[int, ...] = (), eps: float = 1e-05
) -> Shape:
    x, *affine = shapes
    size = len(normalized_shape)
    if not size:
        raise ShapeMisfitError("layer_norm needs the normalized shape, x's last sizes: layer_norm(x, (3,))")
    if tuple(x[len(x) - size :]) != normalized_shape or size > len(x):
        raise ShapeMisfitError(f"layer_norm over {option_text(normalized_shape)} does not fit x of {show(x)}")
    for name, shape in zip(("weight", "bias"), affine, strict=False):
        if shape != normalized_shape:
            raise ShapeMisfitError(f"layer_norm's {name} must be of shape {show(normalized_shape)}, not {show(shape)}")
    return x


def _layer_vjp(
    shapes: list[Shape], dim: int | None, normalized_shape: tuple[int, ...] = (), eps: float = 1e-05
) -> tuple[str, ...]:
    rank, size = len(shapes[0]), len(normalized_shape)
    given_eps = "" if eps == _EPS.default else f", eps={option_text(eps)}"
    xhat = f"layer_norm(u, {option_text(normalized_shape)}{given_eps})"
    axes = tuple(range(-1, -size - 1, -1))
    return _normalization_vjp(shapes, xhat, axes, eps, "v", tuple(range(rank - size)))


def _numpy_layer(np: Any, x: Any, *affine: Any, normalized_shape: tuple[int, ...] = (), eps: float = 1e-05) -> Any:
    axes = tuple(range(-len(normalized_shape), 0))
    mean = np.mean(x, axis=axes, keepdims=True)
    result = (x - mean) / np.sqrt(np.var(x, axis=axes, keepdims=True) + eps)
    return _affine(result, *affine)


def _affine(xhat: Any, weight: Any = None, bias: Any = None) -> Any:
    scaled = xhat if weight is None else xhat * weight
    return scaled if bias is None else scaled + bias


def _sympy_layer(
    sp: Any, np: Any, x: Any, *affine: Any, normalized_shape: tuple[int, ...] = (), eps: float = 1e-05
) -> Any:
    rows = np.asarray(x, dtype=object).reshape(-1, math.prod(normalized_shape))
    return _affine(_normalized_rows(sp, np, rows, eps).reshape(np.shape(x)), *affine)


# The normalizations in emitted NumPy code (--emit numpy): over the last ``count`` axes, or every axis but 1.
_NUMPY_LAYER_NORM = """def _layer_norm(x, count, eps, *affine):
    axes = tuple(range(x.ndim - count, x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    for index, value in enumerate(affine):
        y = y * value if index == 0 else y + value
    return y"""
_NUMPY_BATCH_NORM = """def _batch_norm(x, eps, *affine):
    axes = (0,) + tuple(range(2, x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    for index, value in enumerate(affine):
        value = np.reshape(value, (1, -1) + (1,) * (x.ndim - 2))
        y = y * value if index == 0 else y + value
    return y"""


def _torch_layer(torch: Any, x: Any, *affine: Any, normalized_shape: tuple[int, ...] = (), eps: float = 1e-05) -> Any:
    return torch.nn.functional.layer_norm(x, normalized_shape, *affine, eps=eps)


register(
    Op(
        "layer_norm",
        "each sample normalized over its last sizes, times weight plus bias (both optional), as torch: "
        "layer_norm(x, (D,), w, b, eps=1e-05)",
        extra_tensors=2,
        options_after=1,
        options=(Option("normalized_shape", (), positional=True), _EPS),
        latex=r"\operatorname{{layer\_norm}}\left({all}\right)",
        elementwise=False,
        shape=_layer_shape,
        work=lambda args, shape: 8 * max(1, math.prod(shape)),
        vjp=_layer_vjp,
        sympy=_sympy_layer,
        torch=_torch_layer,
        numpy=_numpy_layer,
        numpy_code=Code(
            lambda x, *affine, normalized_shape=(), eps=1e-05: (
                f"_layer_norm({x}, {len(normalized_shape)}, {eps!r}{''.join(', ' + a for a in affine)})"
            ),
            (_NUMPY_LAYER_NORM,),
        ),
        torch_code=Code(
            lambda x, *affine, normalized_shape=(), eps=1e-05: (
                f"torch.nn.functional.layer_norm({x}, {normalized_shape!r}, {', '.join([*affine, 'None', 'None'][:2])}"
                f", eps={eps!r})"
            )
        ),
    )
)


def _batch_shape(shapes: list[Shape], dim: int | None, eps: float = 1e-05) -> Shape:
    x, *affine = shapes
    if len(x) not in (2, 3, 4):
        raise ShapeMisfitError(f"batch_norm needs x of (N, C), (N, C, L) or (N, C, H, W), not {show(x)}")
    if math.prod(x) // x[1] < 2:
        raise ShapeMisfitError(f"batch_norm in training mode needs more than one value per channel, x is {show(x)}")
    for name, shape in zip(("weight", "bias"), affine, strict=False):
        if shape != (x[1],):
            raise ShapeMisfitError(f"batch_norm's {name} must be one per channel, of shape [{x[1]}], not {show(shape)}")
    return x


def _batch_vjp(shapes: list[Shape], dim: int | None, eps: float = 1e-05) -> tuple[str, ...]:
    x = shapes[0]
    others = (0, *range(2, len(x)))
    xhat = "batch_norm(u" + ("" if eps == _EPS.default else f", eps={option_text(eps)}") + ")"
    channel = "v" if len(x) == 2 else f"reshape(v, {option_text((x[1], *(1,) * (len(x) - 2)))})"
    return _normalization_vjp(shapes, xhat, others, eps, channel, others)


def _per_channel(np: Any, x: Any, value: Any) -> Any:
    return value if value is None or x.ndim == 2 else np.reshape(value, (x.shape[1], *(1,) * (x.ndim - 2)))


def _numpy_batch(np: Any, x: Any, *affine: Any, eps: float = 1e-05) -> Any:
    axes = (0, *range(2, x.ndim))
    mean = np.mean(x, axis=axes, keepdims=True)
    result = (x - mean) / np.sqrt(np.var(x, axis=axes, keepdims=True) + eps)
    return _affine(result, *(_per_channel(np, x, value) for value in affine))


def _sympy_batch(sp: Any, np: Any, x: Any, *affine: Any, eps: float = 1e-05) -> Any:
    moved = np.moveaxis(np.asarray(x, dtype=object), 1, 0)
    rows = _normalized_rows(sp, np, moved.reshape(moved.shape[0], -1), eps)
    xhat = np.moveaxis(rows.reshape(moved.shape), 0, 1)
    return _affine(xhat, *(_per_channel(np, x, value) for value in affine))


def _torch_batch(torch: Any, x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-05) -> Any:
    return torch.nn.functional.batch_norm(x, None, None, weight, bias, training=True, eps=eps)


register(
    Op(
        "batch_norm",
        "each channel (axis 1) normalized by the batch's mean and biased variance, times weight plus bias "
        "(both optional), as torch's in training mode: batch_norm(x, w, b, eps=1e-05)",
        extra_tensors=2,
        options=(_EPS,),
        latex=r"\operatorname{{batch\_norm}}\left({all}\right)",
        elementwise=False,
        shape=_batch_shape,
        work=lambda args, shape: 8 * max(1, math.prod(shape)),
        vjp=_batch_vjp,
        sympy=_sympy_batch,
        torch=_torch_batch,
        numpy=_numpy_batch,
        numpy_code=Code(
            lambda x, *affine, eps=1e-05: f"_batch_norm({x}, {eps!r}{''.join(', ' + a for a in affine)})",
            (_NUMPY_BATCH_NORM,),
        ),
        torch_code=Code(
            lambda x, *affine, eps=1e-05: (
                f"torch.nn.functional.batch_norm({x}, None, None, {', '.join([*affine, 'None', 'None'][:2])}"
                f", training=True, eps={eps!r})"
            )
        ),
    )
)


# -- dropout with a given mask ----------------------------------------------------------------------
def _check_p(value: Any) -> bool:
    if not 0 <= value < 1:
        raise OptionError(f"p= must be a probability in [0, 1), not {value}")
    return True


register(
    Op(
        "dropout",
        "x * mask / (1 - p), dropout with a given mask of zeros and ones, as torch's in training mode: "
        "dropout(x, mask, 0.5)",
        arity=2,
        options=(Option("p", 0.5, positional=True, valid=_check_p),),
        latex=r"\operatorname{{dropout}}\left({0}, {1}\right)",
        growth=Growth.PRODUCT,
        local=("v/(1 - {p})", "u/(1 - {p})"),
        sympy=lambda sp, u, v, p=0.5: u * v / (1 - sp.Float(p)),
        torch=lambda torch, u, v, p=0.5: u * v / (1 - p),
        numpy=lambda np, u, v, p=0.5: u * v / (1 - p),
        numpy_code=operator("{0} * {1} / (1 - {p})", 2),
        torch_code=operator("{0} * {1} / (1 - {p})", 2),
    )
)
