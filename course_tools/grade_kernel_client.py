"""The grader's side of a student's kernel: start it, send requests, read replies as data.

A :class:`Kernel` is a child process (``course_tools.grade_kernel``) in a scratch folder with
one thread, a memory limit, and a time limit per request counted in the kernel's own CPU
seconds (so a busy machine does not turn a correct answer into a timeout) with a wall-clock
cap (for answers that sleep or wait). Anything that goes wrong ends in :class:`KernelStopped`
with a kind (``timeout``, ``memory``, ``crash``) the grader turns into a status.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_tools import grade_kernel

__all__ = ["Limits", "Kernel", "KernelStopped"]

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Limits:
    """Time and memory limits for one submission."""

    cell_cpu: float = 20.0        # CPU seconds per cell or per call of a learner's function
    submission: float = 300.0     # wall seconds for the whole submission
    memory: int = 2 * 1024 ** 3   # bytes of address space per kernel

    def cell_wall(self) -> float:
        """Wall-clock cap per request: generous, since the machine may be busy."""
        return 4 * self.cell_cpu + 30.0


class KernelStopped(BaseException):  # noqa: N818 - not an error of the grader's code
    """The kernel died, ran out of time or memory. A ``BaseException``, so that the
    checks' ``except Exception`` (which turns a learner's error into feedback) lets it
    through to the grader."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def _environment(scratch: Path) -> dict[str, str]:
    """A clean environment: one thread, no spin-waiting, plots off-screen, course_lib
    importable, nothing of the grader's own environment (tokens, paths) passed on."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin",
        "HOME": str(scratch), "PYTHONPATH": path, "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE", "MPLBACKEND": "Agg", "TQDM_DISABLE": "1",
        "IPYTHONDIR": str(scratch / ".ipython"), "MPLCONFIGDIR": str(scratch / ".mpl"),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
    }


class _ForkedChild:
    """A kernel forked by the fork server: the ``poll``/``wait`` of ``subprocess.Popen``."""

    def __init__(self, server: _ForkServer, pid: int) -> None:
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
                with open(f"/proc/{self.pid}/stat", "rb") as stat:
                    if stat.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                        return None
            except (ProcessLookupError, FileNotFoundError):
                pass
            except OSError:
                return None
            return self.wait()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = self.server.status()
        return self.returncode


class _ForkServer:
    """A process that has imported NumPy, torch and IPython once and forks a fresh kernel
    per submission: each kernel starts in milliseconds instead of seconds of imports."""

    def __init__(self) -> None:
        import socket

        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course_tools.grade_kernel", "--serve", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1",
                                            "OMP_WAIT_POLICY": "PASSIVE",
                                            "PYTHONPATH": str(REPO)})
        theirs.close()
        self.sock = ours

    def start(self, fds: list[int], config: dict) -> _ForkedChild:
        import socket

        socket.send_fds(self.sock, [pickle.dumps(config)], fds)
        return _ForkedChild(self, self._read())

    def status(self) -> int:
        return self._read()

    def _read(self) -> int:
        self.sock.settimeout(60)
        data = b""
        while len(data) < 8:
            chunk = self.sock.recv(8 - len(data))
            if not chunk:
                raise OSError("the fork server stopped")
            data += chunk
        return int.from_bytes(data, "little", signed=True)


_SERVER: list[_ForkServer | None] = []


def _fork_server() -> _ForkServer | None:
    """This process's fork server, started on first use (``None``: start kernels plainly)."""
    if not _SERVER:
        try:
            _SERVER.append(_ForkServer() if hasattr(os, "fork") else None)
        except OSError:
            _SERVER.append(None)
    server = _SERVER[0]
    if server is not None and server.process.poll() is not None:
        _SERVER[0] = server = None
    return server


