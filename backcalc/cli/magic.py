"""``%load_ext backcalc``: the ``%backcalc`` line magic and the ``%%backcalc`` cell magic.

A magic line is a command line without ``backcalc`` in front: ``%backcalc "x**3 + x**2" x=2`` or
``%backcalc explain "(w*x - y)**2" --wrt w``. The words are parsed by the click commands themselves
(``make_context``: the same options, defaults, choices and messages), then the library is called as
the command would call it, and the result object is returned (Jupyter shows it through its
``_repr_html_``). An input not given on the line is taken from the notebook's variables (a NumPy
array, a torch tensor, a number or a nested list), and checked like any other input. Errors are
reported as the command reports them (one line on stderr, through :func:`backcalc.cli.run`); nothing
typed is evaluated as Python, and IPython's ``{expression}`` expansion is off for these magics.

A ``%%backcalc`` cell that starts with a step (``NAME = EXPRESSION``) is a program: the cell is the
expression, and the ``%%backcalc`` line gives the command, inputs and options
(``%%backcalc explain w=1 --dtype float64``). Any other cell runs one case per line (blank lines and
``#`` comments skipped), and words on the ``%%backcalc`` line itself are added to every case. Each
result is displayed; the list of results is kept in the notebook variable ``_backcalc``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from ..errors import InputError
from .group import cli, run
from .options import parse_inputs, read_expression
from .repl import refuse_stdin, split_command_line

COMMANDS = ("grad", "explain", "descend", "check", "jacobian", "hessian")
_NOT_HERE = ("batch", "repl")


def split_line(line: str) -> list[str]:
    """The words of a magic line: as the live session splits a line, so the expression may be
    quoted or not (``%backcalc explain (w*x - y)**2``)."""
    if not line.strip():
        return []
    command, expression, tail = split_command_line(line)
    return [*command, expression, *tail]


def _namespace_inputs(expression: str, given: Mapping[str, Any], namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The expression's (or program's) inputs not given on the line, from the notebook's variables."""
    from ..language.program import parse_program

    found = {
        name: namespace[name]
        for name in parse_program(expression).variables()
        if name not in given and name in namespace and not callable(namespace[name])
    }
    return {name: _as_value(value) for name, value in found.items()}


def _as_value(value: Any) -> Any:
    # Array-likes beyond NumPy and torch (a pandas Series, a JAX array) become NumPy arrays; the
    # library checks what they hold like any other input.
    if hasattr(value, "__array__") and not hasattr(value, "detach") and not isinstance(value, str):
        import numpy as np

        return np.asarray(value)
    return value


def compute(words: Sequence[str], namespace: Mapping[str, Any]) -> Any:
    """Parse ``words`` with the command's own options and return the command's result object
    (or, with ``--json``, the JSON contract as a dict)."""
    words = list(words)
    if not words:
        raise click.UsageError('give an expression: %backcalc "x**2" x=3, or a command: %backcalc explain ...')
    if words[0] in _NOT_HERE:
        raise click.UsageError(f"{words[0]} is a command-line command; it does not run in a notebook")
    refuse_stdin(words)
    name = words.pop(0) if words[0] in COMMANDS else "grad"
    command = cli.commands[name]
    try:
        with command.make_context(f"%backcalc {name}", words) as ctx:
            params = ctx.params
    except click.exceptions.Exit:  # --help was shown
        return None
    if params["expression"].startswith("@"):  # a program file: the notebook is the user's, as a shell is
        params = {**params, "expression": read_expression(params["expression"])}
    given = parse_inputs(params["expression"], params["values"])
    inputs = {**_namespace_inputs(params["expression"], given, namespace), **given}
    result = _COMPUTE[name](params, inputs)
    return result.to_dict() if params.get("as_json") else result


def _problem(params: Mapping[str, Any], inputs: dict[str, Any]) -> Any:
    from ..api import prepare

    # A command without a loss (jacobian) hides --reduce and leaves it None; the CLI passes "sum".
    reduction = params.get("reduction") or "sum"
    return prepare(params["expression"], inputs, list(params["wrt"]) or None, params["dtype"], reduction)


def _grad(params: Mapping[str, Any], inputs: dict[str, Any]) -> Any:
    from ..api import compute

    problem = _problem(params, inputs)
    return compute(problem, params["rtol"], params["atol"], check_fd=params["check_fd"], simplify=params["simplify"])


