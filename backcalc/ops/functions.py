"""The element-wise functions: one output element from the same element of each argument.

Each record's local rule is d f(u) / d u (and v, w for the functions of several arguments) in the
expression language; ``tests/test_ops.py`` checks every rule against sympy's own derivative of the
record's sympy implementation, and every implementation against the others.
"""

from __future__ import annotations

from typing import Any

from .code import Code
from .record import Op, register


def sympy_function(name: str) -> Any:
    """One of backcalc's own sympy functions (sigmoid, softplus, |u| for real arguments); they import
    sympy, so they are loaded only when the sympy side runs."""
    from .sympy_functions import named

    return named(name)


def _kink(where: str, why: str) -> Any:
    def rule(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
        return [("kink", f"{text} at {where}: {why}", args[0] == 0)]

    return rule


def _log_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    u = args[0]
    return [
        ("pole", f"{text} at 0: the derivative is infinite", u == 0),
        ("domain", f"{text} of a negative number is undefined over the reals", u < 0),
    ]


def _log1p_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    u = args[0]
    return [
        ("pole", f"{text} at -1: the derivative is infinite", u == -1),
        ("domain", f"{text} below -1 is undefined over the reals", u < -1),
    ]


def _arcsine_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    u = args[0]
    return [
        ("pole", f"{text} at ±1: the derivative is infinite", np.abs(u) == 1),
        ("domain", f"{text} outside [-1, 1] is undefined over the reals", np.abs(u) > 1),
    ]


def _tan_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    # A pole of tan (pi/2 + k*pi) is never exactly representable: u within the dtype's rounding of one
    # is at the pole, where sympy's exact derivative is infinite and torch's is a huge finite number.
    u = args[0]
    near = np.abs(np.cos(u)) <= 4 * np.finfo(u.dtype).eps * np.maximum(1.0, np.abs(u))
    return [("pole", f"{text} at a pole of tan (pi/2 + k*pi, within the dtype's rounding): no derivative", near)]


def _tie_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    why = "torch splits the gradient in halves, as sympy's Heaviside(0) = 1/2"
    return [("kink", f"{text} at a tie: {why}", args[0] == args[1])]


def _clamp_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    x, lo, hi = args
    why = "torch passes the whole gradient to the clamped value there, sympy's Heaviside(0) gives 1/2"
    return [
        ("kink", f"{text} at a bound: {why}", (x == lo) | (x == hi)),
        ("kink", f"{text} where the bounds meet or cross (lo >= hi): hi wins, the sides split differently", lo >= hi),
    ]


def _softplus_edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...]) -> list[Any]:
    why = "torch's softplus is u itself above its threshold 20, so its gradient there is 1, not sigmoid(u)"
    return [("convention", f"{text}: {why}", args[0] > 20)]


def _sigmoid(np: Any, x: Any) -> Any:
    # 0.5*(1 + tanh(x/2)) is the logistic function without overflow for large |x|.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


#: The logistic function in emitted NumPy code, as :func:`_sigmoid` computes it.
NUMPY_SIGMOID = """def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))"""
_TORCH_CLAMP = """def _clamp(x, lo, hi):
    x, lo, hi = torch.broadcast_tensors(x, lo, hi)
    return torch.clamp(x, min=lo, max=hi)"""


def _torch_clamp(torch: Any, x: Any, lo: Any, hi: Any) -> Any:
    # torch.clamp broadcasts its bounds forward but not its input backward: broadcast all three first.
    x, lo, hi = torch.broadcast_tensors(x, lo, hi)
    return torch.clamp(x, min=lo, max=hi)


def unary(name: str, doc: str, local: str, **fields: Any) -> Op:
    fields.setdefault("latex", rf"\operatorname{{{{{name}}}}}\left({{0}}\right)")
    return register(Op(name, doc, local=(local,), **fields))


