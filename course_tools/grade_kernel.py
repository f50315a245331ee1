"""The student's kernel for ``course grade``: a separate process that runs untrusted cells.

The grader starts ``python -m course_tools.grade_kernel IN_FD OUT_FD MEMORY_BYTES`` in a
scratch folder. The process limits its own memory (``resource.setrlimit``), then answers
requests read from ``IN_FD``:

- ``run``: execute a cell (IPython syntax) in the user namespace;
- ``call``: call a name of the user namespace (or an object it returned earlier) on
  arguments the grader chose, while a profiler records any *direct* call to the course_lib
  functions the exercise may not use, and send the result back **as data**;
- ``getattr``: an attribute of an object it returned earlier.

Requests come pickled from the grader (trusted). Replies are never pickled: they are an
``.npz`` holding a JSON document and plain numeric arrays, which the grader loads with
``allow_pickle=False``, so nothing a submission returns can run code in the grader. The
comparison with the reference is the grader's job; this process never sees the expected
values.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import resource
import struct
import sys
from pathlib import Path
from typing import Any

__all__ = ["encode", "decode", "read_frame", "write_frame", "run_kernel", "serve", "main"]

COURSE_LIB = str(Path(__file__).resolve().parents[1] / "course_lib")
MAX_REPLY_BYTES = 256 * 1024 * 1024
_HEADER = struct.Struct("<Q")


def read_frame(fd: int) -> bytes | None:
    """One length-prefixed message from ``fd``; ``None`` at end of file."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_REPLY_BYTES:
        raise ValueError(f"message of {size} bytes is over the limit of {MAX_REPLY_BYTES}")
    return _read_exactly(fd, size)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed message to ``fd``."""
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# ---------------------------------------------------------------- values as data

def encode(value: Any, handles: dict[int, Any] | None = None) -> bytes:
    """``value`` as an ``.npz``: a JSON tree plus arrays. Objects that are not data
    (functions, modules, ...) become handles the grader can call or read attributes of."""
    arrays: list[Any] = []
    tree = _to_tree(value, arrays, handles if handles is not None else {}, depth=0)
    buffer = io.BytesIO()
    import numpy as np

    named = {f"a{i}": array for i, array in enumerate(arrays)}
    named["json"] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    np.savez(buffer, **named)
    return buffer.getvalue()


def _to_tree(value: Any, arrays: list, handles: dict[int, Any], depth: int) -> Any:
    import numpy as np

    if depth > 20:
        raise ValueError("the result is nested more than 20 levels deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 62:
            return {"bigint": str(value)}
        if type(value) in (bool, int, float, str) or value is None:
            return {"py": value}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        dtype = str(tensor.dtype)
        if tensor.dtype == torch.bfloat16 or tensor.dtype == torch.float16:
            tensor = tensor.float()
        array = tensor.resolve_conj().resolve_neg().numpy()
        arrays.append(np.array(array, order="C"))
        return {"tensor": len(arrays) - 1, "dtype": dtype}
    if torch is not None and isinstance(value, torch.Size):
        return {"tuple": [_to_tree(int(v), arrays, handles, depth + 1) for v in value]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        arrays.append(np.array(value, order="C"))
        return {"array": len(arrays) - 1}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        arrays.append(np.asarray(value))
        return {"scalar": len(arrays) - 1}
    if isinstance(value, (tuple, list)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {kind: [_to_tree(v, arrays, handles, depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {"dict": [[_to_tree(k, arrays, handles, depth + 1),
                          _to_tree(v, arrays, handles, depth + 1)] for k, v in value.items()]}
    handle = len(handles) + 1
    handles[handle] = value
    return {"handle": handle, "type": type(value).__name__, "callable": callable(value)}


def decode(payload: bytes) -> Any:
    """The JSON tree and arrays of a kernel's reply (no pickle: safe on untrusted bytes).

    Returns ``(tree, arrays)``; :func:`course_tools.grade_session` turns handles and
    tensors back into objects.
    """
    import numpy as np

    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        tree = json.loads(npz["json"].tobytes().decode())
        arrays = {name: npz[name] for name in npz.files if name != "json"}
    return tree, arrays


# ---------------------------------------------------------------- the kernel itself

class _Kernel:
    """State of the running kernel: the IPython shell, the handles, the forbidden set."""

    def __init__(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        self.shell = InteractiveShell.instance(config=config)
        self.handles: dict[int, Any] = {}
        self.forbidden: set[tuple[str, str]] = set()
        self.used: list[str] = []

    def run(self, code: str) -> dict:
        result = self.shell.run_cell(code, store_history=False, silent=False)
        error = result.error_before_exec or result.error_in_exec
        return {"ok": error is None, "error": _describe(error) if error else None}

    def call(self, request: dict) -> bytes:
        if "handle" in request:
            target = self.handles.get(request["handle"])
        elif request["name"] in self.shell.user_ns:
            target = self.shell.user_ns[request["name"]]
        else:
            return encode({"ok": False, "error": {
                "type": "NameError", "kind": "exec",
                "message": f"name {request['name']!r} is not defined: did your answer cell "
                           "define it (check the spelling)?"}})
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
            return encode({"ok": False, "error": _describe(error), "used": self.used})
        try:
            return encode({"ok": True, "value": value, "used": self.used}, self.handles)
        except Exception as error:
            return encode({"ok": False, "used": self.used, "error": {
                "type": type(error).__name__, "kind": "exec",
                "message": f"the result could not be sent back to the grader: {error}"}})

    def getattr(self, request: dict) -> bytes:
        target = self.handles.get(request["handle"])
        try:
            value = getattr(target, request["attr"])
        except BaseException as error:
            return encode({"ok": False, "error": _describe(error)})
        return encode({"ok": True, "value": value}, self.handles)

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


def _limit_memory(limit: int) -> None:
    """Address space: what the process holds now (Python, NumPy, torch) plus ``limit``."""
    if limit > 0:
        try:
            with open("/proc/self/status") as status:
                line = next(x for x in status if x.startswith("VmSize:"))
            current = int(line.split()[1]) * 1024
        except (OSError, StopIteration, ValueError):
            current = 0
        resource.setrlimit(resource.RLIMIT_AS, (current + limit, current + limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    size = 256 * 1024 * 1024  # stdout/stderr files and anything the submission writes
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def _preload() -> None:
    """Import what every kernel needs before any submission code runs (and, in the fork
    server, once for all kernels)."""
    import numpy  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def run_kernel(fd_in: int, fd_out: int, memory: int) -> int:
    """Serve requests on ``fd_in``/``fd_out`` until ``exit`` or end of input."""
    _preload()
    _limit_memory(memory)
    kernel = _Kernel()
    write_frame(fd_out, encode({"ok": True, "ready": True}))
    while True:
        frame = read_frame(fd_in)
        if frame is None:
            return 0
        request = pickle.loads(frame)
        op = request["op"]
        if op == "exit":
            return 0
        if op == "run":
            reply = encode(kernel.run(request["code"]))
        elif op == "call":
            reply = kernel.call(request)
        else:
            reply = kernel.getattr(request)
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame(fd_out, reply)


def serve(sock_fd: int) -> int:
    """Fork server: import once, then fork a fresh kernel for each request.

    A request (from the grading worker, over a Unix socket) carries the kernel's pipes and
    log file as file descriptors and its folder, environment and memory limit. The server
    replies with the child's pid, waits for it, and replies with its exit status (negative:
    killed by that signal). The server itself never runs submission code.
    """
    import socket

    _preload()
    sock = socket.socket(fileno=sock_fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
        except OSError:
            return 0
        if not message:
            return 0
        config = pickle.loads(message)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                sock.close()
                os.setsid()
                os.chdir(config["cwd"])
                os.environ.clear()
                os.environ.update(config["env"])
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(fds[2], 1)
                os.dup2(fds[2], 2)
                code = run_kernel(fds[0], fds[1], config["memory"])
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        sock.sendall(struct.pack("<q", pid))
        _, status = os.waitpid(pid, 0)
        sock.sendall(struct.pack("<q", os.waitstatus_to_exitcode(status)))


def main(argv: list[str] | None = None) -> int:
    """``IN_FD OUT_FD MEMORY`` runs one kernel; ``--serve SOCKET_FD`` runs the fork server."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[0] == "--serve":
        return serve(int(argv[1]))
    return run_kernel(int(argv[0]), int(argv[1]), int(argv[2]))


if __name__ == "__main__":
    sys.exit(main())
