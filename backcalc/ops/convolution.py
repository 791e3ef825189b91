"""Convolutions, as ``torch.nn.functional`` defines them: ``conv1d(x, w, b)`` and ``conv2d(x, w, b)``
(the bias optional) with ``stride=``, ``padding=``, ``dilation=`` (each an integer or a tuple) and
``groups=``; x is a batch (N, C, L) or (N, C, H, W).

Their gradients are convolutions too, which the language cannot write with ``@``: the input's is a
transposed convolution, ``conv2d_input(dY, w, (N, C, H, W), ...)``, and the weight's a correlation of
the input with dY, ``conv2d_weight(x, dY, (O, C, kh, kw), ...)``, as ``torch.nn.grad`` names them. They
are records of their own (so that a rule stays a pasteable expression), each checked against torch, and
each other's gradients. A 1-d convolution is the 2-d one of height 1.

Each implementation is written apart: NumPy one kernel offset at a time over strided views, sympy as
explicit sums of products per output element (small sizes), torch by ``torch.nn.functional``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from .record import Growth, Op, Option, OptionError, Shape, ShapeMisfitError, option_text, register
from .rules import show

Pair = tuple[int, int]


def _at_least(low: int) -> Any:
    def valid(value: Any) -> bool:
        values = value if isinstance(value, tuple) else (value,)
        if not values or any(item < low for item in values):
            raise OptionError(f"must be {'positive' if low else 'zero or more'}, not {option_text(value)}")
        return True

    return valid


STRIDE = Option("stride", 1, positional=True, pair=True, valid=_at_least(1))
PADDING = Option("padding", 0, positional=True, pair=True, valid=_at_least(0))
DILATION = Option("dilation", 1, positional=True, pair=True, valid=_at_least(1))
GROUPS = Option("groups", 1, positional=True, valid=_at_least(1))


def sizes(name: str, option: str, value: Any, count: int) -> tuple[int, ...]:
    """An option that is an integer or a tuple, as ``count`` integers (a misfit if the tuple is not of them)."""
    if isinstance(value, int):
        return (value,) * count
    if len(value) != count:
        raise ShapeMisfitError(f"{name}'s {option}= needs {count} integer(s), not {option_text(value)}")
    return tuple(value)


def geometry(name: str, count: int, **options: Any) -> tuple[Pair, Pair, Pair]:
    """stride, padding and dilation as 2-d pairs (a 1-d one: height 1, no padding)."""
    stride, padding, dilation = (sizes(name, key, options[key], count) for key in ("stride", "padding", "dilation"))
    if count == 1:
        return (1, stride[0]), (0, padding[0]), (1, dilation[0])
    return (stride[0], stride[1]), (padding[0], padding[1]), (dilation[0], dilation[1])


def output_size(
    name: str, size: tuple[int, ...], kernel: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair
) -> Pair:
    """torch's output size along each spatial axis: floor((size + 2 p - d (k - 1) - 1) / s) + 1."""
    result = []
    for axis in range(2):
        reach = dilation[axis] * (kernel[axis] - 1) + 1
        room = size[axis] + 2 * padding[axis] - reach
        if room < 0:
            raise ShapeMisfitError(
                f"{name}'s kernel reaches {reach} elements, more than the padded input's {room + reach}"
            )
        result.append(room // stride[axis] + 1)
    return result[0], result[1]


def offsets(
    kernel: tuple[int, ...], stride: Pair, dilation: Pair, out: tuple[int, ...]
) -> Iterator[tuple[Pair, tuple[slice, slice]]]:
    """For each kernel offset (i, j), the strided slices of the padded input that it meets."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (out[0] - 1) + 1, stride[0])
            columns = slice(j * dilation[1], j * dilation[1] + stride[1] * (out[1] - 1) + 1, stride[1])
            yield (i, j), (rows, columns)


def _spatial(shape: Shape, count: int) -> Pair:
    return (1, shape[-1]) if count == 1 else (shape[-2], shape[-1])


def _conv_check(name: str, x: Shape, w: Shape, count: int, groups: int, **options: Any) -> Shape:
    """The output shape of a convolution of x by w, after every check of their fit."""
    if len(x) != count + 2 or len(w) != count + 2:
        raise ShapeMisfitError(
            f"{name} needs x of (N, C, {'L' if count == 1 else 'H, W'}) and w of (out, C/groups, "
            f"{'k' if count == 1 else 'kh, kw'}), not {show(x)} and {show(w)}"
        )
    if x[1] % groups or w[0] % groups:
        raise ShapeMisfitError(
            f"{name}'s channels, {x[1]} in and {w[0]} out, must both be divisible by groups={groups}"
        )
    if w[1] != x[1] // groups:
        raise ShapeMisfitError(
            f"{name}'s w {show(w)} needs {x[1] // groups} input channels (x has {x[1]}, groups={groups})"
        )
    out = output_size(name, _spatial(x, count), _spatial(w, count), *geometry(name, count, **options))
    return (x[0], w[0], *(out[1:] if count == 1 else out))


def _conv_shape(count: int) -> Any:
    name = f"conv{count}d"

    def rule(shapes: list[Shape], dim: int | None, groups: int = 1, **options: Any) -> Shape:
        x, w, *bias = shapes
        result = _conv_check(name, x, w, count, groups, **options)
        if bias and bias[0] != (w[0],):
            raise ShapeMisfitError(f"{name}'s bias must be one per output channel, [{w[0]}], not {show(bias[0])}")
        return result

    return rule


def _named(options: dict[str, Any], defaults: tuple[Option, ...]) -> str:
    """The non-default options of a rule, by name: ", stride=2, padding=1"."""
    return "".join(
        f", {option.name}={option_text(options[option.name])}"
        for option in defaults
        if options[option.name] != option.default
    )


_OPTIONS = (STRIDE, PADDING, DILATION, GROUPS)
_NAMED = tuple(replace(option, positional=False) for option in _OPTIONS)  # after a shape: by name only


def _conv_vjp(count: int) -> Any:
    def rule(shapes: list[Shape], dim: int | None, **options: Any) -> tuple[str, ...]:
        x, w = shapes[0], shapes[1]
        given = _named(options, _OPTIONS)
        bias = "g"
        for axis in range(count + 1, 1, -1):
            bias = f"sum({bias}, {axis})"
        rules = (
            f"conv{count}d_input(g, v, {option_text(x)}{given})",
            f"conv{count}d_weight(u, g, {option_text(w)}{given})",
            f"sum({bias}, 0)",
        )
        return rules[: len(shapes)]

    return rule


# -- the three implementations, in 2-d (a 1-d array gets a height of 1) -------------------------------------
def _as_2d(np: Any, count: int, *arrays: Any) -> list[Any]:
    return [array if count == 2 else np.expand_dims(array, -2) for array in arrays]


def _numpy_conv(np: Any, x: Any, w: Any, groups: int, stride: Pair, padding: Pair, dilation: Pair) -> Any:
    out = output_size("conv", x.shape[2:], w.shape[2:], stride, padding, dilation)
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    result = np.zeros((x.shape[0], w.shape[0], *out), dtype=np.result_type(x, w))
    ins, outs = x.shape[1] // groups, w.shape[0] // groups
    for (i, j), (rows, columns) in offsets(w.shape[2:], stride, dilation, out):
        patch = padded[:, :, rows, columns]
        for k in range(groups):
            block = patch[:, k * ins : (k + 1) * ins]
            result[:, k * outs : (k + 1) * outs] += np.einsum(
                "nchw,oc->nohw", block, w[k * outs : (k + 1) * outs, :, i, j]
            )
    return result


def _numpy_input(np: Any, g: Any, w: Any, size: Shape, groups: int, stride: Pair, padding: Pair, dilation: Pair) -> Any:
    padded = np.zeros(
        (size[0], size[1], size[2] + 2 * padding[0], size[3] + 2 * padding[1]), dtype=np.result_type(g, w)
    )
    ins, outs = size[1] // groups, w.shape[0] // groups
    for (i, j), (rows, columns) in offsets(w.shape[2:], stride, dilation, g.shape[2:]):
        for k in range(groups):
            part = np.einsum("nohw,oc->nchw", g[:, k * outs : (k + 1) * outs], w[k * outs : (k + 1) * outs, :, i, j])
            padded[:, k * ins : (k + 1) * ins, rows, columns] += part
    return padded[:, :, padding[0] : padding[0] + size[2], padding[1] : padding[1] + size[3]]


def _numpy_weight(
    np: Any, x: Any, g: Any, size: Shape, groups: int, stride: Pair, padding: Pair, dilation: Pair
) -> Any:
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    result = np.zeros(size, dtype=np.result_type(x, g))
    ins, outs = x.shape[1] // groups, size[0] // groups
    for (i, j), (rows, columns) in offsets(size[2:], stride, dilation, g.shape[2:]):
        patch = padded[:, :, rows, columns]
        for k in range(groups):
            block = g[:, k * outs : (k + 1) * outs]
            result[k * outs : (k + 1) * outs, :, i, j] = np.einsum(
                "nohw,nchw->oc", block, patch[:, k * ins : (k + 1) * ins]
            )
    return result


def taps(x: Shape, w: Shape, groups: int, stride: Pair, padding: Pair, dilation: Pair) -> Iterator[tuple[Any, ...]]:
    """Every product of a 2-d convolution: (output index, input index, weight index), padding left out."""
    out = output_size("conv", x[2:], w[2:], stride, padding, dilation)
    ins, outs = x[1] // groups, w[0] // groups
    for n in range(x[0]):
        for o in range(w[0]):
            for p in range(out[0]):
                for q in range(out[1]):
                    for c in range(ins):
                        for i in range(w[2]):
                            for j in range(w[3]):
                                r = p * stride[0] + i * dilation[0] - padding[0]
                                s = q * stride[1] + j * dilation[1] - padding[1]
                                if 0 <= r < x[2] and 0 <= s < x[3]:
                                    yield (n, o, p, q), (n, (o // outs) * ins + c, r, s), (o, c, i, j)


def _sums(sp: Any, np: Any, shape: Shape, terms: dict[Any, list[Any]]) -> Any:
    cells = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        cells[index] = sp.Add(*terms.get(index, ()))
    return cells


def _sympy_conv(sp: Any, np: Any, x: Any, w: Any, groups: int, stride: Pair, padding: Pair, dilation: Pair) -> Any:
    terms: dict[Any, list[Any]] = {}
    for out, into, weight in taps(x.shape, w.shape, groups, stride, padding, dilation):
        terms.setdefault(out, []).append(w[weight] * x[into])
    out = output_size("conv", x.shape[2:], w.shape[2:], stride, padding, dilation)
    return _sums(sp, np, (x.shape[0], w.shape[0], *out), terms)


def _sympy_input(
    sp: Any, np: Any, g: Any, w: Any, size: Shape, groups: int, stride: Pair, padding: Pair, dilation: Pair
) -> Any:
    terms: dict[Any, list[Any]] = {}
    for out, into, weight in taps(size, w.shape, groups, stride, padding, dilation):
        terms.setdefault(into, []).append(g[out] * w[weight])
    return _sums(sp, np, size, terms)


def _sympy_weight(
    sp: Any, np: Any, x: Any, g: Any, size: Shape, groups: int, stride: Pair, padding: Pair, dilation: Pair
) -> Any:
    terms: dict[Any, list[Any]] = {}
    for out, into, weight in taps(x.shape, size, groups, stride, padding, dilation):
        terms.setdefault(weight, []).append(g[out] * x[into])
    return _sums(sp, np, size, terms)


def _implementation(count: int, core: Any, symbolic: bool = False, size_option: str = "") -> Any:
    """A record's implementation from its 2-d core: options as pairs, a 1-d array with a height of 1."""

    def apply(*arguments: Any, **given: Any) -> Any:
        options = {option.name: option.default for option in _OPTIONS} | given
        library, *rest = arguments
        np = rest.pop(0) if symbolic else library
        head = (library,) if symbolic else ()
        pairs = geometry("conv", count, **{key: options[key] for key in ("stride", "padding", "dilation")})
        arrays = _as_2d(np, count, *rest[:2])
        extra: tuple[Any, ...] = ()
        if size_option:
            size = tuple(options[size_option])
            extra = (size if count == 2 else (*size[:2], 1, size[2]),)
        result = core(*head, np, *arrays, *extra, options["groups"], *pairs)
        if len(rest) == 3:  # the bias, one per output channel
            result = result + np.reshape(rest[2], (-1, 1, 1))
        return result if count == 2 else np.squeeze(result, -2)

    return apply


def _torch_conv(count: int) -> Any:
    def apply(torch: Any, x: Any, w: Any, bias: Any = None, **options: Any) -> Any:
        return getattr(torch.nn.functional, f"conv{count}d")(x, w, bias, **options)

    return apply


def _torch_grad(count: int, which: str) -> Any:
    def apply(torch: Any, first: Any, second: Any, **options: Any) -> Any:
        size = options.pop(f"{which}_size")
        function = getattr(torch.nn.grad, f"conv{count}d_{which}")
        if which == "input":  # conv2d_input(input_size, weight, grad_output)
            return function(size, second, first, **options)
        return function(first, size, second, **options)  # conv2d_weight(input, weight_size, grad_output)

    return apply


def _work(args: list[Shape], shape: Shape) -> int:
    """Two operations per product: every output element of the convolution, by C/groups x the kernel."""
    w = args[1]
    return 2 * max(1, math.prod(shape)) * math.prod(w[1:])


def _conv(count: int) -> None:
    name = f"conv{count}d"
    core = "x, w, b, stride=1, padding=0, dilation=1, groups=1"
    register(
        Op(
            name,
            f"the {count}-d convolution (a cross-correlation) of a batch x by the kernels w, plus the bias b "
            f"(optional), as torch.nn.functional.{name}({core})",
            arity=2,
            extra_tensors=1,
            options=_OPTIONS,
            latex=rf"\operatorname{{{{{name}}}}}\left({{all}}\right)",
            elementwise=False,
            shape=_conv_shape(count),
            growth=Growth.PRODUCT,
            work=_work,
            vjp=_conv_vjp(count),
            sympy=_implementation(count, _sympy_conv, symbolic=True),
            torch=_torch_conv(count),
            numpy=_implementation(count, _numpy_conv),
        )
    )


def _grad_shape(count: int, which: str) -> Any:
    name = f"conv{count}d_{which}"

    def rule(shapes: list[Shape], dim: int | None, groups: int = 1, **options: Any) -> Shape:
        size = options.pop(f"{which}_size")
        first, second = shapes
        x, w, g = (size, second, first) if which == "input" else (first, size, second)
        if not size:
            raise ShapeMisfitError(
                f"{name} needs the {which}'s shape, as {name}(..., {option_text((1,) * (count + 2))})"
            )
        expected = _conv_check(name, x, w, count, groups, **options)
        if g != expected:
            raise ShapeMisfitError(
                f"{name}'s dY, the gradient of the output, must be of shape {show(expected)}, not {show(g)}"
            )
        return size

    return rule


def _grad_vjp(count: int, which: str) -> Any:
    def rule(shapes: list[Shape], dim: int | None, **options: Any) -> tuple[str, ...]:
        given = _named(options, _OPTIONS)
        if which == "input":  # conv_input(g, w): linear in each, the adjoints of a convolution
            return (f"conv{count}d(g, v{given})", f"conv{count}d_weight(g, u, {option_text(shapes[1])}{given})")
        return (f"conv{count}d_input(v, g, {option_text(shapes[0])}{given})", f"conv{count}d(u, g{given})")

    return rule


def _grad_work(which: str) -> Any:
    def work(args: list[Shape], shape: Shape) -> int:  # as many products as the convolution's
        g, w = (args[0], args[1]) if which == "input" else (args[1], shape)
        return _work([(), w], g)

    return work


def _conv_grad(count: int, which: str) -> None:
    name = f"conv{count}d_{which}"
    wanted = "(dY, w, input_size)" if which == "input" else "(x, dY, weight_size)"
    doc = "the transposed convolution of" if which == "input" else "the correlation of x with"
    register(
        Op(
            name,
            f"{doc} the output's gradient dY: the gradient of conv{count}d's {which}, as "
            f"torch.nn.grad.{name}, written {name}{wanted[:-1]}, stride=, padding=, dilation=, groups=)",
            arity=2,
            options=(Option(f"{which}_size", (), positional=True), *_NAMED),
            latex=rf"\operatorname{{{{conv{count}d\_{which}}}}}\left({{all}}\right)",
            elementwise=False,
            shape=_grad_shape(count, which),
            growth=Growth.PRODUCT,
            work=_grad_work(which),
            vjp=_grad_vjp(count, which),
            sympy=_implementation(count, _sympy_input if which == "input" else _sympy_weight, True, f"{which}_size"),
            torch=_torch_grad(count, which),
            numpy=_implementation(count, _numpy_input if which == "input" else _numpy_weight, False, f"{which}_size"),
        )
    )


for _count in (1, 2):
    _conv(_count)
    _conv_grad(_count, "input")
    _conv_grad(_count, "weight")