EXP = unary(
    "exp",
    "e to the power of the argument",
    "exp(u)",
    confused_with="log",
    latex=r"e^{{{0}}}",
    sympy=lambda sp, u: sp.exp(u),
    torch=lambda torch, u: torch.exp(u),
    numpy_code="np.exp({0})",
    torch_code="torch.exp({0})",
    numpy=lambda np, u: np.exp(u),
    sympy_classes=("exp",),
)
unary(
    "log",
    "natural logarithm (also ln)",
    "1/u",
    confused_with="exp",
    aliases=("ln",),
    latex=r"\log\left({0}\right)",
    edges=_log_edges,
    sympy=lambda sp, u: sp.log(u),
    torch=lambda torch, u: torch.log(u),
    numpy_code="np.log({0})",
    torch_code="torch.log({0})",
    numpy=lambda np, u: np.log(u),
    sympy_classes=("log",),
)
unary(
    "sqrt",
    "square root",
    "1/(2*sqrt(u))",
    latex=r"\sqrt{{{0}}}",
    edges=_log_edges,
    sympy=lambda sp, u: sp.sqrt(u),
    torch=lambda torch, u: torch.sqrt(u),
    numpy_code="np.sqrt({0})",
    torch_code="torch.sqrt({0})",
    numpy=lambda np, u: np.sqrt(u),
)
unary(
    "abs",
    "absolute value |u|",
    "sign(u)",
    latex=r"\left|{0}\right|",
    edges=_kink("0", "the derivative is undefined there"),
    sympy=lambda sp, u: sympy_function("absolute")(u),
    torch=lambda torch, u: torch.abs(u),
    numpy_code="np.abs({0})",
    torch_code="torch.abs({0})",
    numpy=lambda np, u: np.abs(u),
    sympy_classes=("Abs", "real_abs"),
)
unary(
    "tan",
    "tangent, element by element",
    "1 + tan(u)**2",
    latex=r"\tan\left({0}\right)",
    edges=_tan_edges,
    sympy=lambda sp, u: sp.tan(u),
    torch=lambda torch, u: torch.tan(u),
    numpy_code="np.tan({0})",
    torch_code="torch.tan({0})",
    numpy=lambda np, u: np.tan(u),
    sympy_classes=("tan",),
)
for _name, _local, _torch_name, _numpy_name, _confused in (
    ("sin", "cos(u)", "sin", "sin", "cos"),
    ("cos", "-sin(u)", "cos", "cos", "sin"),
    ("atan", "1/(1 + u**2)", "atan", "arctan", ""),
    ("sinh", "cosh(u)", "sinh", "sinh", "cosh"),
    ("cosh", "sinh(u)", "cosh", "cosh", "sinh"),
    ("tanh", "1 - tanh(u)**2", "tanh", "tanh", "sigmoid"),
):
    unary(
        _name,
        f"{_name}, element by element",
        _local,
        confused_with=_confused,
        latex=rf"\{_name}\left({{0}}\right)",
        sympy=lambda sp, u, _n=_name: getattr(sp, _n)(u),
        torch=lambda torch, u, _n=_torch_name: getattr(torch, _n)(u),
        numpy_code=f"np.{_numpy_name}({{0}})",
        torch_code=f"torch.{_torch_name}({{0}})",
        numpy=lambda np, u, _n=_numpy_name: getattr(np, _n)(u),
        sympy_classes=(_name,),
    )
