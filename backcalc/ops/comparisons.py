"""Comparisons as masks and ``where``, as torch has them: ``a < b``, ``a <= b``, ``a > b``, ``a >= b``
give 1.0 where they hold and 0.0 elsewhere (torch's boolean, as a number of the dtype), and
``where(c, a, b)`` takes ``a`` where ``c`` is not 0 and ``b`` elsewhere (``torch.where(c != 0, a, b)``).

No gradient flows through a comparison, nor into ``where``'s condition: their vector-Jacobian rules are
``""``, while ``where`` passes ``g`` to the side it took. On the sympy side they are ``Piecewise``
(whose conditions sympy never differentiates), element by element.
"""

from __future__ import annotations

import operator
from typing import Any

from .record import Op, Shape, Syntax, register
from .rules import broadcast

#: Below a sum: ``x + 1 < y`` is ``(x + 1) < y``.
COMPARISON = 0
_LATEX = {"<=": r"\leq", ">=": r"\geq"}


def _mask(np: Any, compare: Any, *cells: Any) -> Any:
    return np.frompyfunc(compare, len(cells), 1)(*cells)


def _comparison(name: str, symbol: str, word: str, compare: Any, sympy_name: str) -> Op:
    def to_sympy(sp: Any, np: Any, u: Any, v: Any) -> Any:
        relation = getattr(sp, sympy_name)
        return _mask(np, lambda a, b: sp.Piecewise((sp.Integer(1), relation(a, b)), (sp.Integer(0), True)), u, v)

    def to_torch(torch: Any, u: Any, v: Any) -> Any:
        kind = torch.result_type(u, v)
        return compare(u, v).to(kind if kind.is_floating_point else torch.get_default_dtype())

    return register(
        Op(
            name,
            f"1 where a {word} b, else 0 (a mask, with no gradient): a {symbol} b",
            syntax=Syntax.INFIX,
            arity=2,
            symbols=(symbol,),
            precedence=COMPARISON,
            latex="{0} " + _LATEX.get(symbol, symbol) + " {1}",
            elementwise=False,
            vjp=lambda shapes, dim: ("", ""),
            work=lambda args, shape: max(1, _count(shape)),
            sympy=to_sympy,
            torch=to_torch,
            numpy_code=f"np.asarray({{0}} {symbol} {{1}}, dtype=np.float64)",
            torch_code=f"({{0}} {symbol} {{1}}).to(torch.float64)",
            numpy=lambda np, u, v: compare(np.asarray(u), np.asarray(v)).astype(np.result_type(u, v, np.float32)),
        )
    )


def _count(shape: Shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


_comparison("lt", "<", "is less than", operator.lt, "StrictLessThan")
_comparison("le", "<=", "is at most", operator.le, "LessThan")
_comparison("gt", ">", "is greater than", operator.gt, "StrictGreaterThan")
_comparison("ge", ">=", "is at least", operator.ge, "GreaterThan")


def _where_vjp(shapes: list[Shape], dim: int | None) -> tuple[str, ...]:
    # The gradient goes to the side that was taken; the condition has none.
    return ("", "where(u, g, 0)", "where(u, 0, g)")


def _sympy_where(sp: Any, np: Any, c: Any, a: Any, b: Any) -> Any:
    return _mask(np, lambda k, x, y: sp.Piecewise((x, sp.Ne(k, 0)), (y, True)), c, a, b)


register(
    Op(
        "where",
        "a where c is not 0 (a mask: x > 0), b elsewhere, as torch.where: where(x > 0, x, 0.1*x)",
        arity=3,
        latex=r"\operatorname{{where}}\left({0}, {1}, {2}\right)",
        elementwise=False,
        shape=lambda shapes, dim: broadcast(shapes),
        vjp=_where_vjp,
        work=lambda args, shape: max(1, _count(shape)),
        sympy=_sympy_where,
        torch=lambda torch, c, a, b: torch.where(c != 0, a, b),
        numpy_code="np.where(np.asarray({0}) != 0, {1}, {2})",
        torch_code="torch.where({0} != 0, {1}, {2})",
        numpy=lambda np, c, a, b: np.where(np.asarray(c) != 0, a, b),
    )
)
