"""grad, explain, jacobian and hessian: the commands that differentiate one expression."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..errors import InputError
from .group import LIMITS_HINT, cli, exit_statuses
from .options import (
    ProblemArgs,
    emit_json,
    emit_option,
    emit_rich,
    emitted,
    full_option,
    problem_options,
    status_of,
)

_AGREE = "the gradients agree (or differ only at a kink, pole or edge: reported)"

_GRAD_EPILOG = (
    """\b
Examples:
  backcalc "x**2" x=4
  backcalc "(w*x - y)**2" w=1 x=1 y=2 --wrt w
  backcalc "x**3 + x**2" "x=[[2,3,1],[4,5,3],[7,6,4]]"
  backcalc "log(x)" "x=[[2,6],[3,7]]" --json | jq .gradients.x.symbolic
  backcalc "tanh(x)*log(x)" x=@data.npy --reduce mean
  echo "x**2 + y" | backcalc - x=3 y=1
  echo "[[1, 2], [3, 4]]" | backcalc "sum(x**2)" x=@-
  backcalc "y_hat = w*x; s = y_hat - y; loss = s**2" w=1 x=1 y=2
  backcalc @net.bc W=@W.npy x=@x.npy --json | jq .intermediates.h.autograd

EXPRESSION may be a program of named steps (NAME = EXPRESSION, separated by newlines or ;, the
last one the output; # comments), from a file with @FILE, or from standard input with -: every
step then gets d loss / d step too, backprop's formula beside torch's retain_grad.

Values: NAME=4, NAME=[[1,2],[3,4]] (JSON or Python list syntax), NAME=@file.json, NAME=@file.npy,
NAME=@- (JSON from standard input). Integers become floats of --dtype; booleans, strings and nulls
are refused. Large tensors are shown in part (said so); --full shows every element.

Code export: --emit numpy (or torch) prints only a Python file that needs nothing of backcalc:
loss(**inputs) and gradient(**inputs) from backprop's formulas in matrix notation (the program's steps
as local assignments), for inputs of the given shapes; python FILE prints both at the given inputs.
--emit with --json is a usage error (exit 2).

\b
  backcalc grad "sum(tanh(W@x))" "W=[[1,2]]" "x=[1,-1]" --emit numpy > f.py
  python f.py
"""
    + exit_statuses(_AGREE, "symbolic and autograd disagree")
    + LIMITS_HINT
)


@cli.command(
    "grad",
    context_settings={"ignore_unknown_options": True},
    epilog=_GRAD_EPILOG,
    short_help="Gradient of the loss: symbolic (sympy) beside autograd (torch). The default.",
)
@problem_options
@click.option("--check-fd", is_flag=True, help="Add central finite differences (float64) as a third witness.")
@click.option("--simplify", is_flag=True, help="Simplify the shown formulas with sympy (2 s budget each).")
@full_option
@emit_option
def grad(args: ProblemArgs, check_fd: bool, simplify: bool, full: bool, emit: str | None) -> int:
    """Gradient of EXPRESSION's loss, symbolic (sympy) beside autograd (torch).

    EXPRESSION uses numbers, names, + - * / ** (or ^), parentheses, implicit products after a number
    (2x, 3(x+1)), the constants pi and e, the element-wise functions exp log ln log1p expm1 sqrt abs
    sign heaviside sin cos tan asin acos atan sinh cosh tanh sigmoid relu softplus maximum minimum
    clamp, the activations erf gelu silu leaky_relu elu softsign hardtanh, the tensor operations @
    (matmul), .T, transpose, outer, unsqueeze, dot, norm, softmax, log_softmax, logsumexp and the
    reductions sum mean max min amax amin var std prod cumsum (each with an optional dim, and
    keepdim=True), the losses mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
    binary_cross_entropy_with_logits (reduction="mean"|"sum"|"none"), the linear algebra trace
    det logdet slogdet inv solve diag eye(n) kron, and the layers linear layer_norm batch_norm
    dropout conv1d conv2d max_pool2d avg_pool2d. Every other name is an input. `backcalc repl`'s
    help lists every function.
    """
    if emit:
        return emitted(args, emit, "grad")
    from ..analyses.gradient import compute

    result = compute(args.problem(), args.rtol, args.atol, check_fd=check_fd, simplify=simplify)
    if args.as_json:
        emit_json(result.to_dict())
    else:
        from ..render.terminal import render_gradient

        emit_rich(lambda console: render_gradient(result, console, full))
    return status_of(result.verdict)


_EXPLAIN_EPILOG = """\b
Examples:
  backcalc explain "(w*x - y)**2" w=1 x=1 y=2
  backcalc explain "w*x + w" w=2 x=3 --json | jq '.nodes[] | {id, grad}'
  backcalc explain "tanh(w*x + b)" w=0.5 x=2 b=0.1 --dot g.dot --svg g.svg
  backcalc explain "x**3 + x**2" x=2 --latex
  backcalc explain "y_hat = w*x; s = y_hat - y; loss = s**2" w=1 x=1 y=2

