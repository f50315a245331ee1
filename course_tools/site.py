"""The course as a static website that opens offline: ``course site`` (``make site``).

    course site [LESSON ...] [--lang en|zh|all]     every lesson, or those named, to build/site/

One edition per language in ``build/site/<lang>/``: a home page with the course map, one page
per lesson, the glossary, previous / next / contents navigation on every page and a search
box whose index ships with the pages (``search-index.js``). ``build/site/index.html`` leads
to the editions. Everything a page loads sits in ``build/site/assets/``: JupyterLab's own
notebook style sheets (from nbconvert), KaTeX for the math and a CJK font (both from the
decks' npm lock, ``slides/package-lock.json``), and the site's style and script from
``site/``. No page loads anything from the network; pages work from ``file://`` as well as
from a web server.

A lesson page is the lesson as a learner reads it, with the plots and printed results of the
executed copy (``build/executed/``, from ``make course``; a lesson without a current copy is
executed first, as for the decks): exercises show the task with the solution replaced by the
placeholder, hidden tests and speaker notes never appear, answer and test cells show no
outputs (a solution's results give it away), warnings and progress bars are dropped, and
interactive widgets appear as the static figure they carry (``course_lib``'s attention
viewer ships one).

Languages: English is the source. Another edition applies that language's translation
catalogue to each lesson (issue 24: :func:`edition` is the one place that asks for it) and
reads the UI strings from :data:`UI`.
"""

from __future__ import annotations

import copy
import html
import json
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from course_tools import notebooks, pages, slides, translations

__all__ = ["LANGUAGES", "SITE_DIR", "UI", "Page", "build", "edition", "search_entries",
           "site_notebook"]

ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = ROOT / "site"
LANGUAGES = ("en", "zh")
# Words of the site's own interface, per edition.
UI = {
    "en": {"course": "Attention, from RNNs to Transformers", "home": "Course map",
           "contents": "Contents", "glossary": "Glossary", "previous": "Previous",
           "next": "Next", "search": "Search the course", "no_results": "No match",
           "language": "English", "lesson": "Lesson",
           "intro": "An open course that builds attention from first principles. Each lesson "
                    "below is shown with its results from a real run; to run it yourself, "
                    "clone the course and type <code>make lab</code>."},
    "zh": {"course": "注意力机制：从 RNN 到 Transformer", "home": "课程地图", "contents": "目录",
           "glossary": "术语表", "previous": "上一课", "next": "下一课", "search": "搜索课程",
           "no_results": "没有找到", "language": "中文", "lesson": "第",
           "intro": "一门从基本原理讲起的注意力机制公开课。下面每一课都附有真实运行的结果；"
                    "想自己动手，请克隆课程并输入 <code>make lab</code>。"},
}
# The README of each edition: its course map ("## " + UI[lang]["home"]) is the home page's.
README = {"en": "README.md", "zh": "README.zh-CN.md"}
_WIDGET = "application/vnd.jupyter.widget-view+json"
# What `course site` copies into assets/ besides KaTeX and the CJK font (the decks' npm
# packages): the site's own style and script, from site/.
_OWN = {"site.css": "site.css", "site.js": "site.js"}


@dataclass
class Page:
    """One page of an edition: its file name, title, and (for a lesson) where its outputs
    came from (see :class:`course_tools.slides.Deck`)."""

    name: str
    title: str
    outputs: str = ""


# ---------------------------------------------------------------------------- content

