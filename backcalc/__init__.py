"""backcalc: a backprop calculator. Symbolic gradients (sympy) beside autograd (torch), checked.

Importing the package is cheap: numpy, torch and sympy load only when a gradient is computed.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "BackcalcError",
    "InputError",
    "LimitError",
    "ParseError",
    "__version__",
    "gradient",
    "load_ipython_extension",
]

if TYPE_CHECKING:
    from .api import gradient
    from .errors import BackcalcError, InputError, LimitError, ParseError


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext backcalc`` in IPython or Jupyter: the ``%backcalc`` and ``%%backcalc`` magics."""
    from .cli.magic import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    # PEP 562: `backcalc.gradient` imports the library on first use, so `backcalc --help` need not.
    if name == "gradient":
        from .api import gradient

        return gradient
    if name in ("BackcalcError", "InputError", "LimitError", "ParseError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'backcalc' has no attribute {name!r}")
