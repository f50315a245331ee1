"""Reveal.js decks of the lessons, built from the notebooks themselves, that open offline.

    course slides [LESSON ...]     every lesson, or the ones named, to build/slides/

A deck is its lesson: cells are placed by ``slideshow.slide_type``, ``notes`` cells become
speaker notes, exercise answer cells show the task with the solution replaced by the
placeholder and test cells lose their hidden tests (the student release's transform), and
plots and printed results come from the executed notebook: ``build/executed/`` (written by
``make course``) when that copy is current (the lesson's code has not changed since), else
the lesson is executed first and the copy replaced.

Everything a deck loads is copied next to it, in ``assets/``: reveal.js (with its speaker
view), KaTeX for the math, a CJK font for the Chinese headings, installed by ``npm ci`` from
``slides/package-lock.json`` (exact versions, an integrity hash per package) into a cache,
and the course's projector theme from ``slides/``. No file refers to a CDN, so the output
folder works from a USB stick in a room without network.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import html
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from course_tools import notebooks, pages
from course_tools.execute import execute

__all__ = [
    "MATH_AND_FONT", "MAX_OUTPUT_LINES", "MAX_SLIDES", "MIN_SLIDES", "SLIDES_DIR", "Deck", "build",
    "deck_notebook", "executed_copy", "install_assets", "is_current", "lesson_title",
    "offline_problems", "resolve_lessons", "slide_count", "slide_type", "talk_problems",
    "with_outputs", "copy_files", "write_pygments_css",
]

SLIDES_DIR = Path(__file__).resolve().parents[1] / "slides"
MIN_SLIDES, MAX_SLIDES = 10, 40          # a coherent talk: roughly 10-40 slides per lesson
MAX_OUTPUT_LINES = 16                    # longer printed outputs are trimmed on the slide
_KEEP_LINES = 12                         # ... to their first 12 lines and a note
_WIDGET = "application/vnd.jupyter.widget-view+json"
# KaTeX for the math and a CJK font, from the npm packages (source -> destination in
# assets/): the decks and the website both copy them.
MATH_AND_FONT = {
    "katex/dist/katex.min.css": "katex/katex.min.css",
    "katex/dist/katex.min.js": "katex/katex.min.js",
    "katex/dist/contrib/auto-render.min.js": "katex/auto-render.min.js",
    "katex/dist/fonts": "katex/fonts",
    "katex/LICENSE": "katex/LICENSE",
    "@fontsource-variable/noto-sans-sc/index.css": "noto-sans-sc/index.css",
    "@fontsource-variable/noto-sans-sc/files": "noto-sans-sc/files",
    "@fontsource-variable/noto-sans-sc/LICENSE": "noto-sans-sc/LICENSE",
}
# What `course slides` copies from the npm packages into assets/ (source -> destination).
_VENDOR = {
    "reveal.js/dist/reveal.css": "reveal/reveal.css",
    "reveal.js/dist/reveal.js": "reveal/reveal.js",
    "reveal.js/dist/theme/white.css": "reveal/white.css",
    "reveal.js/dist/plugin/notes.js": "reveal/notes.js",
    "reveal.js/LICENSE": "reveal/LICENSE",
    **MATH_AND_FONT,
}
_THEME = {"theme.css": "course.css", "deck.js": "deck.js"}   # from slides/ to assets/


@dataclass
class Deck:
    """One built deck: file name (in the output folder), title, and what is on it."""

    name: str
    title: str
    slides: int
    notes: int
    outputs: str   # where its outputs came from: "executed copy", "executed now", "no outputs"


# ---------------------------------------------------------------------------- the talk

def slide_type(cell: nbformat.NotebookNode) -> str:
    """The cell's ``slideshow.slide_type`` (``-`` when missing)."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def slide_count(nb: nbformat.NotebookNode) -> int:
    """Slides in the lesson's deck (reveal.js's total): one per ``slide`` or ``subslide``
    cell, the first shown cell always opening one."""
    shown = [c for c in nb.cells if slide_type(c) not in {"notes", "skip"}]
    starts = sum(slide_type(c) in {"slide", "subslide"} for c in shown)
    return starts + (1 if shown and slide_type(shown[0]) not in {"slide", "subslide"} else 0)


