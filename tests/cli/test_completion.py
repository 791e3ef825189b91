"""Shell completion of files: batch FILE, --dot/--svg/--png/--plot FILE, and NAME=@<TAB>."""

from __future__ import annotations

import pytest
from click.shell_completion import ShellComplete

from backcalc.cli import cli


@pytest.fixture
def files(tmp_path, monkeypatch):
    (tmp_path / "data.json").write_text("[1, 2]")
    (tmp_path / "data.npy").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def complete(args: list[str], incomplete: str) -> list[tuple[str, str]]:
    completer = ShellComplete(cli, {}, "backcalc", "_BACKCALC_COMPLETE")
    return [(item.type, item.value) for item in completer.get_completions(args, incomplete)]


def test_a_value_completes_json_and_npy_files_and_folders(files):
    assert complete(["x**2"], "x=@") == [("plain", "x=@data.json"), ("plain", "x=@data.npy"), ("plain", "x=@sub/")]
    assert complete(["x**2"], "x=@data.j") == [("plain", "x=@data.json")]
    assert complete(["descend", "x**2"], "x=@d") == [("plain", "x=@data.json"), ("plain", "x=@data.npy")]
    assert complete(["x**2"], "x=4") == []
    # bash splits "x=@da" at "=": the word completed is "@da"
    assert complete(["x**2", "x", "="], "@da") == [("plain", "@data.json"), ("plain", "@data.npy")]
    # ... and at "@" too: "x", "=@", "da"; readline then replaces "@da", so the "@" is given back
    assert complete(["x**2", "x", "=@"], "da") == [("plain", "@data.json"), ("plain", "@data.npy")]


@pytest.mark.parametrize(
    ("args", "incomplete"),
    [
        (["batch"], "da"),
        (["explain", "x", "x=1", "--dot"], "da"),
        (["explain", "x", "x=1", "--svg"], "da"),
        (["explain", "x", "x=1", "--png"], "da"),
        (["descend", "x", "x=1", "--wrt", "x", "--plot"], "da"),
    ],
)
def test_file_arguments_complete_as_files(files, args, incomplete):
    assert complete(args, incomplete) == [("file", "da")]
