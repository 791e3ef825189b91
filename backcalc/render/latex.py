"""The explanation as LaTeX, for notes and slides: the graph's definitions, the local gradients, and
the chain rule for every node."""

from __future__ import annotations

import numpy as np

from ..analyses.explain import Explanation
from ..formats.numfmt import text


def _symbol(node_id: str) -> str:
    import sympy

    return sympy.latex(sympy.Symbol(node_id))


def _number(array: np.ndarray | None, dtype: str) -> str:
    if array is None:
        return ""
    array = np.asarray(array)
    if array.ndim == 0:
        return text(float(array), dtype)
    return r"\text{" + f"{dtype} tensor {list(array.shape)}" + "}"


def _fraction(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def explanation_latex(explanation: Explanation) -> str:
    dtype = explanation.dtype
    loss = r"\mathcal{L}"
    reduce = explanation.reduce
    out = [r"% backcalc: " + explanation.parsed, r"\begin{align*}"]
    for item in explanation.nodes:
        if item.node.op in ("input", "const"):
            continue
        out.append(f"  {_symbol(item.node.id)} &= {item.definition[1]} = {_number(item.value, dtype)} \\\\")
    root = _symbol(explanation.output.node.id)
    how = root if reduce is None else rf"\operatorname{{{reduce}}}({root})"
    out.append(f"  {loss} &= {how} = {text(explanation.loss, dtype)} \\\\[4pt]")
    for item in explanation.nodes:
        for child, local in item.local.items():
            if local.vjp:  # what the child receives: a vector-Jacobian product, over d(node)
                edge = rf"\overline{{{_symbol(child)}}} \mathrel{{+}}"
            else:
                edge = _fraction(_symbol(item.node.id), _symbol(child))
            out.append(f"  {edge} &= {local.latex} = {_number(local.value, dtype)} \\\\")
    out.append(r"  \\[-4pt]")
    for item in reversed(explanation.nodes):
        if item.grad is None or not item.contributions:
            continue
        me = _symbol(item.node.id)
        terms = " + ".join(
            _fraction(loss, _symbol(c.parent)) + _fraction(_symbol(c.parent), me) for c in item.contributions
        )
        out.append(f"  {_fraction(loss, me)} &= {terms} = {_number(item.grad, dtype)} \\\\")
    out[-1] = out[-1].rstrip(" \\")
    out.append(r"\end{align*}")
    return "\n".join(out)
