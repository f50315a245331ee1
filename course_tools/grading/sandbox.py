"""The OS sandbox around every kernel ``course grade`` starts: bubblewrap (Linux namespaces).

For each kernel, ``bwrap`` (the sandbox Flatpak uses) sets up fresh namespaces around a first
process that only waits (``cat``); the zygote's child joins them and forks the kernel there
(see :mod:`course_tools.grading.zygote`). The kernel then has

- a **read-only filesystem** holding only what a kernel needs: the system's libraries, the
  Python it runs, ``course_lib`` and ``course_tools``; everything else (the submissions, the
  results, the source notebooks with their solutions and hidden tests, the rest of the
  repository, home folders) is not there at all;
- one writable folder, ``/tmp`` (also its home and working folder): a private tmpfs of
  bounded size that disappears with the kernel (a course kept under ``/tmp`` on the host is
  bound read-only inside it, so a course cloned there grades too);
- **no network** (its own network namespace), its **own PID namespace** (it sees no other
  process, so it cannot signal the grader or another kernel, and everything it starts dies
  with it), its own IPC and host-name namespaces, a new session (no terminal);
- no privilege: as a regular user, its own user namespace with user namespaces disabled inside
  it and every capability dropped; as root, the sandbox is set up privileged and the kernel
  runs as user ``nobody``.

The kernel itself adds limits on memory, processes, open files, bytes per file and CPU
seconds, and its guard (see :mod:`course_tools.grading.kernel`).

:func:`find` locates bwrap; :func:`probe` starts one sandboxed kernel that tries to write
outside its scratch folder, read a file outside the sandbox, signal the grader, open a
connection and keep a capability, and raises :class:`SandboxUnavailable` (with how to get a
working sandbox) if any of that succeeds or if no sandbox starts at all.
"""

from __future__ import annotations

import json
import os
import pickle
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sandbox", "SandboxUnavailable", "Holder", "find", "probe", "readable_paths",
           "hidden_folders", "HOW_TO_GET_ONE", "REPO", "SCRATCH"]

REPO = Path(__file__).resolve().parents[2]
SCRATCH = "/tmp"  # the kernel's private folder inside its sandbox (home, cwd, TMPDIR)
BWRAP_VARIABLE = "COURSE_BWRAP"  # another bwrap than the one on PATH (tests use it)
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
ETC = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
       "/etc/alternatives", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/fonts"]
CPU = ["/sys/devices/system/cpu"]   # NumPy and torch read the CPU topology
HOW_TO_GET_ONE = """\
To get one:
  - install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), `sudo dnf
    install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch);
  - it needs user namespaces: on Debian before 11 `sudo sysctl -w
    kernel.unprivileged_userns_clone=1`; on Ubuntu 23.10 and later AppArmor restricts them:
    `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile
    that allows userns for /usr/bin/bwrap; check that `sysctl user.max_user_namespaces` is
    not 0; in a container, allow namespaces (docker run --security-opt seccomp=unconfined
    --security-opt apparmor=unconfined) or grade as root inside it.
Or grade files you trust without a sandbox: `course grade ... --no-sandbox` (every row of
that run then says so)."""


class SandboxUnavailable(RuntimeError):
    """No working sandbox on this machine; the message says why and how to get one."""


def hidden_folders(*extra: Path) -> list[str]:
    """Folders a kernel may never read (its guard refuses them even without a sandbox):
    the repository (but for course_lib and course_tools), the grader's home, and ``extra``
    (the submissions, the results, the source notebooks)."""
    return [str(p) for p in (REPO, Path.home(), *extra)]


