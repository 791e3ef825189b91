"""Other libraries' calls (NumPy, torch, math, Python) rewritten as backcalc's language spells them."""

from __future__ import annotations

import re

from ... import ops

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
    "inverse": "inv",
    "determinant": "det",
    "diagonal": "diag",
    "identity": "eye",
}


# x.max(1) is torch's (values, indices), not Python's max(x, 1): the parser says to write .values.
_PAIRS = ("max", "min")

_KEYWORD_ARGUMENTS = {"dim", "axis", "keepdim", "keepdims", "dtype", "out", "ord", "p", "min", "max", "input"}


def known_functions() -> set[str]:
    return set(ops.function_names())


def _canonical(name: str) -> str:
    record = ops.function(name)
    return record.name if record is not None else name


def _arguments(name: str) -> tuple[int, int]:
    """How many arguments a function of the language takes: (fewest, most)."""
    record = ops.function(name)
    if record is None:
        return (1, 1)
    return (record.arity + record.needs_dim, record.arity + record.takes_dim + len(record.positional_options()))


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
    functions = known_functions()
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
    return f"{canonical}({', '.join([*positional, *_options(canonical, keywords)])})"


def _options(name: str, keywords: dict[str, str]) -> list[str]:
    """The keyword arguments the function's record declares, kept (NumPy's keepdims as torch's keepdim)."""
    record = ops.function(name)
    declared = {option.name for option in record.options} if record is not None else set()
    renamed = {("keepdim" if key == "keepdims" else key): value for key, value in keywords.items()}
    return [f"{key}={value}" for key, value in renamed.items() if key in declared]


def _bound_not_dimension(name: str, arguments: list[str]) -> bool:
    """max(0, x), max(x, y), max(x, 0.5): Python's max of two values, which the language's max (a
    reduction, whose second argument is an integer dimension) refuses; maximum or relu was meant."""
    return name in ("max", "min") and len(arguments) == 2 and not re.fullmatch(r"\s*-?\d+\s*", arguments[1])


def _bounded(name: str, positional: list[str], keywords: dict[str, str]) -> str | None:
    """max(0, x) is relu(x); min(0, x) is -relu(-x); clamp(x, min=0) is relu(x)."""
    functions = known_functions()
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
        # A reduction (np.max(x, axis=1)): the language's own, with the dimension as an argument.
        dim = keywords.get("dim", keywords.get("axis"))
        return f"{name}({', '.join([positional[0], *([dim] if dim else []), *_options(name, keywords)])})"
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


Edit = tuple[int, int, str]


def calls(source: str) -> list[Edit]:
    """Module-qualified calls (np.exp(x)), method calls (x.pow(2)) and calls of foreign names (max(x, 0))."""
    edits: list[Edit] = []
    functions = known_functions()
    for match in re.finditer(r"(?<![\w.])(" + _MODULE + r")?([A-Za-z_][A-Za-z_0-9]*)\s*\(", source):
        name = match.group(2)
        close = _closing(source, match.end() - 1)
        if close is None:
            continue
        arguments = _split(source[match.end() : close])
        keywords = any(re.match(r"\w+\s*=(?!=)", a) for a in arguments)
        if not match.group(1) and name in functions and not keywords and not _bound_not_dimension(name, arguments):
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
        if start is None or close is None or _MODULE_NAME.match(source, start) or match.group(1) in _PAIRS:
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


def apply(source: str, edits: list[Edit]) -> str:
    text, last = [], 0
    for start, end, replacement in sorted(edits):
        if start < last:
            continue  # overlapping (a call inside a call): the next round rewrites it
        text.append(source[last:start])
        text.append(replacement)
        last = end
    text.append(source[last:])
    return "".join(text)
