"""The version of backcalc, in one place below every module that writes it into a result."""

__version__ = "0.1.0"
