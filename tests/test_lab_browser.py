"""A learner's first lesson in a real JupyterLab, driven in headless Chromium.

JupyterLab is started by the course's own command (``course lab``, what ``make lab`` runs) on
a free loopback port with a token, on a fresh learner folder; the test opens the learner copy
of lesson 00, runs all cells from the Run menu and checks what a learner sees. Screenshots go
to ``build/screenshots/``. Skipped with a how-to where no browser can be had (the ``browser``
fixture in conftest.py), never in CI.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from page_helpers import (
    EXPECTED_DIALOGS,
    click_menu,
    course_lab,
    dialogs_closed,
    dismiss_dialog,
    run_all_cells,
    wait_for_kernel,
)
from page_helpers import LAB_TOKEN as TOKEN

from course_tools import learner, notebooks

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
ALL_RUN = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh course folder ``course lab`` serves (its copies go to ``learner/``)."""
    return tmp_path_factory.mktemp("course")


@pytest.fixture(scope="module")
def lab(lab_root: Path) -> Iterator[str]:
    """``course lab`` on a fresh course folder; yields the server's base URL."""
    root = lab_root
    shutil.copy(REPO / "GLOSSARY.md", root / "GLOSSARY.md")  # served next to learner/
    with course_lab(root) as url:
        yield url


def _code_cells(page):
    return page.locator(".jp-Notebook .jp-CodeCell")


def _open(page, lab: str, name: str, marker: str) -> None:
    """Open ``learner/<name>`` in JupyterLab, alone (``reset``: the workspace does not reopen
    earlier tests' notebooks), and wait until its cells are shown (the cell holding
    ``marker``) and its kernel is idle."""
    page.goto(f"{lab}/lab/tree/{learner.LEARNER_DIR}/{name}?reset&token={TOKEN}")
    page.wait_for_function("(m) => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]"
                           ".some(c => c.textContent.includes(m))", arg=marker, timeout=180_000)
    wait_for_kernel(page)


def _run_cell(page, index: int, done: str) -> None:
    """Run code cell ``index`` (as a learner does: click, Ctrl+Enter) until its output
    shows ``done``; a key press that reached a kernel still starting is repeated."""
    cell = _code_cells(page).nth(index)
    for _ in range(3):
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(
                "([i, text]) => document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i]"
                ".textContent.includes(text)", arg=[index, done], timeout=120_000)
            return
        except Exception:
            if "[*]" in cell.locator(".jp-InputPrompt").text_content():
                page.wait_for_function(
                    "([i, text]) => document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i]"
                    ".textContent.includes(text)", arg=[index, done], timeout=240_000)
                return
    page.screenshot(path=str(SHOTS / "learner_setup_not_run.png"))
    raise AssertionError(f"cell {index} never showed {done!r}: {cell.text_content()[-500:]}")


def _answer_and_check(page, answer: int, test: int, code: str, expected: str) -> str:
    """Replace the answer cell's code (pasted, as a learner pastes it: no auto-indent), run it
    and its test cell, wait for ``expected`` in the test cell's output; return that output."""
    cells = _code_cells(page)
    cells.nth(answer).locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")  # runs the answer, selects the test cell
    page.keyboard.press("Shift+Enter")  # runs the test cell
    try:
        page.wait_for_function(
            "([i, text]) => document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i]"
            ".querySelector('.jp-OutputArea').textContent.includes(text)",
            arg=[test, expected], timeout=180_000)
    except Exception:
        page.screenshot(path=str(SHOTS / "learner_check_not_shown.png"))
    shown = cells.nth(test).locator(".jp-OutputArea").text_content()
    assert expected in shown, shown
    return shown


def _index_of(page, text: str) -> int:
    return page.evaluate("""(text) => [...document.querySelectorAll(
        '.jp-Notebook .jp-CodeCell .jp-InputArea-editor')]
        .findIndex(e => e.textContent.includes(text))""", text)


