"""Find and start a headless Chromium for the browser tests and deck screenshots.

Playwright cannot download its own browser builds everywhere (not on a machine without
internet access), so the course drives a system Chromium through Playwright's
``executable_path``: Debian/Ubuntu ``apt-get install chromium``; macOS
``brew install --cask chromium``; or point ``COURSE_CHROMIUM`` at any Chrome/Chromium.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["CHROMIUM_ARGS", "INSTALL_HINT", "LOOPBACK", "find_chromium", "launch", "offline_page"]

# No sandbox: containers and CI run as root. The network flags stop Chromium's own
# background traffic (updates, sync, field trials), which fails on an offline machine.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
INSTALL_HINT = ("no Chromium found for the browser tests: install it (Debian/Ubuntu: "
                "`sudo apt-get install chromium`; macOS: `brew install --cask chromium`) "
                "or set COURSE_CHROMIUM=/path/to/chrome; `pip install -e .[dev]` brings "
                "Playwright")
LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable: ``$COURSE_CHROMIUM`` first, then ``PATH``."""
    explicit = os.environ.get("COURSE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright, executable: str | None = None):
    """Start headless Chromium with Playwright (``sync_playwright()`` object) and return the
    browser. Raises ``RuntimeError`` with :data:`INSTALL_HINT` when none is found."""
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def offline_page(browser, width: int = 1280, height: int = 720):
    """A fresh page of ``width`` x ``height`` that may reach only this machine (files,
    loopback servers); close ``page.context`` after.

    Every request to another host is aborted and recorded in ``page.blocked_requests``;
    ``page.console_errors`` collects console errors and ``page.failed_requests`` the URLs
    of requests that failed (blocked ones included).
    """
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.blocked_requests, page.console_errors, page.failed_requests = [], [], []

    def only_this_machine(route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("file:", "data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            page.blocked_requests.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_machine)
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("requestfailed", lambda req: page.failed_requests.append(req.url))
    return page
