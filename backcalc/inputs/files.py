"""Reading a user's file for ``NAME=@FILE``: only where the user allowed it, only regular files, never
more than :data:`~backcalc.limits.MAX_FILE_BYTES`.

On the command line the user typed the path, so any path may be read (:data:`ANYWHERE`). In a
``batch`` line or a library call the text may come from someone else, so nothing is read unless a
folder is allowed (``batch --allow-files DIR``, ``gradient(..., allow_files=DIR)``), and then only
files whose real path (symlinks and ``..`` resolved) lies below it.

A FIFO, a device (``/dev/zero``, ``/dev/urandom``), a directory or a symlink to one is refused at
once: the file is opened without blocking and its type checked on the open descriptor, so it cannot
be swapped between the check and the read. The read stops after the limit plus one byte, whatever
size the file claims.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from .. import limits
from ..errors import InputError, LimitError

_CHUNK = 1 << 20
_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_NOFOLLOW", 0)  # the path is already resolved: a symlink now means it changed
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True)
class FileAccess:
    """Where ``@FILE`` may read: anywhere (``root`` None) or only below the real path ``root``."""

    root: str | None = None

    @classmethod
    def below(cls, folder: str | os.PathLike[str]) -> FileAccess:
        """Access to the files below ``folder`` (which must be an existing directory)."""
        root = os.path.realpath(os.fspath(folder))
        if not os.path.isdir(root):
            raise InputError(f"the folder allowed for files, {os.fspath(folder)!r}, is not a directory")
        return cls(root)

    def resolve(self, path: str, name: str) -> str:
        """The real path of ``path``, if it may be read."""
        real = os.path.realpath(path)
        if self.root is not None and os.path.commonpath([self.root, real]) != self.root:
            raise InputError(f"{name}: {path!r} is outside the folder allowed for files ({self.root})")
        return real


#: The command line: the user typed the path.
ANYWHERE = FileAccess()


def access_for(allow: str | os.PathLike[str] | FileAccess | None) -> FileAccess | None:
    """A :class:`FileAccess` from what a caller passed (a folder, an access, or None for no files)."""
    if allow is None or isinstance(allow, FileAccess):
        return allow
    return FileAccess.below(allow)


def refused(path: str, name: str) -> InputError:
    return InputError(
        f"{name}: @{path} would read a file, which is not allowed here; allow a folder with "
        "`backcalc batch --allow-files DIR` or gradient(..., allow_files=DIR)"
    )


def read_bytes(
    path: str, name: str, access: FileAccess | None, before_reading: Callable[[], None] | None = None
) -> bytearray:
    """The bytes of a regular file that ``access`` allows, at most :data:`~backcalc.limits.MAX_FILE_BYTES`.
    ``before_reading`` may refuse the file once it is known to be a regular file, before it is read."""
    if access is None:
        raise refused(path, name)
    real = access.resolve(path, name)
    try:
        fd = os.open(real, _FLAGS)
    except OSError as exc:
        raise InputError(f"{name}: cannot read {path!r}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{name}: {path!r} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{name}: {path!r} is not a regular file (a pipe, a device or a socket is not read)")
        if info.st_size > limits.MAX_FILE_BYTES:
            raise LimitError(f"{name}: {path!r} is {info.st_size:,} bytes; the limit is {limits.MAX_FILE_BYTES:,}")
        if before_reading is not None:
            before_reading()
        with os.fdopen(fd, "rb", buffering=0, closefd=True) as handle:
            fd = -1
            data = _read_at_most(handle, info.st_size, limits.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{name}: cannot read {path!r}: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limits.MAX_FILE_BYTES:
        raise LimitError(f"{name}: {path!r} is over {limits.MAX_FILE_BYTES:,} bytes, the limit")
    return data


def _read_at_most(handle: io.RawIOBase, claimed: int, most: int) -> bytearray:
    """Up to ``most`` bytes: into a buffer of the claimed size first, then in chunks if the file grew."""
    buffer = bytearray(min(claimed, most))
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        count = handle.readinto(view[got:])
        if not count:
            break
        got += count
    view.release()
    del buffer[got:]
    while len(buffer) < most and got == claimed:  # the file may be longer than it said
        chunk = handle.read(min(_CHUNK, most - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def read_program(path: str, access: FileAccess | None) -> str:
    """The text of a program file (``backcalc grad @prog.bc``): UTF-8, at most
    :data:`~backcalc.limits.MAX_EXPRESSION_LENGTH` characters (the parser says so beyond)."""
    most = 4 * limits.MAX_EXPRESSION_LENGTH + 4  # bytes: UTF-8 takes at most 4 a character

    def small_enough() -> None:
        size = os.stat(access.resolve(path, "the program") if access else path).st_size
        if size > most:
            raise LimitError(
                f"the program file {path!r} is {size:,} bytes; a program is at most "
                f"{limits.MAX_EXPRESSION_LENGTH:,} characters"
            )

    data = read_bytes(path, "the program", access, small_enough)
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"the program file {path!r} is not UTF-8 text (byte {exc.start})") from None
    return text.removeprefix("\ufeff").rstrip("\r\n")
