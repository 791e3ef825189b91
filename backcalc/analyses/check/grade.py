"""Is a hand-derived gradient right? ``check`` compares a claimed formula for d(expression)/d(input)
with the true derivative: symbolically (sympy, within a time budget) and numerically, at the given
inputs and at random points of the domain. A claim is wrong only with a counterexample in hand, or
(matrix claims, :mod:`backcalc.analyses.check.numeric`) when its shape cannot be the input's."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ... import limits
from ...errors import BackcalcError, InputError, LimitError, ParseError
from ...language.parser import parse
from ...language.program import Program, parse_program
from ...language.tree import Node, substitute, to_text
from ...limits import deadline, recursion_room, run_budget
from ...numeric.numpy_eval import evaluate
from ..problem import backward, prepare
from .result import ATOL, GIVEN, RTOL, CheckResult, ClaimResult, Counterexample
from .truth import upstream_of

SAMPLES = 5  # random points a claim is checked at, besides the given inputs
_CANDIDATES = 200  # random draws to find that many points inside the domain

__all__ = ["ATOL", "RTOL", "CheckResult", "ClaimResult", "Counterexample", "check", "parse_claims"]


def parse_claims(expression_tree: Node, claims: Mapping[str, str], program: Program | None = None) -> dict[str, Node]:
    """Parse every claimed formula; each names an input of the expression (or a step of the program)
    and uses only its inputs and steps, and ``dNAME`` of the steps after it. A step named in a claim
    stands for the step's own node."""
    variables = expression_tree.variables() if program is None else program.variables()
    steps = {step.name: step.node for step in program.named} if program is not None else {}
    known = [*variables, *steps]
    if not claims:
        raise InputError("give at least one --claim NAME=FORMULA")
    trees = {}
    for name, text in claims.items():
        if name not in known:
            what, listed = ("input or step", "inputs and steps") if steps else ("input", "inputs")
            help = f"the left of = names the node: --claim {name[1:]}=..." if upstream_of(name, set(known)) else None
            raise InputError(
                f"claim for {name}: the expression has no {what} {name!r} ({listed}: {', '.join(known)})", help=help
            )
        try:
            tree = parse(text)
        except ParseError as exc:
            message = f"claim for {name}: {exc.message}"
            raise ParseError(message, exc.source, exc.start, exc.end, exc.help, subject="claim") from None
        _check_names(name, tree, known, steps)
        trees[name] = substitute(tree, steps) if steps else tree
    return trees


def _check_names(name: str, tree: Node, known: list[str], steps: Mapping[str, Node]) -> None:
    """A claim uses the inputs, the steps, and dM only for a step M after ``name`` (one that uses it):
    the gradients a backward pass has when it reaches ``name``, never its own."""
    for variable in tree.variables():
        if variable in known:
            continue
        upstream = upstream_of(variable, set(known))
        if upstream is None:
            near = difflib.get_close_matches(variable, [*known, *(f"d{k}" for k in known)], n=1, cutoff=0.6)
            raise InputError(
                f"claim for {name} uses {variable}, which the expression does not have",
                help=f"did you mean {near[0]}?" if near else None,
            )
        uses = upstream in steps and any(
            node.text == name if node.is_variable else node.name == name
            for node in steps[upstream].walk()
            if node is not steps[upstream]
        )
        if not uses:
            raise InputError(
                f"claim for {name} uses {variable}, the gradient of {upstream}, which does not come after {name}: "
                f"a claim may use dM only for a step M that uses {name} (its gradient is known before {name}'s)"
            )


def known_names(tree: Node, program: Program | None) -> set[str]:
    """The names a claim may use: the inputs, and a program's steps."""
    if program is None:
        return set(tree.variables())
    return {*program.variables(), *(step.name for step in program.named)}