def readable_paths(hidden: list[str] = ()) -> list[str]:
    """What a kernel reads: the Python it runs (its prefixes and site-packages), course_lib
    and course_tools; never a folder that holds one of ``hidden`` (the repository, where
    submissions may sit, the submissions and results folders, the grader's home)."""
    prefixes = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                os.path.dirname(os.path.realpath(sys.executable))]
    sites = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    found: list[str] = []
    for entry in [*prefixes, *sites]:
        if entry and os.path.isdir(entry):
            found += [os.path.abspath(entry), os.path.realpath(entry)]
    found = [p for p in found if not _under(p, "/usr") and
             not any(_under(h, p) for h in [*hidden, str(REPO)])]
    found += [str(REPO / "course_lib"), str(REPO / "course_tools")]
    unique: list[str] = []
    for path in sorted(set(found), key=len):
        if not any(_under(path, kept) for kept in unique):
            unique.append(path)
    return unique


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass(frozen=True)
class Sandbox:
    """How to start a kernel in bubblewrap on this machine."""

    bwrap: str
    scratch_bytes: int = 64 * 1024 * 1024
    as_root: bool = False                   # the grader is root: privileged bwrap, then drop
    options: frozenset[str] = field(default_factory=frozenset)   # what this bwrap supports
    drop_to: tuple[int, int] = (65534, 65534)

    def command(self, argv: list[str], env: dict[str, str], readable: list[str],
                info_fd: int | None = None) -> list[str]:
        """The bwrap command line that runs ``argv`` as the first process (PID 1) of a new
        sandbox with exactly ``env``, ``readable`` (host paths) bound read-only at the same
        place; ``info_fd``: where bwrap writes that process's pid."""
        cmd = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--as-pid-1",
               "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--hostname", "sandbox"]
        if info_fd is not None:
            cmd += ["--info-fd", str(info_fd)]
        if not self.as_root:
            cmd += ["--unshare-user"]
            if "--disable-userns" in self.options:
                cmd += ["--disable-userns"]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        for path in SYSTEM:
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                cmd += ["--ro-bind", path, path]
        etc = [path for path in ETC if os.path.exists(path)]
        cpu = [path for path in CPU if os.path.exists(path)]
        paths = [*etc, *readable, *cpu]
        # A course or class kept under /tmp on the host is bound after the private /tmp is
        # mounted, inside it (read-only): bound before, the tmpfs would hide it.
        outside = [path for path in paths if not _under(path, SCRATCH)]
        inside = [path for path in paths if _under(path, SCRATCH)]
        cmd += self._binds(outside)
        if "--perms" in self.options:
            cmd += ["--perms", "1777"]
        if "--size" in self.options:
            cmd += ["--size", str(self.scratch_bytes)]
        cmd += ["--tmpfs", SCRATCH, *self._binds(inside), "--remount-ro", "/dev",
                "--remount-ro", "/", "--chdir", SCRATCH, "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return [*cmd, "--", *argv]

    @staticmethod
    def _binds(paths: list[str]) -> list[str]:
        """``paths`` bound read-only at the same place, their parent folders made first."""
        cmd = []
        for folder in _ancestors(paths):
            if folder != SCRATCH:
                cmd += ["--perms", "0755", "--dir", folder]  # (bwrap makes them 0700 else)
        for path in paths:
            cmd += ["--ro-bind", path, path]
        return cmd

    @property
    def kernel_user(self) -> tuple[int, int] | None:
        """The user the kernel drops to (root graders only)."""
        return self.drop_to if self.as_root else None

    def gaps(self) -> list[str]:
        """What this bubblewrap cannot do that the sandbox would like (older than 0.8)."""
        found = []
        if "--size" not in self.options:
            found.append("no --size: the scratch folder is bounded only by the machine's "
                         "memory")
        if not self.as_root and "--disable-userns" not in self.options:
            found.append("no --disable-userns: a kernel may create user namespaces")
        return found

    def describe(self) -> str:
        """One line for the manifest and the terminal."""
        gaps = self.gaps()
        return f"bubblewrap ({self.bwrap}" + (", as root: kernels run as nobody" if
                                              self.as_root else "") + ")" + \
            (f"; {'; '.join(gaps)} (bubblewrap 0.8 or later has them)" if gaps else "")


def close_quietly(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class Holder:
    """A sandbox's first process: bubblewrap runs ``cat`` (which waits on a pipe of ours) in
    fresh namespaces; kernels join them. Closing it ends the sandbox and every process in it."""

    def __init__(self, sandbox: Sandbox, readable: list[str], log: int) -> None:
        info_r, info_w = os.pipe()
        stdin_r, self.stdin = os.pipe()
        self.stdout, stdout_w = os.pipe()
        cat = shutil.which("cat", path="/usr/bin:/bin") or "/bin/cat"
        try:
            self.process = subprocess.Popen(
                sandbox.command([cat], {}, readable, info_fd=info_w), pass_fds=(info_w,),
                stdin=stdin_r, stdout=stdout_w, stderr=log, env={"PATH": "/usr/bin:/bin"},
                cwd="/", start_new_session=True)
        finally:
            for fd in (info_w, stdin_r, stdout_w):
                os.close(fd)
        try:
            os.write(self.stdin, b"\n")   # cat echoes it once the sandbox is set up
            readable_now, _, _ = select.select([self.stdout], [], [], 60)
            echoed = os.read(self.stdout, 1) if readable_now else b""
            info = os.read(info_r, 4096) if echoed else b""
            self.pid = int(json.loads(info.decode() or "{}").get("child-pid", 0))
        except (OSError, ValueError):
            self.pid = 0
        finally:
            os.close(info_r)
        if not self.pid:
            self.close()
            raise OSError("bubblewrap did not start a sandbox")

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # bwrap; its child dies with it
        except (ProcessLookupError, PermissionError):
            pass
        close_quietly(self.stdin, self.stdout)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass


def _bwrap_options(bwrap: str) -> frozenset[str]:
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True,
                              timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(word for word in text.split() if word.startswith("--"))


def _ancestors(paths: list[str]) -> list[str]:
    """The folders above ``paths`` (not ``/``), each once, parents first."""
    found: list[str] = []
    for path in paths:
        parents = list(Path(path).parents)[:-1]
        for parent in reversed(parents):
            if str(parent) not in found and not os.path.islink(str(parent)):
                found.append(str(parent))
    return found


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def find(scratch_bytes: int = 64 * 1024 * 1024) -> Sandbox:
    """This machine's sandbox (not yet probed); :class:`SandboxUnavailable` without bwrap."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"the grading sandbox needs Linux (this is {sys.platform}).\n"
                                 + HOW_TO_GET_ONE)
    bwrap = os.environ.get(BWRAP_VARIABLE) or shutil.which("bwrap")
    if not bwrap or not os.access(bwrap, os.X_OK):
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed"
                                 + (f" at {bwrap}" if bwrap else "") + ".\n" + HOW_TO_GET_ONE)
    return Sandbox(bwrap, scratch_bytes, os.geteuid() == 0,
                   _bwrap_options(bwrap), _nobody())


PROBE = '''
import os, socket
_allowed = []
def _attempt(what, action):
    try:
        action()
        _allowed.append(what)
    except OSError:
        pass
if not os.statvfs({course_lib!r}).f_flag & os.ST_RDONLY:
    _allowed.append("write in course_lib")
_attempt("write outside its scratch folder", lambda: open({outside_file!r}, "w").close())
_attempt("read a file outside the sandbox", lambda: open({canary!r}).read())
_attempt("signal the grader", lambda: os.kill({grader}, 0))
if os.getppid() != 0:
    _allowed.append("see the process that started it")
if any(name != "lo" for _, name in socket.if_nameindex()):
    _allowed.append("see a network interface")
_attempt("open a network connection",
         lambda: socket.create_connection(("192.0.2.1", 9), timeout=2).close())
with open("/proc/self/status") as _status:
    _fields = dict(line.split(":", 1) for line in _status if ":" in line)
if int(_fields["CapEff"], 16) or int(_fields["CapPrm"], 16) or \\
        _fields["NoNewPrivs"].strip() != "1":
    _allowed.append("keep a capability")
def _probe_result():
    return _allowed
'''


def probe(sandbox: Sandbox) -> None:
    """Start one sandboxed kernel and check it cannot write outside its scratch folder,
    read a file outside the sandbox, signal the grader or reach the network. Raises
    :class:`SandboxUnavailable` saying what failed and how to get a working sandbox."""
    outside = Path(tempfile.mkdtemp(prefix="course-grade-probe-"))
    outside.chmod(0o777)  # only the sandbox may stop the kernel here, not file permissions
    canary = outside / "canary.txt"
    canary.write_text("the grader's\n")
    canary.chmod(0o644)
    code = PROBE.format(course_lib=str(REPO / "course_lib"), outside_file=str(outside / "written"),
                        canary=str(canary), grader=os.getpid())
    from course_tools.grading import protocol
    from course_tools.grading.kernel_client import Kernel, KernelStopped, Limits

    kernel = None
    try:
        try:
            kernel = Kernel(Limits(cell_cpu=20.0, submission=120.0), sandbox=sandbox,
                            log_dir=outside)
            ran = protocol.rebuild(*kernel.run(code, trusted=True))
            if not ran["ok"]:
                raise KernelStopped("crash", f"the probe failed in the kernel: "
                                             f"{ran['error']['type']}: {ran['error']['message']}")
            reply = protocol.rebuild(*kernel.request({
                "op": "call", "name": "_probe_result", "trusted": True,
                "args": pickle.dumps(((), {}))}))
        except KernelStopped as stopped:
            raise SandboxUnavailable(
                f"bubblewrap ({sandbox.bwrap}) could not run a kernel here: {stopped.message}"
                "\n" + HOW_TO_GET_ONE) from None
        holes = [str(hole) for hole in reply.get("value") or []]
        if (outside / "written").exists():
            holes.append("leave a file outside its scratch folder")
        if holes:
            raise SandboxUnavailable("the sandbox does not isolate kernels here: a kernel "
                                     f"could {'; '.join(holes)}.\n" + HOW_TO_GET_ONE)
    finally:
        if kernel is not None:
            kernel.close()
        shutil.rmtree(outside, ignore_errors=True)
