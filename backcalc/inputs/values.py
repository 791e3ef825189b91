"""Input values: ``NAME=VALUE`` text, ``@file.json`` / ``@file.npy`` files and Python objects, each
checked and turned into a float64 numpy array (the caller casts it to the working dtype).

``@FILE`` reads only what the caller's :class:`~backcalc.inputs.files.FileAccess` allows: anywhere on the
command line, nothing by default in the library and in ``batch``.

Integers are converted to floats (an input used as a label or an index is made int64 again by
:func:`to_labels`, once the expression says so); booleans, strings, nulls, complex numbers and objects are refused,
as are ragged lists, empty tensors and anything over the bounds in :mod:`backcalc.limits`.
"""

from __future__ import annotations

import io
import keyword
import math
import numbers
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import limits, ops
from ..errors import InputError, LimitError
from .files import ANYWHERE, FileAccess, access_for, read_bytes
from .jsonin import loads, non_ascii_digit

if TYPE_CHECKING:
    import numpy as np

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_LITERAL_TOKEN = re.compile(
    r"\s*(?:(?P<number>[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<word>[+-]?[A-Za-z_]+)|(?P<punct>[][(),])|(?P<other>.))",
    re.DOTALL,
)
_SPECIAL = {"nan": math.nan, "inf": math.inf, "infinity": math.inf}
_REFUSED_WORDS = {
    "true": "booleans are not numbers",
    "false": "booleans are not numbers",
    "null": "null is not a number",
    "none": "None is not a number",
}
_OPEN = {"[": "]", "(": ")"}


def check_name(name: str) -> str:
    """Return ``name`` if it can name an input variable, else raise :class:`InputError`."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise InputError(f"{name!r} is not a valid input name (use letters, digits and '_')")
    if ops.is_constant_name(name):
        raise InputError(f"{name!r} is a constant of the language and cannot be given a value")
    if ops.function(name) is not None:
        raise InputError(f"{name!r} is a function of the language and cannot be given a value")
    return name


def split_assignment(text: str) -> tuple[str, str]:
    """Split ``NAME=VALUE`` into its name (checked) and its value text."""
    name, sep, value = text.partition("=")
    if not sep:
        raise InputError(f"expected NAME=VALUE, got {_short(text)!r}")
    name = name.strip()
    if not value.strip():
        raise InputError(f"{name}= has no value")
    return check_name(name), value.strip()


def parse_value(text: str, name: str = "value", files: FileAccess | None = None) -> np.ndarray:
    """A value typed by a user: a number, a nested list (JSON or Python syntax), or ``@FILE`` (read
    only if ``files`` allows it)."""
    if text.startswith("@"):
        return load_file(text[1:], name, files)
    if len(text) > limits.MAX_VALUE_TEXT:
        raise LimitError(
            f"{name}: value text is over {limits.MAX_VALUE_TEXT:,} characters; "
            "put it in a file (@file.json or @file.npy)"
        )
    return to_array(_parse_literal(text, name), name, trusted=True)


def load_file(path: str, name: str = "value", files: FileAccess | None = None) -> np.ndarray:
    """Load ``.npy`` (without pickles) or ``.json`` from a regular file that ``files`` allows."""
    if not path:
        raise InputError(f"{name}=@ names no file")
    if path == "-":
        if files is not ANYWHERE:  # in a batch line, standard input is the batch itself
            raise InputError(f"{name}=@- reads standard input, which only the command line may do")
        return _load_stdin(name)
    suffix = os.path.splitext(path)[1].lower()

    def check_suffix() -> None:
        if suffix not in (".npy", ".json"):
            raise InputError(f"{name}: {path!r} is neither .json nor .npy")

    data = read_bytes(path, name, files, check_suffix)
    if suffix == ".npy":
        return _load_npy(path, data, name)
    return _load_json(path, data, name)


def load_files(inputs: Mapping[str, Any], allow: str | os.PathLike[str] | FileAccess | None) -> dict[str, Any]:
    """``inputs`` with each ``"@FILE"`` text read as :func:`load_file` would, if ``allow`` (a folder)
    permits; with ``allow`` None they are left for :func:`to_array` to refuse."""
    access = access_for(allow)
    if access is None:
        return dict(inputs)
    return {
        name: parse_value(value, str(name), access) if isinstance(value, str) and value.startswith("@") else value
        for name, value in inputs.items()
    }


def check_tolerance(name: str, value: Any) -> float | None:
    """A tolerance (``rtol``, ``atol``) as a float, None for the default; refuses anything but a finite
    number >= 0 (nan would make every comparison false, inf every one true)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a finite number >= 0, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{name} must be a finite number >= 0, not {number}")
    return abs(number)  # -0.0 is 0


