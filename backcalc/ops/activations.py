"""The activation functions of a network course, element-wise, as ``torch.nn.functional`` defines them:
``gelu`` (exact, and ``approximate="tanh"``), ``silu``, ``leaky_relu``, ``elu``, ``softsign``, ``erf``
and ``hardtanh``. Their parameters are options of the call (``leaky_relu(x, 0.1)``, ``elu(x, alpha=2)``,
``hardtanh(x, -2, 2)``), with torch's names and defaults.

Where torch picks one side of a kink (leaky_relu and elu at 0, hardtanh at its bounds) and sympy's
``Heaviside(0) = 1/2`` takes the mean of both, the edge rule says so: a kink, never a disagreement.
"""

from __future__ import annotations

import math
from typing import Any

from .code import Code
from .functions import NUMPY_SIGMOID, sympy_function, unary
from .record import Op, Option, Shape, ShapeMisfitError

_GELU_TANH = "sqrt(2/pi)*(u + 0.044715*u**3)"  # torch's tanh approximation: 0.5*u*(1 + tanh(this))
_GELU_LOCAL = {
    "none": ("0.5*(1 + erf(u/sqrt(2))) + u*exp(-u**2/2)/sqrt(2*pi)",),
    "tanh": (f"0.5*(1 + tanh({_GELU_TANH})) + 0.5*u*(1 - tanh({_GELU_TANH})**2)*sqrt(2/pi)*(1 + 0.134145*u**2)",),
}


def _numpy_erf(np: Any, u: Any) -> Any:
    # NumPy has no erf (and SciPy is not a dependency): math.erf, element by element, in float64.
    return np.vectorize(math.erf, otypes=[np.float64])(u)


def _sympy_gelu(sp: Any, u: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        inner = sp.sqrt(2 / sp.pi) * (u + sp.Rational(44715, 10**6) * u**3)
        return u / 2 * (1 + sp.tanh(inner))
    return u / 2 * (1 + sp.erf(u / sp.sqrt(2)))


def _numpy_gelu(np: Any, u: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        return 0.5 * u * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u**3)))
    return 0.5 * u * (1.0 + _numpy_erf(np, u / math.sqrt(2)))


def _numpy_sigmoid(np: Any, u: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(0.5 * u))


# The activations in emitted NumPy code, as the implementations above compute them.
NUMPY_ERF = """def _erf(x):
    import math  # NumPy has no erf: the standard library's, element by element

    return np.vectorize(math.erf, otypes=[np.float64])(x)"""
_NUMPY_GELU = """def _gelu(u, approximate):
    if approximate == "tanh":
        return 0.5 * u * (1.0 + np.tanh(np.sqrt(2 / np.pi) * (u + 0.044715 * u**3)))
    return 0.5 * u * (1.0 + _erf(u / np.sqrt(2)))"""
_NUMPY_SILU = """def _silu(u):
    return u * _sigmoid(u)"""
_NUMPY_LEAKY = """def _leaky_relu(u, negative_slope):
    return np.where(u > 0, u, negative_slope * u)"""
_NUMPY_ELU = """def _elu(u, alpha):
    return np.where(u > 0, u, alpha * np.expm1(np.minimum(u, 0.0)))"""
_NUMPY_SOFTSIGN = """def _softsign(u):
    return u / (1.0 + np.abs(u))"""


def _at_zero(why: str, when: Any = None) -> Any:
    def rule(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], **options: Any) -> list[Any]:
        if when is not None and not when(**options):
            return []
        return [("kink", f"{text} at 0: {why.format(**options)}", args[0] == 0)]

    return rule


def _hardtanh_edges(
    np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], min_val: float, max_val: float
) -> list[Any]:
    why = "torch passes no gradient at a bound, sympy's Heaviside(0) gives 1/2"
    return [("kink", f"{text} at a bound ({min_val} or {max_val}): {why}", (args[0] == min_val) | (args[0] == max_val))]


def _hardtanh_shape(shapes: list[Shape], dim: int | None, min_val: float = -1.0, max_val: float = 1.0) -> Shape:
    if min_val > max_val:  # torch refuses it too
        raise ShapeMisfitError(f"min_val={min_val} is above max_val={max_val}: hardtanh needs min_val <= max_val")
    return shapes[0]


def activation(name: str, doc: str, local: str, **fields: Any) -> Op:
    """An element-wise function's record (:func:`.functions.unary`), its LaTeX name escaped."""
    escaped = name.replace("_", r"\_")
    fields.setdefault("latex", rf"\operatorname{{{{{escaped}}}}}\left({{0}}\right)")
    return unary(name, doc, local, **fields)


