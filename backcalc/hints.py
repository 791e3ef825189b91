"""The fix for a refused expression, in the style of rustc's and ruff's ``help: try ...``.

People arrive with the spellings of Python (``x.pow(2)``, ``max(x, 0)``), NumPy and torch
(``np.exp(x)``, ``torch.sin(x)``, ``x.sum(dim=0)``), ``math`` (``math.log(x)``), paper (``|x|``,
``x²``, ``2·x``, ``√x``, ``−``) and LaTeX (``\\frac{a}{b}``). :func:`suggest` rewrites every such
spelling it knows into backcalc's language and returns the whole corrected expression, when the
rewrite parses (the parser passes itself in, and attaches the fix to its error)::

    >>> from backcalc.parser import parse
    >>> suggest("x.pow(2) + np.exp(x)", parse)
    "try 'x**2 + exp(x)'"
    >>> suggest("max(x, 0)", parse)
    "try 'relu(x)'"
    >>> suggest("|x| − 1", parse)
    "try 'abs(x) - 1'"

No dependencies beyond the standard library and the language's own name lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import ops
from .errors import BackcalcError

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

# Module prefixes of libraries whose functions people type: np.exp, torch.nn.functional.relu, ...
_MODULE = (
    r"(?:torch\.nn\.functional|nn\.functional|torch\.special|torch\.linalg|np\.linalg|numpy\.linalg|"
    r"scipy\.special|jax\.numpy|jax\.nn|tf\.math|tf\.nn|numpy|np|torch|math|cmath|jnp|sympy|sp|F|tf|special)\."
)
_MODULE_NAME = re.compile(_MODULE + r"([A-Za-z_][A-Za-z_0-9]*)")

# Other names for the language's functions.
_SYNONYMS = {
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arcsinh": "asinh",
    "expit": "sigmoid",
    "logistic": "sigmoid",
    "absolute": "abs",
    "fabs": "abs",
    "t": "transpose",
    "permute": "transpose",
    "frobenius_norm": "norm",
    "vector_norm": "norm",
    "inner": "dot",
    "vdot": "dot",
    "special_expit": "sigmoid",
}

_KEYWORD_ARGUMENTS = {"dim", "axis", "keepdim", "keepdims", "dtype", "out", "ord", "p", "min", "max", "input"}


def _functions() -> set[str]:
    return set(ops.function_names())


def _canonical(name: str) -> str:
    record = ops.function(name)
    return record.name if record is not None else name


def _arguments(name: str) -> tuple[int, int]:
    """How many arguments a function of the language takes: (fewest, most)."""
    record = ops.function(name)
    if record is None:
        return (1, 1)
    return (record.arity + record.needs_dim, record.arity + record.takes_dim)


def _atom(text: str) -> str:
    """``text`` as an operand of ``**`` or ``@``: in parentheses unless it is a name, a number or a call."""
    text = text.strip()
    if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?", text):
        return text
    if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*\(.*\)", text) and _closing(text, text.index("(")) == len(text) - 1:
        return text
    if text.startswith("(") and _closing(text, 0) == len(text) - 1:
        return text
    return f"({text})"


def _closing(text: str, open_at: int) -> int | None:
    """The index of the parenthesis that closes the one at ``open_at``."""
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return None


def _split(arguments: str) -> list[str]:
    """Top-level comma-separated arguments."""
    parts, depth, current = [], 0, ""
    for char in arguments:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _is_zero(text: str) -> bool:
    return re.fullmatch(r"0+(?:\.0*)?", text.strip()) is not None


def _call(name: str, arguments: list[str]) -> str | None:
    """The language's spelling of the call ``name(arguments)`` (keyword arguments included), or None."""
    positional = [a for a in arguments if not re.match(r"[A-Za-z_]\w*\s*=(?!=)", a)]
    keywords = {
        m.group(1): m.group(2).strip() for a in arguments if (m := re.match(r"([A-Za-z_]\w*)\s*=(?!=)(.*)", a, re.S))
    }
    lowered = name.lower()
    canonical = _SYNONYMS.get(lowered, _canonical(lowered))
    functions = _functions()
    if canonical in ("pow", "power", "float_power") and len(positional) == 2:
        return f"{_atom(positional[0])}**{_atom(positional[1])}"
    if canonical == "square" and len(positional) == 1:
        return f"{_atom(positional[0])}**2"
    if canonical in ("matmul", "mm", "bmm", "mv") and len(positional) == 2:
        return f"{_atom(positional[0])} @ {_atom(positional[1])}"
    if canonical in ("max", "maximum", "fmax", "min", "minimum", "fmin", "clamp", "clip", "clamp_min"):
        return _bounded(canonical, positional, keywords)
    if canonical in ("log2", "log10") and len(positional) == 1:
        return f"log({positional[0]})/log({canonical[3:]})"
    if canonical == "log1p" and canonical not in functions and len(positional) == 1:
        return f"log(1 + {positional[0]})"
    if canonical == "expm1" and canonical not in functions and len(positional) == 1:
        return f"exp({positional[0]}) - 1"
    if canonical in ("log_softmax", "logsoftmax") and canonical not in functions and len(positional) == 1:
        return f"log(softmax({positional[0]}))"
    if canonical in ("logsigmoid", "log_sigmoid") and len(positional) == 1:
        return f"log(sigmoid({positional[0]}))"
    if canonical in ("rsqrt",) and len(positional) == 1:
        return f"1/sqrt({positional[0]})"
    if canonical == "item" and len(positional) == 1:
        return positional[0]
    if canonical == "transpose" and positional:
        return f"{_atom(positional[0])}.T"
    if canonical not in functions:
        return None
    fewest, most = _arguments(canonical)
    dim = keywords.get("dim", keywords.get("axis"))
    if dim is not None and most >= 2 and len(positional) == 1:
        positional.append(dim)
    if not fewest <= len(positional) <= most:
        if len(positional) > most and most == 1:
            positional = positional[:1]  # softmax(x, 0), norm(x, 2): the language's takes no dimension
        else:
            return None
    return f"{canonical}({', '.join(positional)})"