def check_range(arrays: Mapping[str, np.ndarray], dtype: str) -> None:
    """Refuse a finite value that the dtype cannot hold (``1e39`` in float32 would become inf)."""
    import numpy as np

    largest = float(np.finfo(dtype).max)
    for name, array in arrays.items():
        with np.errstate(invalid="ignore"):
            beyond = np.isfinite(array) & (np.abs(array) > largest)
        if beyond.any():
            value = array[beyond].flat[0]
            raise InputError(f"{name}: {value:g} is beyond {dtype}'s range (±{largest:.4g}); use --dtype float64")


def to_labels(array: np.ndarray, name: str) -> np.ndarray:
    """An input used as a class label or an index, as int64: refused unless every value is a whole
    number (``2.0`` is 2; ``2.5``, nan and inf are refused, naming the input)."""
    import numpy as np

    with np.errstate(invalid="ignore"):
        whole = np.isfinite(array) & (np.floor(array) == array) & (np.abs(array) < 2.0**53)
    if not whole.all():
        value = array[~whole].flat[0]
        raise InputError(f"{name} is used as an index or class label and must hold whole numbers, not {value:g}")
    return array.astype(np.int64)


def to_array(obj: Any, name: str = "value", *, trusted: bool = False, files: FileAccess | None = None) -> np.ndarray:
    """Turn a number, nested list, numpy array, torch tensor or value text into a checked float64 array.

    ``trusted`` skips the per-element type check for lists whose leaves are known to be floats. Text
    ``"@FILE"`` is read only if ``files`` allows it.
    """
    import numpy as np

    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor, without importing torch
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, str):
        return parse_value(obj, name, files)
    if isinstance(obj, (bool, np.bool_)):
        raise InputError(f"{name}: booleans are not numbers")
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "iuf":
            raise InputError(f"{name}: arrays of {obj.dtype} are not supported (integers or floats only)")
        return _checked(obj.astype(np.float64), name)
    if isinstance(obj, (int, float, np.integer, np.floating)):
        try:
            return _checked(np.array(float(obj)), name)
        except OverflowError:
            raise InputError(
                f"{name}: an integer of about {int(obj).bit_length() * 0.30103:.0f} digits is too large for a float"
            ) from None
    if not isinstance(obj, (list, tuple)):
        raise InputError(f"{name}: expected a number or a nested list of numbers, got {type(obj).__name__}")
    depth, inner = 0, obj
    while isinstance(inner, (list, tuple)) and inner:  # NumPy itself stops at 32 dimensions with a RuntimeError
        depth, inner = depth + 1, inner[0]
        if depth > limits.MAX_NDIM:
            raise LimitError(f"{name}: more than {limits.MAX_NDIM} dimensions; the limit is {limits.MAX_NDIM}")
    if trusted:
        try:
            return _checked(np.array(obj, dtype=np.float64), name)
        except ValueError:
            raise InputError(f"{name}: ragged nested list (rows of different lengths)") from None
    try:
        cells = np.array(obj, dtype=object)
    except ValueError:
        raise InputError(f"{name}: ragged nested list (rows of different lengths)") from None
    _check_leaves(cells, name)
    try:
        return _checked(cells.astype(np.float64), name)
    except OverflowError:
        raise InputError(f"{name}: an integer is too large for a float") from None


def _check_leaves(cells: np.ndarray, name: str) -> None:
    for leaf in cells.flat:
        kind = type(leaf)
        if kind is float or kind is int:
            continue
        if isinstance(leaf, (list, tuple)):
            raise InputError(f"{name}: ragged nested list (rows of different lengths)")
        if isinstance(leaf, bool):
            raise InputError(f"{name}: booleans are not numbers")
        if leaf is None:
            raise InputError(f"{name}: null is not a number")
        if isinstance(leaf, str):
            raise InputError(f"{name}: strings are not numbers ({_short(leaf)!r})")
        if not isinstance(leaf, (int, float)):
            raise InputError(f"{name}: {type(leaf).__name__} is not a number")


def _checked(array: np.ndarray, name: str) -> np.ndarray:
    if array.size == 0:
        raise InputError(f"{name}: empty tensor (shape {list(array.shape)})")
    if array.ndim > limits.MAX_NDIM:
        raise LimitError(f"{name}: {array.ndim} dimensions; the limit is {limits.MAX_NDIM}")
    if array.size > limits.MAX_ELEMENTS:
        raise LimitError(f"{name}: {array.size:,} elements; the limit is {limits.MAX_ELEMENTS:,}")
    return array


