"""backcalc: a backprop calculator. Symbolic gradients (sympy) beside autograd (torch), checked.

Importing the package is cheap: torch and sympy load only when a gradient is computed.
"""

__version__ = "0.1.0"

from .api import gradient
from .errors import BackcalcError, InputError, LimitError, ParseError

__all__ = ["BackcalcError", "InputError", "LimitError", "ParseError", "__version__", "gradient"]
