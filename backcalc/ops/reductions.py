"""The reductions of a network course beyond ``sum`` and ``mean``, as torch defines them: ``max`` and
``min`` (the values, over all elements or along a dimension), ``amax`` and ``amin``, ``var`` and ``std``
(with torch's default ``correction=1``, or ``correction=0``), ``prod``, and ``cumsum`` along a dimension.
Each takes ``keepdim=True`` where torch does.

Their vector-Jacobian rules are in the language, over g, u and out. A maximum's rule gives the gradient
to the elements equal to it, ``heaviside(u - out)`` being 1/2 there and 0 below, shared evenly between
them: torch's ``amax`` and ``max`` over all elements share it so, while ``max`` along a dimension gives it
all to one index. A tie is a kink: the edge rule marks it, and the verdict explains it.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from .code import numpy_reduction, torch_reduction
from .record import Op, Option, Shape, register
from .rules import each, kept, reduced, same
from .tensors import KEEPDIM

_CORRECTION = Option("correction", 1)


def along(np: Any, function: Any, cells: Any, dim: int | None, keepdim: bool = False) -> Any:
    """``function`` (sympy's Max, Mul, ...) over all elements of an object array, or along one axis."""
    cells = np.asarray(cells, dtype=object)
    if dim is None:
        total = np.empty((), dtype=object)
        total[()] = function(*cells.flat)
        return total.reshape((1,) * cells.ndim) if keepdim else total
    index = dim % cells.ndim
    moved = np.moveaxis(cells, index, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    results = np.empty(rows.shape[0], dtype=object)
    for i, row in enumerate(rows):
        results[i] = function(*row)
    result = results.reshape(moved.shape[:-1])
    return np.expand_dims(result, index) if keepdim else result


def _back(dim: int | None, keepdim: bool) -> tuple[str, str]:
    """g and out as they broadcast against the argument: as they are, or with the dimension back."""
    if dim is None or keepdim:
        return "g", "out"
    return f"unsqueeze(g, {dim})", f"unsqueeze(out, {dim})"


def _count(shape: Shape, dim: int | None) -> int:
    count = 1
    for size in shape if dim is None else (shape[dim],):
        count *= size
    return count


def _total(text: str, dim: int | None) -> str:
    return f"sum({text})" if dim is None else f"sum({text}, {dim}, keepdim=True)"


# -- max, min, amax, amin ---------------------------------------------------------------------------
def _extreme_vjp(largest: bool) -> Any:
    def rule(shapes: list[Shape], dim: int | None, keepdim: bool = False) -> tuple[str, ...]:
        g, out = _back(dim, keepdim)
        hit = f"heaviside(u - {out})" if largest else f"heaviside({out} - u)"
        return (f"{g}*{hit}/{_total(hit, dim)}",)

    return rule


def _tie_edges(name: str, shares: str) -> Any:
    def rule(
        np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], dim: Any, keepdim: bool
    ) -> list[Any]:
        x = args[0]
        top = np.max(x, axis=dim, keepdims=True) if name == "max" else np.min(x, axis=dim, keepdims=True)
        ties = np.sum(x == top, axis=dim, keepdims=keepdim) > 1
        why = f"torch {shares}; sympy's derivative of Max/Min takes Heaviside(0) = 1/2 per comparison"
        return [("kink", f"{text} at a tie: {why}", ties if dim is not None or keepdim else ties.reshape(()))]

    return rule


def _torch_extreme(method: str, indexed: bool) -> Any:
    def apply(torch: Any, x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
        if dim is None:
            return kept(x, getattr(torch, method)(x), None, keepdim)
        result = getattr(torch, method)(x, dim=dim, keepdim=keepdim)
        return result.values if indexed else result

    return apply


def _extreme(name: str, doc: str, torch_name: str, indexed: bool, shares: str) -> Op:
    largest = name.endswith("max")
    return register(
        Op(
            name,
            doc,
            takes_dim=True,
            options=(KEEPDIM,),
            latex=rf"\operatorname{{{{{name}}}}} {{0}}",
            elementwise=False,
            shape=reduced,
            vjp=_extreme_vjp(largest),
            edges=_tie_edges("max" if largest else "min", shares),
            sympy=lambda sp, np, x, dim=None, keepdim=False: along(np, sp.Max if largest else sp.Min, x, dim, keepdim),
            torch=_torch_extreme(torch_name, indexed),
            numpy_code=numpy_reduction("max" if largest else "min"),
            torch_code=torch_reduction("amax" if largest else "amin"),  # the values, as max(x, d).values
            numpy=lambda np, x, dim=None, keepdim=False: np.asarray(
                (np.max if largest else np.min)(x, axis=dim, keepdims=keepdim)
            ),
        )
    )


_ONE = "gives the whole gradient to one tied element along a dimension (over all elements, shares it evenly)"
_EVEN = "shares the gradient evenly between the tied elements"
_extreme("max", "the largest element, or the largest along d (the values): max(x), max(x, d)", "max", True, _ONE)
_extreme("min", "the smallest element, or the smallest along d (the values): min(x), min(x, d)", "min", True, _ONE)
_extreme(
    "amax", "the largest element, or the largest along d, as torch.amax: amax(x), amax(x, d)", "amax", False, _EVEN
)
_extreme(
    "amin", "the smallest element, or the smallest along d, as torch.amin: amin(x), amin(x, d)", "amin", False, _EVEN
)


# -- var, std ---------------------------------------------------------------------------------------
def _mean_of(dim: int | None) -> str:
    return "mean(u)" if dim is None else f"mean(u, {dim}, keepdim=True)"


def _spread_vjp(root: bool) -> Any:
    def rule(shapes: list[Shape], dim: int | None, keepdim: bool = False, correction: int = 1) -> tuple[str, ...]:
        g, out = _back(dim, keepdim)
        divisor = _count(shapes[0], dim) - correction
        if root:  # d sqrt(var) = d var / (2*std)
            return (f"{g}*(u - {_mean_of(dim)})/({divisor}*{out})",)
        return (f"2*{g}*(u - {_mean_of(dim)})/{divisor}",)

    return rule


def _sympy_var(sp: Any, np: Any, x: Any, dim: int | None = None, keepdim: bool = False, correction: int = 1) -> Any:
    count = x.size if dim is None else x.shape[dim]
    centre = along(np, sp.Add, x, dim, keepdim=True) * sp.Rational(1, count)
    squares = (x - centre) ** 2
    return along(np, sp.Add, squares, dim, keepdim) / (count - correction)


def _torch_spread(method: str) -> Any:
    def apply(torch: Any, x: Any, dim: int | None = None, keepdim: bool = False, correction: int = 1) -> Any:
        with warnings.catch_warnings():  # too few elements for the correction: nan, and the edge rule says why
            warnings.simplefilter("ignore")
            if dim is None:
                return kept(x, getattr(torch, method)(x, correction=correction), None, keepdim)
            return getattr(torch, method)(x, dim=dim, correction=correction, keepdim=keepdim)

    return apply


def _spread_edges(root: bool) -> Any:
    def rule(
        np: Any,
        args: list[Any],
        value: Any,
        text: str,
        constant: tuple[bool, ...],
        dim: Any,
        keepdim: bool,
        correction: int,
    ) -> list[Any]:
        count = np.size(args[0]) if dim is None else np.shape(args[0])[dim]
        found = [
            (
                "domain",
                f"{text}: {count} elements, correction {correction}: no spread to divide",
                np.asarray(count <= correction),
            )
        ]
        if root:
            found.append(("kink", f"{text} where every element is equal: sqrt has no derivative at 0", value == 0))
        return found

    return rule


def _numpy_spread(
    root: bool, np: Any, x: Any, dim: int | None = None, keepdim: bool = False, correction: int = 1
) -> Any:
    with warnings.catch_warnings():  # as in torch: nan for too few elements, explained by the edge rule
        warnings.simplefilter("ignore")
        return np.asarray((np.std if root else np.var)(x, axis=dim, ddof=correction, keepdims=keepdim))


def _spread(name: str, doc: str, root: bool) -> Op:
    return register(
        Op(
            name,
            doc,
            takes_dim=True,
            options=(_CORRECTION, KEEPDIM),
            latex=rf"\operatorname{{{{{name}}}}} {{0}}",
            elementwise=False,
            shape=reduced,
            vjp=_spread_vjp(root),
            edges=_spread_edges(root),
            sympy=(
                (lambda sp, np, x, **options: each(np, sp.sqrt, _sympy_var(sp, np, x, **options)))
                if root
                else _sympy_var
            ),
            torch=_torch_spread(name),
            numpy_code="np.{name}({{0}}, axis={{dim}}, ddof={{correction}}, keepdims={{keepdim}})".format(
                name="std" if root else "var"
            ),
            torch_code=f"torch.{name}({{0}}, dim={{dim}}, correction={{correction}}, keepdim={{keepdim}})",
            numpy=functools.partial(_numpy_spread, root),
        )
    )


_spread("var", "the variance, with torch's correction=1 (n - 1) unless correction=0: var(x), var(x, d)", root=False)
_spread("std", "the standard deviation sqrt(var), correction=1 unless given: std(x), std(x, d)", root=True)


# -- prod, cumsum -----------------------------------------------------------------------------------
def _prod_vjp(shapes: list[Shape], dim: int | None, keepdim: bool = False) -> tuple[str, ...]:
    g, out = _back(dim, keepdim)
    return (f"{g}*{out}/u",)


def _prod_edges(
    np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], dim: Any, keepdim: bool
) -> list[Any]:
    why = "the rule out/u divides by 0 there; torch multiplies the other elements instead"
    return [("pole", f"{text} at a zero element: {why}", np.asarray(np.any(args[0] == 0)))]


register(
    Op(
        "prod",
        "the product of all elements, or along dimension d: prod(x), prod(x, d)",
        takes_dim=True,
        options=(KEEPDIM,),
        latex=r"\prod {0}",
        elementwise=False,
        shape=reduced,
        vjp=_prod_vjp,
        edges=_prod_edges,
        sympy=lambda sp, np, x, dim=None, keepdim=False: along(np, sp.Mul, x, dim, keepdim),
        torch=lambda torch, x, dim=None, keepdim=False: kept(
            x, torch.prod(x) if dim is None else torch.prod(x, dim=dim), dim, keepdim
        ),
        numpy=lambda np, x, dim=None, keepdim=False: np.asarray(np.prod(x, axis=dim, keepdims=keepdim)),
        numpy_code=numpy_reduction("prod"),
        torch_code=torch_reduction("prod"),
    )
)


def _sympy_cumsum(sp: Any, np: Any, x: Any, dim: int | None = None) -> Any:
    cells = np.moveaxis(np.asarray(x, dtype=object), dim, -1)
    result = np.empty(cells.shape, dtype=object)
    for index in np.ndindex(*cells.shape[:-1]):
        running = sp.Integer(0)
        for k in range(cells.shape[-1]):
            running = running + cells[(*index, k)]
            result[(*index, k)] = running
    return np.moveaxis(result, -1, dim)


register(
    Op(
        "cumsum",
        "the running sum along dimension d, as torch.cumsum: cumsum(x, d)",
        takes_dim=True,
        needs_dim=True,
        latex=r"\operatorname{{cumsum}}\left({0}\right)",
        elementwise=False,
        shape=same,
        # The gradient of a running sum is the running sum from the other end: the total minus the
        # running sum, plus the element itself.
        vjp=lambda shapes, dim: (f"sum(g, {dim}, keepdim=True) - cumsum(g, {dim}) + g",),
        sympy=_sympy_cumsum,
        torch=lambda torch, x, dim=None: torch.cumsum(x, dim=dim),
        numpy=lambda np, x, dim=None: np.cumsum(x, axis=dim),
        numpy_code="np.cumsum({0}, axis={dim})",
        torch_code="torch.cumsum({0}, dim={dim})",
    )
)
