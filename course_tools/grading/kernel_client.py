"""The grader's side of a student's kernel: start it (in its sandbox), send requests, read
replies as data, stop it.

A :class:`Kernel` is a child process (:mod:`course_tools.grading.kernel`) with one thread,
limits on memory, processes, open files and bytes written, and a time limit per request
counted in the CPU seconds of everything in its sandbox (so a busy machine does not turn a
correct answer into a timeout) with a wall-clock cap (for answers that sleep or wait).
Anything that goes wrong ends in :class:`KernelStopped` with the status it becomes
(``timeout``, ``memory``, ``crash``, ``sandbox``).
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_tools.grading import protocol
from course_tools.grading.protocol import KernelStopped
from course_tools.grading.sandbox import (
    SCRATCH,
    Holder,
    Sandbox,
    close_quietly,
    hidden_folders,
    readable_paths,
)

__all__ = ["Limits", "Kernel", "KernelStopped", "environment"]

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use."""

    cell_cpu: float = 20.0        # CPU seconds per cell or per call of a learner's function
    submission: float = 300.0     # wall seconds for the whole submission
    memory: int = 2 * 1024 ** 3   # bytes of address space per kernel (beyond its imports)
    processes: int = 64           # processes and threads of the kernel's user
    open_files: int = 128
    file_bytes: int = 64 * 1024 ** 2     # bytes per file it writes
    scratch: int = 64 * 1024 ** 2        # bytes in its scratch folder (a tmpfs)

    def cell_wall(self) -> float:
        """Wall-clock cap per request: generous, since the machine may be busy."""
        return 4 * self.cell_cpu + 30.0


def environment(scratch: str) -> dict[str, str]:
    """A clean environment: one thread, no spin-waiting, plots off-screen, course_lib
    importable, nothing of the grader's own environment (tokens, paths) passed on."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin",
        "HOME": scratch, "TMPDIR": scratch, "PYTHONPATH": path, "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE", "MPLBACKEND": "Agg", "TQDM_DISABLE": "1",
        "IPYTHONDIR": f"{scratch}/.ipython", "MPLCONFIGDIR": f"{scratch}/.mpl",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
    }


class _ForkedChild:
    """A kernel forked by the zygote: the ``poll``/``wait`` of ``subprocess.Popen``."""

    def __init__(self, zygote: _Zygote, pid: int) -> None:
        self.zygote, self.pid, self.returncode = zygote, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                with open(f"/proc/{self.pid}/stat", "rb") as stat:
                    if stat.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                        return None
            except FileNotFoundError:
                pass
            except OSError:
                return None
            return self.wait()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            try:
                self.returncode = self.zygote.status()
            except OSError:
                self.returncode = -signal.SIGKILL
        return self.returncode


class _Zygote:
    """A process that has imported NumPy, torch and IPython once and forks each kernel
    (see :mod:`course_tools.grading.zygote`): a kernel starts in milliseconds."""

    def __init__(self) -> None:
        import socket

        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-m", "course_tools.grading.zygote", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=environment(SCRATCH), cwd="/")
        theirs.close()
        self.sock = ours

    def start(self, fds: list[int], config: dict) -> _ForkedChild:
        import socket

        socket.send_fds(self.sock, [pickle.dumps(config)], fds)
        return _ForkedChild(self, self._read())

    def status(self) -> int:
        return self._read()

    def _read(self) -> int:
        self.sock.settimeout(120)
        data = b""
        while len(data) < 8:
            chunk = self.sock.recv(8 - len(data))
            if not chunk:
                raise OSError("the zygote stopped")
            data += chunk
        return int.from_bytes(data, "little", signed=True)


_ZYGOTE: list[_Zygote] = []


def _zygote() -> _Zygote:
    """This process's zygote, started on first use (and again if it died)."""
    if not _ZYGOTE or _ZYGOTE[0].process.poll() is not None:
        _ZYGOTE[:] = [_Zygote()]
    return _ZYGOTE[0]


