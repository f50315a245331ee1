"""Fixtures shared by the unit tests: one torch thread, and a headless browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from course_tools import browser as course_browser


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
    """A fresh 1280x720 page that may reach only this machine (see
    :func:`course_tools.browser.offline_page`)."""
    page = course_browser.offline_page(browser)
    yield page
    page.context.close()


# ---------------------------------------------------------------------------- lessons

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "build" / "executed"


class ExecutedLessons:
    """Executed copies of the lessons in ``build/executed/``, each lesson run at most once
    per test session.

    ``executed(name)`` (a lesson number, file name or path) returns the path of a current
    executed copy: one run in this session, else one on disk whose code cells are the
    lesson's (:func:`course_tools.slides.is_current`), else the lesson is executed now.
    ``fresh=True`` (the lesson tests) ignores copies from earlier sessions: the library may
    have changed since. A lesson that failed fails every caller with the same message.
    """

    def __init__(self, folder: Path = EXECUTED) -> None:
        self.folder = folder
        self.done: dict[str, Path | str] = {}

    def path_of(self, name: str | Path) -> Path:
        from course_tools import notebooks

        if Path(name).suffix == ".ipynb":
            return ROOT / "notebooks" / Path(name).name
        return notebooks.resolve_lessons([str(name)], ROOT / "notebooks")[0]

    def __call__(self, name: str | Path, *, fresh: bool = False) -> Path:
        from course_tools import notebooks, slides

        path = self.path_of(name)
        target = self.folder / path.name
        if path.name not in self.done and path.name in _RUNNING:
            self.done[path.name] = _RUNNING[path.name].result()  # run in this session
        if path.name not in self.done and not fresh and target.is_file():
            if slides.is_current(notebooks.read(path), notebooks.read(target)):
                self.done[path.name] = target
        if path.name not in self.done:
            self.done[path.name] = _run_lesson(path, target)
        result = self.done[path.name]
        if isinstance(result, str):
            pytest.fail(result, pytrace=False)
        return result


@pytest.fixture(scope="session")
def executed_lesson() -> ExecutedLessons:
    """``executed_lesson("03")`` -> path of lesson 03 executed (see :class:`ExecutedLessons`)."""
    return ExecutedLessons()


# ------------------------------------------------------------- lessons in the background
# A lesson's kernel is one process that mostly keeps one core busy. `make test` runs the
# lessons while the unit tests run, COURSE_TEST_JOBS at a time (default 2; 0 runs each lesson
# when a test first asks for it): on a 2-core machine this takes minutes off a full run.
_RUNNING: dict[str, Future] = {}
_POOL: list[ThreadPoolExecutor] = []


def _run_lesson(path: Path, target: Path) -> Path | str:
    """Execute one lesson into ``target``: its path, or the message saying why it failed."""
    from course_tools import execute

    try:
        execute.execute_lesson(path, target)
    except execute.LessonFailed as error:
        return str(error)
    except Exception as error:  # a kernel that cannot start: the lesson's test says why
        return f"{path.name}: could not be executed: {error!r}"
    return target


# Tests that drive a real JupyterLab: its kernel connection races a busy machine (a Run All
# sent while the kernel connects is dropped), so they run after the background lessons.
JUPYTERLAB_TESTS = ("test_lab_browser.py", "test_lab_chinese.py", "test_viewer_browser.py")


def _run_order(item: pytest.Item) -> int:
    if item.path.name in JUPYTERLAB_TESTS:
        return 2
    return 1 if item.get_closest_marker("lessons") is not None else 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Unit tests first, while the lessons execute in the background; then the tests that
    need executed lessons; then the JupyterLab tests (after tests/test_lessons.py, which waits
    for every lesson, they run on a machine the lessons have left). The order within each
    group is kept."""
    items.sort(key=_run_order)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start executing the lessons that tests/test_lessons.py will check (slowest last
    lessons first), so that they run while the unit tests do."""
    jobs = int(os.environ.get("COURSE_TEST_JOBS", "2"))
    if jobs < 1 or session.config.option.collectonly:
        return
    paths = [item.callspec.params["path"] for item in session.items
             if item.path.name == "test_lessons.py" and hasattr(item, "callspec")]
    if not paths:
        return
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="lesson")
    _POOL.append(pool)
    for path in sorted(paths, reverse=True):  # the later lessons are the longer ones
        _RUNNING[path.name] = pool.submit(_run_lesson, path, EXECUTED / path.name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for pool in _POOL:
        pool.shutdown(wait=True, cancel_futures=True)
