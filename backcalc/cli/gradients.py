"""grad, explain, jacobian and hessian: the commands that differentiate one expression."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..errors import ExitStatus, InputError
from . import _EPILOG, _LIMITS, ProblemArgs, cli, emit_json, emit_rich, problem_options, status_of


@cli.command(
    "grad",
    context_settings={"ignore_unknown_options": True},
    epilog=_EPILOG + _LIMITS,
    short_help="Gradient of the loss: symbolic (sympy) beside autograd (torch). The default.",
)
@problem_options
@click.option("--check-fd", is_flag=True, help="Add central finite differences (float64) as a third witness.")
@click.option("--simplify", is_flag=True, help="Simplify the shown formulas with sympy (2 s budget each).")
def grad(args: ProblemArgs, check_fd: bool, simplify: bool) -> int:
    """Gradient of EXPRESSION's loss, symbolic (sympy) beside autograd (torch).

    EXPRESSION uses numbers, names, + - * / ** (or ^), parentheses, implicit products after a number
    (2x, 3(x+1)), the constants pi and e, the element-wise functions exp log ln sqrt abs sin cos
    tan asin acos atan sinh cosh tanh sigmoid relu softplus, and the tensor operations @ (matmul),
    .T, transpose, sum, mean (each with an optional dim), logsumexp, softmax, dot and norm. Every
    other name is an input.
    """
    from ..api import compute

    result = compute(args.problem(), args.rtol, args.atol, check_fd=check_fd, simplify=simplify)
    if args.as_json:
        emit_json(result.to_dict())
    else:
        from ..render.terminal import render_gradient

        emit_rich(lambda console: render_gradient(result, console))
    return status_of(result.verdict)


_EXPLAIN_EPILOG = """\b
Examples:
  backcalc explain "(w*x - y)**2" w=1 x=1 y=2
  backcalc explain "w*x + w" w=2 x=3 --json | jq '.nodes[] | {id, grad}'
  backcalc explain "tanh(w*x + b)" w=0.5 x=2 b=0.1 --dot graph.dot --svg graph.svg
  backcalc explain "x**3 + x**2" x=2 --latex
"""


@cli.command(
    "explain",
    context_settings={"ignore_unknown_options": True},
    epilog=_EXPLAIN_EPILOG + _LIMITS,
    short_help="The backward pass step by step: graph, local gradients, chain rule.",
)
@problem_options
@click.option(
    "--dot", "dot_file", type=click.Path(dir_okay=False, writable=True), help="Write the graph as Graphviz DOT."
)
@click.option(
    "--svg",
    "svg_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Render the graph to SVG (needs Graphviz's dot).",
)
@click.option(
    "--png",
    "png_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Render the graph to PNG (needs Graphviz's dot).",
)
@click.option("--latex", is_flag=True, help="Print the local gradients and the chain rule as LaTeX.")
def explain_command(
    args: ProblemArgs,
    dot_file: str | None,
    svg_file: str | None,
    png_file: str | None,
    latex: bool,
) -> int:
    """The backward pass of EXPRESSION step by step: the graph as typed, each node's forward value,
    the local gradient of every edge, and the chain rule down to the inputs, each node checked against
    torch's own gradient (retain_grad).
    """
    from ..render import graphviz

    if (svg_file or png_file) and not graphviz.dot_program():
        raise InputError(
            "--svg and --png need Graphviz's `dot` program, which is not installed "
            "(apt-get install graphviz); --dot FILE writes the graph without it"
        )
    problem = args.problem()  # input errors first, before sympy and torch load
    from ..explain import explain

    explanation = explain(problem, args.rtol, args.atol)
    if dot_file or svg_file or png_file:
        source = graphviz.to_dot(explanation)
        if dot_file:
            graphviz.write_text(dot_file, source)
        for path, fmt in ((svg_file, "svg"), (png_file, "png")):
            if path:
                graphviz.render(source, path, fmt)
    if args.as_json:
        emit_json(explanation.to_dict())
    elif latex:
        from ..render.latex import explanation_latex

        click.echo(explanation_latex(explanation))
    else:
        from ..render.explain_view import render_explanation

        emit_rich(lambda console: render_explanation(explanation, console))
    return status_of(explanation.verdict)


_DERIVATIVES_EPILOG = """\b
Examples:
  backcalc jacobian "W@x" "W=[[1,2],[3,4],[5,6]]" "x=[1,-1]" --wrt x
  backcalc jacobian "softmax(z)" "z=[1,2,3]" --json | jq .jacobian.z.autograd
  backcalc hessian "sum((W@x - y)**2)" "W=[[1,2],[3,4],[5,6]]" "x=[1,-1]" "y=[0,1,2]" --wrt x
  backcalc hessian "x**3*y" x=2 y=3 --dtype float64

\b
The Jacobian of input NAME has the output's dimensions, then NAME's. The Hessian is of the loss
(the output, or its sum or mean) over every element of the --wrt inputs (default: all), flattened in
order; "variables" in the JSON names them. Both are computed by sympy element by element (each
element its own symbol) and by torch (torch.autograd.functional.jacobian, torch.func.hessian).

\b
Exit status: 0 they agree, 1 they disagree, 2 bad input or usage.
"""


def _derivatives_command(kind: str) -> Callable[..., int]:
    def command(args: ProblemArgs) -> int:
        from .. import jacobian_hessian

        compute = jacobian_hessian.jacobian if kind == "jacobian" else jacobian_hessian.hessian
        result = compute(args.problem(), args.rtol, args.atol)
        if args.as_json:
            emit_json(result.to_dict())
        else:
            from ..render.derivatives_view import render_derivatives

            emit_rich(lambda console: render_derivatives(result, console))
        return ExitStatus.OK if result.agree else ExitStatus.DISAGREE

    return command


jacobian_command = cli.command(
    "jacobian",
    context_settings={"ignore_unknown_options": True},
    epilog=_DERIVATIVES_EPILOG + _LIMITS,
    short_help="The Jacobian of the output: sympy beside torch.",
    help="The Jacobian of EXPRESSION's output with respect to each input, symbolic beside autograd.",
)(problem_options(_derivatives_command("jacobian")))

hessian_command = cli.command(
    "hessian",
    context_settings={"ignore_unknown_options": True},
    epilog=_DERIVATIVES_EPILOG + _LIMITS,
    short_help="The Hessian of the loss: sympy beside torch.",
    help="The Hessian of EXPRESSION's loss over the elements of the inputs, symbolic beside autograd.",
)(problem_options(_derivatives_command("hessian")))
