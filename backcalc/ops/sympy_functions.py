"""backcalc's own sympy functions, for operations sympy has no class for (the records in
:mod:`backcalc.ops.functions` use them): the logistic function, softplus, and |u| for an argument
that is real here but that sympy cannot prove real."""

from __future__ import annotations

from typing import Any

import sympy


class sigmoid(sympy.Function):  # noqa: N801 - printed as the function users type
    """The logistic function 1/(1 + exp(-x)), differentiated as sigmoid(x)*(1 - sigmoid(x))."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return self.rewrite(sympy.exp)._eval_evalf(prec)


class softplus(sympy.Function):  # noqa: N801
    """log(1 + exp(x)), differentiated as sigmoid(x)."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.log(1 + sympy.exp(x))

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return self.rewrite(sympy.log)._eval_evalf(prec)


class real_abs(sympy.Function):  # noqa: N801
    """|u| for an argument that is real here but that sympy cannot prove real (``asin(w)``, ``w**w``).

    sympy's ``Abs`` of such an argument differentiates through ``re``, ``im`` and ``atan2``; inputs
    are real in backcalc, so d|u|/du is ``sign(u)``. Printed as ``Abs`` (sympy reads it back as such).
    """

    is_extended_nonnegative = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.sign(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return f"Abs({printer._print(self.args[0])})"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        # sympy's printer passes the exponent of a power of this function (|u|**3) to be placed here.
        text = rf"\left|{{{printer._print(self.args[0])}}}\right|"
        return text if exp is None else f"{{{text}}}^{{{exp}}}"


def absolute(u: sympy.Expr) -> sympy.Expr:
    """sympy's own Abs where sympy knows ``u`` is real (it simplifies there), :class:`real_abs` elsewhere."""
    return sympy.Abs(u) if u.is_extended_real or u.is_number else real_abs(u)


def elementary(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with sigmoid and softplus written out in exp and log, so that sympy can compare it."""
    expr = expr.replace(sigmoid, lambda u: 1 / (1 + sympy.exp(-u)))
    return expr.replace(softplus, lambda u: sympy.log(1 + sympy.exp(u)))


def named(name: str) -> object:
    """One of this module's functions, by name, for a record that names it in its sympy implementation."""
    return globals()[name]