def test_learner_runs_lesson_00_in_jupyterlab(lab: str, offline_page) -> None:
    page = offline_page
    page.set_viewport_size({"width": 1280, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)

    # every relative link of every learner copy is served by this JupyterLab
    for path in notebooks.lesson_paths(REPO / "notebooks"):
        copy = notebooks.student_version(notebooks.read(path), learner=True)
        targets = {t.split("#")[0] for c in copy.cells if c.cell_type == "markdown"
                   for t in notebooks.MARKDOWN_LINK.findall(c.source)
                   if ":" not in t.split("#")[0] and not t.startswith("#")}
        for target in targets:
            response = page.request.get(f"{lab}/files/{learner.LEARNER_DIR}/{target}"
                                        f"?token={TOKEN}")
            assert response.status == 200, f"{path.name}: {target} -> {response.status}"

    page.goto(f"{lab}/lab/tree/{learner.LEARNER_DIR}/00_welcome.ipynb?token={TOKEN}")
    page.wait_for_function("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]"
                           ".some(c => c.textContent.includes('def stable_softmax'))",
                           timeout=180_000)
    wait_for_kernel(page)

    # no solution, no hidden test, no speaker notes; the test cell is read-only
    text = page.locator(".jp-NotebookPanel .jp-Notebook").text_content()
    assert "raise NotImplementedError()" in text
    for secret in ("keepdims=True)\n    exps = np.exp(shifted)", "BEGIN SOLUTION",
                   "HIDDEN TESTS", "Welcome everyone"):
        assert secret not in text
    answer, test = _index_of(page, "def stable_softmax"), _index_of(page, "checks.exercise(")
    assert 0 <= answer < test
    _code_cells(page).nth(test).locator(".cm-content").click()
    page.keyboard.type("zzz")
    page.keyboard.press("Escape")
    assert "zzz" not in _code_cells(page).nth(test).text_content(), "test cells are read-only"

    # Run All reaches the last cell, past the blank exercise
    run_all_cells(page, ALL_RUN)
    cells = _code_cells(page)
    assert "stable softmax of [1000, 1001, 1002]" in cells.nth(cells.count() - 2).text_content()
    summary = cells.last.text_content()  # the learner copy's progress cell
    assert "✗ stable_softmax: stable_softmax is not written yet" in summary
    assert "0 of 1 passed" in summary
    assert page.locator(".jp-CodeCell .jp-OutputArea-output[data-mime-type="
                        "'application/vnd.jupyter.stderr']").count() == 1  # the exercise only
    feedback = cells.nth(test).locator(".jp-OutputArea").text_content()
    assert "✗ stable_softmax is not written yet" in feedback
    assert "Traceback" not in cells.nth(test).locator(".jp-OutputArea-output").first.text_content()
    assert feedback.count("full traceback") == 1
    assert "course set up" in cells.first.text_content()
    assert not page.get_by_text("Jupyter news").count(), "the news pop-up is disabled"
    cells.nth(test).scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "learner_00_blank_answer.png"))

    # a known wrong answer gets its named message
    cells.nth(answer).locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.type("def stable_softmax(x): return np.exp(x) / np.exp(x).sum(axis=-1, "
                       "keepdims=True)")
    page.keyboard.press("Shift+Enter")  # runs the answer, selects the test cell
    page.keyboard.press("Shift+Enter")  # runs the test cell
    page.wait_for_function(
        "(i) => document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i].textContent"
        ".includes('It looks like you')", arg=test, timeout=90_000)
    feedback = cells.nth(test).locator(".jp-OutputArea").text_content()
    assert "It looks like you forgot to subtract the max, so exp overflowed" in feedback
    cells.nth(test).scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "learner_00_wrong_answer.png"))

    # a glossary link opens the glossary inside JupyterLab
    # JupyterLab resolves ../GLOSSARY.md against the server root: /files/GLOSSARY.md?...#exercise
    links = page.locator(".jp-RenderedMarkdown a[href*='/files/GLOSSARY.md'][href$='#exercise']")
    assert links.count(), page.evaluate(
        "() => [...document.querySelectorAll('.jp-RenderedMarkdown a')]"
        ".map(a => a.getAttribute('href')).filter(h => h.includes('GLOSSARY'))")
    links.first.click()
    page.wait_for_selector(".lm-TabBar-tab:has-text('GLOSSARY.md')", timeout=90_000)
    assert not page.blocked_requests, f"JupyterLab tried to reach: {page.blocked_requests}"


