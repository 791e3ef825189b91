"""A warm start for the tests that run backcalc in a subprocess for what only a process shows (a real
signal, a pipe held open, a full disk, a memory limit, a terminal): importing torch and sympy costs
such a process about 2 s, the same 2 s each time.

One process per test session, the zygote, imports them once (and backcalc; no torch operation runs,
so OpenMP has no threads yet and forking stays safe) and forks a child for each run. The child is then
set up as a new interpreter would be: the caller's standard streams (the very file descriptors, passed
over a Unix socket), environment, working directory and arguments; signal dispositions and
``sys.stdin``/``stdout``/``stderr`` as Python makes them at start-up; ``-m``, ``-c`` or a script run
as the interpreter runs them; and at the end what the interpreter does at exit (non-daemon threads,
atexit, the flush of standard output whose failure is status 120, death by SIGINT after an uncaught
KeyboardInterrupt). What it does not reproduce is start-up itself: which modules are loaded. So the
tests about start-up and lazy imports (test_startup, test_magic's probe) and the installed wheel
(test_packaging) keep real fresh processes.

A test starts, instead of ``python ARGS``, ``python -S -E zygote.py run SOCKET ARGS`` (see
``command``): a small process without site-packages that hands its standard streams, environment,
working directory and arguments to the zygote, forwards the signals it gets to the child, and exits
as the child did (with its status, or killed by the same signal). So ``subprocess`` and ``pexpect``
drive it unchanged. If it is killed outright (SIGKILL, a timeout), the child is killed too. If the
zygote cannot be reached, it becomes the real command (exec): a run never depends on the zygote.

A forwarded signal reaches the child a little later than the sender's ``kill`` returns, when the
sender may have done more (closed the child's input, say); a test that signals its child uses
:class:`Popen`, whose signals go to the child itself.

The child gets the client's file descriptors at their numbers: 0, 1 and 2, and those a caller passes
on (``pass_fds``, as multiprocessing's spawn does).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

ENV = "BACKCALC_TEST_ZYGOTE"  # the socket's path, set by the session's first process (conftest)
# What every command run this way loads anyway (as test_workload's probe lists them).
PRELOAD = (
    "torch",
    "sympy",
    "numpy",
    "backcalc.api",
    "backcalc.numeric.autograd",
    "backcalc.symbolic.side",
    "backcalc.render.terminal",
    "backcalc.cli",
)
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")


def supported() -> bool:
    return sys.platform == "linux" and hasattr(socket, "send_fds") and hasattr(os, "pidfd_open")


def command(*args: str) -> list[str]:
    """The argv that runs ``python ARGS`` (``-m MODULE ...``, ``-c CODE ...`` or ``SCRIPT ...``) warm, when
    the session has a zygote; else ``python ARGS`` itself."""
    return [*_client_argv(), *args]


def _client_argv(*options: str) -> list[str]:
    path = os.environ.get(ENV)
    if not path or not supported():
        return [sys.executable]
    return [sys.executable, "-S", "-E", __file__, "run", path, *options]


def executable(folder: str | os.PathLike[str]) -> str:
    """A program that is ``python`` started warm, written in ``folder`` (for
    ``multiprocessing.set_executable``: its spawned processes then start warm); without a zygote,
    ``python`` itself."""
    argv = _client_argv()
    if argv == [sys.executable]:
        return sys.executable
    import shlex

    path = os.path.join(folder, "python-warm")
    with open(path, "w", encoding="utf-8") as script:
        script.write(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
    os.chmod(path, 0o755)
    return path


class Popen(subprocess.Popen):
    """``subprocess.Popen([sys.executable, *args], ...)`` started warm, whose signals (``send_signal``,
    ``terminate``, ``kill``) go to the child itself: when ``kill`` returns, the signal is pending there,
    as with a process started cold."""

    def __init__(self, args: Sequence[str], **kwargs: Any) -> None:
        self._child_pid: int | None = None
        if _client_argv() == [sys.executable]:
            super().__init__([sys.executable, *args], **kwargs)
            return
        read, write = os.pipe()  # the client writes the child's pid here
        kwargs["pass_fds"] = (*kwargs.get("pass_fds", ()), write)
        try:
            super().__init__([*_client_argv("--pid-fd", str(write)), *args], **kwargs)
        finally:
            os.close(write)
        self._pid_file = os.fdopen(read, "rb")

    def send_signal(self, sig: int) -> None:
        self.poll()
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child_pid, sig)

    @property
    def child_pid(self) -> int:
        if self._child_pid is None:
            with self._pid_file:
                told = self._pid_file.read()
            self._child_pid = int(told) if told else self.pid
        return self._child_pid


# -- the client: what a test starts ------------------------------------------------------------------


def _client(path: str, args: list[str]) -> None:
    tell = -1  # a descriptor to write the child's pid to (see Popen)
    if args[:1] == ["--pid-fd"]:
        tell, args = int(args[1]), args[2:]
    child: int | None = None
    pending: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if child is None:
            pending.append(signum)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for name in FORWARDED:
        signal.signal(getattr(signal, name), forward)
    # What a child inherits: the standard streams and whatever else the caller passed (pass_fds).
    fds = [fd for fd in sorted(map(int, os.listdir("/proc/self/fd"))) if fd != tell and _is_open(fd)]
    try:
        option = next(arg for arg in args if arg != "-B")  # -B (no .pyc written) is the one option taken
        if option.startswith("-") and option not in ("-m", "-c"):
            raise ValueError(f"an interpreter option: {option}")
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        peer.connect(path)
        request = {"args": args, "fds": fds, "cwd": os.getcwd(), "env": dict(os.environ)}
        socket.send_fds(peer, [json.dumps(request).encode() + b"\n"], fds)
        replies = peer.makefile("rb")
        child = json.loads(replies.readline())["pid"]
    except (OSError, ValueError):  # no zygote: the real command, in this process
        if tell >= 0:
            os.write(tell, str(os.getpid()).encode())
            os.close(tell)
        os.execv(sys.executable, [sys.executable, *args])
    if tell >= 0:
        os.write(tell, str(child).encode())
        os.close(tell)
    # The child holds the descriptors now; this process lets go of them, so that a reader sees the end
    # of a pipe when the child closes it. Its own messages go to a copy of standard error.
    errors = os.dup(2) if 2 in fds else -1
    null = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        if fd <= 2:
            os.dup2(null, fd)
        else:
            os.close(fd)
    for signum in pending:
        forward(signum, None)
    line = replies.readline()
    if not line:
        if errors >= 0:
            os.write(errors, b"zygote: the child's monitor went away\n")
        os._exit(70)
    status = json.loads(line)["status"]
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# -- the zygote ------------------------------------------------------------------------------------


def _serve(path: str) -> None:
    import importlib

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)  # first, so that a client can connect (and wait) while the imports run
    listener.listen(64)
    owner = os.getppid()
    importlib.import_module("torch")
    threads = len(os.listdir("/proc/self/task"))
    for name in PRELOAD:
        importlib.import_module(name)
    if len(os.listdir("/proc/self/task")) != threads:
        # Something started threads (OpenMP's, after a torch operation): forking is no longer safe.
        # Clients fall back to real processes.
        sys.exit("zygote: threads were started while importing; not serving")
    listener.settimeout(1.0)
    while os.getppid() == owner:  # the session's process is gone: so is the zygote
        _reap()
        try:
            peer, _ = listener.accept()
        except TimeoutError:
            continue
        peer.setblocking(True)
        if os.fork() == 0:
            listener.close()
            _monitor(peer)
        peer.close()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _monitor(peer: socket.socket) -> None:
    """One run: read the request, fork the child, tell its pid, wait for it and tell its status. If the
    client dies first (killed), the child is killed."""
    import select

    status = 1
    try:
        data, fds, _, _ = socket.recv_fds(peer, 1 << 16, 256)
        while not data.endswith(b"\n"):
            more = peer.recv(1 << 16)
            if not more:
                return
            data += more
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            peer.close()
            _child(request, fds)
        for fd in fds:
            os.close(fd)
        peer.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        done = os.pidfd_open(pid)
        while done not in select.select([peer, done], [], [])[0]:
            if not peer.recv(1):  # the client is gone
                os.kill(pid, signal.SIGKILL)
                break
        _, wait_status = os.waitpid(pid, 0)
        peer.sendall(json.dumps({"status": wait_status}).encode() + b"\n")
        status = 0
    except OSError:
        pass
    finally:
        os._exit(status)


# -- the child: a new interpreter, as far as a program can tell --------------------------------------


def _child(request: dict, fds: list[int]) -> None:
    status = 1
    interrupted = False
    try:
        import fcntl

        # Each descriptor at its number in the caller; first all out of the way, so none is overwritten.
        above = max([2, *request["fds"], *fds]) + 1
        moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above) for fd in fds]
        for fd in fds:
            os.close(fd)
        for target, fd in zip(request["fds"], moved, strict=True):
            os.dup2(fd, target)
        for fd in moved:
            os.close(fd)
        for target in {0, 1, 2} - set(request["fds"]):
            os.close(target)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _fresh_signals()
        _fresh_stdio(request["env"])
        _fresh_random()
    except BaseException:
        os._exit(71)
    try:
        _run(request["args"])
        status = 0
    except SystemExit as stop:
        status = _exit_status(stop)
    except BaseException as error:
        interrupted = isinstance(error, KeyboardInterrupt)
        trace = error.__traceback__
        while trace is not None and trace.tb_frame.f_code.co_filename == __file__:
            trace = trace.tb_next  # the traceback starts where the interpreter's would
        sys.excepthook(type(error), error.with_traceback(trace), trace)
    status = _finalize(status)
    if interrupted:  # as Python does after an uncaught KeyboardInterrupt: die of SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


def _fresh_signals() -> None:
    """Dispositions as a new Python process has them (a child of subprocess, with restore_signals)."""
    for signum in signal.valid_signals():
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _fresh_stdio(env: dict[str, str]) -> None:
    """sys.stdin, stdout and stderr as Python's start-up makes them (create_stdio): None for a closed
    descriptor; the locale's encoding unless PYTHONIOENCODING says otherwise; line buffered on a
    terminal (stderr always), written through with PYTHONUNBUFFERED."""
    import io

    encoding, _, errors = env.get("PYTHONIOENCODING", "").partition(":")
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))

    def stream(fd: int, name: str, template: io.TextIOWrapper) -> io.TextIOWrapper | None:
        if not _is_open(fd):
            return None
        writing = fd != 0
        mode, buffering = ("wb", 0 if unbuffered else -1) if writing else ("rb", -1)
        buffer = open(fd, mode, buffering=buffering, closefd=False)  # noqa: SIM115 (it stays open)
        raw = buffer if isinstance(buffer, io.FileIO) else buffer.raw
        raw.name = name
        text = io.TextIOWrapper(
            buffer,
            encoding=encoding or template.encoding,
            errors=errors or ("backslashreplace" if fd == 2 else template.errors),
            newline="\n",
            line_buffering=not unbuffered and writing and (fd == 2 or raw.isatty()),
            write_through=writing and unbuffered,
        )
        text.mode = "w" if writing else "r"
        return text

    templates = (sys.__stdin__, sys.__stdout__, sys.__stderr__)
    _KEEP.extend(templates)  # the zygote's own streams are never closed nor collected in the child
    sys.stdin = sys.__stdin__ = stream(0, "<stdin>", templates[0])
    sys.stdout = sys.__stdout__ = stream(1, "<stdout>", templates[1])
    sys.stderr = sys.__stderr__ = stream(2, "<stderr>", templates[2])


_KEEP: list[object] = []


def _fresh_random() -> None:
    # `random` reseeds itself after a fork; NumPy's global generator does not.
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _run(args: list[str]) -> None:
    import types

    while args[0] == "-B":  # as multiprocessing passes on PYTHONDONTWRITEBYTECODE's flag
        sys.dont_write_bytecode = True
        args = args[1:]
    if args[0] == "-m":
        import runpy

        sys.argv = ["-m", *args[2:]]
        sys.path[0] = os.getcwd()
        runpy._run_module_as_main(args[1])  # what the interpreter itself calls for -m
        return
    if args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        sys.path[0] = ""
        filename, source = "<string>", args[1]
    else:
        sys.argv = list(args)
        sys.path[0] = os.path.dirname(os.path.realpath(args[0]))
        filename = args[0]
        with open(filename, encoding="utf-8") as file:
            source = file.read()
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    if filename != "<string>":
        main.__file__ = filename
    sys.modules["__main__"] = main
    exec(compile(source, filename, "exec"), main.__dict__)


def _exit_status(stop: SystemExit) -> int:
    """As the interpreter reads SystemExit: None is 0, an int is itself, anything else is printed
    and is 1."""
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code & 0xFF
    if sys.stderr is not None:
        sys.stderr.write(f"{stop.code}\n")
    return 1


def _finalize(status: int) -> int:
    """The interpreter's exit: wait for non-daemon threads, run the atexit functions, flush standard
    output and error (a failure is reported and makes the status 120), flush C's stdio."""
    import atexit

    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:
            continue
        try:
            stream.flush()
        except Exception as error:
            status = 120
            if sys.stderr is not None and stream is not sys.stderr:
                import traceback

                try:
                    sys.stderr.write(f"Exception ignored in: {stream!r}\n")
                    traceback.print_exception(error, file=sys.stderr)
                    sys.stderr.flush()
                except Exception:
                    pass
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except Exception:
        pass
    return status


if __name__ == "__main__":
    if sys.argv[1] == "run":
        _client(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "serve":
        _serve(sys.argv[2])
