"""One submission's kernel, and what to do when an answer stops it.

A :class:`Session` starts a sandboxed kernel, runs the lesson's set-up cells in it (trusted,
the kernel's guard off), then the submission's answer cells (guard on). Its restart policy:
an answer cell that stops the kernel (a crash, ``os._exit``, running out of memory or time,
or the sandbox) is flagged and left out, and the kernel is started again with the others, so
one bad cell costs only its exercise. Calls from the grader's test code reach the kernel
through :meth:`Session.call` and :meth:`Session.getattr` (the proxies' channel), which
collect what the kernel's profiler and guard saw during the exercise.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from course_tools.grading import protocol
from course_tools.grading.kernel_client import Kernel, KernelStopped, Limits
from course_tools.grading.sandbox import Sandbox
from course_tools.grading.status import Status

__all__ = ["Session"]

Flag = Callable[[str, Status, str], None]   # (answer grade_id, status, message)


class Session:
    """The kernel of one submission and the bookkeeping of the exercise being graded.

    Args:
        limits, deadline: see :class:`~course_tools.grading.kernel_client.Kernel`.
        boot: the lesson's set-up cells the answers need (sources, run trusted).
        answers: ``(grade_id, source)`` of the submission's answer cells, in order.
        flag: called with what an answer cell did wrong while the kernel started.
        sandbox: how to sandbox the kernel (``None``: trusted files, ``--no-sandbox``).
        log_dir, hidden: see :class:`~course_tools.grading.kernel_client.Kernel`.
    """

    def __init__(self, limits: Limits, deadline: float, boot: list[str],
                 answers: list[tuple[str, str]], flag: Flag, *, sandbox: Sandbox | None,
                 log_dir: Path | None = None, hidden: list[str] | None = None) -> None:
        self.limits, self.deadline, self.boot, self.answers = limits, deadline, boot, answers
        self.flag, self.sandbox, self.log_dir, self.hidden = flag, sandbox, log_dir, hidden
        self.kernel: Kernel | None = None
        self.skipped: set[str] = set()
        self.kernel_cpu = 0.0
        self.forbidden: set[tuple[str, str]] = set()
        self.used: list[str] = []
        self.refused: list[str] = []   # what the kernel's guard refused during the exercise

    # ------------------------------------------------------------ starting
    def start(self) -> None:
        """(Re)start the kernel: set-up cells, then every answer that has not stopped it.

        Raises :class:`KernelStopped` when the kernel cannot start or a set-up cell stops
        it, ``RuntimeError`` when a set-up cell fails (the lesson's problem, not the
        submission's).
        """
        while True:
            self.close()
            active = [(gid, source) for gid, source in self.answers if gid not in self.skipped]
            try:
                again = self._boot(active)
            except KernelStopped as stopped:
                position = getattr(stopped, "position", None)
                if position is None or position < len(self.boot):
                    raise
                gid = active[position - len(self.boot)][0]
                self.skipped.add(gid)
                status = Status(stopped.kind)
                self.flag(gid, status, f"your answer cell {gid} stopped the kernel: "
                                       f"{stopped.message}")
                continue
            if not again:
                return

    def _boot(self, active: list[tuple[str, str]]) -> bool:
        """Start a kernel and run the set-up and answer cells; True if it must start again
        (an answer ran out of memory and was left out)."""
        self.kernel = Kernel(self.limits, self.deadline, sandbox=self.sandbox,
                             log_dir=self.log_dir, hidden=self.hidden)
        cells = [(None, code) for code in self.boot] + list(active)
        again = False
        for position, (gid, code) in enumerate(cells):
            try:
                reply = self._rebuild(self.kernel.run(code, trusted=gid is None))
            except KernelStopped as stopped:
                stopped.position = position  # type: ignore[attr-defined]
                raise
            if gid is None:
                if not reply["ok"]:
                    error = reply["error"]
                    raise RuntimeError(f"a set-up cell of the lesson failed in the kernel: "
                                       f"{error['type']}: {error['message']}")
                continue
            for refused in _strings(reply.get("sandbox")):
                self.flag(gid, Status.SANDBOX, f"your answer cell {gid} {refused}")
            if not reply["ok"]:
                error = reply["error"]
                kind = {"syntax": Status.SYNTAX_ERROR, "exec": Status.ANSWER_ERROR,
                        "exit": Status.EXIT, "memory": Status.MEMORY}.get(error["kind"],
                                                                          Status.ANSWER_ERROR)
                self.flag(gid, kind, f"your answer cell {gid} raised {error['type']}: "
                                     f"{error['message']}")
                if kind is Status.MEMORY:
                    self.skipped.add(gid)
                    again = True
        return again

    # ------------------------------------------------------------ the proxies' channel
    def call(self, message: dict) -> Any:
        """Send a call of the learner's function (or of an object it returned)."""
        if self.kernel is None:
            raise KernelStopped("crash", "the kernel is not running")
        message["forbid"] = sorted(self.forbidden)
        try:
            message["args"] = pickle.dumps(message["args"], protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise RuntimeError(f"the grader could not send these inputs to the kernel: "
                               f"{error}") from None
        return self._answer(self.kernel.request(message))

    def getattr(self, handle: int, name: str) -> Any:
        """An attribute of an object the learner's function returned."""
        if self.kernel is None:
            raise KernelStopped("crash", "the kernel is not running")
        return self._answer(self.kernel.request({"op": "getattr", "handle": handle,
                                                 "attr": name}))

    def _answer(self, raw: tuple[Any, dict]) -> Any:
        reply = self._rebuild(raw)
        self.used += _strings(reply.get("used"))
        self.refused += _strings(reply.get("sandbox"))
        if reply["ok"]:
            return reply["value"]
        raise protocol.remote_error(reply["error"])

    def _rebuild(self, raw: tuple[Any, dict]) -> dict:
        reply = protocol.rebuild(*raw, channel=self)
        if not isinstance(reply, dict) or "ok" not in reply:
            raise KernelStopped("crash", "the kernel sent a reply the grader cannot read")
        return reply

    def begin_exercise(self, forbidden: set[tuple[str, str]]) -> None:
        """Reset what the profiler and the guard saw: a new exercise is graded."""
        self.forbidden, self.used, self.refused = forbidden, [], []

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel_cpu += self.kernel.cpu
            self.kernel = None


def _strings(items: Any, most: int = 10, length: int = 300) -> list[str]:
    """A kernel's list of messages, as short strings (the kernel is not trusted)."""
    if not isinstance(items, (list, tuple)):
        return []
    return [str(item)[:length] for item in items[:most]]
