"""The operations of integer class labels, as ``torch.nn.functional`` defines them: ``one_hot(y, C)``,
``embedding(y, W)`` (the rows of ``W`` that ``y`` picks), and the losses of labels: ``cross_entropy(z, y)``
(with integer labels, or with class probabilities of ``z``'s own shape), ``nll_loss(logp, y)`` and the
multiclass hinge ``multi_margin_loss(x, y, margin=1)``. The losses take ``reduction="mean"`` (over the
batch, as torch), ``"sum"`` or ``"none"``; the scores are a vector of classes or a batch of them (N, C).

A label argument is an integer argument of its record (:attr:`~backcalc.ops.record.Op.integer_args`),
with the range of its values (:attr:`~backcalc.ops.record.Op.index_range`): it has no gradient, so its
vector-Jacobian rule is ``""``. The other rules are in matrix notation, over the whole batch:
``softmax(z) - one_hot(y, C)`` for cross-entropy.
"""

from __future__ import annotations

from typing import Any

from .code import Code, operator
from .record import ATOM, Op, Option, Shape, ShapeMisfitError, register
from .rules import add_along, show
from .softmax import LOG_SOFTMAX

_REDUCTION = Option("reduction", "mean", choices=("mean", "sum", "none"))


# -- one_hot, embedding -----------------------------------------------------------------------------
def _one_hot_shape(shapes: list[Shape], dim: int | None, num_classes: int = -1) -> Shape:
    if num_classes < 1:
        raise ShapeMisfitError("one_hot needs the number of classes, a positive integer: one_hot(y, 3)")
    return (*shapes[0], num_classes)


def _sympy_one_hot(sp: Any, np: Any, y: Any, num_classes: int = -1) -> Any:
    cells = np.empty((*np.shape(y), num_classes), dtype=object)
    for index in np.ndindex(*cells.shape):
        cells[index] = sp.Integer(int(index[-1] == int(np.asarray(y)[index[:-1]])))
    return cells


ONE_HOT = register(
    Op(
        "one_hot",
        "the one-hot rows of integer labels y among C classes, as torch: one_hot(y, C)",
        options=(Option("num_classes", -1, positional=True),),
        latex=r"\operatorname{{one\_hot}}\left({0}\right)",
        elementwise=False,
        shape=_one_hot_shape,
        vjp=lambda shapes, dim, **options: ("",),
        integer_args=lambda shapes, **options: (0,),
        index_range=lambda shapes, dim, num_classes=-1: {0: (0, num_classes)},
        sympy=_sympy_one_hot,
        torch=lambda torch, y, num_classes=-1: torch.nn.functional.one_hot(y, num_classes),
        numpy_code="np.eye({num_classes})[{0}]",
        torch_code="torch.nn.functional.one_hot({0}, {num_classes}).to(torch.float64)",
        numpy=lambda np, y, num_classes=-1: np.eye(num_classes)[y],
    )
)


def _embedding_shape(shapes: list[Shape], dim: int | None) -> Shape:
    y, weight = shapes
    if len(weight) != 2:
        raise ShapeMisfitError(f"embedding needs a matrix of rows (V, D), not {show(weight)}")
    return (*y, weight[1])


