"""The softmax family: ``logsumexp`` (a reduction, with keepdim), ``softmax`` and ``log_softmax``
(along the last dimension or along d), computed stably (the maximum subtracted first) in NumPy and
in the NumPy and torch code that ``--emit`` writes.
"""

from __future__ import annotations

from typing import Any

from .code import Code
from .record import Op, Shape, register
from .rules import add_along, each, kept, reduced, same
from .tensors import KEEPDIM, reduction_vjp


def _last_or(x: Any, dim: int | None) -> int:
    return -1 if dim is None else dim


def _softmax_vjp(template: str) -> Any:
    def rule(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
        if not shapes[0]:
            return ("0*g",)  # the softmax of one number is the constant 1 (its log, 0)
        return (template.format(d=_last_or(None, dim)),)

    return rule


def _logsumexp_jvp(shapes: list[Shape], dim: int | None, keepdim: bool = False) -> tuple[str, ...]:
    if dim is None:
        return (f"sum(d*exp(u - out), keepdim={keepdim})",)
    return (f"sum(d*exp(u - {'out' if keepdim else f'unsqueeze(out, {dim})'}), {dim}, keepdim={keepdim})",)


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


def _numpy_logsumexp_kept(np: Any, x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    total = _numpy_logsumexp(np, x, dim)
    if not keepdim:
        return total
    return total.reshape((1,) * x.ndim) if dim is None else np.expand_dims(total, dim)


def _torch_logsumexp(torch: Any, x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    total = torch.logsumexp(x.reshape(-1), dim=0) if dim is None else torch.logsumexp(x, dim=dim)
    return kept(x, total, dim, keepdim)


def _torch_softmax(name: str) -> Any:
    def apply(torch: Any, x: Any, dim: int | None = None) -> Any:
        if x.dim() == 0:  # torch would need a dimension: the softmax of one number is 1 (log: 0)
            return torch.ones_like(x) if name == "softmax" else torch.zeros_like(x)
        return getattr(torch, name)(x, dim=_last_or(x, dim))

    return apply


# The same computations in emitted code (``--emit``), each a helper of its own.
_NUMPY_LOGSUMEXP = """def _logsumexp(x, dim, keepdim):
    top = np.max(x, axis=dim, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.log(np.sum(np.exp(x - top), axis=dim, keepdims=True)) + top
    if keepdim:
        return total
    return np.squeeze(total, axis=dim) if dim is not None else total.reshape(())"""
_NUMPY_SOFTMAX = """def _softmax(x, dim):
    if np.ndim(x) == 0:
        return np.ones_like(x)
    shifted = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return shifted / np.sum(shifted, axis=dim, keepdims=True)"""
_NUMPY_LOG_SOFTMAX = """def _log_softmax(x, dim):
    if np.ndim(x) == 0:
        return np.zeros_like(x)
    shifted = x - np.max(x, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))"""
_TORCH_LOGSUMEXP = """def _logsumexp(x, dim, keepdim):
    if dim is None:
        total = torch.logsumexp(x.reshape(-1), dim=0)
        return total.reshape((1,) * x.dim()) if keepdim else total
    return torch.logsumexp(x, dim=dim, keepdim=keepdim)"""
_TORCH_SOFTMAX = """def _softmax(x, dim):
    return torch.ones_like(x) if x.dim() == 0 else torch.softmax(x, dim=dim)"""
_TORCH_LOG_SOFTMAX = """def _log_softmax(x, dim):
    return torch.zeros_like(x) if x.dim() == 0 else torch.log_softmax(x, dim=dim)"""


def _along(name: str, helper: str) -> Code:
    """A softmax's code: its helper along the given dimension, or the last."""
    return Code(lambda x, dim=None: f"_{name}({x}, {_last_or(None, dim)})", (helper,))


register(
    Op(
        "logsumexp",
        "log(sum(exp(x))), stably, over all elements or along dimension d (keepdim=True keeps it)",
        takes_dim=True,
        options=(KEEPDIM,),
        latex=r"\operatorname{{logsumexp}}\left({0}\right)",
        elementwise=False,
        shape=reduced,
        vjp=reduction_vjp("{g}*exp(u - {out})"),
        jvp=_logsumexp_jvp,
        sympy=lambda sp, np, x, dim=None, keepdim=False: each(
            np, sp.log, add_along(sp, np, each(np, sp.exp, x), dim, keepdims=keepdim)
        ),
        torch=_torch_logsumexp,
        numpy=_numpy_logsumexp_kept,
        numpy_code=Code("_logsumexp({0}, {dim}, {keepdim})", (_NUMPY_LOGSUMEXP,)),
        torch_code=Code("_logsumexp({0}, {dim}, {keepdim})", (_TORCH_LOGSUMEXP,)),
    )
)
SOFTMAX = register(
    Op(
        "softmax",
        "exp(x) / sum(exp(x)) along the last dimension, or along d: softmax(x), softmax(x, d)",
        takes_dim=True,
        confused_with="log_softmax",
        latex=r"\operatorname{{softmax}}\left({0}\right)",
        elementwise=False,
        shape=same,
        vjp=_softmax_vjp("out*(g - unsqueeze(sum(g*out, {d}), {d}))"),
        jvp=_softmax_vjp("out*(d - unsqueeze(sum(d*out, {d}), {d}))"),
        sympy=_sympy_softmax,
        torch=_torch_softmax("softmax"),
        numpy=_numpy_softmax,
        numpy_code=_along("softmax", _NUMPY_SOFTMAX),
        torch_code=_along("softmax", _TORCH_SOFTMAX),
    )
)
LOG_SOFTMAX = register(
    Op(
        "log_softmax",
        "log(softmax(x)), stably, along the last dimension or along d: log_softmax(x), log_softmax(x, d)",
        takes_dim=True,
        confused_with="softmax",
        latex=r"\log\operatorname{{softmax}}\left({0}\right)",
        elementwise=False,
        shape=same,
        vjp=_softmax_vjp("g - exp(out)*unsqueeze(sum(g, {d}), {d})"),
        jvp=_softmax_vjp("d - unsqueeze(sum(exp(out)*d, {d}), {d})"),
        sympy=_sympy_log_softmax,
        torch=_torch_softmax("log_softmax"),
        numpy=_numpy_log_softmax,
        numpy_code=_along("log_softmax", _NUMPY_LOG_SOFTMAX),
        torch_code=_along("log_softmax", _TORCH_LOG_SOFTMAX),
    )
)
