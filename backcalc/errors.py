"""The one error hierarchy of backcalc and the exit statuses it maps to.

Every error a user can cause is a :class:`BackcalcError`; the CLI turns it into a one-line message on
stderr and :attr:`ExitStatus.BAD_INPUT`. Nothing else in the package decides an exit status.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit statuses of the ``backcalc`` command."""

    OK = 0  #: every gradient agrees
    DISAGREE = 1  #: symbolic and autograd disagree somewhere
    BAD_INPUT = 2  #: bad expression, bad value, bad option: nothing was computed
    DIVERGED = 3  #: ``descend``: the loss became inf or nan
    INTERNAL = 70  #: a bug in backcalc (EX_SOFTWARE); please report it
    IO_ERROR = 74  #: the output could not be written (EX_IOERR), e.g. a full disk
    INTERRUPTED = 130  #: stopped with Ctrl-C


class BackcalcError(Exception):
    """Base of every error caused by what the user typed or supplied."""

    exit_status = ExitStatus.BAD_INPUT
    kind = "input"  #: the ``kind`` of a batch line's error object

    def __init__(self, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.help = help  #: the fix to type, as rustc's ``help: try ...``

    def one_line(self) -> str:
        """The message on a single line, as printed on stderr, with the fix when one is known."""
        return " ".join((self.message + self._help()).split())

    def _help(self) -> str:
        return f"; help: {self.help}" if self.help else ""

    def details(self) -> str | None:
        """Extra lines worth showing in a terminal (for example a caret under the expression)."""
        return None


class ParseError(BackcalcError):
    """The expression is not in backcalc's expression language."""

    kind = "parse"

    def __init__(
        self,
        message: str,
        source: str,
        start: int,
        end: int | None = None,
        help: str | None = None,
        program: bool = False,
        subject: str = "expression",
    ) -> None:
        super().__init__(message, help)
        self.source = source
        self.start = start
        self.end = max(end if end is not None else start + 1, start + 1)
        self.program = program  #: in a program of several statements: point at the line and column
        self.subject = subject  #: what the source is: the expression, or a claim's formula

    def with_help(self, help: str | None) -> ParseError:
        """This error with the fix to type (``backcalc.language.hints`` finds it; the parser attaches it)."""
        if help:
            self.help = help
            if "; did you mean" in self.message:
                self.message = self.message.split("; did you mean")[0]  # the help names the whole fix
        return self

    def one_line(self) -> str:
        message = " ".join(self.message.split())
        if self.program:
            line = self.source.count("\n", 0, self.start) + 1
            column = self.start - (self.source.rfind("\n", 0, self.start) + 1) + 1
            return f"{message} (at line {line}, column {column} of the program){self._help()}"
        return f"{message} (at column {self.start + 1} of the {self.subject}){self._help()}"

    def details(self) -> str:
        # A window of the expression (of the error's line, in a program) around the error, with carets
        # under the offending span.
        first = self.source.rfind("\n", 0, self.start) + 1 if self.program else 0
        last = self.source.find("\n", self.start) if self.program else -1
        last = len(self.source) if last < 0 else last
        lo = max(first, self.start - 40)
        hi = min(last, self.end + 40)
        prefix = "..." if lo > first else ""
        suffix = "..." if hi < last else ""
        width = max(1, min(self.end, hi) - self.start)
        shown = self.source[lo:hi].replace("\t", " ").replace("\n", " ")
        pad = " " * (len(prefix) + self.start - lo)
        return f"  {prefix}{shown}{suffix}\n  {pad}{'^' * width}"


class LimitError(BackcalcError):
    """The input is over one of backcalc's documented size or cost limits."""

    kind = "limit"


class SymbolicSizeError(LimitError):
    """Too many input elements for sympy to work element by element: the symbolic side is skipped."""


class InputError(BackcalcError):
    """A value, a file or an option is malformed or does not fit the expression."""


class OutputError(BackcalcError):
    """An output file (``--dot``, ``--svg``, ``--png``, ``--plot``) could not be written."""

    exit_status = ExitStatus.IO_ERROR
    kind = "output"


class SymbolicError(BackcalcError):
    """sympy could not derive or evaluate the gradient within backcalc's rules."""

    kind = "symbolic"
