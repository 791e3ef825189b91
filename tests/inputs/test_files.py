"""Reading @FILE: only where allowed, only regular files, never past the limit."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from backcalc import limits
from backcalc.errors import InputError, LimitError
from backcalc.inputs.files import ANYWHERE, FileAccess, read_bytes
from backcalc.inputs.values import load_file, load_files, to_array


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """allowed/ with a value file, a symlink out of it, and a file next to it (outside)."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    np.save(allowed / "x.npy", np.array([1.0, 2.0]))
    (tmp_path / "secret.json").write_text("[7]")
    (allowed / "escape.json").symlink_to(tmp_path / "secret.json")
    return tmp_path


def test_nothing_is_read_by_default(tree):
    with pytest.raises(InputError, match="not allowed here"):
        to_array(f"@{tree / 'allowed' / 'x.npy'}", "x")
    with pytest.raises(InputError, match="not allowed here"):
        load_file(str(tree / "secret.json"), "x")


def test_files_below_the_allowed_folder_are_read(tree):
    access = FileAccess.below(tree / "allowed")
    assert load_file(str(tree / "allowed" / "x.npy"), "x", access).tolist() == [1.0, 2.0]
    loaded = load_files({"x": f"@{tree / 'allowed' / 'x.npy'}", "y": 3}, tree / "allowed")
    assert loaded["x"].tolist() == [1.0, 2.0] and loaded["y"] == 3


@pytest.mark.parametrize("path", ["secret.json", "allowed/escape.json", "allowed/../secret.json"])
def test_nothing_outside_the_allowed_folder(tree, path):
    with pytest.raises(InputError, match="outside the folder allowed"):
        load_file(str(tree / path), "x", FileAccess.below(tree / "allowed"))


def test_the_allowed_folder_must_exist(tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        FileAccess.below(tmp_path / "missing")


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "f.npy"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            read_bytes(str(fifo), "x", ANYWHERE)
        except InputError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # unblock the reader so the test run can end, then fail
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        pytest.fail("opening a FIFO blocked")
    assert outcome and "not a regular file" in str(outcome[0])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_and_symlinks_to_them_are_refused(tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    link = tmp_path / "link.npy"
    link.symlink_to(device)
    for path in (device, str(link)):
        with pytest.raises(InputError, match="not a regular file"):
            load_file(path, "x", ANYWHERE)


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "d.npy").mkdir()
    with pytest.raises(InputError, match="directory"):
        load_file(str(tmp_path / "d.npy"), "x", ANYWHERE)


def test_a_read_stops_past_the_limit_whatever_the_file_claims(monkeypatch):
    # /proc files are regular files that claim a size of 0 and hold more.
    path = "/proc/self/maps"
    if not os.path.exists(path) or os.stat(path).st_size != 0:
        pytest.skip("no /proc file claiming size 0")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 10)
    with pytest.raises(LimitError, match="over 10 bytes"):
        read_bytes(path, "x", ANYWHERE)


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_text("[" + ",".join(["1"] * 100) + "]")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 50)
    with pytest.raises(LimitError, match="the limit is 50"):
        load_file(str(path), "x", ANYWHERE)


def test_npy_is_read_without_np_load(tmp_path, monkeypatch):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    monkeypatch.setattr(np, "load", None)  # np.load (and so pickles) is never used
    assert load_file(str(tmp_path / "f.npy"), "x", ANYWHERE).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_a_json_value_file_cannot_point_to_another_file(tmp_path):
    (tmp_path / "a.json").write_text(json_text := '"@/etc/passwd"')
    assert json_text
    with pytest.raises(InputError, match="not allowed here"):
        load_file(str(tmp_path / "a.json"), "x", ANYWHERE)


def test_gradient_reads_files_only_when_allowed(tree):
    import backcalc

    inside = f"@{tree / 'allowed' / 'x.npy'}"
    with pytest.raises(InputError, match="not allowed here"):
        backcalc.gradient("x**2", x=inside)
    with pytest.raises(InputError, match="not allowed here"):
        backcalc.gradient("x**2", {"x": inside})
    result = backcalc.gradient("x**2", x=inside, allow_files=tree / "allowed")
    assert result.gradients["x"].autograd.tolist() == [2.0, 4.0]
    with pytest.raises(InputError, match="outside the folder allowed"):
        backcalc.gradient("x**2", x=f"@{tree / 'allowed' / 'escape.json'}", allow_files=str(tree / "allowed"))


@pytest.mark.parametrize(
    ("inputs", "options", "match"),
    [
        ({"x": "１２"}, {}, "non-ASCII digit"),
        ({"x": 1}, {"rtol": float("nan")}, "finite number"),
        ({"x": 1}, {"atol": float("inf")}, "finite number"),
        ({"x": 1}, {"atol": -1e-9}, "finite number"),
        ({"x": 10**5000}, {}, "too large"),
    ],
)
def test_gradient_refuses_what_the_command_line_refuses(inputs, options, match):
    import backcalc

    with pytest.raises(InputError, match=match):
        backcalc.gradient("x", inputs, **options)