# One wrong and one right answer for every exercise of lessons 00 and 03, typed into
# JupyterLab: (exercise id, wrong answer, words its message shows, right answer).
SOFTMAX_RIGHT = """def stable_softmax(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
"""
ANSWERS = {
    "00_welcome.ipynb": [
        ("l00_softmax", """def stable_softmax(x):
    e = np.exp(x - x.min(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
""", "It looks like you subtracted the row minimum", SOFTMAX_RIGHT, "stable_softmax"),
    ],
    "03_attention_basics.ipynb": [
        ("l03_masked_softmax", """def masked_softmax(scores, mask):
    s = np.where(mask, scores, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
""",
         "allows no key, so every weight there should be 0; with -inf filled in",
         """def masked_softmax(scores, mask):
    s = np.where(mask, scores, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.where(mask, np.exp(s - m), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)
""", "masked_softmax"),
        ("l03_sdpa", """def sdpa(q, k, v, mask=None):
    scores = q @ k.T / np.sqrt(q.shape[-1])
    weights = numpy_ref.masked_softmax(scores, mask)
    return weights @ v, weights
""",
         "It looks like you used k.T: on a batched array .T reverses every axis",
         """def sdpa(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    weights = numpy_ref.masked_softmax(scores, mask)
    return weights @ v, weights
""", "sdpa"),
        ("l03_additive", """def additive_scores(q, k, Wq, Wk, v):
    return np.tanh(q @ Wq.T + k @ Wk.T) @ v
""",
         "It looks like you added the projected queries (T, h) and keys (S, h) directly",
         """def additive_scores(q, k, Wq, Wk, v):
    features = np.tanh((q @ Wq.T)[:, None, :] + (k @ Wk.T)[None, :, :])
    return features @ v
""", "additive_scores"),
        ("l03_bug_hunt", """def fixed_attention(Q, K, V):
    scores = Q @ K.T / np.sqrt(Q.shape[0])
    return numpy_ref.softmax(scores, axis=-1) @ V
""", "It looks like you divided by sqrt(Q.shape[0])", """def fixed_attention(Q, K, V):
    scores = Q @ K.T / np.sqrt(K.shape[-1])
    return numpy_ref.softmax(scores, axis=-1) @ V
""", "fixed_attention"),
    ],
}


@pytest.mark.parametrize("lesson", sorted(ANSWERS))
def test_wrong_and_right_answers_get_their_messages_in_jupyterlab(lab: str, offline_page,
                                                                  lesson: str) -> None:
    page = offline_page
    page.set_viewport_size({"width": 1280, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)
    _open(page, lab, lesson, "checks.exercise(")
    _run_cell(page, _index_of(page, "setup_notebook("), "course set up")
    for exercise, wrong, words, right, name in ANSWERS[lesson]:
        test = _index_of(page, f'checks.exercise("{exercise}"')
        answer = test - 1
        assert f"def {name}(" in _code_cells(page).nth(answer).text_content()
        shown = _answer_and_check(page, answer, test, wrong, words)
        first = _code_cells(page).nth(test).locator(".jp-OutputArea-output").first
        assert first.text_content().startswith("✗ It looks like you"), shown  # the diagnosis
        assert "Traceback" not in first.text_content()  # folded below, one click away
        _code_cells(page).nth(test).scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"learner_{exercise}_wrong.png"))
        _answer_and_check(page, answer, test, right, f"✓ {name}: passed")
    assert not page.blocked_requests, f"JupyterLab tried to reach: {page.blocked_requests}"


# Reloading asks "Reload Notebook from Disk?" when Lab counts the notebook as changed (seen on
# a slow machine after a save), and a save that meets the course's update asks "File Changed".
_RELOAD_DIALOGS = (*EXPECTED_DIALOGS, "Reload Notebook from Disk")