def edition(nb: nbformat.NotebookNode, lang: str, lesson: str | None = None
            ) -> nbformat.NotebookNode:
    """The lesson in language ``lang``: English as it is; another language from its
    translation catalogue (prose cells only: code is the same in every edition); ``lesson``
    is the notebook's stem (found from the catalogues when not given). Raises
    :class:`course_tools.translations.TranslationError` for a lesson not translated in full."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang: expected one of {LANGUAGES}, got {lang!r}")
    if lang == "en":
        return nb
    return translations.translate_notebook(nb, lang, lesson)


def site_notebook(source: nbformat.NotebookNode, executed: nbformat.NotebookNode
                  ) -> nbformat.NotebookNode:
    """The notebook a lesson page shows: the student release of ``source`` without speaker
    notes or instructor cells, with the outputs of ``executed`` fit for a reader (see the
    module doc). Raises ``ValueError`` if the executed copy lacks a code cell."""
    released = notebooks.student_version(source)
    released.cells = [c for c in released.cells if not notebooks.is_instructor_cell(c)]
    outputs = slides.outputs_by_cell(released, executed)
    page = copy.deepcopy(released)
    for cell in page.cells:
        if cell.cell_type == "markdown":
            cell.source = pages.markdown_links_to_pages(cell.source)
        elif cell.cell_type == "code":
            hide = notebooks.is_answer_cell(cell) or notebooks.is_test_cell(cell)
            cell.outputs = [] if hide else _reader_outputs(outputs[cell.get("id")])
    page.metadata.pop("widgets", None)
    return page


def _reader_outputs(outputs: list) -> list:
    """Outputs without stderr (warnings, progress bars) and without live widgets: a widget
    that carries a static picture (image/png, text/html) keeps it."""
    kept = []
    for output in copy.deepcopy(outputs):
        if output.output_type == "stream" and output.name == "stderr":
            continue
        if output.output_type in {"display_data", "execute_result"}:
            data = output.get("data", {})
            data.pop(_WIDGET, None)
            if not set(data) - {"text/plain"} and "text/plain" in data and \
                    data["text/plain"].startswith(("HBox(", "VBox(", "FloatProgress(")):
                continue                  # a progress bar's text stand-in says nothing
            if not data:
                continue
        kept.append(output)
    return kept


# ---------------------------------------------------------------------------- rendering

def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(extra_template_basedirs=[str(SITE_DIR / "templates")],
                        template_name="course-site", exclude_input_prompt=True,
                        exclude_output_prompt=True)


def _layout():
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(SITE_DIR / "templates"),
                                     autoescape=False, keep_trailing_newline=True)
    return environment.get_template("layout.html.j2")


def _render_page(layout, *, lang: str, title: str, body: str, name: str, nav: list[Page],
                 editions: list[str], kind: str) -> str:
    names = [p.name for p in nav]
    index = names.index(name) if name in names else None
    previous = nav[index - 1] if index else None
    following = nav[index + 1] if index is not None and index + 1 < len(nav) else None
    return layout.render(lang=lang, ui=UI[lang], title=title, body=body, name=name, nav=nav,
                         previous=previous, next=following, kind=kind,
                         editions=[(e, UI[e]["language"]) for e in editions if e != lang],
                         escape=html.escape)


def _markdown(text: str) -> str:
    import mistune

    return mistune.html(text)


def _course_map(lang: str, lessons: list[Page]) -> str:
    """The home page's course map: the README's table (the README of the edition's language,
    :data:`README`, where there is one), each notebook name linked to its page."""
    readme = ROOT / README.get(lang, "README.md")
    heading = f"## {UI[lang]['home']}"
    if not readme.is_file():
        readme, heading = ROOT / "README.md", f"## {UI['en']['home']}"
    text = readme.read_text(encoding="utf-8")
    table = re.search(r"^(\|[^\n]*\|\n)+", text.split(heading, 1)[-1], re.MULTILINE)
    built = {Path(p.name).stem for p in lessons}
    if table is None:
        rows = "".join(f"| [{html.escape(p.title)}]({p.name}) |\n" for p in lessons)
        return _markdown(f"| {UI[lang]['lesson']} |\n|---|\n{rows}")

    def link(match: re.Match) -> str:
        stem = match.group(1)
        return f"[`{stem}`]({stem}.html)" if stem in built else match.group(0)

    return _markdown(re.sub(r"`(\d\d_[A-Za-z0-9_]+)\.ipynb`", link, table.group(0)))


class _Sections(HTMLParser):
    """Text of a rendered lesson page's markdown cells, cut at its headings (h1-h3):
    ``[(heading id, heading text, text)]``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[list[str]] = [["", "", ""]]
        self._depth = 0                      # div nesting inside a markdown cell
        self._heading: str | None = None     # id of the heading being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag == "div" and (self._depth or "jp-MarkdownCell" in classes.split()):
            self._depth += 1
        elif self._depth and tag in {"h1", "h2", "h3"} and dict(attrs).get("id"):
            self._heading = dict(attrs)["id"]
            self.sections.append([self._heading, "", ""])

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._depth:
            self._depth -= 1
        elif tag in {"h1", "h2", "h3"}:
            self._heading = None

    def handle_data(self, data: str) -> None:
        if not self._depth or data.strip() == "¶":
            return
        self.sections[-1][1 if self._heading else 2] += data


def search_entries(page_html: str, page: Page) -> list[dict]:
    """Search index entries of a rendered lesson page: one per section."""
    parser = _Sections()
    parser.feed(page_html)
    entries = []
    for anchor, heading, text in parser.sections:
        text = " ".join(text.split())
        if not text and not heading:
            continue
        entries.append({"p": page.title, "t": " ".join(heading.split()) or page.title,
                        "u": f"{page.name}#{anchor}" if anchor else page.name, "x": text,
                        "k": "lesson"})
    return entries


def _glossary_entries(glossary: Path) -> list[dict]:
    entries = []
    for line in glossary.read_text(encoding="utf-8").splitlines():
        match = notebooks.GLOSSARY_ROW.match(line)
        if match:
            anchor, english, chinese = match.groups()
            meaning = line.rstrip(" |").rsplit("|", 1)[-1].strip()
            entries.append({"p": "Glossary · 术语表", "t": f"{english} · {chinese}",
                            "u": f"GLOSSARY.html#{anchor}", "x": meaning, "k": "glossary"})
    return entries


