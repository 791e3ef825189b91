"""Paper, typography and LaTeX (|x|, x², 2·x, √x, \\frac{a}{b}) rewritten in backcalc's language."""

from __future__ import annotations

import re

from ... import ops
from .calls import known_functions

# Characters of paper and word processors, with what to type instead.
_CHARACTERS = {
    "−": "-",  # minus sign
    "–": "-",  # en dash
    "—": "-",  # em dash
    "×": "*",
    "·": "*",
    "⋅": "*",
    "∙": "*",
    "⊙": "*",
    "∗": "*",
    "÷": "/",
    "π": "pi",
    "σ": "sigmoid",
    "＋": "+",
    "（": "(",
    "）": ")",
    "½": "0.5",
    "¼": "0.25",
    "¾": "0.75",
}


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")  # x₁ is the name x1


_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")


_ROOT = re.compile(r"√\s*([A-Za-z_][A-Za-z_0-9]*|\d+(?:\.\d*)?)")


def latex(source: str) -> str:
    text = re.sub(r"\\(?:left|right)\b", "", source)
    text = re.sub(r"\\(?:cdot|times|odot)\b", "*", text)
    for _ in range(3):
        text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", text)
        text = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", text)
        text = re.sub(r"\^\{([^{}]*)\}", r"**(\1)", text)
    text = re.sub(
        r"\\(" + "|".join(sorted({*ops.function_names(), *ops.constants()}, key=len, reverse=True)) + r")\b",
        r"\1",
        text,
    )
    if "{" in text or "}" in text:
        text = text.replace("{", "(").replace("}", ")")
    return text


def typography(source: str) -> str:
    text = _ROOT.sub(r"sqrt(\1)", source).replace("√", "sqrt")
    text = _SUPERSCRIPT_RUN.sub(lambda m: "**" + _wrap_power(m.group().translate(_SUPERSCRIPTS)), text)
    text = text.translate(_SUBSCRIPTS)
    for char, replacement in _CHARACTERS.items():
        text = text.replace(char, replacement)
    text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text)
    return text


def _wrap_power(exponent: str) -> str:
    return exponent if exponent.isdigit() else f"({exponent})"


def words(source: str) -> str:
    """Case (Exp, SIN, ReLU), a function without parentheses (sin x), an equation (y = x**2), a
    trailing semicolon."""
    functions = known_functions()

    def lower(match: re.Match[str]) -> str:
        name = match.group(1)
        return name.lower() if name not in functions and name.lower() in functions else name

    text = re.sub(r"(?<![\w.])([A-Za-z_]\w*)(?=\s*\()", lower, source)
    names = "|".join(sorted(functions, key=len, reverse=True))
    text = re.sub(
        rf"(?<![\w.])({names})\s+([A-Za-z_]\w*|\d+(?:\.\d*)?)(?![\w(.])",
        lambda m: m.group(0) if m.group(2) in functions else f"{m.group(1)}({m.group(2)})",
        text,
    )
    # exp^x and exp**x: the exponential of x (e^x is already in the language)
    text = re.sub(r"(?<![\w.])exp\s*(?:\^|\*\*)\s*([A-Za-z_]\w*|\d+(?:\.\d*)?|\([^()]*\))", _exp_of, text)
    # d/dx f, ∂/∂x f, lambda x: f, f' -- the expression itself is what to type: backcalc differentiates it
    text = re.sub(r"\A\s*(?:d|∂)\s*/\s*(?:d|∂)\s*[A-Za-z_]\w*\s+(?=\S)", "", text)
    text = re.sub(r"\A\s*lambda\b[^:]*:\s*", "", text)
    text = re.sub(r"\A(.*?)\s*'\s*\Z", r"\1", text) if text.count("'") == 1 else text
    equation = re.fullmatch(r"\s*[A-Za-z_]\w*(?:\s*\([^()=]*\))?\s*=(?!=)([^=]+)", text)
    if equation:
        text = equation.group(1).strip()
    return text.strip().rstrip(";").strip() if text.strip().endswith(";") else text


def _exp_of(match: re.Match[str]) -> str:
    argument = match.group(1)
    return f"exp{argument}" if argument.startswith("(") else f"exp({argument})"
