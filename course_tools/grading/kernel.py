"""The student's kernel for ``course grade``: the process that runs untrusted cells.

The zygote (:mod:`course_tools.grading.zygote`) forks it into its sandbox (see
:mod:`course_tools.grading.sandbox`) with no privileges left. Before any submission code runs,
it

1. limits itself (``setrlimit``): address space, processes, open files, bytes per file,
   CPU seconds, no core dumps;
2. installs its guard (:class:`Guard`, a ``sys.addaudithook`` hook that cannot be removed),
   which refuses and records, while a learner's code runs, every attempt to write outside the
   scratch folder, to read the class's files, to signal or start a process, to use the
   network or to change the limits. The sandbox is what enforces isolation (the guard is in
   the learner's own process); the guard is what turns an attempt, even a caught one, into
   the ``sandbox`` status.

It then answers requests (see :mod:`course_tools.grading.protocol`):

- ``run``: execute a cell (IPython syntax) in the user namespace (``trusted``: one of the
  lesson's own set-up cells, run with the guard off);
- ``call``: call a name of the user namespace (or an object it returned earlier) on arguments
  the grader chose, while a profiler records any *direct* call of the course_lib functions
  the exercise may not use, and send the result back as data;
- ``getattr``: an attribute of an object it returned earlier.

Every reply says what the guard refused since the request began (``sandbox``).
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import sys
from pathlib import Path
from typing import Any

from course_tools.grading.protocol import encode, read_frame, write_frame

__all__ = ["Guard", "run_kernel", "preload", "main"]

COURSE_LIB = str(Path(__file__).resolve().parents[2] / "course_lib")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PROCESS_EVENTS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec",
                   "os.system", "subprocess.Popen", "pty.spawn", "os.startfile"}
_SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
_NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
                   "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                   "socket.getnameinfo"}
_CHANGE_EVENTS = {"os.remove", "os.rmdir", "os.rename", "os.truncate", "os.chmod", "os.chown",
                  "os.chflags", "os.utime", "os.mkdir", "os.link", "os.symlink", "os.setxattr",
                  "os.removexattr", "shutil.rmtree", "shutil.copyfile", "shutil.copymode",
                  "shutil.copystat", "shutil.move", "shutil.chown", "os.mkfifo", "os.mknod"}
_LIST_EVENTS = {"os.listdir", "os.scandir", "glob.glob"}
_LIMIT_EVENTS = {"resource.setrlimit", "resource.prlimit", "sys.addaudithook",
                 "os.setuid", "os.setgid"}


class Guard:
    """The audit hook: while :attr:`armed`, refuse (``PermissionError``) and record every
    attempt to leave the kernel's scratch folder or process.

    Args:
        scratch: the only folder the kernel may write in.
        hidden: folders the kernel may not read (the class's submissions and results, the
            course's source notebooks): invisible in the sandbox, refused here as well.
        visible: folders inside ``hidden`` that it may read (course_lib, the Python it runs).
    """

    def __init__(self, scratch: str, hidden: list[str], visible: list[str]) -> None:
        self.scratch = os.path.realpath(scratch)
        self.hidden = [os.path.realpath(p) for p in hidden]
        self.visible = [os.path.realpath(p) for p in visible]
        self.armed = False
        self.refused: list[str] = []

    def install(self) -> None:
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple) -> None:
        if not self.armed:
            return
        try:
            problem = self._problem(event, args)
        except Exception:  # a guard that cannot read an event lets the sandbox decide
            return
        if problem:
            if problem not in self.refused:
                self.refused.append(problem)
            raise PermissionError(f"the grading sandbox does not allow this: {problem}")

    def _problem(self, event: str, args: tuple) -> str | None:
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return None
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                bool(flags & _WRITE_FLAGS)
            return self._path_problem(path, writing)
        if event in _LIST_EVENTS and args and args[0] is not None \
                and not isinstance(args[0], int):
            name = os.path.realpath(os.fsdecode(args[0]))
            if any(_inside(folder, name) for folder in self.visible):
                return None  # a folder above what it may read (the import system lists it)
            return self._path_problem(name, False)
        if event in _CHANGE_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            for path in paths:
                problem = self._path_problem(path, True)
                if problem:
                    return problem
            return None
        if event in _PROCESS_EVENTS:
            return "tried to start a process"
        if event in _SIGNAL_EVENTS:
            return f"tried to send a signal ({event}{tuple(args)!r})"
        if event in _NETWORK_EVENTS:
            return "tried to use the network"
        if event in _LIMIT_EVENTS:
            return f"tried to change its limits or its guard ({event})"
        return None

    def _path_problem(self, path: Any, writing: bool) -> str | None:
        name = os.path.realpath(os.fsdecode(path))
        where = self._where(name)
        if where == "hidden":
            return f"tried to {'write' if writing else 'read'} {name}, which the grader does " \
                   "not show a kernel"
        if writing and where != "scratch" and name != os.devnull:
            return f"tried to write {name}, outside its scratch folder"
        return None

    def _where(self, name: str) -> str | None:
        """The kind of the deepest known folder holding ``name`` (``hidden`` wins a tie): a
        hidden folder inside the scratch folder's path (submissions under ``/tmp`` on the
        host) is still hidden."""
        folders = [(v, "visible") for v in self.visible] + [(self.scratch, "scratch")] + \
            [(h, "hidden") for h in self.hidden]
        depth, kind = -1, None
        for folder, label in folders:
            if _inside(name, folder) and len(folder) >= depth:
                depth, kind = len(folder), label
        return kind

    def take(self) -> list[str]:
        """What was refused since the last call."""
        refused, self.refused = self.refused, []
        return refused


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class _Kernel:
    """State of the running kernel: the IPython shell, the handles, the forbidden set."""

    def __init__(self, guard: Guard) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(config=_shell_config())
        self.guard = guard
        self.handles: dict[int, Any] = {}
        self.forbidden: set[tuple[str, str]] = set()
        self.used: list[str] = []

    def handle(self, request: dict) -> bytes:
        """One request's reply; the guard is armed unless the lesson's own cell runs."""
        self.guard.take()
        self.guard.armed = not request.get("trusted", False)
        try:
            if request["op"] == "run":
                reply = self.run(request["code"])
            elif request["op"] == "call":
                reply = self.call(request)
            else:
                reply = self.getattr(request)
            reply["sandbox"] = self.guard.take()
            return encode(reply, self.handles)
        except Exception as error:  # the result could not be encoded: the learner's problem
            return encode({"ok": False, "used": self.used, "sandbox": self.guard.take(),
                           "error": {"type": type(error).__name__, "kind": "exec",
                                     "message": "the result could not be sent back to the "
                                                f"grader: {error}"}})
        finally:
            self.guard.armed = False

    def run(self, code: str) -> dict:
        result = self.shell.run_cell(code, store_history=False, silent=False)
        error = result.error_before_exec or result.error_in_exec
        return {"ok": error is None, "error": _describe(error) if error else None}

    def call(self, request: dict) -> dict:
        if "handle" in request:
            target = self.handles.get(request["handle"])
        elif request["name"] in self.shell.user_ns:
            target = self.shell.user_ns[request["name"]]
        else:
            return {"ok": False, "error": {
                "type": "NameError", "kind": "exec",
                "message": f"name {request['name']!r} is not defined: did your answer cell "
                           "define it (check the spelling)?"}}
        args, kwargs = pickle.loads(request["args"])
        self.forbidden = {tuple(item) for item in request.get("forbid", ())}
        self.used = []
        try:
            sys.setprofile(self._profile)
            try:
                value = target(*args, **kwargs)
            finally:
                sys.setprofile(None)
        except BaseException as error:  # a submission's error is data, never a crash
            return {"ok": False, "error": _describe(error), "used": self.used}
        return {"ok": True, "value": value, "used": self.used}

    def getattr(self, request: dict) -> dict:
        target = self.handles.get(request["handle"])
        try:
            value = getattr(target, request["attr"])
        except BaseException as error:
            return {"ok": False, "error": _describe(error)}
        return {"ok": True, "value": value}

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        # Record a direct call (from the submission's code, not from inside course_lib) to a
        # function the exercise asks the learner to write. Name-based, so rebinding or
        # aliasing the function does not hide it.
        if event != "call" or not self.forbidden:
            return
        code = frame.f_code
        if not code.co_filename.startswith(COURSE_LIB):
            return
        key = (frame.f_globals.get("__name__", ""), code.co_qualname)
        if key not in self.forbidden:
            return
        caller = frame.f_back
        while caller is not None:
            filename = caller.f_code.co_filename
            if filename.startswith(COURSE_LIB):
                return  # called by another course_lib function: allowed
            if _is_cell(filename):
                self.used.append(f"{key[0].removeprefix('course_lib.')}.{key[1]}")
                return
            caller = caller.f_back


def _is_cell(filename: str) -> bool:
    """Code compiled from a notebook cell (IPython names them ``<ipython-input-...>`` or
    ``/tmp/ipykernel_.../N.py``)."""
    return filename.startswith("<") or "ipykernel_" in filename


def _describe(error: BaseException) -> dict:
    kind = "exec"
    if isinstance(error, SyntaxError):
        kind = "syntax"
    elif isinstance(error, SystemExit):
        kind = "exit"
    elif isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        kind = "memory"
    message = str(error)
    if isinstance(error, SyntaxError):
        message = f"{error.msg} (line {error.lineno})"
    return {"type": type(error).__name__, "kind": kind, "message": message[:2000],
            "not_implemented": isinstance(error, NotImplementedError)}


def _set_limits(config: dict) -> None:
    """Address space: what the process holds now (Python, NumPy, torch) plus ``memory``;
    then processes, open files, bytes per file and CPU seconds."""
    memory = int(config.get("memory", 0))
    if memory > 0:
        try:
            with open("/proc/self/status") as status:
                line = next(x for x in status if x.startswith("VmSize:"))
            current = int(line.split()[1]) * 1024
        except (OSError, StopIteration, ValueError):
            current = 0
        resource.setrlimit(resource.RLIMIT_AS, (current + memory, current + memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name, key in (("RLIMIT_NPROC", "processes"), ("RLIMIT_NOFILE", "open_files"),
                      ("RLIMIT_FSIZE", "file_bytes"), ("RLIMIT_CPU", "cpu_seconds")):
        value = config.get(key)
        if value:
            resource.setrlimit(getattr(resource, name), (int(value), int(value)))


def preload() -> None:
    """Import what every kernel needs before any submission code runs (in the zygote: once
    for all kernels), including what IPython loads on a cell's first error."""
    import contextlib
    import encodings.idna  # noqa: F401 - (socket addresses)
    import io
    import socket  # noqa: F401

    import numpy  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    shell = InteractiveShell.instance(config=_shell_config())
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        shell.run_cell("raise ValueError()", store_history=False)
    InteractiveShell.clear_instance()


def _shell_config() -> Any:
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return config


def run_kernel(config: dict) -> int:
    """Set up (imports, limits, guard), then serve requests until ``exit`` or end of input.
    (The zygote has already put this process in its sandbox and dropped its privileges.)"""
    fd_in, fd_out = config["fds"]
    preload()
    guard = Guard(config.get("scratch", os.getcwd()), config.get("hidden", []),
                  config.get("visible", []))
    kernel = _Kernel(guard)
    _set_limits(config)
    guard.install()
    null = os.open(os.devnull, os.O_WRONLY)  # the learner's prints: nobody reads them
    for fd in (1, 2):  # (the log keeps what went wrong while starting)
        os.dup2(null, fd)
    write_frame(fd_out, encode({"ok": True, "ready": True, "pid": os.getpid()}))
    while True:
        frame = read_frame(fd_in)
        if frame is None:
            return 0
        request = pickle.loads(frame)
        if request["op"] == "exit":
            return 0
        reply = kernel.handle(request)
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame(fd_out, reply)


def main(argv: list[str] | None = None) -> int:
    """``python -m course_tools.grading.kernel CONFIG_JSON``."""
    argv = sys.argv[1:] if argv is None else argv
    return run_kernel(json.loads(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
