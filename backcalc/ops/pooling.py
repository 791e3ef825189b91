"""Pooling over the last two axes of (C, H, W) or (N, C, H, W), as ``torch.nn.functional`` defines it:
``max_pool2d(x, kernel_size, stride, padding, dilation)`` and ``avg_pool2d(x, kernel_size, stride,
padding)`` (torch's defaults: the stride is the kernel size, ``ceil_mode=False``, and the average counts
the padding's zeros, ``count_include_pad=True``).

A maximum's gradient goes to the element that wins its window; the language cannot write that routing,
so it is a record of its own, ``max_pool2d_backward(dY, x, kernel_size, ...)``, which gives each
window's gradient to its first largest element in row-major order, as torch does. A tie in a window is
a kink: the edge rule marks it (sympy's derivative of Max shares the gradient instead). The average's
gradient spreads each window's gradient evenly over it, ``avg_pool2d_backward(dY, x, kernel_size, ...)``.
"""

from __future__ import annotations

import math
from typing import Any

from .convolution import DILATION, PADDING, Pair, offsets, output_size, sizes
from .record import Op, Option, OptionError, Shape, ShapeMisfitError, option_text, register
from .rules import show


def _positive(value: Any) -> bool:
    values = value if isinstance(value, tuple) else (value,)
    if any(item < 1 for item in values):
        raise OptionError(f"must be positive, not {option_text(value)}")
    return True


KERNEL = Option("kernel_size", (), positional=True, pair=True, valid=_positive)
STRIDE = Option("stride", (), positional=True, pair=True, valid=_positive)  # (): the kernel size
_MAX_OPTIONS = (KERNEL, STRIDE, PADDING, DILATION)
_AVG_OPTIONS = (KERNEL, STRIDE, PADDING)


