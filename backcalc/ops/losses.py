"""The losses of ``torch.nn.functional`` that compare an input with a float target of the same shape:
``mse_loss``, ``l1_loss``, ``smooth_l1_loss`` (``beta``), ``huber_loss`` (``delta``),
``binary_cross_entropy`` (of probabilities) and ``binary_cross_entropy_with_logits``. Each takes
``reduction="mean"`` (the default, as torch), ``"sum"`` or ``"none"`` (the loss of every element).

Each record is written from one element's loss: its sympy, NumPy and torch forms (torch's own function
where torch has one with a gradient for both arguments), and its derivative in each argument, from which
the vector-Jacobian rule is ``g`` times it (over the element count for the mean).
"""

from __future__ import annotations

from typing import Any

from .code import Code
from .record import Op, Option, Shape, ShapeMisfitError, option_text, register
from .rules import add_along, show

_REDUCTION = Option("reduction", "mean", choices=("mean", "sum", "none"))


def _shape(shapes: list[Shape], dim: int | None, reduction: str = "mean", **options: Any) -> Shape:
    a, b = shapes
    if a != b:
        raise ShapeMisfitError(f"the input {show(a)} and the target {show(b)} must have one shape, as torch expects")
    return a if reduction == "none" else ()


def _count(shape: Shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _in_rule(value: Any) -> str:
    text = option_text(value)
    return f"({text})" if text.startswith("-") else text


def _vjp(rules: Any) -> Any:
    def rule(shapes: list[Shape], dim: int | None, reduction: str = "mean", **options: Any) -> tuple[str, ...]:
        per = rules(**options)
        values = {name: _in_rule(value) for name, value in options.items()}
        scale = f"/{_count(shapes[0])}" if reduction == "mean" else ""
        return tuple(f"g*({text.format(**values)}){scale}" for text in per)

    return rule


def _sympy(term: Any) -> Any:
    def apply(sp: Any, np: Any, u: Any, v: Any, reduction: str = "mean", **options: Any) -> Any:
        cells = np.empty(np.broadcast(u, v).shape, dtype=object)
        for index in np.ndindex(*cells.shape):
            cells[index] = term(sp, u[index], v[index], **options)
        if reduction == "none":
            return cells
        total = add_along(sp, np, cells, None)
        return total * sp.Rational(1, max(1, cells.size)) if reduction == "mean" else total

    return apply


def _numpy(term: Any) -> Any:
    def apply(np: Any, u: Any, v: Any, reduction: str = "mean", **options: Any) -> Any:
        cells = term(np, u, v, **options)
        if reduction == "none":
            return cells
        return np.asarray(np.mean(cells) if reduction == "mean" else np.sum(cells))

    return apply


def _torch_reduced(term: Any) -> Any:
    def apply(torch: Any, u: Any, v: Any, reduction: str = "mean", **options: Any) -> Any:
        cells = term(torch, u, v, **options)
        if reduction == "none":
            return cells
        return cells.mean() if reduction == "mean" else cells.sum()

    return apply


def _tie_edges(why: str) -> Any:
    def rule(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], **options: Any) -> list[Any]:
        u, v = np.broadcast_arrays(*args)
        return [("kink", f"{text} where the input equals the target: {why}", np.asarray(np.any(u == v)))]

    return rule


def _probability_edges(
    np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], **options: Any
) -> list[Any]:
    p = args[0]
    return [
        (
            "pole",
            f"{text} at a probability of 0 or 1: torch clamps the log at -100",
            np.asarray(np.any((p == 0) | (p == 1))),
        ),
        ("domain", f"{text} of a probability outside [0, 1] is undefined", np.asarray(np.any((p < 0) | (p > 1)))),
    ]


# The losses in emitted NumPy code: each a helper of one element's loss, reduced as the record reduces it.
_NUMPY_REDUCED = """def _reduced(cells, reduction):
    if reduction == "none":
        return cells
    return np.mean(cells) if reduction == "mean" else np.sum(cells)"""
