"""JSON for scripts: the render layer's name for :func:`backcalc.jsonout.dumps`."""

from __future__ import annotations

from ..jsonout import dumps

__all__ = ["dumps"]