class Kernel:
    """One running student kernel."""

    def __init__(self, scratch: Path, limits: Limits, deadline: float) -> None:
        self.limits, self.deadline = limits, deadline
        self._closed = False
        self.cpu = 0.0
        to_kernel_r, to_kernel_w = os.pipe()
        from_kernel_r, from_kernel_w = os.pipe()
        self.log_path = scratch / "kernel.log"
        self.to_kernel, self.from_kernel = to_kernel_w, from_kernel_r
        try:
            with open(self.log_path, "ab") as log:
                server = _fork_server()
                if server is not None:
                    self.process = server.start(
                        [to_kernel_r, from_kernel_w, log.fileno()],
                        {"cwd": str(scratch), "env": _environment(scratch),
                         "memory": limits.memory})
                else:
                    self.process = subprocess.Popen(
                        [sys.executable, "-m", "course_tools.grade_kernel", str(to_kernel_r),
                         str(from_kernel_w), str(limits.memory)],
                        pass_fds=(to_kernel_r, from_kernel_w), cwd=scratch,
                        env=_environment(scratch), stdin=subprocess.DEVNULL, stdout=log,
                        stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            os.close(to_kernel_r)
            os.close(from_kernel_w)
        os.set_blocking(self.to_kernel, False)
        self.buffer = b""
        self._receive()  # the "ready" message: imports done

    # ------------------------------------------------------------ requests
    def run(self, code: str) -> dict:
        """Execute a cell; ``{"ok": bool, "error": {...} | None}``."""
        return self.request({"op": "run", "code": code})

    def request(self, message: dict) -> Any:
        """Send one request and return the decoded reply tree's values (see ``decode``)."""
        self._send(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        return self._receive()

    def close(self) -> None:
        """Stop the kernel and its whole process group."""
        if self._closed:
            return
        self._closed = True
        self.cpu = self._cpu_seconds()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait()
        except OSError:
            pass
        for fd in (self.to_kernel, self.from_kernel):
            try:
                os.close(fd)
            except OSError:
                pass

    # ------------------------------------------------------------ plumbing
    def _cpu_seconds(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0  # no /proc (or the process is gone): the wall-clock cap still holds

    def _send(self, payload: bytes) -> None:
        data = memoryview(grade_kernel._HEADER.pack(len(payload)) + payload)
        start = time.monotonic()
        while data:
            self._check_alive()
            _, writable, _ = select.select([], [self.to_kernel], [], 0.2)
            if writable:
                try:
                    data = data[os.write(self.to_kernel, data):]
                except BrokenPipeError:
                    self._died()
            if time.monotonic() - start > self.limits.cell_wall():
                self._stop("timeout", "the kernel stopped reading requests")

    def _receive(self) -> Any:
        cpu_start, wall_start = self._cpu_seconds(), time.monotonic()
        header = grade_kernel._HEADER.size
        while True:
            if len(self.buffer) >= header:
                (size,) = grade_kernel._HEADER.unpack(self.buffer[:header])
                if size > grade_kernel.MAX_REPLY_BYTES:
                    self._stop("crash", "the kernel sent a reply larger than the grader reads")
                if len(self.buffer) >= header + size:
                    payload = self.buffer[header:header + size]
                    self.buffer = self.buffer[header + size:]
                    return self._decode(payload)
            readable, _, _ = select.select([self.from_kernel], [], [], 0.2)
            if readable:
                chunk = os.read(self.from_kernel, 1 << 20)
                if not chunk:
                    self._died()
                self.buffer += chunk
                continue
            now = time.monotonic()
            if self._cpu_seconds() - cpu_start > self.limits.cell_cpu:
                self._stop("timeout", f"a cell or call ran for more than "
                                      f"{self.limits.cell_cpu:g} CPU seconds")
            if now - wall_start > self.limits.cell_wall():
                self._stop("timeout", f"a cell or call took more than "
                                      f"{self.limits.cell_wall():g} s (waiting or sleeping?)")
            if now > self.deadline:
                self._stop("timeout", f"the submission took more than "
                                      f"{self.limits.submission:g} s in all")

    def _decode(self, payload: bytes) -> Any:
        try:
            return grade_kernel.decode(payload)
        except Exception as error:  # malformed bytes from a submission: its problem
            self._stop("crash", f"the kernel sent a reply the grader cannot read ({error})")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            self._died()

    def _died(self) -> None:
        code = self.process.wait()
        self.close()
        if code < 0 and -code == signal.SIGKILL:
            raise KernelStopped("memory", "the kernel was killed by the system, most likely "
                                          "for using too much memory")
        if code < 0 and -code == signal.SIGXCPU:
            raise KernelStopped("timeout", "the kernel used up its CPU time")
        if code < 0 and -code == signal.SIGXFSZ:
            raise KernelStopped("crash", "the kernel wrote more output than allowed")
        if code < 0:
            name = signal.Signals(-code).name
            raise KernelStopped("crash", f"the kernel crashed ({name})")
        raise KernelStopped("crash", f"the kernel exited with code {code} (os._exit, or a "
                                     "crash in compiled code)")

    def _stop(self, kind: str, message: str) -> None:
        self.close()
        raise KernelStopped(kind, message)