def _explain(params: Mapping[str, Any], inputs: dict[str, Any]) -> Any:
    from ..analyses.explain import explain
    from ..render import graphviz

    wanted = [(params["svg_file"], "svg"), (params["png_file"], "png")]
    if any(path for path, _ in wanted) and not graphviz.dot_program():
        raise InputError("--svg and --png need Graphviz's `dot` program, which is not installed")
    explanation = explain(_problem(params, inputs), params["rtol"], params["atol"])
    if params["dot_file"] or any(path for path, _ in wanted):
        source = graphviz.to_dot(explanation)
        if params["dot_file"]:
            graphviz.write_text(params["dot_file"], source)
        for path, fmt in wanted:
            if path:
                graphviz.render(source, path, fmt)
    return explanation


def _descend(params: Mapping[str, Any], inputs: dict[str, Any]) -> Any:
    from ..analyses.descend import descend

    if not params["wrt"]:
        raise InputError("descend needs --wrt NAME: the inputs to update")
    problem = _problem(params, inputs)
    descent = descend(
        problem, params["lr"], params["steps"], params["tol"], params["optimizer"], params["rtol"], params["atol"]
    )
    if params["plot_file"]:
        from ..render.descend_view import save_plot

        save_plot(descent, params["plot_file"])
    return descent


def _check(params: Mapping[str, Any], inputs: dict[str, Any]) -> Any:
    from ..analyses.check.grade import check
    from .scripting import claims_of

    claims = claims_of(params["claims"])
    return check(params["expression"], claims, inputs or None, samples=params["samples"], seed=params["seed"])


def _derivatives(kind: str) -> Any:
    def compute(params: Mapping[str, Any], inputs: dict[str, Any]) -> Any:
        from ..analyses import derivatives

        function = derivatives.jacobian if kind == "jacobian" else derivatives.hessian
        return function(_problem(params, inputs), params["rtol"], params["atol"])

    return compute


_COMPUTE = {
    "grad": _grad,
    "explain": _explain,
    "descend": _descend,
    "check": _check,
    "jacobian": _derivatives("jacobian"),
    "hessian": _derivatives("hessian"),
}


def run_words(words: Sequence[str], namespace: Mapping[str, Any]) -> Any:
    """:func:`compute`, with errors reported as the command reports them (one line on stderr); None
    after an error."""
    box: dict[str, Any] = {}

    def invoke() -> int:
        box["result"] = compute(words, namespace)
        return 0

    run(invoke, words)
    return box.get("result")


def cases(cell: str) -> list[str]:
    """The cases of a ``%%backcalc`` cell: its lines, without blank lines and ``#`` comments."""
    return [line.strip() for line in cell.splitlines() if line.strip() and not line.strip().startswith("#")]


_STEP = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)")


def is_program(cell: str) -> bool:
    """A cell whose first statement is a step (``NAME = ...``): the cell is one program. (A case line
    never starts so: its expression comes first.)"""
    lines = cases(cell)
    return bool(lines) and _STEP.match(lines[0]) is not None


def program_words(cell: str, line_words: list[str]) -> list[str]:
    """The command line of a program cell: the ``%%backcalc`` line's command, the cell as the
    expression, then the line's inputs and options."""
    command = line_words[:1] if line_words[:1] and line_words[0] in COMMANDS else []
    return [*command, cell, *line_words[len(command) :]]


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%backcalc`` and ``%%backcalc`` (IPython calls this for ``%load_ext backcalc``)."""
    from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
    from IPython.display import display

    from ..render import display as _hooks  # noqa: F401  (the results show themselves in the notebook)

    @magics_class
    class BackcalcMagics(Magics):
        @no_var_expand
        @line_cell_magic
        def backcalc(self, line: str, cell: str | None = None) -> Any:
            """Run backcalc: %backcalc [COMMAND] EXPRESSION [NAME=VALUE]... [OPTIONS];
            %%backcalc [OPTIONS] with one case per line. Inputs not on the line come from the notebook."""
            assert self.shell is not None
            namespace = self.shell.user_ns
            if cell is None:
                words = _words_or_none(line, split_line)
                return None if words is None else run_words(words, namespace)
            extra = _words_or_none(line, _shell_words)
            if extra is None:
                return None
            if is_program(cell):
                result = run_words(program_words(cell, extra), namespace)
                if result is not None:
                    display(result)
                namespace["_backcalc"] = [result]
                return None
            results = []
            for case in cases(cell):
                words = _words_or_none(case, split_line)
                result = None if words is None else run_words([*words, *extra], namespace)
                if result is not None:
                    display(result)
                results.append(result)
            namespace["_backcalc"] = results
            return None

    ipython.register_magics(BackcalcMagics)


def _shell_words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise InputError(f"cannot split the line: {exc}") from None


def _words_or_none(line: str, split: Callable[[str], list[str]]) -> list[str] | None:
    box: dict[str, list[str]] = {}

    def invoke() -> int:
        box["words"] = split(line)
        return 0

    run(invoke, [])
    return box.get("words")
