"""JSON for scripts: the render layer's name for :func:`backcalc.formats.jsonout.dumps`."""

from __future__ import annotations

from ..formats.jsonout import dumps

__all__ = ["dumps"]