EXPRESSION may be a program of named steps (NAME = EXPRESSION, separated by newlines or ;, the last
one the output; # comments), from a file with @FILE, or from standard input with -. A step's node is
named by the step (inner nodes stay n1, n2, ...), and the local gradients are written in the names.
"""
_EXPLAIN_EPILOG += (
    exit_statuses(
        "the chain rule matches autograd at every node (or differs at an edge)",
        "the chain rule and autograd disagree at some node",
    )
    + LIMITS_HINT
)


@cli.command(
    "explain",
    context_settings={"ignore_unknown_options": True},
    epilog=_EXPLAIN_EPILOG,
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
    from ..analyses.explain import explain

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


_HOW = """
The symbolic side is a formula in matrix notation ("formula" in the JSON: A + A.T), by forward mode
over the expression (the Hessian: over its gradient formula; for one --wrt input), evaluated with
NumPy at any size; where an operation has no rule yet, sympy element by element. torch checks it
(torch.autograd.functional.jacobian and .hessian) entry by entry up to 10,000 entries, and beyond by
products with 3 seeded random vectors ("checked_by": "hessian-vector products").
"""

_JACOBIAN_EPILOG = (
    """\b
Examples:
  backcalc jacobian "W@x" "W=[[1,2],[3,4],[5,6]]" "x=[1,-1]" --wrt x
  backcalc jacobian "softmax(z)" "z=[1,2,3]" --json | jq .jacobian.z.autograd

The Jacobian of input NAME has the output's dimensions, then NAME's. It is of the output itself,
so jacobian has no --reduce.
"""
    + _HOW
    + exit_statuses("the Jacobians agree", "they disagree")
    + LIMITS_HINT
)

_HESSIAN_EPILOG = (
    """\b
Examples:
  backcalc hessian "sum((W@x - y)**2)" "W=[[1,2],[3,4],[5,6]]" \\
      "x=[1,-1]" "y=[0,1,2]" --wrt x
  backcalc hessian "x**3*y" x=2 y=3 --dtype float64

The Hessian is of the loss (the output, or its sum or mean) over every element of the --wrt inputs
(default: all), flattened in order; "variables" in the JSON names them. --emit numpy|torch writes
hessian(**inputs) beside loss and gradient, from the Hessian's formula in matrix notation (one vector
--wrt input; where there is no such formula, or the input is a matrix, it is refused with exit 2).
"""
    + _HOW
    + exit_statuses("the Hessians agree", "they disagree")
    + LIMITS_HINT
)


def _derivatives_command(kind: str) -> Callable[..., int]:
    def command(args: ProblemArgs, full: bool, emit: str | None = None) -> int:
        if emit:
            return emitted(args, emit, kind)
        from ..analyses import derivatives as jacobian_hessian

        compute = jacobian_hessian.jacobian if kind == "jacobian" else jacobian_hessian.hessian
        result = compute(args.problem(), args.rtol, args.atol)
        if args.as_json:
            emit_json(result.to_dict())
        else:
            from ..render.derivatives_view import render_derivatives

            emit_rich(lambda console: render_derivatives(result, console, full))
        return status_of(result.verdict)

    return command


jacobian_command = cli.command(
    "jacobian",
    context_settings={"ignore_unknown_options": True},
    epilog=_JACOBIAN_EPILOG,
    short_help="The Jacobian of the output: sympy beside torch.",
    help="The Jacobian of EXPRESSION's output with respect to each input, symbolic beside autograd.",
)(problem_options(reduce=False)(full_option(_derivatives_command("jacobian"))))

hessian_command = cli.command(
    "hessian",
    context_settings={"ignore_unknown_options": True},
    epilog=_HESSIAN_EPILOG,
    short_help="The Hessian of the loss: sympy beside torch.",
    help="The Hessian of EXPRESSION's loss over the elements of the inputs, symbolic beside autograd.",
)(problem_options(full_option(emit_option(_derivatives_command("hessian")))))
