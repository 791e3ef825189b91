"""The library's public entry points, re-exported by :mod:`backcalc`: :func:`gradient`, and
:func:`prepare` / :func:`compute` for a caller who checks a problem once and computes it later.

Importing this module installs the results' display hooks (:mod:`backcalc.render.display`), so a
result shows itself in Jupyter and in ``rich.print`` however it was made.
"""

from __future__ import annotations

from .analyses.gradient import compute, gradient
from .analyses.problem import Problem, prepare
from .render import display as _display  # noqa: F401  (installs the results' display hooks)

__all__ = ["Problem", "compute", "gradient", "prepare"]
