"""Helpers shared by the browser tests: the decks' and the website's npm assets (KaTeX and
the CJK font from the decks' npm lock), nbgrader cell metadata, and a JupyterLab server
started as a learner starts it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

NPM_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "slides-npm"


def grading(grade_id: str, answer: bool) -> dict:
    """nbgrader metadata of an answer cell (``answer``) or of its test cell."""
    return {"nbgrader": {"grade": not answer, "grade_id": grade_id, "locked": not answer,
                         "schema_version": 3, "solution": answer, "task": False,
                         **({} if answer else {"points": 1})}}


def need_npm() -> None:
    """Skip (fail under CI) where npm is missing and the assets are not cached yet."""
    if shutil.which("npm") is None and not (NPM_CACHE / "node_modules").is_dir():
        message = ("the decks' and the site's assets install with npm: Debian/Ubuntu `sudo "
                   "apt-get install npm`, macOS `brew install node`")
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)


LAB_TOKEN = "course-browser-test"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def course_lab(root: Path, lang: str = "en") -> Iterator[str]:
    """``course lab --lang LANG`` (what ``make lab [LANG=zh]`` runs) serving ``root`` on a
    free loopback port with :data:`LAB_TOKEN`; yields the server's base URL and stops it
    afterwards."""
    port = _free_port()
    env = {**os.environ, "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
           "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    command = [sys.executable, "-m", "course_tools", "lab", "--lang", lang, "--root", str(root),
               "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={LAB_TOKEN}", "--ServerApp.port_retries=0"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        command.append("--allow-root")
    log = open(root / "lab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                              stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={LAB_TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (root / "lab.log").read_text())
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


_STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


def run_all_cells(page, done: str, *, seconds: float = 240, arg=None) -> None:
    """Run > Run All Cells in JupyterLab until the JavaScript predicate ``done`` holds.

    Two races of JupyterLab with a kernel that is still connecting, both seen on a busy
    machine, are handled as a learner would: a "Select Kernel" dialog is accepted, and a Run
    All whose requests were dropped (the kernel shows Idle, no prompt turns to [*] or [n]
    within 20 s) is clicked again. Fails, naming ``done``, after ``seconds``."""
    deadline = time.monotonic() + seconds
    for _attempt in range(4):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        clicked = time.monotonic()
        while time.monotonic() < deadline:
            if page.evaluate(done, arg):
                return
            accept = page.locator(".jp-Dialog .jp-mod-accept")
            if accept.count():
                accept.click()
                break  # the kernel chosen, run again
            if time.monotonic() - clicked > 20 and not page.evaluate(_STARTED):
                break  # nothing started: the requests were lost
            page.wait_for_timeout(500)
    assert page.evaluate(done, arg), f"Run All Cells did not reach {done!r} in {seconds} s"