class Kernel:
    """One running student kernel, sandboxed unless ``sandbox`` is ``None``.

    Args:
        limits: see :class:`Limits`.
        deadline: ``time.monotonic()`` after which every request is a timeout.
        sandbox: how to start bubblewrap (``None``: no sandbox, for trusted files).
        log_dir: a folder of the grader's for the kernel's start-up log (bwrap's errors).
        hidden: folders the guard refuses to let the kernel read (see :func:`hidden_folders`).
    """

    def __init__(self, limits: Limits, deadline: float | None = None, *,
                 sandbox: Sandbox | None = None, log_dir: Path | None = None,
                 hidden: list[str] | None = None) -> None:
        self.limits = limits
        self.deadline = deadline if deadline is not None else time.monotonic() + \
            limits.submission
        self.sandbox = sandbox
        self._closed = False
        self.cpu = 0.0
        self.holder: Holder | None = None
        self._own_scratch = None if sandbox else tempfile.mkdtemp(prefix="course-kernel-")
        scratch = self._own_scratch or SCRATCH
        log_dir = log_dir or Path(self._own_scratch or tempfile.gettempdir())
        handle, name = tempfile.mkstemp(prefix="kernel-", suffix=".log", dir=log_dir)
        self.log_path = Path(name)
        hidden = hidden or hidden_folders()
        readable = readable_paths(hidden)
        config = {"memory": limits.memory, "processes": limits.processes,
                  "open_files": limits.open_files, "file_bytes": limits.file_bytes,
                  "cpu_seconds": int(limits.submission) + 5, "scratch": scratch,
                  "env": environment(scratch), "hidden": hidden,
                  "visible": [*readable, scratch],
                  "drop_to": sandbox.kernel_user if sandbox else None, "join": None}
        to_kernel_r, to_kernel_w = os.pipe()
        from_kernel_r, from_kernel_w = os.pipe()
        self.to_kernel, self.from_kernel = to_kernel_w, from_kernel_r
        self.ready = False
        try:
            if sandbox is not None:
                self.holder = Holder(sandbox, readable, handle)
                config["join"] = self.holder.pid
            self.process = _zygote().start([to_kernel_r, from_kernel_w, handle], config)
        except OSError as error:
            log = self.log_text()
            for fd in (to_kernel_w, from_kernel_r):
                os.close(fd)
            if self.holder is not None:
                self.holder.close()
            self._cleanup_files()
            raise KernelStopped("crash", f"the kernel could not start ({error})"
                                + (f": {log}" if log else "")) from None
        finally:
            for fd in (to_kernel_r, from_kernel_w, handle):
                os.close(fd)
        os.set_blocking(self.to_kernel, False)
        self.buffer = b""
        self._receive(protocol.MAX_REPLY_BYTES)  # limits and guard set: ready
        self.ready = True

    # ------------------------------------------------------------ requests
    def run(self, code: str, *, trusted: bool = False) -> dict:
        """Execute a cell; the decoded reply tree (``{"ok": {"py": bool}, ...}`` rebuilt by
        the caller). ``trusted``: the lesson's own cell, run with the kernel's guard off."""
        return self.request({"op": "run", "code": code, "trusted": trusted})

    def request(self, message: dict) -> Any:
        """Send one request and return the reply's ``(tree, arrays)``
        (see :func:`~course_tools.grading.protocol.decode`)."""
        self._send(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        reply = self._receive(protocol.MAX_REPLY_BYTES)
        self._check_scratch()
        return reply

    def log_text(self, limit: int = 600) -> str:
        """The end of the kernel's start-up log, on one line (bwrap's own errors)."""
        try:
            return " ".join(self.log_path.read_text(errors="replace").split())[-limit:]
        except OSError:
            return ""

    def close(self) -> None:
        """Stop the kernel and its whole sandbox (everything in its PID namespace dies)."""
        if self._closed:
            return
        self._closed = True
        self.cpu = self._cpu_seconds()
        for kill in (os.kill, os.killpg):  # killpg: a kernel without a sandbox, its group
            try:
                kill(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.holder is not None:
            self.holder.close()
        try:
            self.process.wait()
        except OSError:
            pass
        close_quietly(self.to_kernel, self.from_kernel)
        self._cleanup_files()

    def _cleanup_files(self) -> None:
        self.log_path.unlink(missing_ok=True)
        if self._own_scratch:
            shutil.rmtree(self._own_scratch, ignore_errors=True)

    # ------------------------------------------------------------ plumbing
    def _processes(self) -> list[int]:
        """The kernel's process and everything it started."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as children:
                    todo += [int(child) for child in children.read().split()]
            except (OSError, ValueError):
                pass
        return found

    def _cpu_seconds(self) -> float:
        """CPU seconds of the kernel, of everything it started, and of what they reaped."""
        total = 0
        for pid in self._processes():
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                total += sum(int(fields[i]) for i in (11, 12, 13, 14))
            except (OSError, IndexError, ValueError):
                continue  # gone; the wall-clock cap still holds
        return total / os.sysconf("SC_CLK_TCK")

    def _check_scratch(self) -> None:
        """A kernel that filled its scratch folder hit the sandbox's limit on bytes written."""
        if self.holder is None:
            return
        try:
            stats = os.statvfs(f"/proc/{self.holder.pid}/root{SCRATCH}")
        except OSError:
            return
        if stats.f_blocks and stats.f_bavail * stats.f_frsize < 1024 * 1024:
            self._stop("sandbox", f"the kernel filled its scratch folder (the limit is "
                                  f"{self.limits.scratch >> 20} MB)")

    def _send(self, payload: bytes) -> None:
        data = memoryview(protocol.frame(payload))
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

    def _receive(self, limit: int) -> Any:
        cpu_start, wall_start = self._cpu_seconds(), time.monotonic()
        header = protocol.HEADER.size
        while True:
            if len(self.buffer) >= header:
                (size,) = protocol.HEADER.unpack(self.buffer[:header])
                if size > limit:
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
            return protocol.decode(payload)
        except Exception as error:  # malformed bytes from a submission: its problem
            self._stop("crash", f"the kernel sent a reply the grader cannot read ({error})")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            self._died()

    def _died(self) -> None:
        code = self.process.wait()
        log = "" if self.ready else self.log_text()  # why it did not start
        self.close()
        if log:
            raise KernelStopped("crash", f"the kernel did not start (exit code {code}): {log}")
        if code < 0 and -code == signal.SIGKILL:  # (memory past the limit is a MemoryError)
            raise KernelStopped("crash", "the kernel was killed (SIGKILL): by itself, or by "
                                         "the system, short of memory")
        if code < 0 and -code == signal.SIGXCPU:
            raise KernelStopped("timeout", "the kernel used up its CPU time")
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            raise KernelStopped("crash", f"the kernel crashed ({name})")
        raise KernelStopped("crash", f"the kernel exited with code {code} (os._exit, or a "
                                     "crash in compiled code)")

    def _stop(self, kind: str, message: str) -> None:
        self.close()
        raise KernelStopped(kind, message)