unary(
    "asin",
    "arcsine, on [-1, 1]",
    "1/sqrt(1 - u**2)",
    latex=r"\arcsin\left({0}\right)",
    edges=_arcsine_edges,
    sympy=lambda sp, u: sp.asin(u),
    torch=lambda torch, u: torch.asin(u),
    numpy_code="np.arcsin({0})",
    torch_code="torch.asin({0})",
    numpy=lambda np, u: np.arcsin(u),
    sympy_classes=("asin",),
)
unary(
    "acos",
    "arccosine, on [-1, 1]",
    "-1/sqrt(1 - u**2)",
    latex=r"\arccos\left({0}\right)",
    edges=_arcsine_edges,
    sympy=lambda sp, u: sp.acos(u),
    torch=lambda torch, u: torch.acos(u),
    numpy_code="np.arccos({0})",
    torch_code="torch.acos({0})",
    numpy=lambda np, u: np.arccos(u),
    sympy_classes=("acos",),
)
unary(
    "sigmoid",
    "the logistic function 1/(1 + exp(-u))",
    "sigmoid(u)*(1 - sigmoid(u))",
    confused_with="tanh",
    latex=r"\sigma\left({0}\right)",
    sympy=lambda sp, u: sympy_function("sigmoid")(u),
    torch=lambda torch, u: torch.sigmoid(u),
    numpy_code=Code("_sigmoid({0})", (NUMPY_SIGMOID,)),
    torch_code="torch.sigmoid({0})",
    numpy=_sigmoid,
    sympy_classes=("sigmoid",),
)
unary(
    "relu",
    "max(u, 0)",
    "heaviside(u)",
    edges=_kink("0", "torch takes 0, sympy Heaviside(0) = 1/2"),
    sympy=lambda sp, u: sp.Max(0, u),
    torch=lambda torch, u: torch.relu(u),
    numpy_code="np.maximum({0}, 0.0)",
    torch_code="torch.relu({0})",
    numpy=lambda np, u: np.maximum(u, 0.0),
)
unary(
    "softplus",
    "log(1 + exp(u)); torch switches to u itself above 20",
    "sigmoid(u)",
    edges=_softplus_edges,
    sympy=lambda sp, u: sympy_function("softplus")(u),
    torch=lambda torch, u: torch.nn.functional.softplus(u),
    numpy_code="np.logaddexp(0.0, {0})",
    torch_code="torch.nn.functional.softplus({0})",
    numpy=lambda np, u: np.logaddexp(0.0, u),
    sympy_classes=("softplus",),
)
unary(
    "log1p",
    "log(1 + u), accurate for small u",
    "1/(1 + u)",
    edges=_log1p_edges,
    sympy=lambda sp, u: sp.log(1 + u),
    torch=lambda torch, u: torch.log1p(u),
    numpy_code="np.log1p({0})",
    torch_code="torch.log1p({0})",
    numpy=lambda np, u: np.log1p(u),
)
unary(
    "expm1",
    "exp(u) - 1, accurate for small u",
    "exp(u)",
    sympy=lambda sp, u: sp.exp(u) - 1,
    torch=lambda torch, u: torch.expm1(u),
    numpy_code="np.expm1({0})",
    torch_code="torch.expm1({0})",
    numpy=lambda np, u: np.expm1(u),
)
unary(
    "sign",
    "-1, 0 or 1: the sign of u (its derivative is 0; it jumps at 0)",
    "0",
    edges=_kink("0", "the sign jumps there: no derivative"),
    sympy=lambda sp, u: sp.sign(u),
    torch=lambda torch, u: torch.sign(u),
    numpy_code="np.sign({0})",
    torch_code="torch.sign({0})",
    numpy=lambda np, u: np.sign(u),
    sympy_classes=("sign",),
)
unary(
    "heaviside",
    "the step function: 0 below 0, 1/2 at 0, 1 above (also step)",
    "0",
    aliases=("step",),
    latex=r"\theta\left({0}\right)",
    edges=_kink("0", "the step jumps there: no derivative"),
    sympy=lambda sp, u: sp.Heaviside(u),
    # (sign + 1)/2: the value sympy gives at 0, and a derivative of 0 (torch.heaviside has none).
    torch=lambda torch, u: (torch.sign(u) + 1) / 2,
    numpy_code="np.heaviside({0}, 0.5)",
    torch_code="((torch.sign({0}) + 1) / 2)",
    numpy=lambda np, u, at_zero=0.5: np.heaviside(u, at_zero),  # sympy keeps its value at 0 as a second argument
    sympy_classes=("Heaviside",),
)
register(
    Op(
        "maximum",
        "the larger of a and b, element by element",
        arity=2,
        latex=r"\max\left({0}, {1}\right)",
        local=("heaviside(u - v)", "heaviside(v - u)"),
        edges=_tie_edges,
        sympy=lambda sp, u, v: sp.Max(u, v),
        torch=lambda torch, u, v: torch.maximum(u, v),
        numpy_code="np.maximum({0}, {1})",
        torch_code="torch.maximum({0}, {1})",
        numpy=lambda np, u, v: np.maximum(u, v),
        sympy_classes=("Max",),
    )
)
register(
    Op(
        "minimum",
        "the smaller of a and b, element by element",
        arity=2,
        latex=r"\min\left({0}, {1}\right)",
        local=("heaviside(v - u)", "heaviside(u - v)"),
        edges=_tie_edges,
        sympy=lambda sp, u, v: sp.Min(u, v),
        torch=lambda torch, u, v: torch.minimum(u, v),
        numpy_code="np.minimum({0}, {1})",
        torch_code="torch.minimum({0}, {1})",
        numpy=lambda np, u, v: np.minimum(u, v),
        sympy_classes=("Min",),
    )
)
register(
    Op(
        "clamp",
        "x limited to [lo, hi], as torch.clamp(x, lo, hi) (hi wins where lo > hi)",
        arity=3,
        latex=r"\operatorname{{clamp}}\left({0}, {1}, {2}\right)",
        local=(
            "heaviside(u - v)*heaviside(w - maximum(u, v))",
            "heaviside(v - u)*heaviside(w - v)",
            "heaviside(maximum(u, v) - w)",
        ),
        edges=_clamp_edges,
        sympy=lambda sp, u, v, w: sp.Min(sp.Max(u, v), w),
        torch=_torch_clamp,
        numpy_code="np.minimum(np.maximum({0}, {1}), {2})",
        torch_code=Code("_clamp({0}, {1}, {2})", (_TORCH_CLAMP,)),
        numpy=lambda np, u, v, w: np.minimum(np.maximum(u, v), w),
    )
)
ONES_LIKE = unary(
    "ones_like",
    "a tensor of ones with the shape of its argument (what backprop starts from)",
    "0",
    latex=r"\mathbf{{1}}_{{{0}}}",
    sympy=lambda sp, u: sp.Integer(1),
    torch=lambda torch, u: torch.ones_like(u),
    numpy_code="np.ones_like({0})",
    torch_code="torch.ones_like({0})",
    numpy=lambda np, u: np.ones_like(u),
)