def _embedding_vjp(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    # Each row of W gets the sum of the upstream rows of the labels that picked it: one_hot(y, V).T @ g.
    y, weight = shapes
    rows = f"one_hot(u, {weight[0]})"
    if not y:
        return ("", f"outer({rows}, g)")
    if len(y) == 1:
        return ("", f"{rows}.T @ g")
    text = f"unsqueeze({rows}, -1)*unsqueeze(g, -2)"
    for _ in y:
        text = f"sum({text}, 0)"
    return ("", text)


register(
    Op(
        "embedding",
        "the rows of W picked by integer labels y, as torch's embedding(y, W) (that is, W[y])",
        arity=2,
        latex=r"{{{1}}}_{{{0}}}",
        elementwise=False,
        shape=_embedding_shape,
        vjp=_embedding_vjp,
        integer_args=lambda shapes: (0,),
        index_range=lambda shapes, dim: {0: (0, shapes[1][0])},
        sympy=lambda sp, np, y, weight: weight[np.asarray(y)],
        torch=lambda torch, y, weight: torch.nn.functional.embedding(y, weight),
        numpy_code=operator("{1}[{0}]", ATOM),
        torch_code="torch.nn.functional.embedding({0}, {1})",
        numpy=lambda np, y, weight: weight[y],
    )
)


# -- the losses of labels ---------------------------------------------------------------------------
def _probabilities(shapes: list[Shape]) -> bool:
    """cross_entropy's target is class probabilities when it has the scores' shape, labels otherwise."""
    return shapes[0] == shapes[1]


def _label_shape(name: str, probabilities: bool = False) -> Any:
    def rule(shapes: list[Shape], dim: int | None, reduction: str = "mean", **options: Any) -> Shape:
        scores, target = shapes
        if len(scores) not in (1, 2):
            raise ShapeMisfitError(f"{name} takes scores of classes (C) or a batch of them (N, C), not {show(scores)}")
        if target != scores[:-1] and not (probabilities and target == scores):
            wanted = f"labels {show(scores[:-1])}" + (f" or probabilities {show(scores)}" if probabilities else "")
            raise ShapeMisfitError(f"{name} of scores {show(scores)} needs {wanted}, not {show(target)}")
        return scores[:-1] if reduction == "none" else ()

    return rule


def _scaled(shapes: list[Shape], reduction: str, body: str) -> str:
    """``body`` (d loss_i / d scores, row by row) times the upstream gradient: g for a sum, g/N for the
    mean of a batch, g's own row for reduction="none"."""
    batched = len(shapes[0]) == 2
    if reduction == "none" and batched:
        return f"unsqueeze(g, -1)*({body})"
    if reduction == "mean" and batched:
        return f"g*({body})/{shapes[0][0]}"
    return f"g*({body})"


def _labels_range(probabilities: bool = False) -> Any:
    def rule(shapes: list[Shape], dim: int | None, **options: Any) -> dict[int, tuple[int, int]]:
        return {} if probabilities and _probabilities(shapes) else {1: (0, shapes[0][-1])}

    return rule


def _cross_entropy_vjp(shapes: list[Shape], dim: int | None, reduction: str = "mean") -> tuple[str, ...]:
    if _probabilities(shapes):
        return (_scaled(shapes, reduction, "softmax(u, -1) - v"), _scaled(shapes, reduction, "-log_softmax(u, -1)"))
    return (_scaled(shapes, reduction, f"softmax(u, -1) - one_hot(v, {shapes[0][-1]})"), "")


def _reduce_numpy(np: Any, losses: Any, reduction: str) -> Any:
    if reduction == "none":
        return losses
    return np.asarray(np.mean(losses) if reduction == "mean" else np.sum(losses))


def _reduce_sympy(sp: Any, np: Any, losses: Any, reduction: str) -> Any:
    losses = np.asarray(losses, dtype=object)  # one sample's loss is a bare sympy number
    if reduction == "none":
        return losses
    total = add_along(sp, np, losses, None)
    return total * sp.Rational(1, max(1, losses.size)) if reduction == "mean" else total


def _picked(np: Any, scores: Any, y: Any) -> Any:
    """scores[i, y[i]] for every row (object or float arrays)."""
    labels = np.asarray(y)
    return np.take_along_axis(scores, labels[..., None], axis=-1)[..., 0]


def _numpy_cross_entropy(np: Any, z: Any, y: Any, reduction: str = "mean") -> Any:
    top = np.max(z, axis=-1, keepdims=True)
    logp = z - top - np.log(np.sum(np.exp(z - top), axis=-1, keepdims=True))
    losses = -np.sum(y * logp, axis=-1) if z.shape == np.shape(y) else -_picked(np, logp, y)
    return _reduce_numpy(np, losses, reduction)


def _sympy_cross_entropy(sp: Any, np: Any, z: Any, y: Any, reduction: str = "mean") -> Any:
    logp = LOG_SOFTMAX.sympy(sp, np, z, -1)  # type: ignore[misc]
    losses = -add_along(sp, np, y * logp, -1) if z.shape == np.shape(y) else -_picked(np, logp, y)
    return _reduce_sympy(sp, np, losses, reduction)


def _numpy_nll(np: Any, logp: Any, y: Any, reduction: str = "mean") -> Any:
    return _reduce_numpy(np, -_picked(np, logp, y), reduction)


def _sympy_nll(sp: Any, np: Any, logp: Any, y: Any, reduction: str = "mean") -> Any:
    return _reduce_sympy(sp, np, np.asarray(-_picked(np, logp, y), dtype=object), reduction)


# The losses of labels in emitted NumPy code, as the implementations above compute them.
_NUMPY_LOSSES = """def _picked(scores, y):
    return np.take_along_axis(scores, np.asarray(y)[..., None], axis=-1)[..., 0]


def _reduce_losses(losses, reduction):
    if reduction == "none":
        return losses
    return np.mean(losses) if reduction == "mean" else np.sum(losses)"""
_NUMPY_CROSS_ENTROPY = """def _cross_entropy(z, y, reduction):
    top = np.max(z, axis=-1, keepdims=True)
    logp = z - top - np.log(np.sum(np.exp(z - top), axis=-1, keepdims=True))
    losses = -np.sum(y * logp, axis=-1) if z.shape == np.shape(y) else -_picked(logp, y)
    return _reduce_losses(losses, reduction)"""
_NUMPY_NLL = """def _nll_loss(logp, y, reduction):
    return _reduce_losses(-_picked(logp, y), reduction)"""
_NUMPY_MARGIN = """def _multi_margin_loss(x, y, margin, reduction):
    hinge = np.maximum(0.0, margin - _picked(x, y)[..., None] + x)
    hot = np.eye(x.shape[-1])[y]
    return _reduce_losses(np.sum(hinge * (1 - hot), axis=-1) / x.shape[-1], reduction)"""


def _margin_body(shapes: list[Shape], margin: float) -> str:
    # d/dx_j of sum_{j != y} max(0, margin - x_y + x_j)/C: 1/C where a margin is violated (j != y),
    # minus their count over C at j = y.
    classes = shapes[0][-1]
    hot = f"one_hot(v, {classes})"
    violated = f"heaviside({margin!r} - sum(u*{hot}, -1, keepdim=True) + u)*(1 - {hot})"
    return f"({violated} - {hot}*sum({violated}, -1, keepdim=True))/{classes}"


def _numpy_margin(np: Any, x: Any, y: Any, margin: float = 1.0, reduction: str = "mean") -> Any:
    hinge = np.maximum(0.0, margin - _picked(np, x, y)[..., None] + x)
    hot = np.eye(x.shape[-1])[y]
    return _reduce_numpy(np, np.sum(hinge * (1 - hot), axis=-1) / x.shape[-1], reduction)


def _sympy_margin(sp: Any, np: Any, x: Any, y: Any, margin: float = 1.0, reduction: str = "mean") -> Any:
    picked = np.asarray(_picked(np, x, y), dtype=object)[..., None]
    labels = np.asarray(y)
    cells = np.empty(x.shape, dtype=object)
    for index in np.ndindex(*x.shape):
        own = index[-1] == int(labels[index[:-1]])
        cells[index] = sp.Integer(0) if own else sp.Max(0, sp.Float(margin) - picked[index[:-1]][0] + x[index])
    losses = add_along(sp, np, cells, -1) * sp.Rational(1, x.shape[-1])
    return _reduce_sympy(sp, np, losses, reduction)


def _margin_edges(
    np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], margin: float = 1.0, **options: Any
) -> list[Any]:
    x, y = args
    gap = margin - _picked(np, x, y)[..., None] + x
    hot = np.eye(x.shape[-1])[y] == 1
    why = "a margin exactly met: max(0, m) has no derivative at m = 0 (torch takes 0, sympy 1/2)"
    return [("kink", f"{text} at {why}", np.asarray(np.any((gap == 0) & ~hot)))]


