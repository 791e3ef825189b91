"""``backcalc batch``: JSON Lines in, one JSON object per case out, in order.

Each line is ``{"expression", "inputs": {NAME: VALUE}, "wrt"?, "dtype"?, "reduce"?, "rtol"?, "atol"?,
"check_fd"?}`` and gives exactly what ``grad --json`` gives, plus ``"line"`` (0-based). A line with
``"claims": {NAME: FORMULA}`` is a ``check`` instead and gives what ``check --json`` gives. A bad line
gives ``{"line": N, "error": {"kind", "message"}}`` and the run goes on. Blank lines are skipped (line
numbers still count them). Parsing, differentiation and the compiled evaluators are cached across lines
that repeat an expression.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .errors import BackcalcError, ExitStatus, InputError, LimitError, SymbolicSizeError
from .parser import parse
from .tree import Node

GRAD_KEYS = {"expression", "inputs", "wrt", "dtype", "reduce", "rtol", "atol", "check_fd"}
CHECK_KEYS = {"expression", "inputs", "claims"}
CACHE_SIZE = 256  # distinct expressions kept


@dataclass
class Tally:
    """What a batch run saw, and the exit status it ends with."""

    cases: int = 0
    agreed: int = 0
    disagreed: int = 0
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> int:
        if self.errors:
            return ExitStatus.BAD_INPUT
        return ExitStatus.DISAGREE if self.disagreed else ExitStatus.OK


class Batch:
    """Runs cases one by one, caching what depends on the expression only."""

    def __init__(self) -> None:
        self._cache: OrderedDict[str, tuple[Node, Any]] = OrderedDict()
        self.tally = Tally()

    def _parsed(self, expression: str) -> tuple[Node, Any]:
        """The tree and, once asked for, the :class:`~backcalc.symbolic.Differentiator` of an expression."""
        if expression in self._cache:
            self._cache.move_to_end(expression)
            return self._cache[expression]
        entry = (parse(expression), None)
        self._cache[expression] = entry
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry

    def _differentiator(self, expression: str, tree: Node, shapes: dict[str, tuple[int, ...]]) -> Any:
        """The cached symbolic side. An element-wise expression has one for all shapes; one that mixes
        elements has one per set of input shapes (each element is its own symbol)."""
        _, cached = self._cache[expression]
        if cached is None:
            cached = {}
            self._cache[expression] = (tree, cached)
        key = tuple(sorted(shapes.items())) if tree.mixes_elements() else ()
        if key not in cached:
            from .symbolic import differentiator_for

            try:
                cached[key] = differentiator_for(tree, shapes)
            except SymbolicSizeError:
                cached[key] = None  # compute() says why when it tries again
        return cached[key]

    def run_line(self, text: str, line: int) -> dict[str, Any] | None:
        """The output object of one input line (None for a blank line). Never raises for bad input."""
        if not text.strip():
            return None
        self.tally.cases += 1
        try:
            data = self._case(text)
        except (BackcalcError, RecursionError, MemoryError) as exc:
            return self._error(line, exc)
        except Exception as exc:  # a bug: report it on this line and go on with the others
            return self._error(line, exc, kind="internal")
        agreed = data.get("right", True) if "claims" in data else data["verdict"] != "disagree"
        if agreed:
            self.tally.agreed += 1
        else:
            self.tally.disagreed += 1
        return {"line": line, **data}

    def _case(self, text: str) -> dict[str, Any]:
        if len(text) > limits.MAX_FILE_BYTES:
            raise LimitError(f"the line is over {limits.MAX_FILE_BYTES:,} characters")
        try:
            case = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _JsonError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(case, dict):
            raise InputError('each line must be a JSON object: {"expression": ..., "inputs": {...}}')
        allowed = CHECK_KEYS if "claims" in case else GRAD_KEYS
        unknown = sorted(set(case) - allowed)
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(allowed))}")
        expression = case.get("expression")
        if not isinstance(expression, str):
            raise InputError('"expression" must be a string')
        inputs = case.get("inputs", {})
        if not isinstance(inputs, dict):
            raise InputError('"inputs" must be an object {NAME: VALUE}')
        tree, _ = self._parsed(expression)
        if "claims" in case:
            return self._check(expression, tree, case["claims"], inputs)
        return self._grad(expression, tree, case, inputs)

    def _grad(self, expression: str, tree: Node, case: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        from .api import compute, prepare

        wrt = case.get("wrt")
        if isinstance(wrt, str):
            wrt = [wrt]
        if wrt is not None and not (isinstance(wrt, list) and all(isinstance(w, str) for w in wrt)):
            raise InputError('"wrt" must be a name or a list of names')
        tolerances = {key: case.get(key) for key in ("rtol", "atol")}
        for key, value in tolerances.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise InputError(f'"{key}" must be a number >= 0')
        problem = prepare(
            expression, inputs, wrt, str(case.get("dtype", "float32")), str(case.get("reduce", "sum")), tree=tree
        )
        result = compute(
            problem,
            tolerances["rtol"],
            tolerances["atol"],
            check_fd=bool(case.get("check_fd", False)),
            differentiator=self._differentiator(expression, tree, {n: v.shape for n, v in problem.inputs.items()}),
        )
        return result.to_dict()

    def _check(self, expression: str, tree: Node, claims: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        from .check import check

        if not isinstance(claims, dict) or not all(isinstance(v, str) for v in claims.values()):
            raise InputError('"claims" must be an object {NAME: FORMULA}')
        return check(expression, claims, inputs or None, tree=tree).to_dict()

    def _error(self, line: int, exc: BaseException, kind: str | None = None) -> dict[str, Any]:
        if kind is None:  # RecursionError and MemoryError are limits too
            kind = exc.kind if isinstance(exc, BackcalcError) else "limit"
        message = exc.one_line() if isinstance(exc, BackcalcError) else f"{type(exc).__name__}: {exc}"
        self.tally.errors += 1
        self.tally.kinds[kind] = self.tally.kinds.get(kind, 0) + 1
        error: dict[str, Any] = {"kind": kind, "message": message}
        if isinstance(exc, BackcalcError) and exc.help:
            error["help"] = exc.help  # the fix to type, also at the end of the message
        return {"line": line, "error": error}


class _JsonError(InputError):
    """A line that is not JSON."""

    kind = "json"
