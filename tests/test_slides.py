"""Lesson decks (`course slides`): every lesson's metadata gives a talk, the deck transform
hides solutions, and every deck works in a real headless browser with the network blocked.

The browser tests (marked `lessons`) build each lesson's deck from its executed copy (the
`executed_lesson` fixture: run once per session, shared with tests/test_lessons.py) plus one
small notebook executed here, whose deck carries what lessons carry (a plot, printed and
trimmed results, math in outputs, Chinese in notes). Each deck is measured once at its
design size by the build; the tests then look at it at 1024x768 and 1920x1080 (see
slides/README.md). Screenshots of each deck's title, math, plot and code slides go to
build/slides-test/screenshots/. The Chinese decks (`course slides --lang zh`) are built from
the same executed copies into build/slides-test/zh/ and tested the same way, in the browser
and printed (screenshots in build/slides-test/zh/screenshots/).

To run the same browser checks on the decks of `make slides`, with screenshots in
build/slides/screenshots/:
    COURSE_SLIDES_DIR=build/slides python -m pytest tests/test_slides.py -m lessons \
        -k "browser or notes or plot or fits"
(the Chinese decks are then those of `course slides --lang zh`, in build/slides/zh/).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from page_helpers import NPM_CACHE as CACHE
from page_helpers import grading as _grading
from page_helpers import need_npm as _need_npm

from course_tools import deck_browser, deck_layout, notebooks, slides
from course_tools.browser import offline_page as offline_page_of

ROOT = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(ROOT / "notebooks")
CHECKED = os.environ.get("COURSE_SLIDES_DIR")           # a real build to check instead
OUT = Path(CHECKED).resolve() if CHECKED else ROOT / "build" / "slides-test"
EXAMPLE = "98_outputs.ipynb"                               # the executed example deck
DECKS = [p.with_suffix(".html").name for p in LESSONS] + ([] if CHECKED else
                                                          [Path(EXAMPLE).with_suffix(".html").name])
# The Chinese decks (`course slides --lang zh`, in OUT/zh), every lesson's: measured at the
# design size, opened in the browser at both sizes and printed, as the English ones are.
ZH_DECKS = [p.with_suffix(".html").name for p in LESSONS]


def _editions(zh: list[str]) -> list:
    """``(lang, name)`` parameters: the English decks (ids as before), then ``zh``'s."""
    return [pytest.param("en", name, id=name) for name in DECKS] + \
        [pytest.param("zh", name, id=f"zh-{name}") for name in zh]


EDITIONS = _editions(ZH_DECKS)


def _folder(lang: str) -> Path:
    """Where a language's decks are built (as `course slides --lang`: build/slides/zh)."""
    return OUT if lang == "en" else OUT / lang


def _cell(source: str, kind: str = "-", code: bool = False, **metadata) -> nbformat.NotebookNode:
    cell = new_code_cell(source) if code else new_markdown_cell(source)
    cell.metadata.update({"slideshow": {"slide_type": kind}, **metadata})
    return cell


# ---------------------------------------------------------------------------- the talk

@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_metadata_gives_a_talk(path: Path) -> None:
    problems = slides.talk_problems(notebooks.read(path))
    assert not problems, f"{path.name}: the deck is not a 10-40-slide talk with speaker " \
                         f"notes on its main slides:\n" + "\n".join(problems)


def test_talk_problems_name_what_is_wrong() -> None:
    nb = new_notebook(cells=[_cell("# Title", "slide"), _cell("## A topic", "slide"),
                             _cell("## Exercise 1", "slide"), _cell("words")])
    problems = slides.talk_problems(nb)
    assert problems[0].startswith("3 slides, expected 10-40")
    assert any("'A topic' has no speaker notes" in p for p in problems)
    nb.cells.insert(1, _cell("say hello", "notes"))
    nb.cells.insert(3, _cell("explain the topic", "notes"))
    assert slides.talk_problems(nb) == [problems[0]]   # exercises need no notes
    assert slides.slide_count(nb) == 3
    zh = new_notebook(cells=[_cell("# 标题", "slide"), _cell("说一句", "notes"),
                             _cell("## 注意力", "slide"), _cell("## 练习 1 · 找错", "slide"),
                             _cell("## 小结", "slide"), _cell("### 自我检测", "slide")])
    assert [p for p in slides.talk_problems(zh) if "speaker notes" in p] == [
        "main slide '注意力' has no speaker notes (a markdown cell of slide_type 'notes' "
        "after it)"]                                        # a Chinese deck's exercises too


# ---------------------------------------------------------------------------- transform