def _sections(nb: nbformat.NotebookNode) -> list[tuple[str, list[nbformat.NotebookNode]]]:
    """The main slides (cells of type ``slide``): ``(first line, cells up to the next one)``."""
    sections: list[tuple[str, list[nbformat.NotebookNode]]] = []
    for cell in nb.cells:
        if slide_type(cell) == "slide" or not sections:
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            sections.append((first.lstrip("# ").strip(), []))
        sections[-1][1].append(cell)
    return sections


def _needs_notes(heading: str) -> bool:
    # Exercises run themselves and the summary is read out: every other main slide is
    # something the instructor explains, and the notes say how.
    lowered = heading.lower()
    return not any(word in lowered for word in ("exercise", "summary", "check yourself"))


def talk_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why the lesson's metadata does not give a coherent talk: its number of slides outside
    ``MIN_SLIDES``-``MAX_SLIDES``, or a main slide (``slide``, not an exercise or the
    summary) whose section has no speaker notes."""
    problems = []
    count = slide_count(nb)
    if not MIN_SLIDES <= count <= MAX_SLIDES:
        problems.append(f"{count} slides, expected {MIN_SLIDES}-{MAX_SLIDES}: mark section "
                        f"starts `slide`, their continuations `subslide`, and the rest `-`")
    for heading, cells in _sections(nb):
        if _needs_notes(heading) and not any(slide_type(c) == "notes" for c in cells):
            problems.append(f"main slide {heading[:60]!r} has no speaker notes (a markdown "
                            f"cell of slide_type 'notes' after it)")
    return problems


def lesson_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The lesson's title: the first ``# `` heading of the notebook."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


# ---------------------------------------------------------------------------- assets

def _lock_digest() -> str:
    data = b"".join((SLIDES_DIR / name).read_bytes()
                    for name in ("package.json", "package-lock.json"))
    return hashlib.sha256(data).hexdigest()


def install_assets(cache: Path = Path(".cache/slides-npm")) -> Path:
    """Install the deck's npm packages from ``slides/package-lock.json`` into ``cache`` (once
    per version of the lock) and return their ``node_modules`` folder.

    ``npm ci`` installs exactly the locked versions and checks each package against the
    lock's integrity hash (it fails on a mismatch); install scripts are not run. Raises
    ``RuntimeError`` saying what to do when npm is missing or the install fails.
    """
    modules, stamp = cache / "node_modules", cache / ".lock-sha256"
    digest = _lock_digest()
    if modules.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("`course slides` needs npm to install reveal.js, KaTeX and the CJK "
                           "font once (Debian/Ubuntu: `sudo apt-get install npm`; macOS: "
                           "`brew install node`; or https://nodejs.org)")
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(SLIDES_DIR / name, cache / name)
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    done = subprocess.run(command, cwd=cache, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`npm ci` in {cache} failed (it needs the npm registry once; "
                           f"after that the cache is used):\n{done.stderr.strip()[-2000:]}")
    _check_versions(modules)
    stamp.write_text(digest + "\n")
    return modules


def _check_versions(modules: Path) -> None:
    """Each package in ``slides/package.json`` is installed at exactly its pinned version."""
    wanted = json.loads((SLIDES_DIR / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        found = json.loads((modules / name / "package.json").read_text())["version"]
        if found != version:
            raise RuntimeError(f"npm installed {name} {found}, slides/package.json pins {version}")


def _copy_assets(modules: Path, assets: Path) -> None:
    """Vendor files (when the lock changed) and the course's theme (always) into ``assets``."""
    stamp, digest = assets / ".lock-sha256", _lock_digest()
    if not (stamp.is_file() and stamp.read_text().strip() == digest):
        copy_files(_VENDOR, modules, assets)
        stamp.write_text(digest + "\n")
    copy_files(_THEME, SLIDES_DIR, assets)
    write_pygments_css(assets / "pygments.css")


