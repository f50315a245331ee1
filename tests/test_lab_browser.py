"""A learner's first lesson in a real JupyterLab, driven in headless Chromium.

JupyterLab is started by the course's own command (``course lab``, what ``make lab`` runs) on
a free loopback port with a token, on a fresh learner folder; the test opens the learner copy
of lesson 00, runs all cells from the Run menu and checks what a learner sees. Screenshots go
to ``build/screenshots/``. Skipped with a how-to where no browser can be had (the ``browser``
fixture in conftest.py), never in CI.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_helpers import LAB_TOKEN as TOKEN
from page_helpers import course_lab

from course_tools import learner, notebooks

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
ALL_RUN = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``course lab`` on a fresh course folder; yields the server's base URL."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "GLOSSARY.md", root / "GLOSSARY.md")  # served next to learner/
    with course_lab(root) as url:
        yield url


def _code_cells(page):
    return page.locator(".jp-Notebook .jp-CodeCell")


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
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)

    # no solution, no hidden test, no speaker notes; the test cell is read-only
    text = page.locator(".jp-NotebookPanel .jp-Notebook").text_content()
    assert "raise NotImplementedError()" in text
    for secret in ("keepdims=True)\n    exps = np.exp(shifted)", "BEGIN SOLUTION",
                   "HIDDEN TESTS", "Welcome everyone"):
        assert secret not in text
    answer, test = _index_of(page, "def stable_softmax"), _index_of(page, "overflowing_scores")
    assert 0 <= answer < test
    _code_cells(page).nth(test).locator(".cm-content").click()
    page.keyboard.type("zzz")
    page.keyboard.press("Escape")
    assert "zzz" not in _code_cells(page).nth(test).text_content(), "test cells are read-only"

    # Run All reaches the last cell, past the blank exercise
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    page.wait_for_function(ALL_RUN, timeout=180_000)
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