@run_budget(limits.SYMBOLIC_SECONDS)
def check(
    expression: str,
    claims: Mapping[str, str],
    inputs: Mapping[str, Any] | None = None,
    *,
    samples: int = SAMPLES,
    seed: int = 0,
    tree: Node | None = None,
) -> CheckResult:
    """Check each claimed d(expression)/d(NAME) (the gradient of the expression's sum).

    Element-wise expressions and claims: sympy tries to prove the claim equal to its derivative, and
    the numbers are checked at the inputs (if given) and at random points. Where the expression or a
    claim mixes elements (``@``, reductions), the inputs give the shapes and are required; the check is
    numeric only (:mod:`backcalc.analyses.check.numeric`)."""
    program = parse_program(expression) if tree is None else None
    if program is not None:
        tree = program.output
        program = None if program.is_expression else program
    assert tree is not None
    claim_trees = parse_claims(tree, claims, program)
    mixes = tree.mixes_elements() or any(claim.mixes_elements() for claim in claim_trees.values())
    if mixes and not inputs:
        names = program.variables() if program is not None else tree.variables()
        raise InputError(
            "with @, .T, reductions or softmax the gradient's shape depends on the inputs: "
            f"give their values ({', '.join(f'{name}=VALUE' for name in names)})"
        )
    upstream = any(
        upstream_of(v, known_names(tree, program)) for claim in claim_trees.values() for v in claim.variables()
    )
    if mixes or program is not None or upstream:  # steps, upstream gradients: by backprop's formulas, at any size
        from .numeric import check_numerically

        names = program.variables() if program is not None else tree.variables()
        shaped = inputs or dict.fromkeys(names, 1.0)
        problem = prepare(expression, shaped, dtype="float64", tree=tree, program=program)
        results = check_numerically(problem, claim_trees, claims, samples, seed, bool(inputs))
        return CheckResult(expression, problem.parsed, results, program=program is not None)
    given = prepare(expression, inputs, dtype="float64", tree=tree).inputs if inputs else None
    results = _check_symbolically(tree, claim_trees, claims, given, samples, seed)
    return CheckResult(expression, to_text(tree), _with_numbers(expression, tree, claim_trees, claims, results, inputs))


def _with_numbers(
    expression: str,
    tree: Node,
    claim_trees: Mapping[str, Node],
    claims: Mapping[str, str],
    results: dict[str, ClaimResult],
    inputs: Mapping[str, Any] | None,
) -> dict[str, ClaimResult]:
    """sympy's verdicts, with the numbers (exact, approximate, max_abs_diff) and the diagnosis of a
    wrong claim from the numeric grading."""
    from .numeric import check_numerically

    try:
        problem = prepare(expression, inputs or dict.fromkeys(tree.variables(), 1.0), dtype="float64", tree=tree)
        numeric = check_numerically(problem, claim_trees, claims, SAMPLES, 0, bool(inputs))
    except BackcalcError:
        return results
    return {
        name: replace(
            result,
            numbers=numeric[name].numbers,
            diagnosis=None if result.right else numeric[name].diagnosis,
        )
        for name, result in results.items()
    }


def _check_symbolically(
    tree: Node,
    claim_trees: Mapping[str, Node],
    claims: Mapping[str, str],
    given: dict[str, np.ndarray] | None,
    samples: int,
    seed: int,
) -> dict[str, ClaimResult]:
    """Element-wise claims against sympy's derivative: a proof, and the numbers at the given inputs
    (if any) and at random points."""
    import sympy

    from ...ops.sympy_functions import elementary
    from ...symbolic import elementwise as symbolic

    names = tree.variables()
    differentiator = symbolic.Differentiator(tree, names)
    results = {}
    for name, claim_tree in claim_trees.items():
        actual, actual_fn = differentiator.derivative(name)
        with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SYMBOLIC_SECONDS, "reading the claim"):
            claimed = symbolic.to_sympy(claim_tree, differentiator.symbols)
            claimed_fn = symbolic.Compiled(claimed)
        equivalent = _equivalent(sympy, elementary(actual), elementary(claimed))
        points = [given] if given is not None else []
        points += _random_points(tree, differentiator, actual_fn, claimed_fn, samples, seed)
        counterexample = None
        for number, point in enumerate(points):
            at = GIVEN if given is not None and number == 0 else f"a random point (--seed {seed})"
            counterexample = _compare_at(point, differentiator, actual_fn, claimed_fn, tree, name, at)
            if counterexample:
                break
        if counterexample is not None:
            equivalent = False
        elif equivalent is False:
            equivalent = None  # no point tells them apart: trust the numbers, say sympy was unsure
        results[name] = ClaimResult(
            name,
            claims[name],
            to_text(claim_tree),
            symbolic.formula_text(actual),
            equivalent,
            len(points),
            counterexample,
        )
    return results


