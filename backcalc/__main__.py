"""``python -m backcalc``: the same as the ``backcalc`` command."""

from .cli import cli

cli(prog_name="backcalc")