def copy_files(mapping: dict[str, str], source: Path, target: Path) -> None:
    """Copy each ``source/key`` (a file or a folder) to ``target/value``. Shared with the
    website."""
    for name, destination in mapping.items():
        origin, copy_to = source / name, target / destination
        copy_to.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, copy_to, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, copy_to)


def write_pygments_css(path: Path) -> None:
    """The style sheet of nbconvert's highlighted code (Pygments' default colours)."""
    from pygments.formatters import HtmlFormatter

    css = HtmlFormatter(style="default").get_style_defs(".highlight")
    path.write_text(css + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- offline

# What a page loads (not what it links to: <a href> to the web is fine, it is not loaded).
_LOADED_HTML = re.compile(r"""<(?:script|img|iframe|source|audio|video|embed|track)\b[^>]*?\bsrc"""
                          r"""\s*=\s*["']?([^"'\s>]+)|<link\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)""",
                          re.IGNORECASE)
_LOADED_CSS = re.compile(r"""url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)""", re.IGNORECASE)
_LOADED_JS = re.compile(r"""["'`]((?:https?:)?//[^"'`\s]+?\.(?:m?js|css|woff2?|ttf|otf|eot|png|"""
                        r"""jpe?g|gif|svg|webp)(?:[?#][^"'`\s]*)?)["'`]""", re.IGNORECASE)


def offline_problems(folder: Path) -> list[str]:
    """Every script, style sheet, font or image that a built file would fetch from the
    network (an ``http(s)://`` or ``//`` address), and every local one that is missing."""
    problems = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in {".html", ".css", ".js"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".js":
            found = [m.group(1) for m in _LOADED_JS.finditer(text)]
        else:
            found = [m.group(1) or m.group(2) for m in _LOADED_CSS.finditer(text)]
            if path.suffix == ".html":
                found += [m.group(1) or m.group(2) for m in _LOADED_HTML.finditer(text)]
        for address in found:
            where = path.relative_to(folder)
            if re.match(r"^(?:https?:)?//", address, re.IGNORECASE):
                problems.append(f"{where} loads {address} from the network")
            elif not re.match(r"^(?:data:|blob:|#|about:)", address) and "${" not in address:
                target = (path.parent / address.split("#")[0].split("?")[0]).resolve()
                if not target.exists():
                    problems.append(f"{where} loads {address}, which is not in the folder")
    return problems


# ---------------------------------------------------------------------------- decks

def resolve_lessons(names: list[str], folder: Path = Path("notebooks")) -> list[Path]:
    """Lesson notebooks from command-line names: paths, or lesson numbers such as ``3``/``03``."""
    if not names:
        return notebooks.lesson_paths(folder)
    paths = []
    for name in names:
        if Path(name).suffix == ".ipynb":
            paths.append(Path(name))
            continue
        found = sorted(folder.glob(f"{name.zfill(2)}_*.ipynb")) if name.isdigit() else []
        if not found:
            raise ValueError(f"no lesson {name!r}: give a notebook path or a lesson number "
                             f"({', '.join(p.name[:2] for p in notebooks.lesson_paths(folder))})")
        paths += found
    return paths


def executed_copy(path: Path, executed_dir: Path | None, timeout: int
                  ) -> tuple[nbformat.NotebookNode, str]:
    """The executed notebook for ``path`` and where it came from (see :class:`Deck`): the
    copy in ``executed_dir`` when current, else the lesson executed now (and its copy saved
    there); the stored notebook when ``executed_dir`` is None. Shared with the website."""
    if executed_dir is None:
        return notebooks.read(path), "no outputs"
    executed = executed_dir / path.name
    nb = notebooks.read(path)
    if executed.is_file():
        copy_nb = notebooks.read(executed)
        if is_current(nb, copy_nb):
            return copy_nb, "executed copy"
    from nbclient.exceptions import CellExecutionError

    try:
        execute(nb, path.parent, timeout=timeout)
    except CellExecutionError as error:
        message = (f"{path.name} failed while it was executed for its deck: "
                   f"{error.ename}: {error.evalue}")
        raise RuntimeError(message) from error
    executed_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(executed))
    return nb, "executed now"


def _code(nb: nbformat.NotebookNode) -> dict[str | None, str]:
    # Cells tagged gpu are replaced by a message when executed without CUDA: not compared.
    return {cell.get("id"): cell.source for _, cell in notebooks.code_cells(nb)
            if notebooks.GPU_TAG not in notebooks.tags(cell)}


def is_current(lesson: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> bool:
    """Whether ``executed`` shows ``lesson``'s results: the same code cells (by id and
    source; prose, notes and metadata may have changed since) and no unexpected error (a
    run that stopped part-way). Dates are not used: a checkout resets them."""
    if _code(lesson) != _code(executed):
        return False
    return not any(output.output_type == "error" and "raises-exception" not in notebooks.tags(c)
                   for _, c in notebooks.code_cells(executed) for output in c.get("outputs", []))


def deck_notebook(source: nbformat.NotebookNode, executed: nbformat.NotebookNode
                  ) -> nbformat.NotebookNode:
    """The notebook a deck shows: the lesson's cells (exercises as in the student release)
    with the outputs of the executed copy, made fit for a slide.

    Answer and test cells show no outputs (the solution's results would give it away);
    progress bars and stderr are dropped; long printed outputs are trimmed; tracebacks
    shrink to their last line; links to the glossary and to other lessons point at the
    pages next to the deck. Raises ``ValueError`` if the executed copy lacks a code cell.
    """
    return with_outputs(notebooks.student_version(source), executed, _slide_outputs)


def with_outputs(released: nbformat.NotebookNode, executed: nbformat.NotebookNode,
                 fit: Callable[[list], list]) -> nbformat.NotebookNode:
    """A copy of ``released`` (a student release) showing the outputs of ``executed``, each
    code cell's passed through ``fit``, except in answer and test cells (a solution's results
    would give it away); links point at the pages next to it. Shared with the website.
    Raises ``ValueError`` if the executed copy lacks a code cell."""
    outputs = {cell.get("id"): cell.get("outputs", []) for cell in executed.cells}
    missing = [cell.get("id") for _, cell in notebooks.code_cells(released)
               if cell.get("id") not in outputs]
    if missing:
        raise ValueError(f"the executed copy lacks code cells {missing} of the lesson: execute "
                         f"it again (`make course`, or delete it and run the build again)")
    shown = copy.deepcopy(released)
    for cell in shown.cells:
        if cell.cell_type == "markdown":
            cell.source = pages.markdown_links_to_pages(cell.source)
        elif cell.cell_type == "code":
            hide = notebooks.is_answer_cell(cell) or notebooks.is_test_cell(cell)
            cell.outputs = [] if hide else fit(outputs[cell.get("id")])
    shown.metadata.pop("widgets", None)
    return shown


def _slide_outputs(outputs: list) -> list:
    kept = []
    for output in copy.deepcopy(outputs):
        if output.output_type == "stream":
            if output.name == "stderr":
                continue                     # warnings and progress bars: not for the room
            output.text = _trim(output.text)
        elif output.output_type == "error":
            output.traceback = [f"{output.ename}: {output.evalue}"]
        else:
            data = output.get("data", {})
            if _WIDGET in data:
                continue                     # a progress bar's widget: no state on a slide
            if "text/plain" in data and len(data) == 1:
                data["text/plain"] = _trim(data["text/plain"])
        kept.append(output)
    return kept


def _trim(text: str) -> str:
    lines = text.rstrip("\n").split("\n")
    if len(lines) <= MAX_OUTPUT_LINES:
        return text
    hidden = len(lines) - _KEEP_LINES
    return "\n".join(lines[:_KEEP_LINES] + [f"... {hidden} more lines in the notebook"]) + "\n"


@functools.cache
def _exporter():
    # One exporter for every deck: setting up its templates costs more than a deck.
    from nbconvert import SlidesExporter

    return SlidesExporter(extra_template_basedirs=[str(SLIDES_DIR / "templates")],
                          template_name="course", exclude_input_prompt=True,
                          exclude_output_prompt=True)


def _render(nb: nbformat.NotebookNode, title: str) -> str:
    body, _ = _exporter().from_notebook_node(nb, resources={"deck": {"title": title}})
    return body


# ---------------------------------------------------------------------------- pages

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="assets/noto-sans-sc/index.css">
<style>
body {{ font-family: "Noto Sans SC Variable", Helvetica, Arial, sans-serif; max-width: 62em;
       margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ padding: 0.3em 0.8em; text-align: left;
       border-bottom: 1px solid #ddd; }} a {{ color: #2a76dd; }} code {{ background: #f3f3f3; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def _index_page(decks: list[Deck]) -> str:
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(d.name)}">{html.escape(d.title)}</a></td>'
        f"<td>{d.slides}</td><td>{d.notes}</td><td>{html.escape(d.outputs)}</td></tr>"
        for d in decks)
    body = f"""<h1>Attention, from RNNs to Transformers: slides</h1>
<p>One deck per lesson, built from the lesson notebooks. Everything loads from this folder:
copy it to a USB stick and open <code>index.html</code> in a browser, no network needed.</p>
<table>
<thead><tr><th>lesson</th><th>slides</th><th>speaker notes</th><th>outputs</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p>In a deck: arrow keys or space to move, <b>S</b> opens the speaker view (notes, next slide,
timer) in a second window, <b>F</b> full screen, <b>Esc</b> the overview.
Key terms link to the <a href="GLOSSARY.html">glossary</a> (English / 中文).</p>"""
    return _PAGE.format(title="Slides: Attention, from RNNs to Transformers", body=body)


def _write_index(out: Path, built: list[Deck]) -> list[Deck]:
    """Merge ``built`` into the folder's deck list (decks built earlier stay) and write
    ``decks.json`` and ``index.html``; returns the merged list."""
    listing = out / "decks.json"
    try:
        decks = {d["name"]: Deck(**d) for d in json.loads(listing.read_text())}
    except (OSError, ValueError, TypeError, KeyError):
        decks = {}   # no list yet, or one from an older version: the decks built now
    decks.update({d.name: d for d in built})
    ordered = [decks[name] for name in sorted(decks) if (out / name).is_file()]
    listing.write_text(json.dumps([asdict(d) for d in ordered], indent=2, ensure_ascii=False)
                       + "\n", encoding="utf-8")
    (out / "index.html").write_text(_index_page(ordered), encoding="utf-8")
    return ordered


def build(paths: list[Path], out: Path = Path("build/slides"),
          executed_dir: Path | None = Path("build/executed"), *, timeout: int = 600,
          cache: Path = Path(".cache/slides-npm"), glossary: Path = Path("GLOSSARY.md"),
          log=print) -> list[Deck]:
    """Build a deck per notebook in ``paths`` into ``out``, with its assets, the glossary
    page and the index; return the decks built.

    ``executed_dir`` holds executed copies (``make course``): used when current (see
    :func:`is_current`), else the lesson is executed and its copy saved there. ``None``
    builds from the stored notebooks, without outputs (a quick look at slides and notes).
    """
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(install_assets(cache), out / "assets")
    if glossary.is_file():
        pages.write_glossary(glossary, out)    # GLOSSARY.html, as next to build/html's pages
    built = []
    for path in paths:
        start = time.perf_counter()
        source = notebooks.read(path)
        executed, origin = executed_copy(path, executed_dir, timeout)
        deck_nb = deck_notebook(source, executed)
        title = lesson_title(source, path.stem)
        name = path.with_suffix(".html").name
        (out / name).write_text(_render(deck_nb, title), encoding="utf-8")
        notes = sum(slide_type(c) == "notes" for c in source.cells)
        deck = Deck(name=name, title=title, slides=slide_count(source), notes=notes,
                    outputs=origin)
        built.append(deck)
        log(f"{name:<32} {deck.slides:3d} slides {notes:3d} notes  ({origin}) "
            f"{time.perf_counter() - start:5.1f} s")
        for problem in talk_problems(source):
            log(f"  note: {problem}")
    _write_index(out, built)
    return built
