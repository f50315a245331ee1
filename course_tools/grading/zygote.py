"""The kernels' fork server ("zygote"): imports NumPy, torch and IPython once, then forks a
fresh kernel for each request, which enters its sandbox before any submission code runs.

Each grading worker starts one zygote (``python -m course_tools.grading.zygote SOCKET_FD``,
with a clean environment and no other open file). A request carries the kernel's pipes and
log as file descriptors and its configuration; for a sandboxed kernel, the pid of the
sandbox's first process (a ``cat`` that bubblewrap started in fresh namespaces: see
:mod:`course_tools.grading.sandbox`). The zygote forks a child, which

1. joins the sandbox's user, mount, network, IPC, host-name and PID namespaces
   (``setns``, as ``nsenter`` does), so that its view of the filesystem is the sandbox's;
2. forks the kernel, the first of its processes inside the sandbox's PID namespace;
3. drops every privilege (as root: becomes ``nobody``; otherwise: clears the capabilities
   the joined user namespace gave, the bounding and ambient sets) and sets no-new-privileges,
   as the kernel does, then reports the kernel's pid and waits for it.

The kernel checks that it holds no capability and cannot gain one before it runs anything
(:func:`drop_privileges`). Starting a kernel this way costs milliseconds instead of the
seconds its imports take. The zygote itself never runs submission code and is not visible
from any sandbox.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import socket
import struct
import sys
import traceback

from course_tools.grading import kernel

__all__ = ["serve", "enter", "drop_privileges", "main"]

CLONE = {"user": 0x10000000, "mnt": 0x00020000, "net": 0x40000000, "ipc": 0x08000000,
         "uts": 0x04000000, "pid": 0x20000000}
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 39, 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAPABILITY_VERSION_3 = 0x20080522
NS_GET_USERNS = 0xB701  # ioctl: the user namespace that owns a namespace
_PID = struct.Struct("<q")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def enter(holder: int) -> None:
    """Join every namespace of process ``holder`` that differs from ours.

    As a regular user: first the user namespace that owns the sandbox's mount namespace
    (where we, its creator, hold every capability), then the mount, network, IPC, host-name
    and PID namespaces, then the holder's own user namespace (bubblewrap nests one, in which
    no further user namespace may be created). Namespaces apply to this process (the PID
    namespace to its children), which must be single-threaded: a child the zygote just forked.
    """
    import fcntl

    libc = _libc()
    order = ["mnt", "net", "ipc", "uts", "pid"]
    fds: dict[str, int] = {}
    try:
        for name in ["user", *order]:  # open them all first: /proc changes with the mounts
            theirs = os.stat(f"/proc/{holder}/ns/{name}")
            ours = os.stat(f"/proc/self/ns/{name}")
            if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
                fds[name] = os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        if "mnt" not in fds or "pid" not in fds:
            raise OSError(f"process {holder} is not in a sandbox of its own")
        if "user" in fds:
            fds["owner"] = fcntl.ioctl(fds["mnt"], NS_GET_USERNS)
            _check(libc.setns(fds["owner"], CLONE["user"]), "setns(user)")
        for name in order:
            if name in fds:
                _check(libc.setns(fds[name], CLONE[name]), f"setns({name})")
        if "user" in fds and not _same_namespace(fds["owner"], fds["user"]):
            _check(libc.setns(fds["user"], CLONE["user"]), "setns(user)")
    finally:
        for fd in fds.values():
            os.close(fd)


def _same_namespace(fd: int, other: int) -> bool:
    one, two = os.fstat(fd), os.fstat(other)
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)


def drop_privileges(user: tuple[int, int] | None) -> None:
    """Leave no capability and no way to gain one, then check it.

    As root with ``user``: become that user (no capability left). Otherwise: clear the
    capabilities a joined user namespace gives. Either way: empty bounding and ambient sets,
    no-new-privileges. Raises ``PermissionError`` if a capability survives.
    """
    libc = _libc()
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):  # needs CAP_SETPCAP: before giving up root or the namespace's caps
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: past the last capability this kernel knows
    if user is not None and os.getuid() == 0:
        uid, gid = user
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    header = _CapHeader(CAPABILITY_VERSION_3, 0)
    nothing = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), nothing), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no-new-privileges")
    held = (_CapData * 2)()
    _check(libc.capget(ctypes.byref(header), held), "capget")
    left = [h.effective | h.permitted | h.inheritable for h in held]
    if any(left) or libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 or \
            (user is not None and 0 in (os.getuid(), os.geteuid())):
        raise PermissionError("the kernel could not drop its privileges")


def _close_fds(keep: set[int]) -> None:
    top = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024
    start = 0
    for fd in sorted(keep | {top}):
        if fd > start:
            os.closerange(start, fd)
        start = fd + 1


def _become_kernel(config: dict, fd_in: int, fd_out: int) -> int:
    """In the kernel's process: nothing of the zygote's left but its imports; then serve."""
    os.setsid()
    drop_privileges(config.get("drop_to"))
    os.chdir(config["scratch"])
    os.environ.clear()
    os.environ.update(config["env"])
    _close_fds({0, 1, 2, fd_in, fd_out})
    return kernel.run_kernel({**config, "fds": [fd_in, fd_out]})


def _child(config: dict, fds: list[int], report: int) -> int:
    """The zygote's child: enter the sandbox, fork the kernel, report its pid, wait for it."""
    fd_in, fd_out, log = fds
    os.dup2(log, 1)
    os.dup2(log, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    holder = config.get("join")
    if holder is None:  # trusted files (--no-sandbox): this process is the kernel
        os.write(report, _PID.pack(os.getpid()))
        os.close(report)
        return _become_kernel(config, fd_in, fd_out)
    enter(holder)
    pid = os.fork()
    if pid == 0:
        os.close(report)
        try:
            code = _become_kernel(config, fd_in, fd_out)
        except BaseException:
            traceback.print_exc()
            code = 70
        sys.stdout.flush()
        os._exit(code)
    for fd in (fd_in, fd_out, null):
        os.close(fd)
    drop_privileges(config.get("drop_to"))
    os.write(report, _PID.pack(pid))
    os.close(report)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        os.kill(os.getpid(), os.WTERMSIG(status))  # end the way the kernel ended
    return os.waitstatus_to_exitcode(status)


def serve(sock_fd: int) -> int:
    """Import once, then for each request fork a kernel; reply with its pid, then, when it
    has exited, with its exit status (negative: killed by that signal)."""
    kernel.preload()
    sock = socket.socket(fileno=sock_fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
        except OSError:
            return 0
        if not message:
            return 0
        config = pickle.loads(message)
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                sock.close()
                os.close(read_end)
                code = _child(config, fds, write_end)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write_end)
        for fd in fds:
            os.close(fd)
        reported = os.read(read_end, _PID.size)
        os.close(read_end)
        kernel_pid = _PID.unpack(reported)[0] if len(reported) == _PID.size else pid
        sock.sendall(_PID.pack(kernel_pid))
        _, status = os.waitpid(pid, 0)
        sock.sendall(_PID.pack(os.waitstatus_to_exitcode(status)))


def main(argv: list[str] | None = None) -> int:
    """``python -m course_tools.grading.zygote SOCKET_FD``."""
    argv = sys.argv[1:] if argv is None else argv
    return serve(int(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