def _lesson_with_exercise() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    answer = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    test = ("def doubled_twice(x):\n    return 4 * x\n\n"
            "checks.check_function(f, reference.f, random_x, trials=5, mistakes={\n"
            "    'multiplied by 4, not 2': doubled_twice})\n"
            "### BEGIN HIDDEN TESTS\nassert f(3) == 6  # secret\n### END HIDDEN TESTS\n")
    source = new_notebook(cells=[
        _cell("# L\nsee [softmax (软最大)](../GLOSSARY.md#softmax) and [01](01_ai_history.ipynb)",
              "slide"),
        _cell("import course_lib", code=True),
        _cell("## Work", "slide"),
        _cell("print(1)", code=True, tags=["gpu"]),
        _cell("print(2)", "fragment", code=True),
        _cell(answer, code=True, **_grading("l_f", answer=True)),
        _cell(test, code=True, **_grading("l_f_test", answer=False)),
        _cell("### On a GPU\nA bigger run.", "subslide"),
        _cell("train_big()", code=True, tags=["gpu"]),
        _cell("say what the GPU run shows", "notes"),
    ])
    executed = nbformat.reads(nbformat.writes(source), as_version=4)
    executed.cells[3].source = 'print("Skipped: this cell needs a CUDA GPU.")'
    executed.cells[4].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="".join(f"{i}\n" for i in range(40))),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
        nbformat.v4.new_output("display_data", data={
            "text/plain": "HBox()", "application/vnd.jupyter.widget-view+json": {}}),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad shape",
                               traceback=["long", "traceback"])]
    executed.cells[5].outputs = [nbformat.v4.new_output("stream", name="stdout", text="6\n")]
    executed.cells[6].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                        text="secret passed\n")]
    return source, executed


def test_deck_shows_the_task_not_the_solution() -> None:
    source, executed = _lesson_with_exercise()
    deck = slides.deck_notebook(source, executed)
    assert [c.source[:8] for c in deck.cells][:3] == [source.cells[0].source[:8], "## Work",
                                                      "print(2)"]  # no set-up, no GPU cell
    answer, card = deck.cells[3], deck.cells[4]
    assert "return 2 * x" not in answer.source and "raise NotImplementedError()" in answer.source
    assert answer.outputs == []                              # the solution's results stay out
    assert card.cell_type == "markdown" and "secret" not in card.source
    assert "return 4 * x" not in card.source                 # the mistaken variant's code
    assert "`f`" in card.source and "`reference.f`" in card.source
    assert "multiplied by 4, not 2" in card.source and "1 point" in card.source
    assert slides.slide_type(deck.cells[2]) == "-"           # fragments show at once
    assert len(deck.cells) == 5, "a slide whose only code needs a GPU is left out"


def test_deck_outputs_fit_a_slide() -> None:
    source, executed = _lesson_with_exercise()
    deck = slides.deck_notebook(source, executed)
    outputs = deck.cells[2].outputs
    assert [o.output_type for o in outputs] == ["stream", "error"]   # stderr, widget dropped
    lines = outputs[0].text.splitlines()
    assert len(lines) == 11 and lines[-1] == "... 30 more lines in the notebook"
    assert outputs[1].traceback == ["ValueError: bad shape"]
    assert "(GLOSSARY.html#softmax)" in deck.cells[0].source
    assert "(01_ai_history.html)" in deck.cells[0].source
    long_line = slides._trim("x" * 5000 + "\n")
    assert len(long_line) < 1100 and long_line.rstrip().endswith("...")


def test_executed_copy_out_of_step_is_refused() -> None:
    source, executed = _lesson_with_exercise()
    executed.cells.pop(5)
    with pytest.raises(ValueError, match="execute it again"):
        slides.deck_notebook(source, executed)


def test_executed_copy_is_current_while_the_code_is_unchanged() -> None:
    source, executed = _lesson_with_exercise()
    assert not slides.is_current(source, executed)           # it stopped with an error
    executed.cells[4].outputs.pop()
    assert slides.is_current(source, executed)               # gpu cell's stub not compared
    source.cells[0].source += "\nbetter prose"
    source.cells.insert(1, _cell("new speaker notes", "notes"))
    assert slides.is_current(source, executed)
    source.cells[6].source = "def f(x):\n    return 3 * x"    # the answer cell
    assert not slides.is_current(source, executed)


def test_card_of_a_catalogued_exercise_says_what_the_catalogue_checks() -> None:
    """``checks.exercise("id", ...)`` cells: the card names the answer's functions, their
    references and the catalogue's mistakes (in the deck's language), not the cell's code."""
    from course_lib import exercises

    test = _cell("checks.exercise('l05_split_heads', my_split_heads, my_merge_heads)",
                 code=True, **_grading("l05_split_heads_test", answer=False))
    card = slides.check_card(test)
    assert "`my_split_heads`, `my_merge_heads`" in card and "`split_heads`" in card
    mistakes = [m.text for c in exercises.get("l05_split_heads").checks for m in c.mistakes]
    assert mistakes[0] in card and "checks.exercise" not in card
    assert "直接 reshape" in slides.check_card(test, "zh")   # the catalogue's translation
    test.source = "checks.exercise('l99_nothing', f)"
    assert "`f`" in slides.check_card(test)