def _equivalent(sympy: Any, actual: Any, claimed: Any) -> bool | None:
    try:
        with recursion_room(limits.RECURSION_LIMIT), deadline(limits.SIMPLIFY_SECONDS, "symbolic comparison"):
            difference = sympy.simplify(actual - claimed)
    except LimitError:
        return None
    if difference == 0:
        return True
    return False if difference.is_number and difference.is_zero is False else None


def _random_points(
    tree: Node, differentiator: Any, actual_fn: Any, claimed_fn: Any, samples: int, seed: int
) -> list[dict[str, np.ndarray]]:
    """Up to ``samples`` random points of the expression's domain (its value is finite there) where
    both formulas are finite: half from (0.1, 3), where logs and roots are defined, half from (-3, 3)."""
    names = tree.variables()
    rng = np.random.default_rng(seed)
    low = np.where(np.arange(_CANDIDATES) % 2 == 0, 0.1, -3.0)
    draws = {name: rng.uniform(low, 3.0) for name in names}
    env = {differentiator.symbols[name]: draws[name] for name in names}
    finite = (
        np.isfinite(np.broadcast_to(actual_fn(env), (_CANDIDATES,)))
        & np.isfinite(np.broadcast_to(claimed_fn(env), (_CANDIDATES,)))
        & np.isfinite(np.broadcast_to(evaluate(tree, draws), (_CANDIDATES,)))
    )
    chosen = np.flatnonzero(finite)[:samples]
    return [{name: np.array(draws[name][i]) for name in names} for i in chosen]


def _compare_at(
    point: Mapping[str, np.ndarray],
    differentiator: Any,
    actual_fn: Any,
    claimed_fn: Any,
    tree: Node,
    name: str,
    at: str,
) -> Counterexample | None:
    env = {differentiator.symbols[n]: value for n, value in point.items()}
    shape = np.broadcast_shapes(*(np.shape(v) for v in point.values()))
    actual = np.broadcast_to(actual_fn(env), shape)
    claimed = np.broadcast_to(claimed_fn(env), shape)
    with np.errstate(all="ignore"):
        close = np.abs(claimed - actual) <= ATOL + RTOL * np.abs(actual)
    same = close | (np.isnan(actual) & np.isnan(claimed)) | (actual == claimed)
    if same.all():
        return None
    index = np.unravel_index(int(np.flatnonzero(~same)[0]), shape)
    scalars = {n: float(np.broadcast_to(v, shape)[index]) for n, v in point.items()}
    autograd = _autograd_at(tree, scalars, name)
    return Counterexample(scalars, float(claimed[index]), float(actual[index]), autograd, tuple(map(int, index)), at)


def _autograd_at(tree: Node, point: dict[str, float], name: str) -> float | None:
    """torch's own derivative at the counterexample, as a third opinion."""
    try:
        problem = prepare(str(tree), {n: np.array(v) for n, v in point.items()}, [name], "float64", tree=tree)
        passed = backward(problem)
    except InputError:
        return None
    return float(passed.gradients[name])