def window(name: str, shape: Shape, **options: Any) -> tuple[Pair, Pair, Pair, Pair, Pair]:
    """kernel, stride, padding, dilation and the output's size of a pooling of ``shape``, after its checks."""
    if len(shape) not in (3, 4):
        raise ShapeMisfitError(f"{name} needs x of (C, H, W) or (N, C, H, W), not {show(shape)}")
    if options["kernel_size"] == ():
        raise ShapeMisfitError(f"{name} needs a kernel size: {name}(x, 2) or {name}(x, (2, 3))")
    kernel = sizes(name, "kernel_size", options["kernel_size"], 2)
    stride = kernel if options["stride"] == () else sizes(name, "stride", options["stride"], 2)
    padding = sizes(name, "padding", options["padding"], 2)
    dilation = sizes(name, "dilation", options.get("dilation", 1), 2)
    if any(pad > size // 2 for pad, size in zip(padding, kernel, strict=True)):
        raise ShapeMisfitError(
            f"{name}'s padding {option_text(padding)} is more than half its kernel {option_text(kernel)}"
        )
    pairs: list[Pair] = [(k[0], k[1]) for k in (kernel, stride, padding, dilation)]
    out = output_size(name, (shape[-2], shape[-1]), pairs[0], pairs[1], pairs[2], pairs[3])
    return pairs[0], pairs[1], pairs[2], pairs[3], out


def _pool_shape(name: str) -> Any:
    def rule(shapes: list[Shape], dim: int | None, **options: Any) -> Shape:
        out = window(name, shapes[0], **options)[-1]
        return (*shapes[0][:-2], *out)

    return rule


def _backward_shape(name: str, pooled: str) -> Any:
    def rule(shapes: list[Shape], dim: int | None, **options: Any) -> Shape:
        g, x = shapes
        out = window(pooled, x, **options)[-1]
        if g != (*x[:-2], *out):
            raise ShapeMisfitError(
                f"{name}'s dY, the gradient of {pooled}'s output, must be of shape {show((*x[:-2], *out))}, "
                f"not {show(g)}"
            )
        return x

    return rule


def _named(options: dict[str, Any], known: tuple[Option, ...]) -> str:
    return "".join(
        f", {option.name}={option_text(options[option.name])}"
        for option in known[1:]
        if options[option.name] != option.default
    )


def _padded(np: Any, x: Any, padding: Pair, fill: float) -> Any:
    widths = [(0, 0)] * (x.ndim - 2) + [(padding[0],) * 2, (padding[1],) * 2]
    return np.pad(x, widths, constant_values=fill)


def _numpy_pool(largest: bool) -> Any:
    def apply(np: Any, x: Any, **options: Any) -> Any:
        kernel, stride, padding, dilation, out = window("pool", x.shape, **options)
        padded = _padded(np, x, padding, -np.inf if largest else 0.0)
        parts = [padded[..., rows, columns] for _, (rows, columns) in offsets(kernel, stride, dilation, out)]
        if largest:
            return np.max(np.stack(parts), axis=0)
        return np.sum(np.stack(parts), axis=0) / (kernel[0] * kernel[1])

    return apply


def _winners(np: Any, x: Any, **options: Any) -> tuple[Any, Any]:
    """Each window's largest value and the number of its first largest element (torch's choice)."""
    kernel, stride, padding, dilation, out = window("max_pool2d", x.shape, **options)
    padded = _padded(np, x, padding, -np.inf)
    best = np.full((*x.shape[:-2], *out), -np.inf)
    which = np.zeros(best.shape, dtype=np.int64)
    for number, (_, (rows, columns)) in enumerate(offsets(kernel, stride, dilation, out)):
        patch = padded[..., rows, columns]
        better = patch > best  # strictly: the first of equal elements keeps the window
        best, which = np.where(better, patch, best), np.where(better, number, which)
    return best, which


def _numpy_backward(largest: bool) -> Any:
    def apply(np: Any, g: Any, x: Any, **options: Any) -> Any:
        kernel, stride, padding, dilation, out = window("pool", x.shape, **options)
        result = np.zeros(_padded(np, x, padding, 0.0).shape, dtype=np.result_type(g, x))
        which = _winners(np, x, **options)[1] if largest else None
        for number, (_, (rows, columns)) in enumerate(offsets(kernel, stride, dilation, out)):
            share = np.where(which == number, g, 0.0) if largest else g / (kernel[0] * kernel[1])
            result[..., rows, columns] += share
        return result[..., padding[0] : padding[0] + x.shape[-2], padding[1] : padding[1] + x.shape[-1]]

    return apply


def _cells(np: Any, x: Any, **options: Any) -> Any:
    """For every output element: the input indices of its window (the padding left out)."""
    kernel, stride, padding, dilation, out = window("pool", np.shape(x), **options)
    for lead in np.ndindex(*np.shape(x)[:-2]):
        for p in range(out[0]):
            for q in range(out[1]):
                found = []
                for i in range(kernel[0]):
                    for j in range(kernel[1]):
                        r, s = (
                            p * stride[0] + i * dilation[0] - padding[0],
                            q * stride[1] + j * dilation[1] - padding[1],
                        )
                        if 0 <= r < np.shape(x)[-2] and 0 <= s < np.shape(x)[-1]:
                            found.append((*lead, r, s))
                yield (*lead, p, q), found, kernel[0] * kernel[1]


def _sympy_pool(largest: bool) -> Any:
    def apply(sp: Any, np: Any, x: Any, **options: Any) -> Any:
        out = _pool_shape("pool")([np.shape(x)], None, **options)
        cells = np.empty(out, dtype=object)
        for index, found, count in _cells(np, x, **options):
            values = [x[cell] for cell in found]
            cells[index] = sp.Max(*values) if largest else sp.Add(*values) / count
        return cells

    return apply


def _sympy_backward(largest: bool) -> Any:
    def apply(sp: Any, np: Any, g: Any, x: Any, **options: Any) -> Any:
        terms: dict[Any, list[Any]] = {}
        for index, found, count in _cells(np, x, **options):
            for number, cell in enumerate(found):
                if not largest:
                    terms.setdefault(cell, []).append(g[index] / count)
                    continue
                # the first largest: above every earlier element of its window, at least every later one
                first = sp.And(
                    *(x[cell] > x[other] for other in found[:number]),
                    *(x[cell] >= x[other] for other in found[number + 1 :]),
                )
                terms.setdefault(cell, []).append(sp.Piecewise((g[index], first), (0, True)))
        result = np.empty(np.shape(x), dtype=object)
        for cell in np.ndindex(*np.shape(x)):
            result[cell] = sp.Add(*terms.get(cell, ()))
        return result

    return apply


def _ties(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], **options: Any) -> list[Any]:
    x = args[0]
    best = _winners(np, x, **options)[0]
    kernel, stride, padding, dilation, out = window("max_pool2d", x.shape, **options)
    padded = _padded(np, x, padding, -np.inf)
    count = sum(padded[..., rows, columns] == best for _, (rows, columns) in offsets(kernel, stride, dilation, out))
    why = "torch gives the whole gradient to the first tied element of a window; sympy's derivative of Max shares it"
    return [("kink", f"{text} at a tie in a window: {why}", np.asarray(count > 1))]