def test_markdown_and_code_are_cut_where_a_reader_would() -> None:
    text = "## Title\n\nA paragraph.\n\n- item\n\n  continued item\n\n$$\na\n\nb\n$$\n\nEnd."
    assert deck_layout.markdown_pieces(text) == [
        "## Title", "A paragraph.", "- item\n\n  continued item", "$$\na\n\nb\n$$", "End."]
    code = "\n".join(["def f():"] + ["    x = 1"] * 10 + ["", "y = 2"] + ["z = 3"] * 10)
    chunks = deck_layout.code_chunks(code, 14)
    assert chunks[0].startswith("def f():") and chunks[1].startswith("y = 2")
    assert all(len(c.splitlines()) <= 14 for c in chunks)
    assert "\n".join(chunks).replace("\n\n", "\n") == code.replace("\n\n", "\n")


def test_packing_splits_a_long_slide_and_keeps_notes_with_their_blocks() -> None:
    def block(kind: str, height: float) -> deck_layout.Block:
        return deck_layout.Block(new_markdown_cell("## T" if kind == "heading" else "x"),
                                 kind, height)

    slide = deck_layout.Slide(title="T")
    sequence = [(block("heading", 70), None), (None, "first note"), (block("markdown", 300), None),
                (block("markdown", 300), None), (None, "second note"),
                (block("heading", 70), None), (block("markdown", 200), None)]
    parts = deck_layout.pack(slide, sequence, "(cont.) {}")
    assert [len(p.blocks) for p in parts] == [3, 2]          # the heading moved with its text
    assert parts[0].notes == ["first note", "second note"] and not parts[1].continued
    sequence = [(block("markdown", 500), None), (None, "only"), (block("markdown", 500), None)]
    parts = deck_layout.pack(slide, sequence, "(cont.) {}")
    assert parts[1].continued and parts[1].notes == ["(cont.) only"]


def test_speaker_notes_font_covers_their_chinese() -> None:
    """The notes window gets, inlined, every font subset its Chinese needs, and only those."""
    font_dir = CACHE / "node_modules" / "@fontsource-variable" / "noto-sans-sc"
    if not (font_dir / "index.css").is_file():
        _need_npm()
        slides.install_assets(CACHE)
    deck = new_notebook(cells=[_cell("# T", "slide"), _cell("say 注意力 and 软最大值", "notes")])
    css = slides.notes_font_css(deck, font_dir)
    ranges = [slides._unicode_ranges(r) for r in re.findall(r"unicode-range: ([^;]+);", css)]
    for ch in "注意力软最大值":
        assert any(low <= ord(ch) <= high for r in ranges for low, high in r), ch
    assert css.count("src: url(data:font/woff2;base64,") == len(ranges) < 10
    deck.cells[1].source = "no Chinese here"
    assert slides.notes_font_css(deck, font_dir) == ""


def test_lessons_by_number_or_path() -> None:
    folder = ROOT / "notebooks"
    assert notebooks.resolve_lessons(["3"], folder) == sorted(folder.glob("03_*.ipynb"))
    assert notebooks.resolve_lessons([], folder) == LESSONS
    with pytest.raises(ValueError, match="no lesson '77'"):
        notebooks.resolve_lessons(["77"], folder)


# ---------------------------------------------------------------------------- assets