ERF = activation(
    "erf",
    "the error function 2/sqrt(pi) * integral of exp(-t**2) from 0 to u",
    "2*exp(-u**2)/sqrt(pi)",
    latex=r"\operatorname{{erf}}\left({0}\right)",
    sympy=lambda sp, u: sp.erf(u),
    torch=lambda torch, u: torch.erf(u),
    numpy_code=Code("_erf({0})", (NUMPY_ERF,)),
    torch_code="torch.erf({0})",
    numpy=_numpy_erf,
    sympy_classes=("erf",),
)
activation(
    "gelu",
    'u*Phi(u), Phi the normal distribution function; approximate="tanh" as torch approximates it',
    _GELU_LOCAL["none"][0],
    options=(Option("approximate", "none", choices=("none", "tanh")),),
    local_of=lambda approximate: _GELU_LOCAL[str(approximate)],
    sympy=_sympy_gelu,
    torch=lambda torch, u, approximate="none": torch.nn.functional.gelu(u, approximate=approximate),
    numpy_code=Code("_gelu({0}, {approximate})", (NUMPY_ERF, _NUMPY_GELU)),
    torch_code="torch.nn.functional.gelu({0}, approximate={approximate})",
    numpy=_numpy_gelu,
)
activation(
    "silu",
    "u*sigmoid(u) (also called swish)",
    "sigmoid(u)*(1 + u*(1 - sigmoid(u)))",
    sympy=lambda sp, u: u * sympy_function("sigmoid")(u),
    torch=lambda torch, u: torch.nn.functional.silu(u),
    numpy_code=Code("_silu({0})", (NUMPY_SIGMOID, _NUMPY_SILU)),
    torch_code="torch.nn.functional.silu({0})",
    numpy=lambda np, u: u * _numpy_sigmoid(np, u),
)
activation(
    "leaky_relu",
    "u above 0, negative_slope*u below: leaky_relu(x), leaky_relu(x, 0.1) (default slope 0.01)",
    "heaviside(u) + {negative_slope}*heaviside(-u)",
    options=(Option("negative_slope", 0.01, positional=True),),
    edges=_at_zero("torch takes the slope below ({negative_slope}), sympy's Heaviside(0) = 1/2 the mean of both"),
    sympy=lambda sp, u, negative_slope=0.01: sp.Max(0, u) + sp.Float(negative_slope) * sp.Min(0, u),
    torch=lambda torch, u, negative_slope=0.01: torch.nn.functional.leaky_relu(u, negative_slope),
    numpy_code=Code("_leaky_relu({0}, {negative_slope})", (_NUMPY_LEAKY,)),
    torch_code="torch.nn.functional.leaky_relu({0}, {negative_slope})",
    numpy=lambda np, u, negative_slope=0.01: np.where(u > 0, u, negative_slope * u),
)
activation(
    "elu",
    "u above 0, alpha*(exp(u) - 1) below: elu(x), elu(x, 2) (default alpha 1)",
    "heaviside(u) + {alpha}*exp(minimum(u, 0))*heaviside(-u)",
    options=(Option("alpha", 1.0, positional=True),),
    edges=_at_zero(
        "the slopes are 1 and alpha={alpha}; torch takes alpha, sympy's Heaviside(0) = 1/2 the mean of both",
        when=lambda alpha: alpha != 1,
    ),
    sympy=lambda sp, u, alpha=1.0: sp.Max(0, u) + sp.Float(alpha) * (sp.exp(sp.Min(0, u)) - 1),
    torch=lambda torch, u, alpha=1.0: torch.nn.functional.elu(u, alpha),
    numpy_code=Code("_elu({0}, {alpha})", (_NUMPY_ELU,)),
    torch_code="torch.nn.functional.elu({0}, {alpha})",
    numpy=lambda np, u, alpha=1.0: np.where(u > 0, u, alpha * np.expm1(np.minimum(u, 0.0))),
)
activation(
    "softsign",
    "u/(1 + |u|)",
    "1/(1 + abs(u))**2",
    sympy=lambda sp, u: u / (1 + sympy_function("absolute")(u)),
    torch=lambda torch, u: torch.nn.functional.softsign(u),
    numpy_code=Code("_softsign({0})", (_NUMPY_SOFTSIGN,)),
    torch_code="torch.nn.functional.softsign({0})",
    numpy=lambda np, u: u / (1.0 + np.abs(u)),
)
activation(
    "hardtanh",
    "u limited to [min_val, max_val]: hardtanh(x), hardtanh(x, -2, 2) (default -1 and 1)",
    "heaviside(u - {min_val})*heaviside({max_val} - u)",
    options=(Option("min_val", -1.0, positional=True), Option("max_val", 1.0, positional=True)),
    shape=_hardtanh_shape,
    edges=_hardtanh_edges,
    sympy=lambda sp, u, min_val=-1.0, max_val=1.0: sp.Min(sp.Max(u, sp.Float(min_val)), sp.Float(max_val)),
    torch=lambda torch, u, min_val=-1.0, max_val=1.0: torch.nn.functional.hardtanh(u, min_val, max_val),
    numpy_code="np.minimum(np.maximum({0}, {min_val}), {max_val})",
    torch_code="torch.nn.functional.hardtanh({0}, {min_val}, {max_val})",
    numpy=lambda np, u, min_val=-1.0, max_val=1.0: np.minimum(np.maximum(u, min_val), max_val),
)