def _parse_literal(text: str, name: str) -> Any:
    """Numbers and nested lists, built with an explicit stack so that no nesting overflows Python's."""
    stack: list[list[Any]] = [[]]
    closers: list[str] = []
    expect_item = True  # an item (or a closing bracket) may come next, not a comma
    text = text.strip()
    pos = 0
    while pos < len(text):
        match = _LITERAL_TOKEN.match(text, pos)
        assert match is not None
        pos = match.end()
        kind = match.lastgroup
        token = match.group(kind) if kind else ""
        if kind in ("number", "word"):
            if not expect_item:
                raise InputError(f"{name}: expected ',' before {token!r}")
            stack[-1].append(_number(token, name))
            expect_item = False
        elif kind == "punct" and token in _OPEN:
            if not expect_item:
                raise InputError(f"{name}: expected ',' before {token!r}")
            if len(closers) >= limits.MAX_NDIM:
                raise LimitError(f"{name}: nested deeper than {limits.MAX_NDIM} levels")
            stack.append([])
            closers.append(_OPEN[token])
        elif kind == "punct" and token in ")]":
            if not closers or closers[-1] != token:
                raise InputError(f"{name}: unmatched {token!r}")
            closers.pop()
            items = stack.pop()
            stack[-1].append(items)
            expect_item = False
        elif kind == "punct" and token == ",":
            if expect_item or not closers:
                raise InputError(f"{name}: unexpected ','")
            expect_item = True
        else:
            what = "strings are not numbers" if token in "'\"" else f"unexpected character {token!r}"
            if token.isdigit():
                what = non_ascii_digit(text) or what
            raise InputError(f"{name}: {what} in {_short(text)!r}")
    if closers:
        raise InputError(f"{name}: missing {closers[-1]!r} at the end")
    top = stack[0]
    if len(top) != 1:
        raise InputError(f"{name}: expected one number or one list, got {_short(text)!r}")
    return top[0]


def _number(token: str, name: str) -> float:
    word = token.lstrip("+-").lower()
    if word in _REFUSED_WORDS:
        raise InputError(f"{name}: {_REFUSED_WORDS[word]}")
    if word in _SPECIAL:
        return -_SPECIAL[word] if token.startswith("-") else _SPECIAL[word]
    if not token[-1:].isdigit() and token[-1:] != ".":
        raise InputError(f"{name}: {token!r} is not a number")
    value = float(token)
    if math.isinf(value):
        raise InputError(f"{name}: {token} is too large for a float")
    return value


def _load_npy(path: str, data: bytearray, name: str) -> np.ndarray:
    import numpy as np

    fmt = np.lib.format
    size = len(data)
    try:
        handle = io.BytesIO(bytes(data[: 1 << 20]))  # the header is read from a copy of the start only
        version = fmt.read_magic(handle)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran_order, dtype = reader(handle)
        offset = handle.tell()
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise InputError(f"{name}: {path!r} is not a valid .npy file ({_short(str(exc), 80)})") from None
    if dtype.hasobject or dtype.kind not in "iuf":
        raise InputError(f"{name}: {path!r} holds {dtype} data; only integers and floats are read (no pickles)")
    count = math.prod(shape)
    if len(shape) > limits.MAX_NDIM:
        raise LimitError(f"{name}: {path!r} has {len(shape)} dimensions; the limit is {limits.MAX_NDIM}")
    if count > limits.MAX_ELEMENTS:
        raise LimitError(f"{name}: {path!r} holds {count:,} elements; the limit is {limits.MAX_ELEMENTS:,}")
    if size < offset + count * dtype.itemsize:
        raise InputError(f"{name}: {path!r} is truncated: its header promises {shape} but the data is short")
    # The data straight from the bytes read: no np.load, so no pickle can ever be involved.
    try:
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        array = flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)
    except ValueError as exc:
        raise InputError(f"{name}: {path!r} could not be read ({_short(str(exc), 80)})") from None
    return to_array(array, name)


def _load_json(path: str, data: bytearray, name: str) -> np.ndarray:
    value = loads(data, f"{name}: {path!r}")
    if isinstance(value, dict):
        raise InputError(f"{name}: {path!r} holds a JSON object; expected a number or nested lists")
    return to_array(value, name)


def _load_stdin(name: str) -> np.ndarray:
    """``NAME=@-``: one value, as JSON (or a Python-style list), read from standard input."""
    import sys

    if sys.stdin.isatty():
        print(f"backcalc: reading {name} from the terminal; end with Ctrl-D", file=sys.stderr)
    text = sys.stdin.read(limits.MAX_FILE_BYTES + 1)
    if len(text) > limits.MAX_FILE_BYTES:
        raise LimitError(f"{name}: standard input is over {limits.MAX_FILE_BYTES:,} characters")
    if not text.strip():
        raise InputError(f"{name}=@-: standard input is empty; pipe a value in, as in: echo '[1, 2]' | backcalc ...")
    if len(text) <= limits.MAX_VALUE_TEXT:  # the literal reader also takes Python's list syntax
        return to_array(_parse_literal(text.strip(), name), name, trusted=True)
    return _load_json("standard input", bytearray(text.encode("utf-8", "surrogatepass")), name)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
