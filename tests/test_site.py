"""The course website (`course site`): pages hide solutions, hidden tests and speaker notes,
and every page works in a real headless browser with the network blocked: it opens, its
links resolve, search finds a glossary term, the math is typeset.

The site is built from every lesson executed (once per test session: the fixture
``executed_lesson`` in conftest.py) plus one small notebook executed here that carries
what a lesson may carry (a plot, printed results, a warning, a widget with a static
picture, an exercise with a solution and hidden tests). Screenshots go to
build/site-test/screenshots/.

To run the same browser checks on the site of `make site` (executed lessons, real plots):
    COURSE_SITE_DIR=build/site python -m pytest tests/test_site.py -k browser
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from page_helpers import NPM_CACHE as CACHE
from page_helpers import grading as _grading
from page_helpers import need_npm as _need_npm

from course_tools import notebooks, site, slides

ROOT = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(ROOT / "notebooks")
CHECKED = os.environ.get("COURSE_SITE_DIR")        # a real build to check instead
OUT = Path(CHECKED).resolve() if CHECKED else ROOT / "build" / "site-test"
EXAMPLE = "98_reading.ipynb"
SECRET = "the_solution_is_42"                       # in the example's solution and hidden test
PAGES = (["index.html", "GLOSSARY.html"] + [p.with_suffix(".html").name for p in LESSONS]
         + ([] if CHECKED else [Path(EXAMPLE).with_suffix(".html").name]))


def _cell(source: str, code: bool = False, **metadata) -> nbformat.NotebookNode:
    cell = new_code_cell(source) if code else new_markdown_cell(source)
    cell.metadata.update(metadata)
    return cell


def _example_notebook(folder: Path) -> Path:
    """A small lesson-like notebook whose page has what executed lessons have."""
    cells = [
        _cell("# 98 · Reading a lesson · 阅读\n\nWe read $\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})V$"
              " and the [softmax (软最大值函数 (softmax))](../GLOSSARY.md#softmax)."),
        _cell("Welcome everyone: the speaker notes of this slide.",
              slideshow={"slide_type": "notes"}),
        _cell("## A plot · 图\n$$\\frac{\\exp(s_i)}{\\sum_j \\exp(s_j)}$$"),
        _cell("import warnings\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
              "warnings.warn('a warning for the log, not for the reader')\n"
              "x = np.linspace(0, 6, 50)\nplt.plot(x, np.sin(x))\nplt.show()\n"
              "print('printed result 0.731')", code=True),
        _cell("from IPython.display import display\n"
              "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'x', "
              "'version_major': 2, 'version_minor': 0}, 'text/html': '<b>static view</b>', "
              "'text/plain': 'Viewer()'}, raw=True)", code=True),
        _cell("## Exercise\nWrite `answer()`."),
        _cell("def answer():\n    ### BEGIN SOLUTION\n    return 'the_solution_is_42'\n"
              "    ### END SOLUTION", code=True, **_grading("ex", answer=True)),
        _cell("print(answer())\nassert answer()\n### BEGIN HIDDEN TESTS\n"
              "assert answer() == 'the_solution_is_42'\n### END HIDDEN TESTS", code=True,
              **_grading("ex_test", answer=False)),
        _cell("Next: [lesson 00](00_welcome.ipynb)."),
    ]
    path = folder / EXAMPLE
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), str(path))
    return path


@pytest.fixture(scope="module")
def built(executed_lesson, tmp_path_factory) -> Path:
    """The English edition: every lesson executed, and the executed example."""
    if CHECKED:
        return OUT / "en"
    _need_npm()
    if OUT.exists():
        shutil.rmtree(OUT)
    folder = tmp_path_factory.mktemp("example")
    example, executed = _example_notebook(folder), folder / "executed"
    slides.executed_copy(example, executed, timeout=120)
    for lesson in LESSONS:
        shutil.copy(executed_lesson(lesson.name), executed / lesson.name)
    site.build([*LESSONS, example], OUT, executed_dir=executed, cache=CACHE,
               log=lambda line: None)
    return OUT / "en"


# ---------------------------------------------------------------------------- content

def test_page_hides_solutions_notes_and_noise() -> None:
    folder = ROOT / "build" / "site-unit"
    folder.mkdir(parents=True, exist_ok=True)
    source = notebooks.read(_example_notebook(folder))
    executed = copy.deepcopy(source)
    stderr = nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noise\n")
    stdout = nbformat.v4.new_output("stream", name="stdout", text="kept\n")
    for _, cell in notebooks.code_cells(executed):
        cell.outputs = [stderr, stdout]
    page = site.site_notebook(source, executed)
    text = "\n".join(cell.source for cell in page.cells)
    assert SECRET not in text and "HIDDEN TESTS" not in text and "Welcome everyone" not in text
    assert "raise NotImplementedError()" in text
    assert "](GLOSSARY.html#softmax)" in text and "](00_welcome.html)" in text
    for _, cell in notebooks.code_cells(page):
        shown = [o.get("name") for o in cell.outputs]
        if notebooks.is_answer_cell(cell) or notebooks.is_test_cell(cell):
            assert shown == [], "an exercise's outputs would give the solution away"
        else:
            assert shown == ["stdout"], "warnings and progress bars are not for the reader"


def test_widget_keeps_its_static_picture() -> None:
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}
    with_picture = nbformat.v4.new_output("display_data", data={**view, "image/png": "iVBOR",
                                                                "text/plain": "Viewer()"})
    progress = nbformat.v4.new_output("display_data", data={**view,
                                                            "text/plain": "HBox(children=())"})
    kept = site._reader_outputs([with_picture, progress])
    assert [sorted(o.data) for o in kept] == [["image/png", "text/plain"]]


def test_other_language_is_its_translation_or_refused() -> None:
    from course_tools import translations

    nb = notebooks.read(LESSONS[0])
    assert site.edition(nb, "en") is nb
    with pytest.raises(ValueError, match="lang: expected one of"):
        site.edition(nb, "fr")
    done = sorted(translations.COMPLETE["zh"])[0]
    source = notebooks.read(ROOT / "notebooks" / f"{done}.ipynb")
    zh = site.edition(source, "zh", done)
    assert zh.metadata.course.language == "zh" and zh is not source
    catalogue = translations.load(done, "zh")["cells"]
    assert [c.source for c in zh.cells if c.cell_type == "markdown"] == \
        [e.get("zh", "") if not e.get("shared") else e["en"] for e in catalogue.values()]
    source.cells[[c.cell_type for c in source.cells].index("markdown")].source += " Changed."
    with pytest.raises(translations.TranslationError, match="course translations --stale"):
        site.edition(source, "zh", done)


def test_course_site_command(monkeypatch, tmp_path: Path, capsys) -> None:
    _need_npm()
    from course_tools import cli

    monkeypatch.chdir(ROOT)
    assert cli.main(["site", "0", "--no-outputs", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "en" / LESSONS[0].with_suffix(".html").name).is_file()
    assert "3 pages" in capsys.readouterr().out       # home, the lesson, the glossary
    assert cli.main(["site", "77", "--out", str(tmp_path)]) == 1
    assert "no lesson '77'" in capsys.readouterr().err


def test_chinese_edition_has_the_translated_lessons_only(monkeypatch, tmp_path: Path,
                                                         capsys) -> None:
    _need_npm()
    from course_tools import cli, translations

    monkeypatch.chdir(ROOT)
    done = sorted(translations.COMPLETE["zh"])[0]
    unfinished = [p.stem for p in LESSONS if translations.problems(
        notebooks.read(p), p.stem, "zh")]
    names = [stem[:2] for stem in [done] + unfinished[:1]]   # lesson numbers
    assert cli.main(["site", *names, "--lang", "zh", "--no-outputs", "--out",
                     str(tmp_path)]) == 0
    page = (tmp_path / "zh" / f"{done}.html").read_text(encoding="utf-8")
    title = next(e["zh"] for e in translations.load(done, "zh")["cells"].values()
                 if not e.get("shared"))
    assert title.splitlines()[0].lstrip("# ") in page
    if unfinished:
        assert not (tmp_path / "zh" / f"{unfinished[0]}.html").exists()
        assert f"{unfinished[0]} left out" in capsys.readouterr().out


# ---------------------------------------------------------------------------- built site

class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.lessons
def test_every_page_is_built_and_loads_nothing_from_the_network(built: Path) -> None:
    for name in PAGES:
        assert (built / name).is_file(), f"{name} was not built"
    assert slides.offline_problems(built.parent) == []


@pytest.mark.lessons
def test_every_link_resolves(built: Path) -> None:
    checked = 0
    for page in sorted(built.glob("*.html")):
        for href in _parse(page).hrefs:
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//"):
                continue                              # a link to the web: not loaded
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_file(), f"{page.name}: {href} leads nowhere"
            if parts.fragment and target.suffix == ".html":
                ids = _parse(target).ids        # a browser tries the fragment as is, then decoded
                assert {parts.fragment, unquote(parts.fragment)} & ids, (
                    f"{page.name}: {href}: no element with id {parts.fragment!r}")
            checked += 1
    assert checked > 100


@pytest.mark.lessons
def test_pages_hide_every_solution(built: Path) -> None:
    hidden = []
    for lesson in LESSONS:
        for cell in notebooks.read(lesson).cells:
            if notebooks.is_answer_cell(cell):
                body = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
                hidden += [line.strip() for line in (body.group(1) if body else "").splitlines()
                           if len(line.strip()) > 25]
    assert hidden, "expected the lessons' solutions to check against"
    for page in built.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", SECRET):
            assert marker not in text, f"{page.name} shows {marker!r}"
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{page.name} shows solution lines: {leaked[:3]}"


@pytest.mark.lessons
@pytest.mark.parametrize("name", PAGES)
def test_page_in_browser(built: Path, offline_page, name: str) -> None:
    page = offline_page
    page.goto((built / name).as_uri())
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready")
    assert page.locator(".site-contents a").count() == len(PAGES), "the contents list all pages"
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('Noto Sans SC') "
                         "&& f.status === 'loaded')"), "the course's CJK font draws the Chinese"
    assert not page.blocked_requests, f"{name} tried to reach the network: {page.blocked_requests}"
    assert not page.failed_requests, f"{name}: requests failed: {page.failed_requests}"
    assert not page.console_errors, f"{name}: console errors: {page.console_errors}"
    assert page.locator(".katex-error").count() == 0
    text = page.locator(".site-main").inner_text()
    assert not re.search(r"\$[^$\s][^$]*\\(sqrt|frac|top)", text), f"{name}: raw TeX is showing"
    if name in PAGES[2:]:
        assert page.locator(".site-pager a[rel=prev]").count() == 1
        assert page.locator("h1").count() >= 1


@pytest.mark.lessons
def test_math_is_typeset(built: Path, offline_page) -> None:
    page = offline_page
    page.goto((built / "03_attention_basics.html").as_uri())
    page.wait_for_load_state("load")
    assert page.locator(".site-main .katex").count() > 20
    box = page.locator(".site-main .katex").first.bounding_box()
    assert box and box["width"] > 5 and box["height"] > 5, "a formula is drawn"


@pytest.mark.lessons
def test_search_finds_a_glossary_term(built: Path, offline_page) -> None:
    page = offline_page
    page.goto((built / "index.html").as_uri())
    page.fill("#site-search", "注意力机制")
    first = page.locator("#site-search-results a").first
    assert first.get_attribute("href") == "GLOSSARY.html#attention-mechanism"
    page.fill("#site-search", "attention mechanism")
    assert page.locator("#site-search-results a").first.get_attribute("href") == \
        "GLOSSARY.html#attention-mechanism"
    shots = OUT / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(shots / "search.png"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"GLOSSARY\.html#attention-mechanism$"))
    row = page.locator("#attention-mechanism").locator("xpath=ancestor::tr")
    assert "注意力机制" in row.inner_text()
    page.fill("#site-search", "zzzqqq")
    assert page.locator("#site-search-results").inner_text().strip() == "No match"


@pytest.mark.lessons
def test_lesson_page_shows_outputs_not_exercise_results(built: Path, offline_page) -> None:
    for name, printed in [("03_attention_basics.html", "course set up")] + (
            [] if CHECKED else [(Path(EXAMPLE).with_suffix(".html").name, "printed result")]):
        _check_outputs(offline_page, built, name, printed)


def _check_outputs(page, built: Path, name: str, printed: str) -> None:
    page.goto((built / name).as_uri())
    page.wait_for_load_state("load")
    main = page.locator(".site-main")
    assert printed in main.inner_text()
    assert main.locator(".jp-OutputArea-output img").count() >= 1, "a plot is shown"
    assert "UserWarning" not in main.inner_text()
    if name.startswith("98"):
        assert "static view" in main.inner_text(), "a widget shows its static picture"
        assert "raise NotImplementedError()" in main.inner_text()
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(OUT / "screenshots" / f"{Path(name).stem}.png"), full_page=False)
