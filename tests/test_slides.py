"""Lesson decks (`course slides`): every lesson's metadata gives a talk, the deck transform
hides solutions, and every deck works in a real headless browser with the network blocked.

The browser tests build each lesson's deck from the stored notebook (fast: no outputs) plus
one small notebook that is executed here, whose deck carries what executed lessons carry
(a plot, printed and trimmed results, math in outputs). Screenshots of each deck's title
slide and of one content slide go to build/slides-test/screenshots/.

To run the same browser checks on the decks of `make slides` (executed lessons, real plots),
with screenshots in build/slides/screenshots/:
    COURSE_SLIDES_DIR=build/slides python -m pytest tests/test_slides.py -k browser
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

from course_tools import notebooks, slides

ROOT = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(ROOT / "notebooks")
CHECKED = os.environ.get("COURSE_SLIDES_DIR")           # a real build to check instead
OUT = Path(CHECKED).resolve() if CHECKED else ROOT / "build" / "slides-test"
EXAMPLE = "98_outputs.ipynb"                               # the executed example deck
DECKS = [p.with_suffix(".html").name for p in LESSONS] + ([] if CHECKED else
                                                          [Path(EXAMPLE).with_suffix(".html").name])


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


# ---------------------------------------------------------------------------- transform

def _lesson_with_exercise() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    answer = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    test = ("check(f)\n### BEGIN HIDDEN TESTS\nassert f(3) == 6  # secret\n"
            "### END HIDDEN TESTS\n")
    source = new_notebook(cells=[
        _cell("# L\nsee [softmax (软最大)](../GLOSSARY.md#softmax) and [01](01_ai_history.ipynb)",
              "slide"),
        _cell("print(1)", code=True, tags=["gpu"]),
        _cell(answer, code=True, **_grading("l_f", answer=True)),
        _cell(test, code=True, **_grading("l_f_test", answer=False)),
    ])
    executed = nbformat.reads(nbformat.writes(source), as_version=4)
    executed.cells[1].source = 'print("Skipped: this cell needs a CUDA GPU.")'
    executed.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="".join(f"{i}\n" for i in range(40))),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
        nbformat.v4.new_output("display_data", data={
            "text/plain": "HBox()", "application/vnd.jupyter.widget-view+json": {}}),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad shape",
                               traceback=["long", "traceback"])]
    executed.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="6\n")]
    executed.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                        text="secret passed\n")]
    return source, executed


def test_deck_shows_the_task_not_the_solution() -> None:
    source, executed = _lesson_with_exercise()
    deck = slides.deck_notebook(source, executed)
    answer, test = deck.cells[2], deck.cells[3]
    assert "return 2 * x" not in answer.source and "raise NotImplementedError()" in answer.source
    assert "secret" not in test.source and "check(f)" in test.source
    assert answer.outputs == [] and test.outputs == []       # the solution's results stay out
    assert deck.cells[1].source == "print(1)"                # the lesson's code, not the stub


def test_deck_outputs_fit_a_slide() -> None:
    source, executed = _lesson_with_exercise()
    deck = slides.deck_notebook(source, executed)
    outputs = deck.cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream", "error"]   # stderr, widget dropped
    lines = outputs[0].text.splitlines()
    assert len(lines) == 13 and lines[-1] == "... 28 more lines in the notebook"
    assert outputs[1].traceback == ["ValueError: bad shape"]
    assert "(GLOSSARY.html#softmax)" in deck.cells[0].source
    assert "(01_ai_history.html)" in deck.cells[0].source


def test_executed_copy_out_of_step_is_refused() -> None:
    source, executed = _lesson_with_exercise()
    executed.cells.pop(2)
    with pytest.raises(ValueError, match="execute it again"):
        slides.deck_notebook(source, executed)


def test_executed_copy_is_current_while_the_code_is_unchanged() -> None:
    source, executed = _lesson_with_exercise()
    assert not slides.is_current(source, executed)           # it stopped with an error
    executed.cells[1].outputs.pop()
    assert slides.is_current(source, executed)               # gpu cell's stub not compared
    source.cells[0].source += "\nbetter prose"
    source.cells.insert(1, _cell("new speaker notes", "notes"))
    assert slides.is_current(source, executed)
    source.cells[3].source = "def f(x):\n    return 3 * x"    # the answer cell
    assert not slides.is_current(source, executed)


def test_lessons_by_number_or_path() -> None:
    folder = ROOT / "notebooks"
    assert slides.resolve_lessons(["3"], folder) == sorted(folder.glob("03_*.ipynb"))
    assert slides.resolve_lessons([], folder) == LESSONS
    with pytest.raises(ValueError, match="no lesson '77'"):
        slides.resolve_lessons(["77"], folder)


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
        _cell("Title-slide notes with math: $\\sqrt{d_k}$.", "notes"),
        _cell("## A plot · 图", "slide"),
        _cell("import matplotlib.pyplot as plt\n"
              "import numpy as np\nx = np.linspace(0, 6, 50)\nplt.figure(figsize=(12, 5))\n"
              "plt.plot(x, np.sin(x))\nplt.title(r'$\\sin x$')\nplt.show()", code=True),
        _cell("Point at the curve.", "notes"),
        _cell("## Results\n$$\\frac{\\exp(s_i)}{\\sum_j \\exp(s_j)}$$", "subslide"),
        _cell("from IPython.display import Markdown, display\n"
              "display(Markdown('measured: $\\\\alpha = 0.5$'))\n"
              "for i in range(40):\n    print('line', i)", code=True),
    ]
    path = folder / EXAMPLE
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), str(path))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, slides.Deck]:
    """Decks of every lesson (from the stored notebooks) and of the executed example."""
    if CHECKED:
        listing = json.loads((OUT / "decks.json").read_text())
        return {d["name"]: slides.Deck(**d) for d in listing}
    _need_npm()
    if OUT.exists():
        shutil.rmtree(OUT)
    decks = slides.build(LESSONS, OUT, executed_dir=None, cache=CACHE,
                         glossary=ROOT / "GLOSSARY.md", log=lambda line: None)
    folder = tmp_path_factory.mktemp("example")
    example, executed = _example_notebook(folder), folder / "executed"
    decks += slides.build([example], OUT, executed_dir=executed, cache=CACHE,
                          glossary=ROOT / "GLOSSARY.md", log=lambda line: None)
    again = slides.build([example], OUT, executed_dir=executed, cache=CACHE,
                         glossary=ROOT / "GLOSSARY.md", log=lambda line: None)
    assert (decks[-1].outputs, again[0].outputs) == ("executed now", "executed copy")
    return {deck.name: deck for deck in decks}


def test_course_slides_command(monkeypatch, tmp_path: Path, capsys) -> None:
    _need_npm()
    from course_tools import cli

    monkeypatch.chdir(ROOT)
    assert cli.main(["slides", "0", "--no-outputs", "--out", str(tmp_path)]) == 0
    assert (tmp_path / LESSONS[0].with_suffix(".html").name).is_file()
    count = slides.slide_count(notebooks.read(LESSONS[0]))
    assert f"1 deck, {count} slides" in capsys.readouterr().out
    assert cli.main(["slides", "77", "--out", str(tmp_path)]) == 1
    assert "no lesson '77'" in capsys.readouterr().err


def test_a_lesson_that_fails_to_run_is_named(tmp_path: Path) -> None:
    _need_npm()
    path = tmp_path / "97_broken.ipynb"
    nbformat.write(new_notebook(cells=[_cell("# 97", "slide"),
                                       _cell("raise ValueError('boom')", code=True)]), str(path))
    with pytest.raises(RuntimeError, match="97_broken.ipynb failed .*ValueError: boom"):
        slides.build([path], tmp_path / "out", tmp_path / "executed", cache=CACHE,
                     log=lambda line: None)


def test_built_files_load_nothing_from_the_network(built) -> None:
    assert len(built) == len(DECKS)
    problems = slides.offline_problems(OUT)
    assert not problems, "\n".join(problems)
    assert (OUT / "GLOSSARY.html").is_file()
    index = (OUT / "index.html").read_text(encoding="utf-8")
    for deck in built.values():
        assert f'href="{deck.name}"' in index and f"<td>{deck.slides}</td>" in index


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
_BROKEN_IMAGES = """() => [...document.querySelectorAll('.reveal img')]
    .filter(img => !img.complete || img.naturalWidth === 0).map(img => img.src.slice(0, 60))"""
_SLIDE_WITH_IMAGE = """() => {
  const slides = Reveal.getSlides();
  const i = slides.findIndex(s => s.querySelector('img'));
  return i >= 0 ? i : Math.min(2, slides.length - 1);
}"""


@pytest.mark.parametrize("name", DECKS)
def test_deck_in_browser(built, offline_page, name: str) -> None:
    page, deck = offline_page, built[name]
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.goto((OUT / name).as_uri())
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    page.evaluate("() => document.fonts.ready.then(() => new Promise(requestAnimationFrame))")
    page.evaluate("() => Reveal.configure({transition: 'none'})")

    assert page.evaluate("() => Reveal.getTotalSlides()") == deck.slides
    assert page.evaluate(_RAW_MATH) == [], "math left as raw TeX"
    lesson = _lesson(name)
    cells = lesson.cells if lesson is not None else []
    if lesson is None or any(c.cell_type == "markdown" and "$" in c.source for c in cells):
        assert page.evaluate("() => document.querySelectorAll('.reveal .katex').length") > 0
    assert page.evaluate(_BROKEN_IMAGES) == []
    if name == Path(EXAMPLE).with_suffix(".html").name:
        assert page.evaluate("() => document.querySelectorAll('.reveal img').length") == 1
    notes = page.evaluate("() => [...document.querySelectorAll('.reveal aside.notes')]"
                          ".map(n => n.textContent.trim())")
    assert len(notes) == deck.notes and all(notes)
    title = page.evaluate("() => { const s = Reveal.getSlides()[0]; return [s.querySelector("
                          "'h1') !== null, s.querySelectorAll('li').length, "
                          "s.querySelector('aside.notes') !== null]; }")
    assert title == [True, title[1], True] and title[1] >= 2, "title slide: heading, " \
        "objectives and speaker notes"
    overflow = page.evaluate("() => { const s = Reveal.getSlides()[0];"
                             " return s.scrollHeight - s.clientHeight; }")
    assert overflow <= 2, f"the title slide needs {overflow} px more than the 720 px of a " \
        f"slide: shorten the first cell (title, objectives)"
    text = page.evaluate("() => document.querySelector('.reveal .slides').textContent")
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert text.count("raise NotImplementedError()") >= sum(map(notebooks.is_answer_cell, cells))
    cjk = page.evaluate("() => document.fonts.check('30px \"Noto Sans SC Variable\"', '注意力')")
    assert cjk, "the CJK font did not load"

    shots = OUT / "screenshots"
    shots.mkdir(exist_ok=True)
    stem = Path(name).stem
    page.screenshot(path=str(shots / f"{stem}_title.png"))
    page.evaluate(f"() => Reveal.slide(...Object.values(Reveal.getIndices("
                  f"Reveal.getSlides()[({_SLIDE_WITH_IMAGE})()])).slice(0, 2))")
    page.evaluate("() => { const img = Reveal.getCurrentSlide().querySelector('img');"
                  " if (img) img.scrollIntoView({block: 'end'}); }")
    page.wait_for_timeout(100)
    page.screenshot(path=str(shots / f"{stem}_content.png"))

    page.evaluate("() => Reveal.slide(0, 0)")
    with page.expect_popup() as opened:
        page.keyboard.press("s")
    speaker = opened.value
    speaker.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    speaker.wait_for_function("() => document.querySelector('.speaker-controls-notes .value')"
                              " && document.querySelector('.speaker-controls-notes .value')"
                              ".textContent.trim().length > 0")
    first_words = " ".join(notes[0].split()[:3])
    assert first_words in " ".join(speaker.inner_text(".speaker-controls-notes .value").split())
    assert speaker.evaluate("() => document.querySelectorAll('iframe').length") == 2

    assert page.console_errors == []
    assert page.failed_requests == [] and page.blocked_requests == []
