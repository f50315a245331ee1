"""Fixtures shared by the unit tests: one torch thread, and a headless browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import torch

from course_tools import browser as course_browser

LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """The unit tests train and compare tiny models: one thread is as fast as two, and on a
    busy machine two threads waiting for each other cost many times the CPU. Restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _no_browser(reason: str) -> None:
    # A learner's laptop may have no Chromium: skip with the how-to. CI must never skip.
    if os.environ.get("CI"):
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Playwright ``Browser``) for the whole session.

    Skipped with an install hint where no Chromium or Playwright is found; a failure when
    the environment variable ``CI`` is set, so CI never silently skips the browser tests.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("Playwright is not installed: `pip install -e .[dev]`")
    executable = course_browser.find_chromium()
    if executable is None:
        _no_browser(course_browser.INSTALL_HINT)
    with sync_playwright() as playwright:
        chromium = course_browser.launch(playwright, executable)
        yield chromium
        chromium.close()


@pytest.fixture
def offline_page(browser):
    """A fresh 1280x720 page that may reach only this machine (files, loopback servers).

    Every request to another host is aborted and recorded in ``page.blocked_requests``;
    ``page.console_errors`` collects console errors and ``page.failed_requests`` the URLs
    of requests that failed (blocked ones included).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 720})
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
    yield page
    context.close()