def _reload_until(page, predicate: str, seconds: float = 120) -> None:
    """File > Reload Notebook from Disk until the JavaScript ``predicate`` holds, as a learner
    would: confirm a "Reload Notebook from Disk?" question, answer a "File Changed" question
    with Revert (both load the file on disk), and reload again when nothing changed in 20 s.
    Fails after ``seconds`` with a screenshot, the dialogs met and whether the tab is dirty."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        closed = dismiss_dialog(page, prefer="Revert", expected=_RELOAD_DIALOGS)
        if closed is None or "Revert" not in closed:
            click_menu(page, "File", "Reload Notebook from Disk", seconds=60, prefer="Revert",
                       expected=_RELOAD_DIALOGS)
        clicked = time.monotonic()
        while time.monotonic() - clicked < 20 and time.monotonic() < deadline:
            if page.evaluate(predicate):
                return
            if dismiss_dialog(page, prefer="Revert", expected=_RELOAD_DIALOGS) is None:
                page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "learner_copy_not_reloaded.png"))
    dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").count()
    raise AssertionError(f"the notebook did not show the file on disk after {seconds} s of "
                         f"reloading; dialogs closed: {dialogs_closed(page)}; "
                         f"dirty tabs: {dirty}")


def _wait_until_unchanged(read, quiet: float, seconds: float = 60) -> None:
    """Wait until ``read()`` has returned the same value for ``quiet`` seconds."""
    deadline = time.monotonic() + seconds
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)
    raise AssertionError(f"still changing after {seconds} s: {read.__doc__}")


def _server_saves(lab_root: Path, name: str) -> int:
    """How many times the Jupyter server has saved ``learner/<name>`` (its log says each)."""
    return (lab_root / "lab.log").read_text().count(f"Saving file at /{learner.LEARNER_DIR}/{name}")


def _save_in_lab(page, lab_root: Path, name: str, seconds: float = 120) -> None:
    """File > Save Notebook (what autosave does) until the server has saved the copy, then
    wait until no further save comes and the file is written.

    JupyterLab 4.6 sometimes ignores the first save of a notebook just opened, and sometimes
    carries it out only later (seen here: a save landing 2 s after the one the test saw).
    So the save is asked again only when the server saved nothing in 10 s, Lab is then
    nudged (a click in the notebook) so a held-back save comes now, and the test goes on
    once the server's log has shown no new save for 5 s: a late save would otherwise
    overwrite the course's update below with the old copy. Then the file must keep its
    size and time for 2 s: Jupyter's server writes a notebook in place (its backup copy is
    what makes the write atomic), so a file read as soon as its time changes can be half
    written."""
    def saves() -> int:
        """the server's saves of the copy"""
        return _server_saves(lab_root, name)

    def written() -> tuple[int, int]:
        """the copy's time and size"""
        stat = (lab_root / learner.LEARNER_DIR / name).stat()
        return stat.st_mtime_ns, stat.st_size

    before, deadline = saves(), time.monotonic() + seconds
    while saves() == before:
        if time.monotonic() > deadline:
            page.screenshot(path=str(SHOTS / "learner_copy_not_saved.png"))
            raise AssertionError(f"JupyterLab did not save the copy in {seconds} s")
        click_menu(page, "File", "Save Notebook")
        asked = time.monotonic()
        while saves() == before and time.monotonic() - asked < 10:
            time.sleep(0.2)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")
    _wait_until_unchanged(saves, quiet=5)
    _wait_until_unchanged(written, quiet=2)


def test_a_copy_opened_and_saved_without_edits_is_refreshed_by_an_update(
        lab: str, lab_root: Path, offline_page, tmp_path: Path) -> None:
    """JupyterLab opens a learner copy (its kernel reports its language_info): the copy is not
    marked changed, and saving it (as autosave would) writes the same bytes. The course then
    updates that lesson: the copy is refreshed, not kept as "edited"."""
    page = offline_page
    name = "01_ai_history.ipynb"
    path = lab_root / learner.LEARNER_DIR / name
    written = path.read_bytes()
    _open(page, lab, name, "def perceptron_update")
    page.wait_for_timeout(5_000)  # the kernel's info reply has arrived and been applied
    dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").count()
    assert dirty == 0, "opening a copy marked it changed: it is not written as Lab saves it"
    before = path.stat().st_mtime_ns
    _save_in_lab(page, lab_root, name)
    assert path.stat().st_mtime_ns != before, "the server logged a save but the file is as it was"
    assert path.read_bytes() == written, "JupyterLab saved the copy differently from how the " \
        "course wrote it"

    # the course updates lesson 01: the copy, untouched, is refreshed
    source = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", source)
    updated = notebooks.read(source / name)
    updated.cells[0].source += "\n\n(updated by the course)"
    nbformat.write(updated, str(source / name))
    saves = _server_saves(lab_root, name)
    report = learner.update_copies(source, lab_root / learner.LEARNER_DIR,
                                   refresh=lambda names: True)
    assert report.refreshed == [name] and not report.kept_edited, report
    try:
        _reload_until(page, "() => document.querySelector('.jp-Notebook').textContent"
                            ".includes('(updated by the course)')")
    except AssertionError as error:
        if _server_saves(lab_root, name) != saves:
            raise AssertionError("JupyterLab saved the copy again after the course's update "
                                 "(a late save overwrote it): _save_in_lab did not wait for "
                                 "it") from error
        raise
