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

# The dialogs JupyterLab raises in these tests' normal course: "Select Kernel" when it opens a
# notebook before it has the kernel specs (a busy machine), "File Changed" when the course
# updates an open copy. Any other ("Kernel Restarting", an error) fails the test.
EXPECTED_DIALOGS = ("Select Kernel", "File Changed")


def dialogs_closed(page) -> list[str]:
    """The texts of the dialogs :func:`dismiss_dialog` closed on ``page`` (for messages)."""
    return page.__dict__.setdefault("course_dialogs_closed", [])


def dismiss_dialog(page, prefer: str | None = None,
                   expected: tuple[str, ...] = EXPECTED_DIALOGS) -> str | None:
    """Close an expected JupyterLab dialog (one whose text starts with one of ``expected``)
    as a learner would and return its text; None when no dialog is open. The button
    labelled ``prefer`` is clicked where there is one, else the dialog's default (accept)
    button. An unexpected dialog fails, with its text."""
    dialog = page.locator(".jp-Dialog")
    if not dialog.count():
        return None
    try:
        text = " ".join(dialog.first.inner_text(timeout=2_000).split())[:200]
    except Exception:  # the dialog closed itself meanwhile
        return None
    assert text.startswith(expected), f"JupyterLab showed a dialog: {text!r}"
    buttons = dialog.first.locator("button")
    try:
        if prefer and buttons.filter(has_text=prefer).count():
            buttons.filter(has_text=prefer).first.click(timeout=5_000)
        else:
            dialog.first.locator(".jp-mod-accept").first.click(timeout=5_000)
    except Exception:  # closed meanwhile
        return None
    dialogs_closed(page).append(text)
    return text


def click_menu(page, menu: str, item: str, *, seconds: float = 90,
               prefer: str | None = None,
               expected: tuple[str, ...] = EXPECTED_DIALOGS) -> None:
    """Menu bar ``menu`` > ``item`` (its exact label), closing an expected dialog in the way
    (see :func:`dismiss_dialog`) and retrying until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        dismiss_dialog(page, prefer, expected)
        try:
            page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')", timeout=5_000)
            page.click(f".lm-Menu-itemLabel:text-is('{item}')", timeout=5_000)
            return
        except Exception:
            page.keyboard.press("Escape")  # a menu left open
            if time.monotonic() > deadline:
                raise AssertionError(f"could not click {menu} > {item} in {seconds} s; "
                                     f"dialogs closed: {dialogs_closed(page)}") from None


_KERNEL_IDLE = """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
  .some(item => /^.+ \\| Idle$/.test(item.textContent.trim()))"""


def wait_for_kernel(page, seconds: float = 180) -> None:
    """Wait until the status bar shows the notebook's kernel Idle ("Attention course | Idle";
    JupyterLab's English interface: the course installs no language pack).

    On a busy machine JupyterLab can open a notebook before it has the kernel specs and ask
    "Select Kernel" (its default is the notebook's own kernel): that is accepted once, then
    the kernel is given time to start; clicking Run meanwhile would only queue more
    dialogs."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(_KERNEL_IDLE):
        if dismiss_dialog(page) is None:
            page.wait_for_timeout(500)
        if time.monotonic() > deadline:
            bar = page.locator(".jp-StatusBar-Widget").first.inner_text()
            raise AssertionError(f"the kernel was not idle after {seconds} s (status bar: "
                                 f"{' '.join(bar.split())!r}; dialogs closed: "
                                 f"{dialogs_closed(page)})")


def run_all_cells(page, done: str, *, seconds: float = 240, arg=None) -> None:
    """Run > Run All Cells in JupyterLab until the JavaScript predicate ``done`` holds.

    Races of JupyterLab with a kernel that is still connecting, seen on a busy machine, are
    handled as a learner would: a "Select Kernel" dialog is accepted and Run All clicked again
    once the kernel is idle, and a Run All whose requests were dropped (the kernel shows
    Idle, no prompt turns to [*] or [n] within 20 s; only detectable on a notebook not run
    before) is clicked again. Any other dialog fails at once; otherwise fails, naming
    ``done`` and the dialogs met, after ``seconds``."""
    deadline = time.monotonic() + seconds
    for _attempt in range(5):
        if time.monotonic() >= deadline:
            break
        wait_for_kernel(page, seconds=max(deadline - time.monotonic(), 60))
        click_menu(page, "Run", "Run All Cells", seconds=max(deadline - time.monotonic(), 30))
        clicked = time.monotonic()
        while time.monotonic() < deadline:
            if page.evaluate(done, arg):
                return
            if dismiss_dialog(page) is not None:
                break  # the kernel chosen or restarted: run again
            if time.monotonic() - clicked > 20 and not page.evaluate(_STARTED):
                break  # nothing started: the requests were lost
            page.wait_for_timeout(500)
    if not page.evaluate(done, arg):
        shots = Path(__file__).resolve().parents[1] / "build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "run_all_cells_failed.png"))
    assert page.evaluate(done, arg), (f"Run All Cells did not reach {done!r} in {seconds} s; "
                                      f"dialogs closed: {dialogs_closed(page)}")
