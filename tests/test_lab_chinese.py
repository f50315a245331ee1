"""The Chinese edition in a real JupyterLab, on a machine that may have no Chinese font.

``course lab --lang zh`` (what ``make lab LANG=zh`` runs) on a fresh course folder: the
learner's Chinese copy of lesson 00 opens from ``learner/zh/``, and the browser itself says
(CDP ``CSS.getPlatformFontsForNode``) which font drew each Chinese character of the
Markdown, of a code cell and of its output: the course's Noto Sans SC
(``course_tools/lab_style.py``), every character, none left to a system font or drawn as a
box. A glossary link opens the glossary with its row highlighted. Skipped with a how-to
where no browser can be had (the ``browser`` fixture), never in CI.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_helpers import LAB_TOKEN as TOKEN
from page_helpers import course_lab, wait_for_kernel

from course_tools import learner, translations

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
FONT = "Noto Sans SC"
# The characters course.css gives to the course's font (its unicode-range), in JavaScript.
CJK = r"[\u2e80-\u2fdf\u3000-\u303f\u3100-\u312f\u31a0-\u31bf\u3200-\u33ff\u3400-\u4dbf" \
      r"\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]"
# Marks every element under `selector` whose own text has Chinese characters with the count
# of Chinese characters it shows (data-cjk), so that CDP can ask for the fonts of exactly
# those elements.
MARK = """([selector, pattern]) => {
  const cjk = new RegExp(pattern, 'g');
  let marked = 0;
  for (const el of document.querySelectorAll(selector)) {
    const own = [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
                                  .map(n => n.textContent).join('');
    if (!(own.match(cjk) || []).length || !el.getClientRects().length) continue;
    // the browser reports the fonts of the element's text and of its inline children
    el.dataset.cjk = (el.textContent.match(cjk) || []).length;
    marked += 1;
  }
  return marked;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``course lab --lang zh`` on a fresh course folder; yields the server's base URL."""
    root = tmp_path_factory.mktemp("course-zh")
    shutil.copy(REPO / "GLOSSARY.md", root / "GLOSSARY.md")  # served next to learner/
    with course_lab(root, lang="zh") as url:
        yield url


def wrong_fonts(page, selector: str) -> tuple[int, list[str]]:
    """``(elements checked, problems)``: the Chinese characters of each element under
    ``selector`` that the browser did not draw with the course's font."""
    page.evaluate("() => document.querySelectorAll('[data-cjk]')"
                  ".forEach(e => delete e.dataset.cjk)")
    checked = page.evaluate(MARK, [selector, CJK])
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root,
                                                  "selector": "[data-cjk]"})["nodeIds"]
        problems = []
        for node in nodes:
            attributes = cdp.send("DOM.getAttributes", {"nodeId": node})["attributes"]
            expected = int(dict(zip(attributes[::2], attributes[1::2], strict=True))["data-cjk"])
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            drawn = sum(f["glyphCount"] for f in fonts if f["familyName"] == FONT)
            if drawn != expected:
                text = cdp.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"]
                problems.append(f"{re.sub('<[^>]+>', '', text)[:30]!r}: {drawn} of {expected} "
                                f"Chinese characters in {FONT}; fonts used: "
                                f"{[(f['familyName'], f['glyphCount']) for f in fonts]}")
        return checked, problems
    finally:
        cdp.detach()


def test_chinese_copy_renders_every_chinese_character_in_the_course_font(
        lab: str, offline_page) -> None:
    assert "00_welcome" in translations.COMPLETE["zh"]
    page = offline_page
    page.set_viewport_size({"width": 1280, "height": 900})
    folder = learner.learner_folder(".", "zh").as_posix()
    page.goto(f"{lab}/lab/tree/{folder}/00_welcome.ipynb?token={TOKEN}")
    page.wait_for_function("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]"
                           ".some(c => c.textContent.includes('def stable_softmax'))",
                           timeout=180_000)
    wait_for_kernel(page)
    text = page.locator(".jp-NotebookPanel .jp-Notebook").text_content()
    assert "热身：数值稳定的 softmax" in text and "Warm-up" not in text, "the prose is Chinese"

    # a code cell with Chinese in its source and its output
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    # the kernel knows its notebook is the Chinese copy (feedback speaks Chinese there)
    page.keyboard.type('from course_lib.notebook import language; '
                       'print("注意力机制：查询、键、值", language.notebook_language())  # 注释')
    page.wait_for_function("() => document.querySelector("
                           "'.jp-StatusBar-Widget, #jp-main-statusbar')"
                           "?.textContent.includes('| Idle')", timeout=180_000)
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                           ".some(o => o.textContent.includes('注意力机制：查询、键、值 zh'))",
                           timeout=90_000)
    page.evaluate("() => document.fonts.ready")

    for where, selector in [
            ("Markdown", ".jp-RenderedMarkdown, .jp-RenderedMarkdown *"),
            ("code", ".jp-CodeCell .cm-line, .jp-CodeCell .cm-line *"),
            ("output", ".jp-OutputArea-output, .jp-OutputArea-output *")]:
        checked, problems = wrong_fonts(page, selector)
        assert checked, f"no {where} with Chinese found"
        assert not problems, f"{where}: " + "\n".join(problems)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "learner_zh_00.png"))

    # a glossary link opens the glossary on its row, highlighted, its Chinese in the font
    link = page.locator(".jp-RenderedMarkdown a[href*='GLOSSARY.md'][href$='#exercise']")
    assert link.count() and "练习（exercise）" in link.first.text_content()
    link.first.click()
    page.wait_for_selector(".jp-MarkdownViewer tr.course-target", timeout=90_000)
    row = page.locator(".jp-MarkdownViewer tr.course-target")
    assert row.count() == 1 and "练习" in row.text_content()
    assert row.locator("[data-jupyter-id='exercise']").count() == 1
    assert row.evaluate("r => getComputedStyle(r).backgroundColor") == "rgb(255, 248, 197)"
    checked, problems = wrong_fonts(page, ".jp-MarkdownViewer tr.course-target td")
    assert checked and not problems, problems
    page.screenshot(path=str(SHOTS / "learner_zh_glossary.png"))
    assert not page.blocked_requests, f"JupyterLab tried to reach: {page.blocked_requests}"
