r"""``backcalc batch``: JSON Lines in, one JSON object per case out, in order.

Each line is ``{"expression", "inputs": {NAME: VALUE}, "wrt"?, "dtype"?, "reduce"?, "rtol"?, "atol"?,
"check_fd"?}`` and gives exactly what ``grad --json`` gives, plus ``"line"`` (0-based). A line with
``"claims": {NAME: FORMULA}`` is a ``check`` instead and gives what ``check --json`` gives. A bad line
gives ``{"line": N, "error": {"kind", "message"}}`` and the run goes on: every failure of a line, down
to a bug (kind ``internal``), becomes that line's error object, never the end of the run. Blank lines
are skipped (line numbers still count them). Parsing, differentiation and the compiled evaluators are
cached across lines that repeat an expression.

Lines are split on ``\n`` only (a U+2028 or U+0085 inside a JSON string is not a line break; a ``\r``
before the ``\n`` is JSON whitespace), read as bytes from a file or a pipe alike, each at most
:data:`~backcalc.limits.MAX_FILE_BYTES` long. ``NAME=@FILE`` in a line reads nothing unless the batch
was given a folder (``--allow-files DIR``), and then only below it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import limits
from ...errors import BackcalcError, ExitStatus, InputError, LimitError
from ...inputs.files import FileAccess
from ...inputs.jsonin import loads
from ...inputs.values import check_name, check_range, check_tolerance, load_files, to_array
from ...language.tree import Node
from ...language.workload import forget, out_of_memory
from ..problem import NUMPY_DTYPES, REDUCTIONS, Problem, prepare
from .cache import CACHE_SIZE, Derivations
from .quick import CHECK_KEYS, GRAD_KEYS, Quick, holds_numbers, numbers_of, quick_key
from .stack import Case, Plan, plan_for

_LARGEST = {name: float(np.finfo(dtype).max) for name, dtype in NUMPY_DTYPES.items()}


@dataclass
class Tally:
    """What a batch run saw, and the exit status it ends with."""

    cases: int = 0
    agreed: int = 0
    disagreed: int = 0
    errors: int = 0

    @property
    def status(self) -> int:
        if self.errors:
            return ExitStatus.BAD_INPUT
        return ExitStatus.DISAGREE if self.disagreed else ExitStatus.OK


class Batch:
    """Answers lines, alone (:meth:`run_line`) or a window at a time (:meth:`answer`, which stacks the
    cases that can share a pass), caching what depends on the expression and the shapes only.
    ``files`` is where ``NAME=@FILE`` may read (None: nowhere)."""

    def __init__(self, files: FileAccess | None = None) -> None:
        self._derivations = Derivations()
        self._prepared: OrderedDict[tuple[Any, ...], tuple[list[str], list[str], tuple[int, ...]]] = OrderedDict()
        self._names: set[str] = set()  # input names already checked
        # A line's options and the names and shapes of its inputs -> the plan its first line made.
        self._plans: OrderedDict[tuple[Any, ...], Plan] = OrderedDict()
        self.tally = Tally()
        self.files = files

    def output(self, raw: bytes | str | None, line: int) -> str | None:
        """The output line (JSON text) for one input line, None for a blank line; ``raw`` None is a
        line over the length limit. Never raises but for Ctrl-C."""
        outputs = self.answer([(line, raw)])
        return outputs[0] if outputs else None

    def answer(self, window: Sequence[tuple[int, bytes | str | None]]) -> list[str]:
        """The output lines for a window of numbered input lines, in order (blank lines give none).
        Cases that can share one pass (:mod:`backcalc.analyses.batch.stack`) run together; the others alone.
        Never raises but for Ctrl-C."""
        staged = [self._stage(raw, line) for line, raw in window]
        done = self._run_cases([item for item in staged if isinstance(item, (Case, Quick))])
        outputs = []
        for item in staged:
            if item is None:
                continue
            if isinstance(item, (Case, Quick)):
                data: str | dict[str, Any] = done[item.line]
            else:
                data = item
            outputs.append(self._write(data))
        return outputs

    def run_line(self, text: str, line: int) -> dict[str, Any] | None:
        """The output object of one input line (None for a blank line), run alone. Never raises for bad
        input."""
        item = self._stage_text(text, line)
        data = self._alone(item) if isinstance(item, (Case, Quick)) else item
        if data is not None:
            self._count(data)
        return data

    def _stage(self, raw: bytes | str | None, line: int) -> dict[str, Any] | Case | Quick | None:
        """What one input line becomes before anything runs: its output object (an error, a check),
        a :class:`~backcalc.analyses.batch.stack.Case` to run alone, a :class:`Quick` one to stack, or None for
        a blank line."""
        if raw is None:
            return self._error(line, LimitError(f"the line is over {limits.MAX_FILE_BYTES:,} bytes"))
        quick = self._quick(raw, line) if isinstance(raw, bytes) else None
        if quick is not None:
            return quick
        try:
            text = raw if isinstance(raw, str) else raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._error(line, _JsonError(f"the line is not UTF-8 text (byte {exc.start + 1})"))
        return self._stage_text(text, line)

    def _stage_text(self, text: str, line: int) -> dict[str, Any] | Case | Quick | None:
        if not text.strip(" \t\r\n"):  # JSON's whitespace, no other
            return None
        forget()
        try:
            staged = self._case(text, line)
        except BaseException as exc:
            return self._failure(line, exc)
        return staged if isinstance(staged, (Case, Quick)) else {"line": line, **staged}

    def _quick(self, raw: bytes, line: int) -> Quick | None:
        """A line like one seen before, taken the short way (:func:`~.quick.quick_key`) when its plan is
        known; anything else (None) takes the checked path, which says what is wrong."""
        found = quick_key(raw)
        plan = None if found is None else self._plans.get(found[0])
        if plan is None:
            return None
        numbers = found[1]  # type: ignore[index]
        values = [numbers[name][1] for name in plan.problem.inputs]
        return Quick(line, plan, values, raw)  # compute_stack checks that the dtype holds them

    def _run_cases(self, cases: list[Case | Quick]) -> dict[int, str | dict[str, Any]]:
        """The output (text, or an object to write) of each case, keyed by line: stacked where cases
        share a plan, else alone."""
        from .stack import NotNumbersError, Stacked, chunks, compute_stack, write

        groups: dict[int, list[Quick]] = {}
        alone: list[Case | Quick] = []
        for case in cases:
            if isinstance(case, Quick):
                groups.setdefault(id(case.plan), []).append(case)
            else:
                alone.append(case)
        stacks: list[tuple[list[Quick], Stacked]] = []
        for group in groups.values():
            plan = group[0].plan
            if len(group) < 2:
                alone.extend(group)
                continue
            for part in chunks(plan, len(group)):
                stack = group[part]
                try:
                    try:
                        stacked = compute_stack(plan, [q.line for q in stack], [q.values for q in stack])
                    except NotNumbersError:  # a line whose lists hold something else: alone, and the rest again
                        holds = [holds_numbers(q) for q in stack]
                        alone.extend(q for q, good in zip(stack, holds, strict=True) if not good)
                        stack = [q for q, good in zip(stack, holds, strict=True) if good]
                        stacked = compute_stack(plan, [q.line for q in stack], [q.values for q in stack])
                    stacks.append((stack, stacked))
                except Exception:  # whatever failed, each case alone says what it was, on its own line
                    alone.extend(stack)
        done: dict[int, str | dict[str, Any]] = {}
        try:
            written = write([stacked for _, stacked in stacks])
        except Exception:
            written = [[None] * len(stack) for stack, _ in stacks]
        for (stack, _), results in zip(stacks, written, strict=True):
            for quick, result in zip(stack, results, strict=True):
                if result is None:
                    alone.append(quick)
                else:
                    done[quick.line] = result
        for case in alone:
            done[case.line] = self._alone(case)
        return done

    def _alone(self, case: Case | Quick) -> dict[str, Any]:
        """The output of one case run alone; a line taken the short way is first checked again the
        long way, which says what is wrong with it, if anything."""
        if isinstance(case, Quick):
            staged = self._stage_text(case.raw.decode("ascii"), case.line) if case.raw is not None else None
            if isinstance(staged, Quick):
                staged = staged.plan.case(staged.line, staged.values)
            elif staged is None:  # cannot happen: the line was staged before
                staged = case.plan.case(case.line, case.values)
            if isinstance(staged, dict):
                return staged
            case = staged
        return self._run(case)

    def _run(self, case: Case) -> dict[str, Any]:
        """One case run alone, by :func:`~backcalc.analyses.gradient.compute`."""
        from ...language import workload
        from .. import gradient as api

        try:
            workload.check(case.problem.tree, case.problem.shapes)  # an error names this case's sizes
            result = api.compute(
                case.problem, case.rtol, case.atol, check_fd=case.check_fd, differentiator=case.differentiator
            )
            return {"line": case.line, **result.to_dict()}
        except BaseException as exc:
            return self._failure(case.line, exc)

    def _failure(self, line: int, exc: BaseException) -> dict[str, Any]:
        """The error object of a line whose staging or run raised ``exc`` (Ctrl-C is raised again)."""
        if isinstance(exc, (BackcalcError, RecursionError)):
            return self._error(line, exc)
        if not isinstance(exc, Exception):
            raise exc
        memory = out_of_memory(exc)  # out of memory, or a bug: report it on this line and go on
        return self._error(line, memory) if memory else self._error(line, exc, kind="internal")

    def _write(self, data: str | dict[str, Any]) -> str:
        """The JSON text of an output object, counted in the tally; a stacked case's text (an
        agreement) as it is."""
        if isinstance(data, str):
            self.tally.cases += 1
            self.tally.agreed += 1
            return data
        try:
            text = _dump(data)
        except Exception as exc:  # a result that cannot be written is this line's failure, not the run's
            data = self._error(data["line"], exc, kind="internal")
            text = _dump(data)
        self._count(data)
        return text

    def _count(self, data: dict[str, Any]) -> None:
        tally = self.tally
        tally.cases += 1
        if "error" in data:
            tally.errors += 1
        elif data.get("right", True) if "claims" in data else data.get("verdict") != "disagree":
            tally.agreed += 1
        else:
            tally.disagreed += 1

    def _case(self, text: str, line: int) -> dict[str, Any] | Case | Quick:
        if len(text) > limits.MAX_FILE_BYTES:
            raise LimitError(f"the line is over {limits.MAX_FILE_BYTES:,} characters")
        case = loads(text, "the line")
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
        inputs = load_files(inputs, self.files)
        tree, _ = self._derivations.parsed(expression)
        if "claims" in case:
            return self._check(expression, tree, case["claims"], inputs)
        return self._grad(expression, tree, case, inputs, line)

    def _grad(
        self, expression: str, tree: Node, case: dict[str, Any], inputs: dict[str, Any], line: int
    ) -> Case | Quick:
        wrt = case.get("wrt")
        if isinstance(wrt, str):
            wrt = [wrt]
        if wrt is not None and not (isinstance(wrt, list) and all(isinstance(w, str) for w in wrt)):
            raise InputError('"wrt" must be a name or a list of names')
        tolerances = {key: check_tolerance(f'"{key}"', case.get(key)) for key in ("rtol", "atol")}
        options = {key: case.get(key, default) for key, default in (("dtype", "float32"), ("reduce", "sum"))}
        for key, value in options.items():
            if not isinstance(value, str):
                raise InputError(f'"{key}" must be a string, not {type(value).__name__}')
        check_fd = case.get("check_fd", False)
        if not isinstance(check_fd, bool):
            raise InputError(f'"check_fd" must be true or false, not {type(check_fd).__name__}')
        problem = self._prepare(expression, tree, inputs, wrt, options["dtype"], options["reduce"])
        differentiator = self._derivations.differentiator(expression, tree, problem.shapes, problem.labels)
        staged = Case(line, problem, tolerances["rtol"], tolerances["atol"], check_fd, differentiator)
        plan = plan_for(staged)
        if plan is None:
            return staged
        self._remember(case, inputs, plan)
        return Quick(line, plan, list(problem.inputs.values()))

    def _remember(self, case: dict[str, Any], inputs: dict[str, Any], plan: Plan) -> None:
        """Keep a plan for the lines to come with the same options and names and shapes of inputs, as
        :meth:`_quick` will look them up."""
        wrt = case.get("wrt")
        try:
            shapes = tuple((name, numbers_of(value)[0]) for name, value in inputs.items())
        except Exception:  # inputs the short way cannot read (text, files): their lines take the checked path
            return
        key = (
            case["expression"],
            case.get("dtype", "float32"),
            case.get("reduce", "sum"),
            tuple(wrt) if isinstance(wrt, list) else wrt,
            case.get("rtol"),
            case.get("atol"),
            *shapes,
        )
        self._plans[key] = plan
        if len(self._plans) > 4 * CACHE_SIZE:
            self._plans.popitem(last=False)

    def _prepare(
        self, expression: str, tree: Node, inputs: dict[str, Any], wrt: list[str] | None, dtype: str, reduce: str
    ) -> Problem:
        """:func:`~backcalc.analyses.problem.prepare`, remembering what depends only on the expression, the
        options and the names and shapes of the inputs (their checks, the output's shape, the work
        estimate): a line like one seen before only has its values checked and cast."""
        program = self._derivations.program(expression)
        if program is not None:  # a program of steps: checked in full (its steps are reported too)
            return prepare(expression, inputs, wrt, dtype, reduce, program=program)
        if dtype not in NUMPY_DTYPES or reduce not in REDUCTIONS:
            return prepare(expression, inputs, wrt, dtype, reduce, tree=tree)
        arrays = {self._name(name): to_array(value, str(name)) for name, value in inputs.items()}
        shapes = tuple((name, array.shape) for name, array in arrays.items())
        key = (expression, dtype, reduce, None if wrt is None else tuple(wrt), shapes)
        known = self._prepared.get(key)
        if known is None:
            problem = prepare(expression, arrays, wrt, dtype, reduce, tree=tree)
            if problem.labels:  # each line's labels are read and range-checked by prepare itself
                return problem
            self._prepared[key] = (list(problem.inputs), problem.wrt, problem.output_shape)
            if len(self._prepared) > 4 * CACHE_SIZE:
                self._prepared.popitem(last=False)
            return problem
        variables, chosen, shape = known
        largest = _LARGEST[dtype]
        if not all(-largest <= array.min() and array.max() <= largest for array in arrays.values()):
            check_range(arrays, dtype)  # an infinity is fine; the check says what is not
        cast = NUMPY_DTYPES[dtype]
        ordered = {name: arrays[name].astype(cast).astype(np.float64) for name in variables}
        return Problem(expression, tree, ordered, list(chosen), dtype, reduce, shape)

    def _name(self, name: Any) -> str:
        if name not in self._names:
            check_name(str(name))
            if len(self._names) < 4 * CACHE_SIZE:
                self._names.add(name)
        return str(name)

    def _check(self, expression: str, tree: Node, claims: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        from ..check.grade import check

        if not isinstance(claims, dict) or not all(isinstance(v, str) for v in claims.values()):
            raise InputError('"claims" must be an object {NAME: FORMULA}')
        if self._derivations.program(expression) is not None:
            return check(expression, claims, inputs or None).to_dict()
        return check(expression, claims, inputs or None, tree=tree).to_dict()

    def _error(self, line: int, exc: BaseException, kind: str | None = None) -> dict[str, Any]:
        if kind is None:  # RecursionError is a limit too
            kind = exc.kind if isinstance(exc, BackcalcError) else "limit"
        try:
            message = exc.one_line() if isinstance(exc, BackcalcError) else f"{type(exc).__name__}: {exc}"
        except Exception:  # an exception that cannot even say what it is still ends only its line
            message = type(exc).__name__
        if kind == "internal":
            message = f"internal error (a bug in backcalc, please report it): {message}"
        error: dict[str, Any] = {"kind": kind, "message": message}
        if isinstance(exc, BackcalcError) and exc.help:
            error["help"] = exc.help  # the fix to type, also at the end of the message
        return {"line": line, "error": error}


class _JsonError(InputError):
    """A line that is not JSON."""

    kind = "json"


def _dump(data: dict[str, Any]) -> str:
    from ...formats.jsonout import dumps

    try:
        text = dumps(data)
        text.encode("utf-8")  # a lone surrogate would fail only when written
    except UnicodeEncodeError:
        text = json.dumps(data, allow_nan=False)  # escaped: \udXXX is valid JSON
    return text
