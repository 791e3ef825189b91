"""PyTorch's spellings of the language's operations: which torch method (``x.sum(1)``) and which
function of ``torch``, ``torch.nn.functional`` (``F``) names which record, and how its arguments are
written. One table, read by the parser's method rules (:mod:`.methods`); the records stay torch's
own names where they can (``sum``, ``log_softmax``, ``cross_entropy``). No dependencies beyond the
standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Convention(StrEnum):
    """How a torch call writes its arguments, where that differs from the language's call."""

    CALL = "call"  #: as the record's call: the tensors, a dimension, the options (``x.sum(1, keepdim=True)``)
    SIZES = "sizes"  #: a shape as separate integers or one tuple: ``x.view(n, -1)``, ``x.reshape((2, -1))``
    DIMS = "dims"  #: dimensions as separate integers or one tuple: ``x.permute(1, 0)``
    PAIR = "pair"  #: with a dimension, torch gives (values, indices): ``x.max(1).values``
    BOUNDS = "bounds"  #: ``x.clamp(lo, hi)``, ``x.clamp(min=lo, max=hi)``


@dataclass(frozen=True)
class TorchName:
    """The record a torch name calls, and how torch writes its arguments."""

    record: str
    convention: Convention = Convention.CALL


def _table(same: str, renamed: dict[str, str], conventions: dict[str, Convention]) -> dict[str, TorchName]:
    names = {name: name for name in same.split()} | renamed
    return {name: TorchName(record, conventions.get(name, Convention.CALL)) for name, record in names.items()}


_PAIRS = {"max": Convention.PAIR, "min": Convention.PAIR, "clamp": Convention.BOUNDS, "clip": Convention.BOUNDS}
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
    "t": "transpose",
    "transpose": "swapdims",
    "swapaxes": "swapdims",
    "clip": "clamp",
}

#: ``x.f(...)``: the methods of a tensor, each the call of its record on ``x`` and the arguments.
METHODS = _table(
    f"{_ELEMENTWISE} {_REDUCTIONS} {_ALGEBRA} {_SHAPING} add sub mul div",
    {**_RENAMED, "view": "reshape"},
    {**_PAIRS, "view": Convention.SIZES, "reshape": Convention.SIZES, "permute": Convention.DIMS},
)

#: ``torch.f(...)``: the functions of the torch module (``torch.reshape`` takes its shape as a tuple).
TORCH = _table(
    f"{_ELEMENTWISE} {_REDUCTIONS} {_ALGEBRA} {_SHAPING} cat stack where ones_like arange eye",
    _RENAMED,
    _PAIRS,
)

#: ``F.f(...)``, ``torch.nn.functional.f(...)``: the functions of torch.nn.functional.
FUNCTIONAL = _table(
    "relu gelu silu elu leaky_relu softplus softsign hardtanh sigmoid tanh softmax log_softmax one_hot "
    "embedding cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy "
    "binary_cross_entropy_with_logits multi_margin_loss",
    {},
    {},
)

#: The module paths a pasted line may write before a function, and the functions each has.
MODULES = {"torch": TORCH, "torch.nn.functional": FUNCTIONAL, "nn.functional": FUNCTIONAL, "F": FUNCTIONAL}
#: The first name of a module path.
ROOTS = frozenset(path.split(".")[0] for path in MODULES)
#: Torch's attributes that hold the result of a PAIR: the values have a gradient, the indices none.
VALUES, INDICES = "values", "indices"
#: ``x.shape[k]`` and ``x.size(k)``: a size of a tensor, in the sizes of ``x.view(...)``.
SHAPE, SIZE = "shape", "size"
#: ``x.view(x.shape[0], -1)``: the record of a reshape that keeps the tensor's first sizes, ``flatten(x, 1)``.
OWN_SIZES = "flatten"
