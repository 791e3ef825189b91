"""Norms: ``norm(x)`` is the 2-norm of all elements (of a matrix, its Frobenius norm), as
``norm(x, "fro")``; ``norm(x, 2)`` and ``norm(x, 1)`` are a vector's 2-norm and 1-norm (the option
``ord``, as torch names it). Of a matrix, torch's ``ord=2`` is the spectral norm and ``ord=1`` the
largest column sum, which backcalc does not differentiate: refused, with the way to the Frobenius norm.
"""

from __future__ import annotations

from typing import Any

from .code import Code
from .record import Op, Option, Shape, ShapeMisfitError, register
from .rules import add_along, each

_ORD = Option("ord", "fro", choices=("fro", 2, 1), positional=True)


def _shape(shapes: list[Shape], dim: int | None, ord: str | int = "fro") -> Shape:
    if ord != "fro" and len(shapes[0]) > 1:
        kind = "the spectral norm" if ord == 2 else "the largest column sum"
        raise ShapeMisfitError(
            f'of a matrix, ord={ord} is {kind} (not differentiated here); norm(x) or norm(x, "fro") is its '
            "Frobenius norm"
        )
    return ()


def _vjp(shapes: list[Shape], dim: int | None, ord: str | int = "fro") -> tuple[str, ...]:
    return ("g*sign(u)",) if ord == 1 else ("g*u/out",)


def _jvp(shapes: list[Shape], dim: int | None, ord: str | int = "fro") -> tuple[str, ...]:
    return ("sum(sign(u)*d)",) if ord == 1 else ("sum(u*d)/out",)


def _edges(np: Any, args: list[Any], value: Any, text: str, constant: tuple[bool, ...], ord: str | int) -> list[Any]:
    if ord == 1:
        return [
            ("kink", f"{text} where an element is 0: |u| has no derivative there", np.asarray(np.any(args[0] == 0)))
        ]
    zero = np.asarray(np.all(args[0] == 0))  # the vector itself, not a norm that underflowed to 0
    return [("kink", f"{text} at the zero vector: the 2-norm has no derivative there", zero)]


def _sympy(sp: Any, np: Any, x: Any, ord: str | int = "fro") -> Any:
    if ord == 1:
        from .functions import sympy_function

        return add_along(sp, np, each(np, sympy_function("absolute"), x), None)
    return each(np, sp.sqrt, add_along(sp, np, x * x, None))


def _numpy(np: Any, x: Any, ord: str | int = "fro") -> Any:
    return np.sum(np.abs(x)) if ord == 1 else np.sqrt(np.sum(x * x))


# In emitted NumPy code, as :func:`_numpy` computes it.
_NUMPY_NORM = """def _norm(x, ord):
    return np.sum(np.abs(x)) if ord == 1 else np.sqrt(np.sum(x * x))"""

register(
    Op(
        "norm",
        'the 2-norm sqrt(sum(x**2)) of all elements (of a matrix, its Frobenius norm): norm(x), norm(x, "fro"); '
        "of a vector, norm(x, 2) and the 1-norm norm(x, 1)",
        latex=r"\left\lVert {0} \right\rVert",
        elementwise=False,
        options=(_ORD,),
        shape=_shape,
        vjp=_vjp,
        jvp=_jvp,
        edges=_edges,
        sympy=_sympy,
        torch=lambda torch, x, ord="fro": torch.linalg.vector_norm(x, 1 if ord == 1 else 2),
        numpy=_numpy,
        numpy_code=Code("_norm({0}, {ord})", (_NUMPY_NORM,)),
        torch_code=Code(lambda x, ord="fro": f"torch.linalg.vector_norm({x}, {1 if ord == 1 else 2})"),
    )
)