_NUMPY_SMOOTH = """    size = np.abs(u - v)
    cells = np.where(size < width, 0.5 * (u - v) ** 2, width * (size - 0.5 * width))"""


def loss(name: str, doc: str, rules: Any, terms: dict[str, Any], **fields: Any) -> Op:
    """A loss record from one element's loss (``terms``: its sympy, NumPy and torch forms) and the
    derivatives in each argument (``rules``: the options to the templates over u and v)."""
    options = (_REDUCTION, *fields.pop("options", ()))
    extra = "".join(f", {{{option.name}}}" for option in options[1:])  # the helper's parameters after reduction
    named = "".join(f", {option.name}={{{option.name}}}" for option in options[1:])
    escaped = name.replace("_", r"\_")
    return register(
        Op(
            name,
            doc,
            arity=2,
            options=options,
            latex=rf"\operatorname{{{{{escaped}}}}}\left({{0}}, {{1}}\right)",
            elementwise=False,
            shape=_shape,
            vjp=_vjp(rules),
            sympy=_sympy(terms["sympy"]),
            numpy=_numpy(terms["numpy"]),
            torch=terms["torch"],
            numpy_code=Code(f"_{name}({{0}}, {{1}}, {{reduction}}{extra})", (terms["numpy_code"], _NUMPY_REDUCED)),
            torch_code=terms.get(
                "torch_code", f"torch.nn.functional.{name}({{0}}, {{1}}, reduction={{reduction}}{named})"
            ),
            **fields,
        )
    )


def _functional(name: str) -> Any:
    return lambda torch, u, v, **options: getattr(torch.nn.functional, name)(u, v, **options)


def _absolute(sp: Any, d: Any) -> Any:
    from .sympy_functions import absolute  # imports sympy: only when the sympy side runs

    return absolute(d)


def _sympy_smooth(sp: Any, d: Any, width: float) -> Any:
    # m*(|d| - m/2) with m = min(|d|, width): d**2/2 within the width, |d| - width/2 beyond it.
    size = _absolute(sp, d)
    m = sp.Min(size, sp.Float(width))
    return m * (size - m / 2)


def _numpy_smooth(np: Any, d: Any, width: float) -> Any:
    size = np.abs(d)
    return np.where(size < width, 0.5 * d * d, width * (size - 0.5 * width))


loss(
    "mse_loss",
    'the mean of (input - target)**2, as torch: mse_loss(x, y), mse_loss(x, y, reduction="sum")',
    lambda: ("2*(u - v)", "-2*(u - v)"),
    {
        "sympy": lambda sp, u, v: (u - v) ** 2,
        "numpy": lambda np, u, v: (u - v) ** 2,
        "torch": _functional("mse_loss"),
        "numpy_code": "def _mse_loss(u, v, reduction):\n    return _reduced((u - v) ** 2, reduction)",
    },
)
loss(
    "l1_loss",
    'the mean of |input - target|, as torch: l1_loss(x, y), l1_loss(x, y, reduction="none")',
    lambda: ("sign(u - v)", "-sign(u - v)"),
    {
        "sympy": lambda sp, u, v: _absolute(sp, u - v),
        "numpy": lambda np, u, v: np.abs(u - v),
        "torch": _functional("l1_loss"),
        "numpy_code": "def _l1_loss(u, v, reduction):\n    return _reduced(np.abs(u - v), reduction)",
    },
    edges=_tie_edges("|d| has no derivative at 0; torch and sympy both take sign(0) = 0"),
)
loss(
    "smooth_l1_loss",
    "(input - target)**2/(2*beta) within beta of the target, |input - target| - beta/2 beyond (beta=1)",
    lambda beta: (
        ("clamp((u - v)/{beta}, -1, 1)", "-clamp((u - v)/{beta}, -1, 1)") if beta else ("sign(u - v)", "-sign(u - v)")
    ),
    {
        "sympy": lambda sp, u, v, beta=1.0: (
            _sympy_smooth(sp, u - v, beta) / sp.Float(beta) if beta else _absolute(sp, u - v)
        ),
        "numpy": lambda np, u, v, beta=1.0: _numpy_smooth(np, u - v, beta) / beta if beta else np.abs(u - v),
        "torch": _functional("smooth_l1_loss"),
        "numpy_code": "def _smooth_l1_loss(u, v, reduction, beta):\n    width = beta\n"
        + _NUMPY_SMOOTH
        + "\n    return _reduced(cells / beta if beta else size, reduction)",
    },
    options=(Option("beta", 1.0),),
)
loss(
    "huber_loss",
    "(input - target)**2/2 within delta of the target, delta*(|input - target| - delta/2) beyond (delta=1)",
    lambda delta: ("clamp(u - v, -{delta}, {delta})", "-clamp(u - v, -{delta}, {delta})"),
    {
        "sympy": lambda sp, u, v, delta=1.0: _sympy_smooth(sp, u - v, delta),
        "numpy": lambda np, u, v, delta=1.0: _numpy_smooth(np, u - v, delta),
        "torch": _functional("huber_loss"),
        "numpy_code": "def _huber_loss(u, v, reduction, delta):\n    width = delta\n"
        + _NUMPY_SMOOTH
        + "\n    return _reduced(cells, reduction)",
    },
    options=(Option("delta", 1.0),),
)