def _loss(name: str, doc: str, **fields: Any) -> Op:
    escaped = name.replace("_", r"\_")
    options = (_REDUCTION, *fields.pop("options", ()))
    probabilities = fields.pop("probabilities", False)
    return register(
        Op(
            name,
            doc,
            arity=2,
            options=options,
            latex=rf"\operatorname{{{{{escaped}}}}}\left({{0}}, {{1}}\right)",
            elementwise=False,
            shape=_label_shape(name, probabilities),
            index_range=_labels_range(probabilities),
            **fields,
        )
    )


_loss(
    "cross_entropy",
    "logsumexp(z) - z[y] of scores z and integer labels y (or -sum(p*log_softmax(z)) of probabilities p), "
    'as torch: cross_entropy(z, y), cross_entropy(z, y, reduction="sum")',
    probabilities=True,
    vjp=_cross_entropy_vjp,
    integer_args=lambda shapes, **options: () if _probabilities(shapes) else (1,),
    sympy=_sympy_cross_entropy,
    numpy_code=Code("_cross_entropy({0}, {1}, {reduction})", (_NUMPY_CROSS_ENTROPY, _NUMPY_LOSSES)),
    torch_code="torch.nn.functional.cross_entropy({0}, {1}, reduction={reduction})",
    numpy=_numpy_cross_entropy,
    torch=lambda torch, z, y, reduction="mean": torch.nn.functional.cross_entropy(z, y, reduction=reduction),
)
_loss(
    "nll_loss",
    "-logp[y] of log-probabilities logp and integer labels y, as torch: nll_loss(log_softmax(z, 1), y)",
    vjp=lambda shapes, dim, reduction="mean": (_scaled(shapes, reduction, f"-one_hot(v, {shapes[0][-1]})"), ""),
    integer_args=lambda shapes, **options: (1,),
    sympy=_sympy_nll,
    numpy_code=Code("_nll_loss({0}, {1}, {reduction})", (_NUMPY_NLL, _NUMPY_LOSSES)),
    torch_code="torch.nn.functional.nll_loss({0}, {1}, reduction={reduction})",
    numpy=_numpy_nll,
    torch=lambda torch, logp, y, reduction="mean": torch.nn.functional.nll_loss(logp, y, reduction=reduction),
)
_loss(
    "multi_margin_loss",
    "the multiclass hinge sum over j != y of max(0, margin - x[y] + x[j]), over C, as torch (margin=1)",
    options=(Option("margin", 1.0),),
    vjp=lambda shapes, dim, reduction="mean", margin=1.0: (
        _scaled(shapes, reduction, _margin_body(shapes, margin)),
        "",
    ),
    integer_args=lambda shapes, **options: (1,),
    edges=_margin_edges,
    sympy=_sympy_margin,
    numpy_code=Code("_multi_margin_loss({0}, {1}, {margin}, {reduction})", (_NUMPY_MARGIN, _NUMPY_LOSSES)),
    torch_code="torch.nn.functional.multi_margin_loss({0}, {1}, margin={margin}, reduction={reduction})",
    numpy=_numpy_margin,
    torch=lambda torch, x, y, reduction="mean", margin=1.0: torch.nn.functional.multi_margin_loss(
        x, y, margin=margin, reduction=reduction
    ),
)