def test_assets_are_pinned_with_integrity_hashes() -> None:
    package = json.loads((slides.SLIDES_DIR / "package.json").read_text())
    lock = json.loads((slides.SLIDES_DIR / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == package["dependencies"], \
        "slides/package-lock.json is stale: run `npm install --package-lock-only` in slides/"
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: pin an exact version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    for where, entry in lock["packages"].items():
        if where:
            assert entry.get("integrity", "").startswith("sha512-"), f"{where}: no integrity"


def test_missing_npm_says_how_to_install(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(slides.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs npm.*apt-get install npm"):
        slides.install_assets(tmp_path / "cache")


def test_offline_check_finds_cdn_references(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example.org/reveal.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/x.css"><img src="here.png">'
        '<a href="https://example.org/">a link is fine</a>', encoding="utf-8")
    (tmp_path / "b.css").write_text("@font-face{src:url(https://x.org/f.woff2)}")
    (tmp_path / "c.js").write_text('load("https://x.org/katex.min.js")')
    problems = slides.offline_problems(tmp_path)
    assert len(problems) == 5, problems
    assert any("here.png, which is not in the folder" in p for p in problems)


# ---------------------------------------------------------------------------- built decks

def _example_notebook(folder: Path) -> Path:
    """A small lesson-like notebook whose deck has what executed lessons have."""
    cells = [
        _cell("# 98 · Outputs on slides · 输出\n\n**You will**\n- see a plot;\n"
              "- read $\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})V$.", "slide"),
        _cell("Title-slide notes with math: $\\sqrt{d_k}$ · 注意力.", "notes"),
        _cell("import matplotlib.pyplot as plt\nimport course_lib\n"
              "course_lib.notebook.setup_notebook(num_threads=1)", code=True),
        _cell("## A plot · 图", "slide"),
        _cell("import numpy as np\nx = np.linspace(0, 6, 50)\nplt.figure(figsize=(12, 5))\n"
              "plt.plot(x, np.sin(x))\nplt.title(r'$\\sin x$')\nplt.show()", code=True),
        _cell("Point at the curve.", "notes"),
        _cell("## Results\n$$\\frac{\\exp(s_i)}{\\sum_j \\exp(s_j)}$$", "subslide"),
        _cell("from IPython.display import Markdown, display\n"
              "display(Markdown('measured: $\\\\alpha = 0.5$'))\n"
              "for i in range(40):\n    print('line', i, '注意力')", code=True),
        _cell("Say what the lines mean.", "notes"),
        _cell("## Long code · 长代码", "slide"),
        _cell("\n".join(f"value_{i} = {i}  # 第 {i} 行" for i in range(45)), code=True),
        _cell("Walk through the code.", "notes"),
    ]
    path = folder / EXAMPLE
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), str(path))
    return path


class _Decks:
    """Each deck built once per session (from executed lessons, with the session's browser
    measuring and printing), on first use: ``decks(name, lang)`` is ``(deck, problems,
    report)``, the build's problems (a deck that overflows is kept with them) and its browser
    report on every slide at the design size (:data:`deck_browser.SLIDE_REPORT`, measured
    once). A Chinese deck is built as `course slides --lang zh` builds it: the same executed
    copy (its outputs), the lesson's prose from its translation, and its handout."""

    def __init__(self, browser, executed_lesson, example_folder: Path) -> None:
        self.browser, self.executed_lesson = browser, executed_lesson
        self.example_folder = example_folder
        self.built: dict[tuple[str, str], tuple[slides.Deck, list[str], list[dict]]] = {}

    def __call__(self, name: str, lang: str = "en") -> tuple[slides.Deck, list[str], list[dict]]:
        out, key = _folder(lang), (lang, name)
        if CHECKED and key not in self.built:
            if lang != "en" and not (out / "decks.json").is_file():
                pytest.skip(f"no `course slides --lang {lang}` build in {out}")
            listing = json.loads((out / "decks.json").read_text())
            page = deck_browser.open_deck(self.browser, out / name)
            try:
                report = deck_browser.slide_report(page)
            finally:
                page.context.close()
            deck = {d["name"]: slides.Deck(**d) for d in listing}[name]
            self.built[key] = (deck, slides._overflow_problems(report, name), report)
        if key not in self.built:
            if name == Path(EXAMPLE).with_suffix(".html").name:
                path = _example_notebook(self.example_folder)
                executed = self.example_folder / "executed"
            else:
                path = ROOT / "notebooks" / Path(name).with_suffix(".ipynb").name
                executed = self.executed_lesson(path.name).parent
            problems: list[str] = []
            reports: dict[str, list[dict]] = {}
            try:
                deck = slides.build([path], out, executed_dir=executed, cache=CACHE,
                                    glossary=ROOT / "GLOSSARY.md", pdf=True,
                                    lang=lang, browser=self.browser, reports=reports,
                                    log=lambda line: None)[0]
            except slides.DeckOverflow as error:
                problems = str(error).splitlines()[1:]
                listing = json.loads((out / "decks.json").read_text())
                deck = next(slides.Deck(**d) for d in listing if d["name"] == name)
            self.built[key] = (deck, problems, reports[name])
        return self.built[key]


@pytest.fixture(scope="session")
def decks(browser, executed_lesson, tmp_path_factory) -> _Decks:
    _need_npm()
    if not CHECKED and OUT.exists():
        shutil.rmtree(OUT)
    return _Decks(browser, executed_lesson, tmp_path_factory.mktemp("example"))


def test_course_slides_command(browser, monkeypatch, tmp_path: Path, capsys) -> None:
    """`course slides` works where Playwright's sync API cannot start in the caller's thread:
    here the session's browser is open in it (as in a notebook's kernel, an asyncio loop
    runs), so the command builds in a thread of its own."""
    _need_npm()
    assert deck_browser.loop_running()
    from course_tools import cli

    monkeypatch.chdir(ROOT)
    assert cli.main(["slides", "0", "--no-outputs", "--out", str(tmp_path)]) == 0
    assert (tmp_path / LESSONS[0].with_suffix(".html").name).is_file()
    assert "1 deck, " in capsys.readouterr().out
    assert cli.main(["slides", "77", "--out", str(tmp_path)]) == 1
    assert "no lesson '77'" in capsys.readouterr().err


def test_a_lesson_that_fails_to_run_is_named(tmp_path: Path) -> None:
    _need_npm()
    path = tmp_path / "97_broken.ipynb"
    nbformat.write(new_notebook(cells=[_cell("# 97", "slide"),
                                       _cell("raise ValueError('boom')", code=True)]), str(path))
    with pytest.raises(RuntimeError, match="97_broken.ipynb failed .*ValueError: boom"):
        slides.build([path], tmp_path / "out", tmp_path / "executed", cache=CACHE,
                     measure=False, log=lambda line: None)


def test_a_slide_that_cannot_fit_is_named(browser, tmp_path: Path) -> None:
    _need_npm()
    path = tmp_path / "96_wide.ipynb"
    wide = "$$" + " + ".join(f"x_{{{i}}}" for i in range(160)) + "$$"
    nbformat.write(new_notebook(cells=[_cell("# 96", "slide"), _cell("## Too wide", "slide"),
                                       _cell(wide)]), str(path))
    with pytest.raises(slides.DeckOverflow, match=r"96_wide.html slide 2 \('Too wide'\)"):
        slides.build([path], tmp_path / "out", None, cache=CACHE, browser=browser,
                     log=lambda line: None)


# Text a reader would see that still holds TeX: outside code, outside typeset math.
def _lesson(name: str) -> nbformat.NotebookNode | None:
    """The lesson behind deck ``name`` (None for the example)."""
    path = ROOT / "notebooks" / Path(name).with_suffix(".ipynb").name
    return notebooks.read(path) if path.is_file() else None


_RAW_MATH = """() => {
  const skip = 'PRE, CODE, SCRIPT, STYLE, .katex, .katex-display, math, .anchor-link';
  const walker = document.createTreeWalker(document.querySelector('.reveal .slides'),
                                           NodeFilter.SHOW_TEXT);
  const raw = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest(skip)) continue;
    const text = node.textContent;
    if (/\\$|\\\\\\(|\\\\\\[|\\\\[A-Za-z]{2,}/.test(text)) raw.push(text.trim());
  }
  return raw;
}"""
# Wrap every run of Chinese characters (slides, code, outputs, notes) in a probe span, so the
# browser can say which font drew it; notes are shown for the probe.
_CJK_PROBES = """(root) => {
  const scope = root ? document.querySelector(root) : document.body;
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (/[\\u3400-\\u9fff\\uff00-\\uffef\\u3000-\\u303f]/.test(node.textContent)
        && !node.parentElement.closest('script, style, .katex-mathml, [data-cjk-probe]'))
      nodes.push(node);
  }
  let count = 0;
  for (const node of nodes) {
    const parts = node.textContent.split(/([\\u3400-\\u9fff\\uff00-\\uffef\\u3000-\\u303f]+)/);
    const fragment = document.createDocumentFragment();
    parts.forEach((part, k) => {
      if (k % 2 === 1) {
        const span = document.createElement('span');
        span.dataset.cjkProbe = String(count++);
        span.textContent = part;
        fragment.appendChild(span);
      } else if (part) fragment.appendChild(document.createTextNode(part));
    });
    node.replaceWith(fragment);
  }
  const style = document.createElement('style');
  style.textContent = 'aside.notes { display: block !important; }';
  document.head.appendChild(style);
  return count;
}"""


def _fallback_glyphs(page, selector: str, limit: int = 400) -> list[str]:
    """Chinese text under ``selector`` (shown now) that a font other than the bundled Noto
    Sans SC drew: the browser's answer (CSS.getPlatformFontsForNode), not a guess."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        ids = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]
        wrong = []
        for node in ids[:limit]:
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            if not fonts:
                continue                        # not laid out (another slide)
            others = [f["familyName"] for f in fonts if "Noto Sans SC" not in f["familyName"]]
            if others:
                text = cdp.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"]
                wrong.append(f"{re.sub('<[^>]+>', '', text)[:20]!r} drawn with {others}")
        return wrong
    finally:
        cdp.detach()


def _report_problems(report: list[dict], deck: slides.Deck, size: str) -> list[str]:
    """What the full report (every element of every slide, at the design size) finds."""
    problems = []
    for s in report:
        where = f"{size} slide {s['index']} ({s['title'][:40]!r})"
        worst = max(s["overflow"].values())
        if worst > 1 or s["scroll"] > 1:
            problems.append(f"{where}: content {max(worst, s['scroll']):.0f} px outside")
        for image in s["images"]:
            if not (image["inside"] and image["loaded"]):
                problems.append(f"{where}: a plot is not fully visible or did not load")
        problems += _address_problems(s, where)
    return problems


def _address_problems(s: dict, where: str) -> list[str]:
    problems = []
    if s["number"].split("/")[0].strip() != str(s["index"]):
        problems.append(f"{where}: shows number {s['number']!r}")
    if s["hash"] != f"#/{s['index']}" and not (s["index"] == 1 and s["hash"] == "#/"):
        problems.append(f"{where}: address {s['hash']!r}")
    return problems


def _view_problems(view: list[dict], size: str) -> list[str]:
    """What :data:`deck_browser.VIEW_REPORT` finds at a window size: a slide or one of its
    blocks or plots outside (more than a pixel), a plot not loaded, a wrong number."""
    problems = []
    for s in view:
        where = f"{size} slide {s['index']}"
        for part in ("window", "blocks", "images"):
            if s[part] > 1:
                problems.append(f"{where}: {part} {s[part]:.0f} px outside")
        if not s["loaded"]:
            problems.append(f"{where}: a plot did not load")
        problems += _address_problems(s, where)
    return problems


_NEXT_KEYS = ["ArrowRight", "Space", "PageDown"]


def _walk_with_keys(page, total: int) -> list[int]:
    """Slides reached by pressing next (right arrow, space, Page Down in turn) from the
    first: their one-based numbers, in the order reveal.js showed them."""
    page.evaluate("() => Reveal.slide(0, 0)")
    page.click(".reveal .slides", position={"x": 5, "y": 5})
    page.evaluate("""() => { window.courseReached = [Reveal.getSlidePastCount() + 1];
      Reveal.on('slidechanged', () => courseReached.push(Reveal.getSlidePastCount() + 1)); }""")
    for step in range(total - 1):
        page.keyboard.press(_NEXT_KEYS[step % 3])
    return page.evaluate("() => courseReached")


def _screenshots(page, stem: str, shots: Path) -> list[str]:
    """A picture of the title, and of the first math, plot and code slide, for a human look."""
    kinds = page.evaluate("""() => {
      const slides = Reveal.getSlides();
      const find = sel => slides.findIndex((s, i) => i > 0 && s.querySelector(sel));
      return {title: 0, math: find('.katex-display'), plot: find('.jp-OutputArea img'),
              code: find('.jp-InputArea pre')};
    }""")
    written = []
    for kind, index in kinds.items():
        if index < 0:
            continue
        page.evaluate(f"() => Reveal.slide({index}, 0)")
        page.wait_for_timeout(60)
        target = shots / f"{stem}_{index + 1:02d}_{kind}.png"
        page.screenshot(path=str(target))
        written.append(target.name)
    return written


# Every slide laid out at once (reveal.js lays out only those near the current one), and of
# the probes of the same text in the same font stack, one asked about.
_LAY_OUT_ALL = """() => {
  const style = document.createElement('style');
  style.textContent = '.reveal .slides > section { display: block !important; }';
  document.head.appendChild(style);
  const seen = new Set();
  let count = 0;
  document.querySelectorAll('[data-cjk-probe]').forEach(el => {
    const key = el.textContent + '|' + getComputedStyle(el).fontFamily;
    if (!seen.has(key)) { seen.add(key); el.dataset.cjkAsk = ''; count += 1; }
  });
  return count;
}"""


def _sample(report: list[dict], crowded: int = 6) -> list[int]:
    """Slides to look at again at another window size: the title, the ``crowded`` ones whose
    content comes nearest the slide's bottom, and every slide with a plot."""
    nearest = sorted(report, key=lambda s: s["overflow"]["bottom"], reverse=True)[:crowded]
    return sorted({1, *(s["index"] for s in nearest),
                   *(s["index"] for s in report if s["images"])})


def _open_offline(browser, name: str, width: int, height: int, address: str = "",
                  lang: str = "en"):
    page = offline_page_of(browser, width, height)
    page.on("pageerror", lambda error, p=page: p.console_errors.append(str(error)))
    page.goto((_folder(lang) / name).as_uri() + address)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    page.evaluate("() => document.fonts.ready.then(() => new Promise(requestAnimationFrame))")
    page.evaluate("() => Reveal.configure({transition: 'none'})")
    return page


def _notes_have_chinese(name: str, lang: str = "en") -> bool:
    text = (_folder(lang) / name).read_text(encoding="utf-8")
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', text, re.DOTALL)
    return any(slides._CJK.search(n) for n in notes)


def _assert_fits(decks, lang: str, name: str) -> slides.Deck:
    """The build's layout report at the design size (1280x720): no slide overflows, every
    plot fully visible and loaded, numbers and addresses that agree."""
    deck, problems, report = decks(name, lang)
    where = name if lang == "en" else f"{lang}/{name}"
    assert not problems, f"{where}: the build found slides that do not fit:\n" + \
        "\n".join(problems)
    bad = _report_problems(report, deck, "1280x720")
    assert not bad, f"{where} at 1280x720:\n" + "\n".join(bad)
    return deck


@pytest.mark.lessons
@pytest.mark.parametrize("lang, name", EDITIONS)
def test_deck_fits_its_slides(decks, lang: str, name: str) -> None:
    """Every deck, English and Chinese (whose translated prose is often longer or shorter
    than the English), fits its slides at the design size."""
    _assert_fits(decks, lang, name)


@pytest.mark.lessons
@pytest.mark.parametrize("lang, name", EDITIONS)
def test_deck_in_browser(decks, browser, lang: str, name: str) -> None:
    """The deck as an instructor uses it. Measured once at the design size (1280x720, which
    reveal.js scales to the window): every slide's content inside the slide, every plot
    fully visible and loaded, slide numbers and addresses that agree. At a projector's
    1024x768 and at 1920x1080, opened with the network blocked: the scaled slides, their
    blocks and plots inside the window, numbers and addresses, no failed request or error;
    next (right arrow, space, Page Down) reaching every slide in order; math typeset, no
    solution or test code; Chinese drawn by the bundled font everywhere (slides, code,
    outputs, notes, and the speaker view); a handout of one page per slide."""
    deck = _assert_fits(decks, lang, name)
    report = decks(name, lang)[2]
    lesson = _lesson(name)
    cells = lesson.cells if lesson is not None else []
    shots = _folder(lang) / "screenshots"
    shots.mkdir(exist_ok=True)
    # Opened at the last slide's address on a projector (1024x768): every slide scaled into
    # the window, and reached in order with the keys.
    page = _open_offline(browser, name, 1024, 768, f"#/{deck.slides}", lang)
    try:
        page.wait_for_function(f"() => Reveal.getSlidePastCount() + 1 === {deck.slides}",
                               timeout=5000)
        assert page.evaluate("() => Reveal.getTotalSlides()") == deck.slides
        bad = _view_problems(deck_browser.view_report(page), "1024x768")
        assert not bad, f"{name} at 1024x768:\n" + "\n".join(bad)
        reached = _walk_with_keys(page, deck.slides)
        assert reached == list(range(1, deck.slides + 1)), f"{name}: next keys reached {reached}"
        # The same page at 1920x1080: a sample of slides scaled again (the title, the most
        # crowded ones, those with plots), what is on the slides, and in which font.
        scale = page.evaluate("() => Reveal.getScale()")
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_function(f"() => Reveal.getScale() > {scale} * 1.5")   # laid out again
        bad = _view_problems(deck_browser.view_report(page, _sample(report)), "1920x1080")
        assert not bad, f"{name} at 1920x1080:\n" + "\n".join(bad)
        assert page.evaluate(_RAW_MATH) == [], "math left as raw TeX"
        if lesson is None or any(c.cell_type == "markdown" and "$" in c.source for c in cells):
            assert page.evaluate("() => document.querySelectorAll('.katex').length") > 0
        text = page.evaluate("() => document.querySelector('.reveal .slides').textContent")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "def naive(" not in text and "mistakes={" not in text  # no test code
        assert text.count("raise NotImplementedError()") >= sum(
            map(notebooks.is_answer_cell, cells))
        assert "Skipped: this cell needs a CUDA GPU" not in text
        assert deck.notes == sum(bool(s["notes"]) for s in report)
        _screenshots(page, Path(name).stem, shots)
        # the speaker view is the same for every deck; its font comes from the deck's notes
        if lang == "zh":      # its notes are Chinese: the speaker view must draw them
            assert _notes_have_chinese(name, lang), f"{lang}/{name}: notes not translated"
        if name in (DECKS[0], DECKS[-1]) or _notes_have_chinese(name, lang):
            _speaker_view(page, report, chinese=lang == "zh")
        if page.evaluate(_CJK_PROBES, None):
            asked = page.evaluate(_LAY_OUT_ALL)
            wrong = _fallback_glyphs(page, "[data-cjk-ask]", limit=asked)
            assert not wrong, f"{name}: Chinese not in the bundled font:\n" + \
                "\n".join(wrong[:20])
        assert page.console_errors == []
        assert page.failed_requests == [] and page.blocked_requests == []
    finally:
        page.context.close()
    if not CHECKED:
        assert deck.pdf and deck_browser.pdf_pages(_folder(lang) / deck.pdf) == deck.slides


def _speaker_view(page, report: list[dict], chinese: bool = False) -> None:
    """S opens the speaker view, which shows the first slide's notes in the bundled font
    (``chinese``: notes that hold Chinese, every character of it drawn by that font)."""
    page.evaluate("() => Reveal.slide(0, 0)")
    with page.expect_popup() as opened:
        page.keyboard.press("s")
    speaker = opened.value
    speaker.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    speaker.wait_for_function("() => document.querySelector('.speaker-controls-notes .value')"
                              " && document.querySelector('.speaker-controls-notes .value')"
                              ".textContent.trim().length > 0")
    first_words = " ".join(report[0]["notes"].split()[:3])
    assert first_words in " ".join(speaker.inner_text(".speaker-controls-notes .value").split())
    assert speaker.evaluate("() => document.querySelectorAll('iframe').length") == 2
    speaker.evaluate("() => document.fonts.ready")
    assert speaker.evaluate("() => !!document.getElementById('course-cjk')"), \
        "the speaker view did not get the course's CJK font"
    probes = speaker.evaluate(_CJK_PROBES, ".speaker-controls-notes")
    assert probes or not chinese, "speaker view: the first slide's notes show no Chinese"
    if probes:
        speaker.evaluate("() => document.fonts.load('20px \"Noto Sans SC Variable\"', '注意力')")
        speaker.evaluate("() => document.fonts.ready")
        speaker.wait_for_timeout(200)
        wrong = _fallback_glyphs(speaker, ".speaker-controls-notes [data-cjk-probe]")
        assert not wrong, f"speaker view: {wrong}"
    speaker.close()


@pytest.mark.lessons
def test_index_and_glossary_pages(decks, browser) -> None:
    """The index lists every deck built (with its handout) and says how to move; the glossary
    shows its terms as tables, in the bundled CJK font, without the contributors' notes."""
    for name in DECKS:
        decks(name)
    assert not slides.offline_problems(OUT), slides.offline_problems(OUT)
    index = (OUT / "index.html").read_text(encoding="utf-8")
    for deck in (decks(name)[0] for name in DECKS):
        assert f'href="{deck.name}"' in index and f"<td>{deck.slides}</td>" in index
        assert CHECKED or f'href="{deck.pdf}"' in index
    assert "Page Down" in index and "#/7" in index
    page = offline_page_of(browser, 1280, 720)
    try:
        page.goto((OUT / "GLOSSARY.html").as_uri() + "#attention-mechanism")
        page.evaluate("() => document.fonts.ready")
        assert page.evaluate("() => document.querySelectorAll('table tr').length") > 50
        text = page.inner_text("body")
        assert "Each row starts with an anchor" not in text and "| English |" not in text
        assert page.evaluate(_CJK_PROBES, None) > 50
        page.wait_for_timeout(100)
        wrong = _fallback_glyphs(page, "[data-cjk-probe]", limit=80)
        assert not wrong, f"GLOSSARY.html: {wrong}"
        assert page.failed_requests == [] and page.blocked_requests == []
    finally:
        page.context.close()


@pytest.mark.lessons
@pytest.mark.parametrize("lang, name", EDITIONS)
def test_every_content_slide_has_notes(decks, lang: str, name: str) -> None:
    """Every slide other than an exercise, the summary or "check yourself" carries speaker
    notes: what to say, what to ask, the measured number to point at (a ``notes`` cell
    after the cells it speaks about, in the lesson)."""
    missing = [f"slide {s['index']} ({s['section'][:50]!r})"
               for s in decks(name, lang)[2] if not s["notes"] and s["kind"] == "content"]
    assert not missing, f"{name}: content slides without speaker notes:\n" + "\n".join(missing)


@pytest.mark.lessons
@pytest.mark.parametrize("lang, name", EDITIONS)
def test_plot_text_is_readable(decks, lang: str, name: str) -> None:
    """The smallest text of every plot (tick labels, axis labels, titles, legends; recorded
    by the course's plot style) is at least MIN_FONT_PX slide pixels as the plot is shown."""
    small = [f"slide {s['index']} ({s['section'][:40]!r}): {image['font_px']:.1f} px"
             for s in decks(name, lang)[2] for image in s["images"]
             if image["font_px"] and image["font_px"] < deck_layout.MIN_FONT_PX - 0.5]
    assert not small, f"{name}: plot text smaller than {deck_layout.MIN_FONT_PX:.0f} px:\n" \
        + "\n".join(small)