def _outside_unit_interval(np: Any, args: list[Any]) -> str | None:
    """As torch, binary_cross_entropy refuses a probability outside [0, 1] (its log has no value there)."""
    p = np.asarray(args[0])
    outside = p[~((p >= 0) & (p <= 1))]
    return f"its probabilities must lie in [0, 1], and one is {outside.flat[0]:g}" if outside.size else None


def _torch_bce(torch: Any, p: Any, y: Any) -> Any:
    # F.binary_cross_entropy has no derivative for its target: the same formula (with its log clamped at
    # -100), written out, has one for both.
    return -(y * torch.clamp(torch.log(p), min=-100) + (1 - y) * torch.clamp(torch.log(1 - p), min=-100))


_TORCH_BCE = """def _binary_cross_entropy(p, y, reduction):
    cells = -(y * torch.clamp(torch.log(p), min=-100) + (1 - y) * torch.clamp(torch.log(1 - p), min=-100))
    return cells if reduction == "none" else cells.mean() if reduction == "mean" else cells.sum()"""


loss(
    "binary_cross_entropy",
    "-(target*log(p) + (1 - target)*log(1 - p)) of probabilities p, as torch (its log clamped at -100)",
    lambda: ("(u - v)/(u*(1 - u))", "log(1 - u) - log(u)"),
    {
        "sympy": lambda sp, u, v: -(v * sp.log(u) + (1 - v) * sp.log(1 - u)),
        "numpy": lambda np, u, v: -(v * np.maximum(np.log(u), -100.0) + (1 - v) * np.maximum(np.log(1 - u), -100.0)),
        "torch": _torch_reduced(_torch_bce),
        "numpy_code": """def _binary_cross_entropy(u, v, reduction):
    cells = -(v * np.maximum(np.log(u), -100.0) + (1 - v) * np.maximum(np.log(1 - u), -100.0))
    return _reduced(cells, reduction)""",
        "torch_code": Code("_binary_cross_entropy({0}, {1}, {reduction})", (_TORCH_BCE,)),
    },
    edges=_probability_edges,
    refuse=_outside_unit_interval,
)


def _sympy_softplus(sp: Any, z: Any) -> Any:
    from .sympy_functions import softplus

    return softplus(z)


loss(
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy(sigmoid(z), target), stably: softplus(z) - z*target, as torch",
    lambda: ("sigmoid(u) - v", "-u"),
    {
        "sympy": lambda sp, u, v: _sympy_softplus(sp, u) - u * v,
        "numpy": lambda np, u, v: np.logaddexp(0.0, u) - u * v,
        "torch": _functional("binary_cross_entropy_with_logits"),
        "numpy_code": """def _binary_cross_entropy_with_logits(u, v, reduction):
    return _reduced(np.logaddexp(0.0, u) - u * v, reduction)""",
    },
)
