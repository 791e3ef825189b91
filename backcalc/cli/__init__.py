"""The ``backcalc`` command: parse options, call the library, pick a renderer. Nothing else.

The group and the one place where errors become exit statuses are in :mod:`.group`, what the commands
share in :mod:`.options`; the commands live in :mod:`.gradients` (grad, explain, jacobian, hessian), :mod:`.scripting`
(batch, check), :mod:`.learning` (descend), :mod:`.helping` (help) and :mod:`.repl` (the live
session); :mod:`.magic` holds the notebook magics.

Importing this module loads click and the light parts of backcalc only; torch, sympy and rich load
when a command actually computes or renders, so ``--help``, ``--version`` and input errors are quick.

Place in the flow: outside it; the top floor, and the only code that imports click.

May import: everything: :mod:`backcalc.errors`, :mod:`backcalc.limits`, :mod:`backcalc.formats`,
:mod:`backcalc.ops`, :mod:`backcalc.language`, :mod:`backcalc.inputs`, :mod:`backcalc.numeric`,
:mod:`backcalc.symbolic`, :mod:`backcalc.backprop`, :mod:`backcalc.analyses`, :mod:`backcalc.render`,
:mod:`backcalc.api`, :mod:`backcalc._version`.
"""

from __future__ import annotations

from . import gradients, helping, learning, repl, scripting  # noqa: F401  (importing them registers the commands)
from .group import cli, run

__all__ = ["cli", "run"]
