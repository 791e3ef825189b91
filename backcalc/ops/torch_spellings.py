"""PyTorch's spellings of the records: which tensor method (``x.sum(1)``) and which function of
``torch`` or of ``torch.nn.functional`` (``F``) calls which record, and how torch writes its arguments
where the language's call differs. One table, beside the records it names; the parser's method rules
(:mod:`backcalc.language.methods`) read it through :func:`spelled`. Most records keep torch's own
names (``sum``, ``log_softmax``, ``cross_entropy``), so most rows are a name alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .record import Op, get


class Spelling(StrEnum):
    """How a torch call writes its arguments, where that differs from the language's call."""

    CALL = "call"  #: as the record's call: the tensors, a dimension, the options (``x.sum(1, keepdim=True)``)
    SIZES = "sizes"  #: a shape as separate integers or one tuple: ``x.view(n, -1)``, ``x.reshape((2, -1))``
    DIMS = "dims"  #: dimensions as separate integers or one tuple: ``x.permute(1, 0)``
    PAIR = "pair"  #: along a dimension torch gives (values, indices): ``x.max(1).values``
    BOUNDS = "bounds"  #: ``x.clamp(lo, hi)``, ``x.clamp(min=lo, max=hi)``
    #: the dimension must be given: without one torch picks it by the number of dimensions (0 for 3-D),
    #: where the language's own takes the last: ``F.softmax(x, dim=1)``
    DIM = "dim"


@dataclass(frozen=True)
class TorchCall:
    """The record a torch spelling calls, and how torch writes its arguments."""

    op: Op
    spelling: Spelling = Spelling.CALL


#: The module prefixes of a spelling: a tensor's method, torch's functions, torch.nn.functional's.
METHOD, TORCH, FUNCTIONAL = "x", "torch", "F"

_ELEMENTWISE = "exp log sqrt abs sin cos tan asin acos atan sinh cosh tanh sigmoid relu log1p expm1 sign erf"
_REDUCTIONS = "sum mean logsumexp max min amax amin var std prod cumsum softmax log_softmax norm"
_ALGEBRA = "matmul dot outer det logdet trace diag kron maximum minimum clamp pow"
_SHAPING = "reshape flatten squeeze unsqueeze permute swapdims"
_RENAMED = {
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "mm": "matmul",
    "mv": "matmul",
    "inverse": "inv",
    "t": "transpose",  # x.t(), the transpose of a matrix
    "transpose": "swapdims",  # x.transpose(0, 1) swaps two dimensions
    "swapaxes": "swapdims",
    "clip": "clamp",
}
_CONVENTIONS = {"max": Spelling.PAIR, "min": Spelling.PAIR, "clamp": Spelling.BOUNDS}
_CONVENTIONS |= {"softmax": Spelling.DIM, "log_softmax": Spelling.DIM}
_METHOD_CONVENTIONS = {"reshape": Spelling.SIZES, "permute": Spelling.DIMS}
_FUNCTIONAL = (
    "relu gelu silu elu leaky_relu softplus softsign hardtanh sigmoid tanh softmax log_softmax one_hot embedding "
    "cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy "
    "binary_cross_entropy_with_logits multi_margin_loss linear layer_norm conv1d conv2d max_pool2d avg_pool2d"
)
# F.batch_norm (running statistics first) and F.dropout (a random mask) take other arguments than the
# language's batch_norm(x, w, b) and dropout(x, mask, p): not spelled, so a paste of them is refused.


def _same(names: str) -> dict[str, str]:
    return {name: name for name in names.split()}


_COMMON = f"{_ELEMENTWISE} {_REDUCTIONS} {_ALGEBRA} {_SHAPING}"
_SPELLINGS: dict[str, dict[str, str]] = {
    METHOD: _same(f"{_COMMON} add sub mul div") | _RENAMED | {"view": "reshape"},
    TORCH: _same(f"{_COMMON} cat stack where ones_like arange eye") | _RENAMED,
    FUNCTIONAL: _same(_FUNCTIONAL),
}

#: ``x.view(x.shape[0], ..., x.shape[k-1], -1)``: the record it is, ``flatten(x, k)``, and its option k.
OWN_SIZES, OWN_SIZES_OPTION = "flatten", "start_dim"


def spelled(module: str, name: str) -> TorchCall | None:
    """The record ``module.name`` calls (``spelled("x", "view")``: a method), or None."""
    record = _SPELLINGS[module].get(name)
    if record is None:
        return None
    conventions = _CONVENTIONS | (_METHOD_CONVENTIONS if module == METHOD else {})
    return TorchCall(get(record), conventions.get(record, Spelling.CALL))


def spellings(module: str) -> list[str]:
    """Every name of ``module`` (``x``, ``torch``, ``F``) that calls a record."""
    return list(_SPELLINGS[module])


def own_sizes() -> tuple[Op, str]:
    """The record and the option of ``x.view(x.shape[0], -1)``: ``flatten(x, 1)``."""
    return get(OWN_SIZES), OWN_SIZES_OPTION