def _bounded(name: str, positional: list[str], keywords: dict[str, str]) -> str | None:
    """max(x, 0) is relu(x); min(x, 0) is -relu(-x); clamp(x, min=0) is relu(x)."""
    functions = _functions()
    lower = keywords.get("min", keywords.get("a_min"))
    upper = keywords.get("max", keywords.get("a_max"))
    if name in ("clamp", "clip") and len(positional) == 3:
        lower, upper = positional[1], positional[2]
        positional = positional[:1]
    if name == "clamp_min" and len(positional) == 2:
        lower, positional = positional[1], positional[:1]
    if name in ("clamp", "clip", "clamp_min") and len(positional) == 1:
        if lower is not None and _is_zero(lower) and upper in (None, "None"):
            return f"relu({positional[0]})"
        if "clamp" in functions and lower is not None and upper not in (None, "None"):
            return f"clamp({positional[0]}, {lower}, {upper})"
        return None
    if len(positional) == 1 and name in ("max", "min"):
        # A reduction: the language has no max; logsumexp is its smooth, differentiable stand-in.
        return f"logsumexp({positional[0]})" if name == "max" else f"-logsumexp(-{_atom(positional[0])})"
    if len(positional) != 2:
        return None
    a, b = positional
    if _is_zero(b) or _is_zero(a):
        other = a if _is_zero(b) else b
        return f"relu({other})" if name.startswith(("max", "fmax")) else f"-relu(-{_atom(other)})"
    wanted = "maximum" if name.startswith(("max", "fmax")) else "minimum"
    if wanted in functions:
        return f"{wanted}({a}, {b})"
    if wanted == "maximum":
        return f"relu({a} - {_atom(b)}) + {_atom(b)}"
    return f"{_atom(a)} - relu({a} - {_atom(b)})"


_Edit = tuple[int, int, str]


def _calls(source: str) -> list[_Edit]:
    """Module-qualified calls (np.exp(x)), method calls (x.pow(2)) and calls of foreign names (max(x, 0))."""
    edits: list[_Edit] = []
    functions = _functions()
    for match in re.finditer(r"(?<![\w.])(" + _MODULE + r")?([A-Za-z_][A-Za-z_0-9]*)\s*\(", source):
        name = match.group(2)
        close = _closing(source, match.end() - 1)
        if close is None:
            continue
        arguments = _split(source[match.end() : close])
        if not match.group(1) and name in functions and not any(re.match(r"\w+\s*=(?!=)", a) for a in arguments):
            continue
        replacement = _call(name, arguments)
        if replacement is not None and (match.group(1) or replacement != source[match.start() : close + 1]):
            edits.append((match.start(), close + 1, replacement))
    for match in re.finditer(r"\.([A-Za-z_][A-Za-z_0-9]*)\s*\(", source):
        if match.group(1) == "T":
            close = _closing(source, match.end() - 1)
            if close is not None and not source[match.end() : close].strip():
                edits.append((match.start(), close + 1, ".T"))
            continue
        start = _operand_start(source, match.start())
        close = _closing(source, match.end() - 1)
        if start is None or close is None or _MODULE_NAME.match(source, start):
            continue
        operand = source[start : match.start()]
        replacement = _call(match.group(1), [operand, *_split(source[match.end() : close])])
        if replacement is not None:
            edits.append((start, close + 1, replacement))
    for match in _MODULE_NAME.finditer(source):
        # A module's constant (np.pi, math.e) or a function named without its call.
        name = match.group(1)
        after = source[match.end() :].lstrip()
        if ops.is_constant_name(name) and not after.startswith("("):
            edits.append((match.start(), match.end(), name))
    return edits