def _torch_backward(
    torch: Any, g: Any, x: Any, kernel_size: Any = (), stride: Any = (), padding: Any = 0, dilation: Any = 1
) -> Any:
    kernel, steps, pads, spread, _ = window(
        "max_pool2d", tuple(x.shape), kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )
    _, indices = torch.ops.aten.max_pool2d_with_indices(x, kernel, steps, pads, spread)
    return torch.ops.aten.max_pool2d_with_indices_backward(g, x, kernel, steps, pads, spread, False, indices)


def _torch_avg_backward(torch: Any, g: Any, x: Any, kernel_size: Any = (), stride: Any = (), padding: Any = 0) -> Any:
    kernel, steps, pads, _, _ = window(
        "avg_pool2d", tuple(x.shape), kernel_size=kernel_size, stride=stride, padding=padding
    )
    return torch.ops.aten.avg_pool2d_backward(g, x, kernel, steps, pads, False, True, None)


def _torch_pool(largest: bool) -> Any:
    def apply(torch: Any, x: Any, **options: Any) -> Any:
        kernel, steps, pads, spread, _ = window("pool", tuple(x.shape), **{"dilation": 1, **options})
        if largest:
            return torch.nn.functional.max_pool2d(x, kernel, steps, pads, spread)
        return torch.nn.functional.avg_pool2d(x, kernel, steps, pads)

    return apply


def _pool(name: str, largest: bool, doc: str) -> None:
    known = _MAX_OPTIONS if largest else _AVG_OPTIONS
    backward = f"{name}_backward"
    register(
        Op(
            name,
            doc,
            options=known,
            latex=rf"\operatorname{{{{{name.replace('_', chr(92) + '_')}}}}}\left({{0}}\right)",
            elementwise=False,
            shape=_pool_shape(name),
            work=lambda args, shape: max(1, math.prod(shape)) * 9,
            vjp=lambda shapes, dim, **options: (
                f"{backward}(g, u, {option_text(options['kernel_size'])}{_named(options, known)})",
            ),
            edges=_ties if largest else None,
            sympy=_sympy_pool(largest),
            torch=_torch_pool(largest),
            numpy=_numpy_pool(largest),
        )
    )
    register(
        Op(
            backward,
            f"the gradient of {name}'s input from its output's gradient dY: {backward}(dY, x, kernel_size, ...), "
            + (
                "each window's to its first largest element, as torch"
                if largest
                else "each window's spread evenly over it"
            ),
            arity=2,
            options=known,
            latex=rf"\operatorname{{{{{backward.replace('_', chr(92) + '_')}}}}}\left({{0}}, {{1}}\right)",
            elementwise=False,
            shape=_backward_shape(backward, name),
            # the average's is linear in dY (its adjoint is the pooling itself) and constant in x
            vjp=None
            if largest
            else (
                lambda shapes, dim, **options: (
                    f"{name}(g, {option_text(options['kernel_size'])}{_named(options, known)})",
                    "0*v",
                )
            ),
            sympy=_sympy_backward(largest),
            torch=_torch_backward if largest else _torch_avg_backward,
            numpy=_numpy_backward(largest),
        )
    )


_pool(
    "max_pool2d",
    True,
    "the largest element of each window, as torch.nn.functional.max_pool2d(x, kernel_size, stride, padding, dilation)",
)
_pool(
    "avg_pool2d",
    False,
    "the mean of each window (the padding counted), as torch.nn.functional.avg_pool2d(x, kernel_size, stride, padding)",
)