# ---------------------------------------------------------------------------- build

def _copy_assets(assets: Path, cache: Path) -> None:
    slides.copy_files(slides.MATH_AND_FONT, slides.install_assets(cache), assets)
    from nbconvert.exporters.templateexporter import TemplateExporter

    lab = next(Path(d) / "lab" / "static" for d in TemplateExporter().template_paths
               if (Path(d) / "lab" / "static" / "index.css").is_file())
    slides.copy_files({"index.css": "lab/index.css", "theme-light.css": "lab/theme-light.css"},
                      lab, assets)
    slides.copy_files(_OWN, SITE_DIR, assets)
    slides.write_pygments_css(assets / "pygments.css")


def _root_page(editions: list[str]) -> str:
    links = " · ".join(f'<a href="{lang}/index.html" hreflang="{lang}">{UI[lang]["language"]}'
                       f"</a>" for lang in editions)
    refresh = (f'<meta http-equiv="refresh" content="0; url={editions[0]}/index.html">'
               if len(editions) == 1 else "")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{refresh}'
            f"<title>{html.escape(UI['en']['course'])}</title>"
            f'<link rel="stylesheet" href="assets/site.css"></head>'
            f'<body class="site-root"><h1>{html.escape(UI["en"]["course"])}</h1>'
            f"<p>{links}</p></body></html>\n")


def build(paths: list[Path], out: Path = Path("build/site"),
          executed_dir: Path | None = Path("build/executed"), *, langs: tuple[str, ...] = ("en",),
          timeout: int = 600, cache: Path = Path(".cache/slides-npm"),
          glossary: Path = ROOT / "GLOSSARY.md", log=print) -> dict[str, list[Page]]:
    """Build the site for ``paths`` (lesson notebooks) in each language of ``langs`` into
    ``out``; return each edition's pages (home and glossary first, then the lessons).

    ``executed_dir`` as for :func:`course_tools.slides.build`: current executed copies are
    reused, other lessons are executed first; ``None`` shows no outputs (a quick look).
    """
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(out / "assets", cache)
    layout, exporter = _layout(), _exporter()
    lessons = []
    for path in paths:
        start = time.perf_counter()
        source = notebooks.read(path)
        executed, origin = slides.executed_copy(path, executed_dir, timeout)
        lessons.append((path, source, executed, origin))
        log(f"{path.name:<32} outputs: {origin} ({time.perf_counter() - start:.1f} s)")
    built: dict[str, list[Page]] = {}
    for lang in langs:
        folder = out / lang
        folder.mkdir(parents=True, exist_ok=True)
        rendered = []
        for path, source, executed, origin in lessons:
            try:
                translated = edition(source, lang, path.stem)
            except translations.TranslationError:   # an edition shows finished lessons only
                log(f"{lang}: {path.stem} left out, its translation is not complete "
                    f"(`course translations --stale {path.stem}`)")
                continue
            nb = site_notebook(translated, executed)
            body, _ = exporter.from_notebook_node(nb)
            page = Page(path.with_suffix(".html").name,
                        slides.lesson_title(nb, path.stem), origin)
            rendered.append((page, body))
        home = Page("index.html", UI[lang]["home"])
        glossary_page = Page("GLOSSARY.html", UI[lang]["glossary"])
        nav = [home] + [page for page, _ in rendered] + [glossary_page]
        common = {"lang": lang, "nav": nav, "editions": list(langs)}
        entries = []
        for page, body in rendered:
            entries += search_entries(body, page)
            (folder / page.name).write_text(
                _render_page(layout, title=page.title, body=body, name=page.name,
                             kind="lesson", **common), encoding="utf-8")
        home_body = (f"<h1>{html.escape(UI[lang]['course'])}</h1>\n<p>{UI[lang]['intro']}</p>\n"
                     + _course_map(lang, [p for p, _ in rendered]))
        (folder / home.name).write_text(
            _render_page(layout, title=UI[lang]["course"], body=home_body, name=home.name,
                         kind="home", **common), encoding="utf-8")
        glossary_body = pages.glossary_body(glossary.read_text(encoding="utf-8"))
        (folder / glossary_page.name).write_text(
            _render_page(layout, title=UI[lang]["glossary"], body=glossary_body,
                         name=glossary_page.name, kind="glossary", **common), encoding="utf-8")
        entries += _glossary_entries(glossary)
        index = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
        (folder / "search-index.js").write_text(
            f"// The search index of this edition (course_tools/site.py).\n"
            f"window.COURSE_SEARCH = {index};\n", encoding="utf-8")
        built[lang] = nav
        log(f"{lang}: {len(nav)} pages, {len(entries)} search entries in {folder}")
    (out / "index.html").write_text(_root_page(list(langs)), encoding="utf-8")
    return built