def _operand_start(source: str, dot: int) -> int | None:
    """Where the operand before ``.method(`` starts: a name, a number, or a parenthesised group (with
    the name of the function it calls, if any)."""
    index = dot
    if index > 0 and source[index - 1] == ")":
        depth = 0
        for index in range(dot - 1, -1, -1):
            depth += source[index] == ")"
            depth -= source[index] == "("
            if depth == 0:
                break
        else:
            return None
        while index > 0 and (source[index - 1].isalnum() or source[index - 1] == "_"):
            index -= 1
        return index
    while index > 0 and (source[index - 1].isalnum() or source[index - 1] in "_."):
        index -= 1
    return index if index < dot else None


def _latex(source: str) -> str:
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


def _typography(source: str) -> str:
    text = _ROOT.sub(r"sqrt(\1)", source).replace("√", "sqrt")
    text = _SUPERSCRIPT_RUN.sub(lambda m: "**" + _wrap_power(m.group().translate(_SUPERSCRIPTS)), text)
    text = text.translate(_SUBSCRIPTS)
    for char, replacement in _CHARACTERS.items():
        text = text.replace(char, replacement)
    text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text)
    return text


def _wrap_power(exponent: str) -> str:
    return exponent if exponent.isdigit() else f"({exponent})"


def _words(source: str) -> str:
    """Case (Exp, SIN, ReLU), a function without parentheses (sin x), an equation (y = x**2), a
    trailing semicolon."""
    functions = _functions()

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


def _apply(source: str, edits: list[_Edit]) -> str:
    text, last = [], 0
    for start, end, replacement in sorted(edits):
        if start < last:
            continue  # overlapping (a call inside a call): the next round rewrites it
        text.append(source[last:start])
        text.append(replacement)
        last = end
    text.append(source[last:])
    return "".join(text)


_REWRITES: list[Callable[[str], str]] = [
    _latex,
    _typography,
    _words,
    lambda s: _apply(s, _calls(s)),
]


def rewrite(source: str) -> str:
    """``source`` with every foreign spelling :mod:`hints` knows replaced by the language's."""
    text = source
    for _ in range(4):  # nested spellings (np.exp(x.sum())) take a round each
        before = text
        for step in _REWRITES:
            text = step(text)
        if text == before:
            break
    return text


_busy = False


def _parses(text: str, parse: Callable[[str], object]) -> bool:
    try:
        parse(text)
    except (BackcalcError, RecursionError):
        return False
    return True


def _quote(text: str) -> str:
    return f'"{text}"' if "'" in text else f"'{text}'"


def suggest(
    source: str, parse: Callable[[str], object], start: int = 0, end: int | None = None, message: str = ""
) -> str | None:
    """``try '...'``: the expression as the language spells it, or None when no known fix parses
    (``parse`` is the parser itself, passed in by it: this module sits below the parser)."""
    global _busy
    if _busy or not isinstance(source, str) or not source.strip() or len(source) > 2000:
        return None
    _busy = True  # parsing the candidate may raise ParseErrors, which must not ask for hints again
    try:
        return _suggest(source, parse, start, end if end is not None else start + 1, message)
    finally:
        _busy = False


def _suggest(source: str, parse: Callable[[str], object], start: int, end: int, message: str) -> str | None:
    candidate = rewrite(source)
    if candidate == source and message.startswith("missing operator before") and start > 0:
        # Two operands side by side (x y, (x+1)(x-1)): the product was meant.
        candidate = source[:start].rstrip() + "*" + source[start:]
    if candidate == source and message.startswith("expected ')'") and source.count("(") > source.count(")"):
        candidate = source.rstrip() + ")" * (source.count("(") - source.count(")"))
    if candidate != source and _parses(candidate, parse):
        if len(candidate) <= 70:
            return f"try {_quote(candidate)}"
        return f"try {_quote(candidate[:67] + '...')}"
    return None


def missing_name(missing: list[str], given: list[str]) -> str | None:
    """A value given under another case (``X`` in the expression, ``x=`` on the command line)."""
    for name in missing:
        for other in given:
            if other != name and other.lower() == name.lower():
                return f"names are case-sensitive: try {name}=... instead of {other}=..."
    return None


def wrt_hint(name: str, inputs: list[str]) -> str | None:
    """``--wrt X`` for the input ``x``, or a near miss: the --wrt to type."""
    import difflib

    same = [other for other in inputs if other.lower() == name.lower()]
    near = same or difflib.get_close_matches(name, inputs, n=1, cutoff=0.6)
    return f"try --wrt {near[0]}" if near else None
