"""A catalogue of hostile and malformed inputs. Each must end quickly with exit status 2, one line on
stderr, no traceback, nothing on stdout, and nothing executed (the canary file is never created)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CANARY = "CANARY"  # replaced by a path in tmp_path


def touch(path: str) -> str:
    return f"__import__('os').system('touch {path}')"


# (id, argv) -- CANARY in an argument is replaced by the canary's path.
INJECTION = [
    ("import-call", [touch(CANARY), "x=1"]),
    ("dunder-chain", ["().__class__.__bases__[0].__subclasses__()", "x=1"]),
    ("attribute", ["x.__class__", "x=1"]),
    ("subscript-attribute", ["x[0].__class__", "x=[1,2]"]),
    ("subscript-string", ["x['a']", "x=[1,2]"]),
    ("lambda", ["(lambda: x)()", "x=1"]),
    ("comprehension", ["[x for x in (1,2)]", "x=1"]),
    ("generator", ["sum(x for x in y)", "y=1"]),
    ("fstring", ["f'{x}'", "x=1"]),
    ("comparison", ["x == 1", "x=1"]),
    ("chained-comparison", ["0 < x < 1", "x=1"]),
    ("boolean-op", ["x or 1", "x=1"]),
    ("conditional", ["x if x else 1", "x=1"]),
    ("walrus", ["(y := x)", "x=1"]),
    ("statement", ["x; import os", "x=1"]),
    ("eval-call", ["eval('1')", "x=1"]),
    ("exec-call", ["exec(x)", "x=1"]),
    ("sympify-call", ["sympify(x)", "x=1"]),
    ("keyword-arg", ["sin(x=1)", "x=1"]),
    ("starred", ["sin(*x)", "x=[1]"]),
    ("unknown-function", ["system(x)", "x=1"]),
    ("bad-input-name", ["x", "__import__('os')=1"]),
    ("dotted-input-name", ["x", "x.y=1"]),
    ("value-code", ["x", f"x={touch(CANARY)}"]),
    ("value-lambda", ["x", "x=(lambda: 1)()"]),
    ("backslash", ["x\\\n+1", "x=1"]),
]

RESOURCES = [
    ("power-tower", ["9**9**9**9", "x=1"]),
    ("huge-power", ["2**(10**10) * x", "x=1"]),
    ("nested-powers", ["((9**9)**9999)**9999 + x", "x=1"]),
    ("distributed-power", ["(2*x)**100000", "x=1"]),
    ("constant-overflow", ["10**300*10**300*x", "x=1"]),
    ("deep-parentheses", ["(" * 5000 + "x" + ")" * 5000, "x=1"]),
    ("deep-unary", ["-" * 5000 + "x", "x=1"]),
    ("deep-functions", ["sin(" * 2000 + "x" + ")" * 2000, "x=1"]),
    ("deep-but-short", ["(" * 150 + "x" + ")" * 150, "x=1"]),
    ("deep-calls-but-short", ["exp(" * 150 + "x" + ")" * 150, "x=1"]),
    ("long-chain", ["+".join(["x"] * 3000), "x=1"]),
    ("long-expression", ["x" + "+1" * 20000, "x=1"]),
    ("long-number", ["1" * 1000 + "*x", "x=1"]),
    ("deep-value", ["x", "x=" + "[" * 10000 + "1" + "]" * 10000]),
    ("huge-broadcast", ["x*y", "x=@BIGCOL", "y=@BIGROW"]),
    # Work and memory, estimated before anything runs.
    ("matmul-chain-work", ["sum(" + "@".join(["A"] * 31) + ")", "A=@M3000"]),
    ("broadcast-matmul-chain", ["sum(" + "@".join(["(c*r)"] * 30) + ")", "c=@COL3000", "r=@ROW3000"]),
    ("sixteen-factors-memory", ["*".join(["x"] * 16), "x=@V1E7"]),
    ("json-huge-integer", ["x", "x=@BIGINTJSON"]),
    ("json-70-levels", ["x", "x=@DEEP70JSON"]),
]

SYNTAX = [
    ("empty", ["", "x=1"]),
    ("blank", ["   ", "x=1"]),
    ("dangling-operator", ["x +", "x=1"]),
    ("unbalanced-open", ["(x + 1", "x=1"]),
    ("unbalanced-close", ["x + 1)", "x=1"]),
    ("double-operator", ["x */ 2", "x=1"]),
    ("juxtaposed-names", ["x y", "x=1", "y=1"]),
    ("empty-call", ["sin()", "x=1"]),
    ("two-arguments", ["sin(x, x)", "x=1"]),
    ("function-without-call", ["sin + x", "x=1"]),
    ("floor-division", ["x // 2", "x=1"]),
    ("modulo", ["x % 2", "x=1"]),
    ("non-ascii", ["x + ä", "x=1"]),
    ("out-of-range-literal", ["1e400 * x", "x=1"]),
]

VALUES = [
    ("ragged", ["x", "x=[[1,2],[3]]"]),
    ("string", ["x", 'x=["a"]']),
    ("null", ["x", "x=[1, null]"]),
    ("boolean", ["x", "x=true"]),
    ("empty-list", ["x", "x=[]"]),
    ("empty-nested", ["x", "x=[[]]"]),
    ("no-value", ["x", "x="]),
    ("no-equals", ["x", "x"]),
    ("missing-variable", ["x*y", "x=1"]),
    ("unused-variable", ["x", "x=1", "y=2"]),
    ("wrt-no-input", ["x", "x=1", "--wrt", "z"]),
    ("no-broadcast", ["x+y", "x=[1,2]", "y=[1,2,3]"]),
    ("duplicate-value", ["x", "x=1", "x=2"]),
    ("constant-as-input", ["x", "x=1", "e=2"]),
    ("missing-file", ["x", "x=@/nonexistent/x.npy"]),
    ("directory", ["x", "x=@DIR"]),
    ("wrong-suffix", ["x", "x=@TXT"]),
    ("pickle-npy", ["x", "x=@PICKLE"]),
    ("object-npy", ["x", "x=@OBJECT"]),
    ("truncated-npy", ["x", "x=@TRUNCATED"]),
    ("lying-header-npy", ["x", "x=@LYING"]),
    ("complex-npy", ["x", "x=@COMPLEX"]),
    ("bool-npy", ["x", "x=@BOOLS"]),
    ("json-object", ["x", "x=@OBJJSON"]),
    ("json-invalid", ["x", "x=@BADJSON"]),
    ("json-deep", ["x", "x=@DEEPJSON"]),
    ("bad-dtype", ["x", "x=1", "--dtype", "float16"]),
    ("bad-reduce", ["x", "x=1", "--reduce", "max"]),
    ("negative-tolerance", ["x", "x=1", "--rtol", "-1"]),
    ("float32-overflow-value", ["x", "x=[1, 1e39]"]),
    ("float32-overflow-json", ["x", "x=@BIGFLOATJSON"]),
    ("nan-rtol", ["x", "x=1", "--rtol", "nan"]),
    ("inf-atol", ["x", "x=1", "--atol", "inf"]),
    ("overflowing-rtol", ["x", "x=1", "--rtol", "1e400"]),
    ("nan-tolerance-explain", ["explain", "x", "x=1", "--atol", "nan"]),
    ("nan-tolerance-jacobian", ["jacobian", "x", "x=1", "--rtol", "-inf"]),
    ("nan-learning-rate", ["descend", "x", "x=1", "--wrt", "x", "--lr", "nan"]),
    ("inf-stop-tolerance", ["descend", "x", "x=1", "--wrt", "x", "--tol", "inf"]),
    ("arabic-digits-expression", ["x*١٢", "x=1"]),
    ("superscript-digit-expression", ["x²", "x=1"]),
    ("fullwidth-digits-value", ["x", "x=１２"]),
    ("arabic-digits-in-list", ["x", "x=[1, ٢]"]),
    ("json-arabic-digits", ["x", "x=@ARABICJSON"]),
    ("json-lone-surrogate", ["x", "x=@SURROGATEJSON"]),
    ("json-not-utf8", ["x", "x=@LATIN1JSON"]),
    ("json-points-to-file", ["x", "x=@CHAINJSON"]),
    ("fifo", ["x", "x=@FIFO"]),
    ("dev-zero", ["x", "x=@/dev/zero"]),
    ("dev-urandom", ["x", "x=@/dev/urandom"]),
    ("symlink-to-dev-zero", ["x", "x=@ZEROLINK"]),
    ("symlink-to-fifo", ["x", "x=@FIFOLINK"]),
    ("directory-with-suffix", ["x", "x=@DIRNPY"]),
    ("unknown-option", ["x", "x=1", "--frobnicate"]),
]

CATALOGUE = INJECTION + RESOURCES + SYNTAX + VALUES


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Malformed files, by the placeholder that names them in the catalogue. Made once for the module
    (no test writes into them; each test checks that the one canary was never created)."""
    import pickle

    tmp_path = tmp_path_factory.mktemp("hostile")
    paths = {"DIR": str(tmp_path)}
    np.save(tmp_path / "bigcol.npy", np.zeros((4000, 1)))
    np.save(tmp_path / "bigrow.npy", np.zeros((1, 4000)))
    paths["BIGCOL"], paths["BIGROW"] = str(tmp_path / "bigcol.npy"), str(tmp_path / "bigrow.npy")
    (tmp_path / "v.txt").write_text("1")
    paths["TXT"] = str(tmp_path / "v.txt")
    (tmp_path / "p.npy").write_bytes(pickle.dumps([1.0, 2.0]))
    paths["PICKLE"] = str(tmp_path / "p.npy")
    np.save(tmp_path / "o.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    paths["OBJECT"] = str(tmp_path / "o.npy")
    np.save(tmp_path / "t.npy", np.zeros(1000))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-8])
    paths["TRUNCATED"] = str(tmp_path / "t.npy")
    with open(tmp_path / "l.npy", "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (10**9,)})
    paths["LYING"] = str(tmp_path / "l.npy")
    np.save(tmp_path / "c.npy", np.array([1 + 2j]))
    paths["COMPLEX"] = str(tmp_path / "c.npy")
    np.save(tmp_path / "b.npy", np.array([True, False]))
    paths["BOOLS"] = str(tmp_path / "b.npy")
    (tmp_path / "o.json").write_text(json.dumps({"x": 1}))
    paths["OBJJSON"] = str(tmp_path / "o.json")
    (tmp_path / "bad.json").write_text("[1, 2")
    paths["BADJSON"] = str(tmp_path / "bad.json")
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    paths["DEEPJSON"] = str(tmp_path / "deep.json")
    # Large arrays as sparse files: the shape is real, the disk blocks are not written.
    for key, shape, dtype in (("M3000", (3000, 3000), "<f4"), ("V1E7", (10**7,), "<f4")):
        path = tmp_path / f"{key}.npy"
        with open(path, "wb") as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": dtype, "fortran_order": False, "shape": shape})
            handle.truncate(handle.tell() + 4 * int(np.prod(shape)))
        paths[key] = str(path)
    np.save(tmp_path / "col.npy", np.ones((3000, 1)))
    np.save(tmp_path / "row.npy", np.ones((1, 3000)))
    paths["COL3000"], paths["ROW3000"] = str(tmp_path / "col.npy"), str(tmp_path / "row.npy")
    texts = {
        "BIGINTJSON": "[" + "7" * 5000 + "]",
        "DEEP70JSON": "[" * 70 + "1" + "]" * 70,
        "BIGFLOATJSON": "[1e300]",
        "ARABICJSON": '["١٢"]',
        "SURROGATEJSON": '["\\ud800"]',
        "CHAINJSON": json.dumps("@" + str(tmp_path / "o.json")),
    }
    for key, text in texts.items():
        (tmp_path / f"{key.lower()}.json").write_text(text, encoding="utf-8")
        paths[key] = str(tmp_path / f"{key.lower()}.json")
    (tmp_path / "latin1.json").write_bytes('[1, "é"]'.encode("latin-1"))
    paths["LATIN1JSON"] = str(tmp_path / "latin1.json")
    os.mkfifo(tmp_path / "fifo.npy")
    paths["FIFO"] = str(tmp_path / "fifo.npy")
    (tmp_path / "fifolink.npy").symlink_to(tmp_path / "fifo.npy")
    paths["FIFOLINK"] = str(tmp_path / "fifolink.npy")
    (tmp_path / "zero.npy").symlink_to("/dev/zero")
    paths["ZEROLINK"] = str(tmp_path / "zero.npy")
    (tmp_path / "dir.npy").mkdir()
    paths["DIRNPY"] = str(tmp_path / "dir.npy")
    paths[CANARY] = str(tmp_path / "canary")
    return paths


def _substitute(argv: list[str], files: dict[str, str]) -> list[str]:
    # Whole placeholders only: @FIFO must not match the start of @FIFOLINK.
    def path(match: re.Match[str]) -> str:
        return f"@{files.get(match.group(1), match.group(1))}"

    return [re.sub(r"@([A-Z][A-Z0-9]*)\b", path, arg).replace(CANARY, files[CANARY]) for arg in argv]


def test_the_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 40
    assert len({name for name, _ in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize(("name", "argv"), CATALOGUE, ids=[name for name, _ in CATALOGUE])
def test_refused_cleanly(run, files, monkeypatch, name, argv):
    from backcalc import limits

    monkeypatch.setattr(limits, "MAX_ELEMENTS", 10_000_000)
    args = _substitute(argv, files)
    result = run(*args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("backcalc: error: ")
    assert "Traceback" not in result.stderr
    assert not Path(files[CANARY]).exists()


@pytest.mark.parametrize(
    "argv",
    [
        [touch(CANARY), "x=1"],
        ["9**9**9**9", "x=1"],
        ["(" * 5000 + "x" + ")" * 5000, "x=1"],
        ["x", "x=@PICKLE"],
    ],
)
def test_refused_cleanly_by_the_installed_command(files, argv):
    args = _substitute(argv, files)
    result = subprocess.run([sys.executable, "-m", "backcalc", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not Path(files[CANARY]).exists()


def test_symbolic_time_budget(monkeypatch, run):
    from backcalc import limits

    monkeypatch.setattr(limits, "SYMBOLIC_SECONDS", 0.05)
    heavy = "*".join(f"sin(x+{k})" for k in range(60))
    heavy = "*".join(f"({heavy})" for _ in range(1)) + "+" + "^".join(["x"] * 40)
    data = run.json(heavy, "x=1.5")  # autograd still answers; the symbolic side says why it is missing
    gradient = data["gradients"]["x"]
    assert gradient["verdict"] == "unchecked" and gradient["symbolic"] is None
    assert data["verdict"] in ("unchecked", "edge")  # edge: the loss itself overflows here
    assert "symbolic side skipped" in gradient["note"] and "0.05 s" in gradient["note"]


def test_one_symbolic_budget_for_the_whole_run(monkeypatch, run):
    """Many inputs share one budget: what each skipped input says is the run's budget (a budget
    per input would each take its own 0.05 s, and say so)."""
    from backcalc import limits

    monkeypatch.setattr(limits, "SYMBOLIC_SECONDS", 0.05)
    names = [f"x{i}" for i in range(8)]
    heavy = " + ".join("*".join(f"sin({name} + {k})*cos({k}*{name})" for k in range(12)) for name in names)
    data = run.json(heavy, *(f"{name}=0.5" for name in names), "--dtype", "float64")
    assert data["verdict"] == "unchecked"
    notes = [g["note"] for g in data["gradients"].values() if g["symbolic"] is None]
    assert notes and all("the run's symbolic budget" in note or "the run's 0.05 s budget" in note for note in notes)


# Batch: each line that cannot be answered gets its own error object; the lines after it still come out.
GOOD = {"expression": "x**2", "inputs": {"x": 3}}

# Lines that cannot be answered, each as raw JSON text, with the kind of its error object.
BAD_LINES = [
    ('{"expression": "x", "inputs": {"x": 1}, "rtol": NaN}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "atol": Infinity}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "rtol": -1}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "rtol": "1e-3"}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "wrt": ["\\ud800"]}', "input"),
    ('{"expression": "x\\udc00", "inputs": {"x": 1}}', "input"),
    ('{"\\ud800": 1}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "dtype": ["float64"]}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "reduce": {}}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "check_fd": "yes"}', "input"),
    ('{"expression": "x", "inputs": {"x": 1}, "wrt": [1]}', "input"),
    ('{"expression": 5, "inputs": {"x": 1}}', "input"),
    ('{"expression": "x", "inputs": [1]}', "input"),
    ('{"expression": "x", "inputs": {"x": {"y": 1}}}', "input"),
    ('{"expression": "x", "claims": {"x": 1}}', "input"),
    ('{"expression": "x", "inputs": {"x": ' + "1" * 5000 + "}}", "limit"),
    ('{"expression": "x", "inputs": {"x": ' + "[" * 70 + "1" + "]" * 70 + "}}", "limit"),
    ('{"expression": "x*١٢", "inputs": {"x": 1}}', "input"),
    ('{"expression": "x", "inputs": {"x": "１２"}}', "input"),
    ('{"expression": "x", "inputs": {"x": [١]}}', "input"),
    ('{"expression": "x", "inputs": {"x": 1e400}}', "input"),
    ('{"expression": "x", "inputs": {"x": "@/etc/passwd"}}', "input"),
    ('{"expression": "x", "inputs": {"x": "@/dev/zero"}}', "input"),
    ("\x0c", "json"),
    ("\u2028", "json"),
    ('{"expression": "' + touch(CANARY) + '", "inputs": {"x": 1}}', "parse"),
    ('{"expression": "x", "inputs": {"x": "' + touch(CANARY) + '"}}', "input"),
    ('{"expression": "x", "inputs": {"x": "@CANARY"}}', "input"),
    ('{"expression": "x", "claims": {"x": "' + touch(CANARY) + '"}}', "parse"),
    ('{"expression": "9**9**9**9 + x", "inputs": {"x": 1}}', "parse"),
    (
        json.dumps(
            {"expression": "sum(" + "@".join(["(c*r)"] * 30) + ")", "inputs": {"c": [[1]] * 3000, "r": [[1] * 3000]}}
        ),
        "limit",
    ),
    (json.dumps({"expression": "*".join(["(c*r)"] * 16), "inputs": {"c": [[1]] * 3000, "r": [[1] * 3000]}}), "limit"),
]


def lines_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_one_bad_batch_line_never_costs_another(run, files):
    lines = [bad.replace(CANARY, files[CANARY]) for bad, _ in BAD_LINES]
    text = "".join(f"{json.dumps(GOOD)}\n{bad}\n" for bad in lines) + json.dumps(GOOD) + "\n"
    result = run("batch", input=text)
    assert result.exit_code == 2
    assert result.stderr == "" and not Path(files[CANARY]).exists()
    out = lines_of(result)
    assert [o["line"] for o in out] == list(range(2 * len(BAD_LINES) + 1))
    for number, o in enumerate(out):
        if number % 2 == 0:
            assert o["gradients"]["x"]["autograd"] == 6.0, o
        else:
            bad, kind = BAD_LINES[number // 2]
            assert o["error"]["kind"] == kind, (bad[:80], o)


LIBRARY = [
    (name, argv)
    for name, argv in CATALOGUE
    if argv[0] not in ("explain", "jacobian", "descend")
    and all("=" in arg and not arg.startswith("-") for arg in argv[1:])
    and len({arg.partition("=")[0] for arg in argv[1:]}) == len(argv) - 1
]


@pytest.mark.parametrize(("name", "argv"), LIBRARY, ids=[name for name, _ in LIBRARY])
def test_refused_by_the_library(files, monkeypatch, name, argv):
    """The same inputs through backcalc.gradient (text values as typed; files allowed below tmp_path)."""
    import backcalc
    from backcalc import limits

    monkeypatch.setattr(limits, "MAX_ELEMENTS", 10_000_000)
    expression, *values = _substitute(argv, files)
    inputs = dict(value.split("=", 1) for value in values)
    with pytest.raises(backcalc.BackcalcError):
        backcalc.gradient(expression, inputs, allow_files=files["DIR"])
    assert not Path(files[CANARY]).exists()


# -- Found by a hunt through every command (each was exit 70, a lie, or a lost value) -------------------
