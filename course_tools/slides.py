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

import ast
import concurrent.futures
import contextlib
import copy
import functools
import hashlib
import html
import json
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from course_tools import browser as course_browser
from course_tools import deck_browser, deck_layout, notebooks, pages
from course_tools.execute import execute

__all__ = [
    "DECK_TEXT", "MATH_AND_FONT", "MAX_OUTPUT_LINES", "MAX_SLIDES", "MIN_SLIDES", "SLIDES_DIR",
    "Deck", "DeckOverflow", "build", "check_card", "copy_files", "deck_notebook", "deck_slides",
    "executed_copy", "install_assets", "is_current", "lesson_title", "notes_font_css",
    "offline_problems", "outputs_by_cell", "slide_count", "slide_type",
    "talk_problems", "write_pygments_css",
]

SLIDES_DIR = Path(__file__).resolve().parents[1] / "slides"
MIN_SLIDES, MAX_SLIDES = 10, 40          # a coherent talk: roughly 10-40 slides per lesson
MAX_OUTPUT_LINES = 12                    # longer printed outputs are trimmed on the slide
_KEEP_LINES = 10                         # ... to their first 10 lines and a note
_OUTPUT_CHARS_PER_LINE = 100             # 20 px monospace across the slide: longer lines wrap
# The words a deck adds to the lesson, per language (``course slides --lang``).
DECK_TEXT = {
    "en": {"continued": "{} (cont.)", "continued_note": "(Continued.) {}",
           "trimmed": "... {} more lines in the notebook",
           "check": "**Check{points}** (locked cell): runs `{fn}` on random inputs and "
                    "compares it with the course's reference{ref}.",
           "check_mistakes": "It names these mistakes when it sees them:",
           "check_more": "... and {} more",
           "points": ", {} point{}"},
    "zh": {"continued": "{}（续）", "continued_note": "（续）{}",
           "trimmed": "……还有 {} 行，见笔记本",
           "check": "**检查{points}**（锁定单元格）：用随机输入运行 `{fn}`，"
                    "与课程的参考实现{ref}比较。",
           "check_mistakes": "它能识别并指出这些错误：",
           "check_more": "……另有 {} 个",
           "points": "，{} 分{}"},
}
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
    lesson_slides: int = 0   # slides the lesson's metadata marks (before long ones are split)
    pdf: str = ""            # the handout next to the deck, if printed


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
    # A Chinese deck's headings are translated: 练习 (exercise), 小结 (summary), 自我检测.
    lowered = heading.lower()
    return not any(word in lowered for word in ("exercise", "summary", "check yourself",
                                                "练习", "小结", "自我检测"))


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


def outputs_by_cell(released: nbformat.NotebookNode, executed: nbformat.NotebookNode
                    ) -> dict[str | None, list]:
    """The outputs of ``executed`` by cell id, for showing ``released`` (a release of the
    same lesson) with them. Raises ``ValueError`` if the executed copy lacks a code cell of
    ``released``. Shared with the website."""
    outputs = {cell.get("id"): cell.get("outputs", []) for cell in executed.cells}
    missing = [cell.get("id") for _, cell in notebooks.code_cells(released)
               if cell.get("id") not in outputs]
    if missing:
        raise ValueError(f"the executed copy lacks code cells {missing} of the lesson: execute "
                         f"it again (`make course`, or delete it and build again)")
    return outputs


def deck_notebook(source: nbformat.NotebookNode, executed: nbformat.NotebookNode,
                  lang: str = "en") -> nbformat.NotebookNode:
    """The notebook a deck shows: the lesson's cells (exercises as in the student release)
    with the outputs of the executed copy, made fit for a slide.

    Answer cells show the task (the stub) without outputs; a test cell is replaced by a
    card saying what its check tests (:func:`check_card`), not its code; cells tagged
    ``gpu`` are left out, and so are slides whose only code is such a cell (their prose
    and notes too); the title slide's code (imports and set-up) is left out; fragments
    show at once (one click, one slide); progress bars and stderr are dropped; long printed
    outputs are trimmed; tracebacks shrink to their last line; links to the glossary and to
    other lessons point at the pages next to the deck. Raises ``ValueError`` if the
    executed copy lacks a code cell.
    """
    released = notebooks.student_version(source)
    outputs = outputs_by_cell(released, executed)
    deck = copy.deepcopy(released)
    gpu_only = _gpu_only_slides(deck)
    cells, title_slide = [], True
    for cell in deck.cells:
        kind = slide_type(cell)
        if kind in {"slide", "subslide"} and cells:
            title_slide = False
        if (kind == "skip" or notebooks.GPU_TAG in notebooks.tags(cell)
                or id(cell) in gpu_only):
            continue
        if cell.cell_type == "markdown":
            cell.source = pages.markdown_links_to_pages(cell.source)
        elif cell.cell_type == "code":
            if title_slide and kind not in {"slide", "subslide"}:
                continue                         # imports and set-up: not for the room
            if notebooks.is_test_cell(cell):
                cell = _card_cell(cell, lang)
            elif notebooks.is_answer_cell(cell):
                cell.outputs = []
            else:
                cell.outputs = _slide_outputs(outputs[cell.get("id")], lang)
        if kind == "fragment":
            cell.metadata.setdefault("slideshow", {})["slide_type"] = "-"
        cells.append(cell)
    deck.cells = cells
    deck.metadata.pop("widgets", None)
    return deck


def _gpu_only_slides(nb: nbformat.NotebookNode) -> set[int]:
    """``id()`` of every cell of the slides (``slide``/``subslide`` groups) whose only code
    needs a GPU: their prose introduces a cell the room will not see run."""
    groups: list[list[nbformat.NotebookNode]] = []
    for cell in nb.cells:
        if slide_type(cell) in {"slide", "subslide"} or not groups:
            groups.append([])
        groups[-1].append(cell)
    dropped: set[int] = set()
    for group in groups:
        code = [c for c in group if c.cell_type == "code"]
        if code and all(notebooks.GPU_TAG in notebooks.tags(c) for c in code):
            dropped |= {id(c) for c in group}
    return dropped


def _card_cell(test: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    card = nbformat.v4.new_markdown_cell(check_card(test, lang))
    card.id = f"{test.get('id') or 'test'}-card"
    card.metadata["slideshow"] = {"slide_type": slide_type(test)}
    return card


def check_card(test: nbformat.NotebookNode, lang: str = "en") -> str:
    """What an exercise's locked test cell checks, in words, for its slide: the function it
    runs, the reference it compares with, and the mistakes it names (the keys of a
    ``mistakes=`` dictionary, or for ``checks.exercise("id", ...)`` the exercise's entry in
    :mod:`course_lib.exercises`); not the test code, whose mistaken variants would give the
    answer away on a projector."""
    text = DECK_TEXT[lang]
    fn, ref, mistakes = "…", "", []
    try:
        tree = ast.parse(notebooks.strip_hidden_tests(test.source))
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and ast.unparse(node.func).split(".")[-1] in {"check_function", "exercise",
                                                            "check_module", "check"}]
    if calls:
        call = calls[0]
        names = [a for a in call.args if isinstance(a, ast.Name | ast.Attribute)]
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            # checks.exercise("l05_x", answer, ...): the catalogue holds what it checks
            fn, ref, mistakes = _catalogue_card(first.value, lang, names)
        else:
            if names:
                fn = ast.unparse(names[0])
            if len(names) > 1:
                ref = f" `{ast.unparse(names[1])}`"
        for keyword in call.keywords:
            if keyword.arg == "mistakes" and isinstance(keyword.value, ast.Dict):
                mistakes = [k.value for k in keyword.value.keys
                            if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    grading = test.metadata.get("nbgrader", {})
    points = grading.get("points")
    points_text = text["points"].format(points, "" if points == 1 or lang != "en" else "s") \
        if points else ""
    lines = [text["check"].format(points=points_text, fn=fn, ref=ref)]
    if mistakes:
        lines += ["", text["check_mistakes"], ""]
        lines += [f"- {m[:90] + ('…' if len(m) > 90 else '')}" for m in mistakes[:4]]
        if len(mistakes) > 4:
            lines.append(f"- {text['check_more'].format(len(mistakes) - 4)}")
    return "\n".join(lines)


def _catalogue_card(exercise_id: str, lang: str, names: list) -> tuple[str, str, list[str]]:
    """The functions, references and mistakes' texts (in ``lang`` where translated) of an
    exercise in the course's catalogue (:mod:`course_lib.exercises`), for its card."""
    from course_lib import exercises
    from course_lib.notebook import messages

    try:
        checks = exercises.get(exercise_id).checks
    except (ImportError, KeyError, AttributeError):
        return (ast.unparse(names[0]) if names else "…"), "", []
    translated = messages.catalogue(lang)
    fn = "`, `".join(check.name for check in checks)
    references = [getattr(check.reference, "__qualname__", "") for check in checks]
    # a private helper's name (``_bytes_reference``) tells the room nothing: left out
    ref = " " + ", ".join(f"`{r}`" for r in references) if all(
        r and "<" not in r and not r.startswith("_") for r in references) else ""
    texts = []
    for mistake in (m for check in checks for m in check.mistakes):
        english, other = translated.get(mistake.key, ("", ""))
        text = other if english == mistake.text else mistake.text
        texts.append(re.sub(r"\{\w+\}", "…", text))
    return fn, ref, texts


def _slide_outputs(outputs: list, lang: str = "en") -> list:
    kept = []
    for output in copy.deepcopy(outputs):
        if output.output_type == "stream":
            if output.name == "stderr":
                continue                     # warnings and progress bars: not for the room
            output.text = _trim(output.text, lang)
        elif output.output_type == "error":
            output.traceback = [f"{output.ename}: {output.evalue}"]
        else:
            data = output.get("data", {})
            if _WIDGET in data:
                continue                     # a progress bar's widget: no state on a slide
            if "text/plain" in data and len(data) == 1:
                data["text/plain"] = _trim(data["text/plain"], lang)
            if "text/html" in data:
                data["text/html"] = _trim_table(data["text/html"], lang)
            if "text/markdown" in data:
                data["text/markdown"] = _trim_markdown_table(data["text/markdown"], lang)
        kept.append(output)
    return kept


def _trim(text: str, lang: str = "en") -> str:
    lines = text.rstrip("\n").split("\n")
    screen = [max(1, -(-len(line) // _OUTPUT_CHARS_PER_LINE)) for line in lines]
    if sum(screen) <= MAX_OUTPUT_LINES:
        return text
    keep, used = 0, 0
    while keep < len(lines) and used + screen[keep] <= _KEEP_LINES:
        used += screen[keep]
        keep += 1
    keep = max(keep, 1)
    if keep == 1 and screen[0] > _KEEP_LINES:   # one very long line: cut it
        lines[0] = lines[0][:_KEEP_LINES * _OUTPUT_CHARS_PER_LINE - 3] + "..."
    hidden = len(lines) - keep
    note = [DECK_TEXT[lang]["trimmed"].format(hidden)] if hidden else []
    return "\n".join(lines[:keep] + note) + "\n"


_MAX_TABLE_ROWS = 5


def _trim_table(page: str, lang: str = "en") -> str:
    """An HTML table output (a data frame, say) with at most :data:`_MAX_TABLE_ROWS` body
    rows on the slide, and a last row saying how many more the notebook has."""
    rows = [m.start() for m in re.finditer(r"<tr\b", page, re.IGNORECASE)]
    body = [r for r in rows if "<tbody" in page[:r].lower()] or rows[1:]
    if len(body) <= _MAX_TABLE_ROWS:
        return page
    cut = body[_MAX_TABLE_ROWS]
    end = page.lower().rfind("</tr>") + len("</tr>")
    hidden = len(body) - _MAX_TABLE_ROWS
    note = (f'<tr><td colspan="99" class="course-trimmed">'
            f'{html.escape(DECK_TEXT[lang]["trimmed"].format(hidden).replace("lines", "rows"))}'
            f"</td></tr>")
    return page[:cut] + note + page[end:]


def _trim_markdown_table(text: str, lang: str = "en") -> str:
    """A Markdown table with at most :data:`_MAX_TABLE_ROWS` rows after its header."""
    lines = text.rstrip("\n").split("\n")
    rows = [i for i, line in enumerate(lines) if line.lstrip().startswith("|")]
    if len(rows) <= _MAX_TABLE_ROWS + 2:
        return text
    keep = rows[_MAX_TABLE_ROWS + 2]
    hidden = len(rows) - _MAX_TABLE_ROWS - 2
    note = DECK_TEXT[lang]["trimmed"].format(hidden).replace("lines", "rows")
    rest = [line for line in lines[rows[-1] + 1:]]
    return "\n".join(lines[:keep] + ["", f"*{note}*", *rest]) + "\n"


# ---------------------------------------------------------------------------- layout

class DeckOverflow(RuntimeError):
    """A deck with slides whose content does not fit the 1280x720 slide."""


def _groups(deck: nbformat.NotebookNode) -> list[tuple[deck_layout.Slide, list]]:
    """The lesson's slides: a :class:`deck_layout.Slide` with its title, and its cells and
    notes in order (``(cell, None)`` or ``(None, notes text)``)."""
    groups: list[tuple[deck_layout.Slide, list]] = []
    for cell in deck.cells:
        kind = slide_type(cell)
        if kind in {"slide", "subslide"} or not groups:
            groups.append((deck_layout.Slide(), []))
        slide, sequence = groups[-1]
        if kind == "notes":
            sequence.append((None, cell.source.strip()))
            continue
        if not slide.title and cell.cell_type == "markdown":
            heading = re.search(r"^#{1,4} +(.+)$", cell.source, re.MULTILINE)
            if heading:
                slide.title = heading.group(1).strip()
        sequence.append((cell, None))
    for (before, _), (slide, _) in zip(groups, groups[1:], strict=False):
        slide.title = slide.title or before.title    # a subslide without a heading
    return groups


_ESTIMATE = {"heading": 70.0, "markdown": 44.0, "code": deck_layout.CODE_LINE_HEIGHT,
             "output": 25.0, "plot": 12.0}


def _estimate(block: deck_layout.Block) -> float:
    """A block's height without a browser (a rough guess: the build says it is unmeasured)."""
    if block.kind == "plot":
        return _ESTIMATE["plot"]
    if block.kind == "code":
        return 24 + _ESTIMATE["code"] * deck_layout._visual_lines(block.cell.source)
    if block.kind == "output":
        text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                       for o in block.cell.outputs)
        return 16 + _ESTIMATE["output"] * max(1, deck_layout._visual_lines(text, 100))
    lines = sum(max(1, -(-len(line) // 70)) for line in block.cell.source.split("\n"))
    return (_ESTIMATE["heading"] if block.kind == "heading" else 12 + 41 * lines)


def _blocks(groups, max_code_lines: int) -> list[tuple[deck_layout.Slide, list]]:
    """Each group's sequence with cells cut into blocks (:func:`deck_layout.blocks_of`)."""
    out = []
    for slide, sequence in groups:
        blocked = []
        for cell, note in sequence:
            if cell is None:
                blocked.append((None, note))
            else:
                blocked += [(b, None) for b in deck_layout.blocks_of([cell], max_code_lines)]
        out.append((slide, blocked))
    return out


def _deck_of(deck: nbformat.NotebookNode, parts: list[deck_layout.Slide],
             lang: str) -> nbformat.NotebookNode:
    """A notebook whose cells are ``parts``, one flat (horizontal) slide each."""
    out = copy.deepcopy(deck)
    out.cells = []
    for n, part in enumerate(parts):
        cells = []
        if part.continued and part.title:
            heading = nbformat.v4.new_markdown_cell(
                "### " + DECK_TEXT[lang]["continued"].format(part.title))
            heading.id = f"cont-{n}"
            cells.append(heading)
        cells += [copy.deepcopy(b.cell) for b in part.blocks]
        if not cells:
            continue
        for k, cell in enumerate(cells):
            cell.metadata["slideshow"] = {"slide_type": "slide" if k == 0 else "-"}
        # the section it belongs to, for the tests and the notes rule (data-* on the slide)
        kind = "content" if _needs_notes(part.title) else "exercise-or-summary"
        cells[0].metadata["slideshow"]["data"] = {"title": part.title, "kind": kind}
        if part.notes:
            notes = nbformat.v4.new_markdown_cell("\n\n".join(part.notes))
            notes.id = f"notes-{n}"
            notes.metadata["slideshow"] = {"slide_type": "notes"}
            cells.append(notes)
        out.cells += cells
    return out


def deck_slides(deck: nbformat.NotebookNode, heights: dict[str, float] | None = None,
                lang: str = "en") -> list[deck_layout.Slide]:
    """The deck's slides after packing: every lesson slide split into parts that fit, with
    ``heights`` (cell id -> slide pixels, from the browser) or estimated ones."""
    max_lines = int((deck_layout.CONTENT_HEIGHT - deck_layout.CONTINUED_HEIGHT - 90)
                    / deck_layout.CODE_LINE_HEIGHT)
    parts = []
    for slide, sequence in _blocks(_groups(deck), max_lines):
        for block, _ in sequence:
            if block is not None:
                measured = (heights or {}).get(block.cell.id)
                block.height = measured if measured is not None else _estimate(block)
        parts += deck_layout.pack(slide, sequence, DECK_TEXT[lang]["continued_note"])
    return parts


def _unpacked(deck: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """Every lesson slide as one deck slide, its cells cut into blocks: what the browser
    measures."""
    max_lines = int((deck_layout.CONTENT_HEIGHT - deck_layout.CONTINUED_HEIGHT - 90)
                    / deck_layout.CODE_LINE_HEIGHT)
    parts = []
    for slide, sequence in _blocks(_groups(deck), max_lines):
        part = deck_layout.Slide(title=slide.title)
        for block, note in sequence:
            if block is None:
                part.notes.append(note)
            else:
                part.blocks.append(block)
        parts.append(part)
    return _deck_of(deck, parts, lang)


@functools.cache
def _exporter():
    # One exporter for every deck: setting up its templates costs more than a deck.
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {"deck-hide-input"}
    return SlidesExporter(config=config,
                          extra_template_basedirs=[str(SLIDES_DIR / "templates")],
                          template_name="course", exclude_input_prompt=True,
                          exclude_output_prompt=True)


def _render(nb: nbformat.NotebookNode, title: str, lang: str = "en",
            notes_font: str = "") -> str:
    body, _ = _exporter().from_notebook_node(nb, resources={"deck": {
        "title": title, "lang": lang, "notes_font": notes_font}})
    return body


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def _unicode_ranges(text: str) -> list[tuple[int, int]]:
    """``unicode-range: U+4e00-4e10,U+3001`` as ``[(0x4e00, 0x4e10), (0x3001, 0x3001)]``."""
    ranges = []
    for item in re.findall(r"U\+([0-9a-fA-F?]+)(?:-([0-9a-fA-F]+))?", text):
        low = int(item[0].replace("?", "0"), 16)
        high = int(item[1], 16) if item[1] else int(item[0].replace("?", "f"), 16)
        ranges.append((low, high))
    return ranges


def notes_font_css(deck: nbformat.NotebookNode, font_dir: Path) -> str:
    """``@font-face`` rules for the Chinese characters of the deck's speaker notes, each
    subset of the bundled Noto Sans SC (``font_dir``: its ``index.css`` and ``files/``)
    that they need inlined as a ``data:`` URL.

    The speaker view is a window that reveal.js writes itself; Chromium does not let such a
    window load fonts from ``file://`` addresses, so the notes get their glyphs this way
    (deck.js adds these rules to the window). Empty when the notes have no Chinese."""
    import base64

    wanted = {ord(ch) for cell in deck.cells if slide_type(cell) == "notes"
              for ch in _CJK.findall(cell.source)}
    index = font_dir / "index.css"
    if not wanted or not index.is_file():
        return ""
    rules = []
    for block in re.findall(r"@font-face\s*{([^}]*)}", index.read_text(encoding="utf-8")):
        source = re.search(r"url\(\s*['\"]?([^'\")]+)", block)
        covered = re.search(r"unicode-range:([^;]+)", block)
        if not (source and covered):
            continue
        ranges = _unicode_ranges(covered.group(1))
        if not any(low <= code <= high for code in wanted for low, high in ranges):
            continue
        data = base64.b64encode((font_dir / source.group(1)).read_bytes()).decode("ascii")
        rules.append("@font-face { font-family: 'Noto Sans SC Variable'; font-style: normal; "
                     "font-weight: 100 900; font-display: block; "
                     f"src: url(data:font/woff2;base64,{data}) format('woff2-variations'); "
                     f"unicode-range: {covered.group(1).strip()}; }}")
    return "\n".join(rules)


def _overflow_problems(report: list[dict], name: str) -> list[str]:
    problems = []
    for slide in report:
        worst = max(slide["overflow"].values())
        if worst > 1 or slide["scroll"] > 1:
            side = max(slide["overflow"], key=slide["overflow"].get)
            problems.append(f"{name} slide {slide['index']} ({slide['title']!r}): content "
                            f"{max(worst, slide['scroll']):.0f} px outside the slide ({side})")
        for image in slide["images"]:
            if not image["inside"]:
                problems.append(f"{name} slide {slide['index']} ({slide['title']!r}): a plot "
                                f"is not fully visible")
    return problems


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
        f"<td>{d.slides}</td><td>{d.notes}</td>"
        f"<td>{_pdf_link(d)}</td><td>{html.escape(d.outputs)}</td></tr>"
        for d in decks)
    body = f"""<h1>Attention, from RNNs to Transformers: slides</h1>
<p>One deck per lesson, built from the lesson notebooks. Everything loads from this folder:
copy it to a USB stick and open <code>index.html</code> in a browser, no network needed.</p>
<table>
<thead><tr><th>lesson</th><th>slides</th><th>slides with notes</th><th>handout</th>
<th>outputs</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p>In a deck, slides follow one another in a single line: <b>→</b>, <b>space</b>,
<b>Page Down</b> or a presenter's clicker go to the next slide, <b>←</b> or <b>Page Up</b>
back. The number at the bottom left is the slide's number and its address
(<code>#/7</code> is slide 7). <b>S</b> opens the speaker view (notes, next slide, timer) in a
second window, <b>F</b> full screen, <b>Esc</b> the overview. The handout is a PDF with one
page per slide (<code>course slides --pdf</code>). Key terms link to the
<a href="GLOSSARY.html">glossary</a> (English / 中文).</p>"""
    return _PAGE.format(title="Slides: Attention, from RNNs to Transformers", body=body)


def _pdf_link(deck: Deck) -> str:
    if not deck.pdf:
        return "—"
    return f'<a href="{html.escape(deck.pdf)}">PDF</a>'


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


def _layout(deck_nb: nbformat.NotebookNode, target: Path, title: str, lang: str,
            browser) -> tuple[list[deck_layout.Slide], list[str], list[dict]]:
    """Pack the deck's slides (measuring its blocks in ``browser`` when there is one), write
    the deck to ``target``; returns its slides, what still overflows, and the browser's
    report on every slide (:data:`deck_browser.SLIDE_REPORT`; empty without a browser)."""
    heights = None
    if browser is not None:
        target.write_text(_render(_unpacked(deck_nb, lang), title, lang), encoding="utf-8")
        heights = deck_browser.measure_blocks(browser, target)
    parts = deck_slides(deck_nb, heights, lang)
    final = _deck_of(deck_nb, parts, lang)
    font = notes_font_css(final, target.parent / "assets" / "noto-sans-sc")
    target.write_text(_render(final, title, lang, font), encoding="utf-8")
    if browser is None:
        return parts, [], []
    page = deck_browser.open_deck(browser, target)
    try:
        report = deck_browser.slide_report(page)
    finally:
        page.context.close()
    return parts, _overflow_problems(report, target.name), report


def build(paths: list[Path], out: Path = Path("build/slides"),
          executed_dir: Path | None = Path("build/executed"), *, timeout: int = 600,
          cache: Path = Path(".cache/slides-npm"), glossary: Path = Path("GLOSSARY.md"),
          pdf: bool = False, lang: str = "en", browser=None, measure: bool = True,
          reports: dict[str, list[dict]] | None = None, log=print) -> list[Deck]:
    """Build a deck per notebook in ``paths`` into ``out``, with its assets, the glossary
    page and the index; return the decks built.

    ``executed_dir`` holds executed copies (``make course``): used when current (see
    :func:`is_current`), else the lesson is executed and its copy saved there. ``None``
    builds from the stored notebooks, without outputs (a quick look at slides and notes).
    Slides are laid out with heights measured in headless Chromium (``browser``, or one
    started here; estimated, with a warning, where there is none or ``measure`` is False);
    a slide that still overflows raises :class:`DeckOverflow` naming it, after every deck
    is written. ``pdf`` also prints each deck's handout, ``NN_topic.pdf``. ``reports``, if
    given, receives the browser's report on every slide of each deck, by deck file name
    (what the browser tests check, measured once).
    """
    arguments = dict(locals())  # every parameter, for the call in another thread below
    if lang not in DECK_TEXT:
        raise ValueError(f"lang: expected one of {sorted(DECK_TEXT)}, got {lang!r}")
    if browser is None and measure and deck_browser.loop_running():
        # Playwright's sync API cannot start in this thread (a notebook's kernel, or a
        # browser of the caller's already open here): the whole build runs in a fresh one.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(build, **arguments).result()
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(install_assets(cache), out / "assets")
    if glossary.is_file():
        pages.write_glossary(glossary, out, font_css="assets/noto-sans-sc/index.css")
    with contextlib.ExitStack() as stack:
        if browser is None and measure:
            browser = stack.enter_context(deck_browser.browser_session())
            if browser is None:
                log("note: no headless Chromium (see course_tools/browser.py): slide heights "
                    "are estimated, not measured, and overflow is not checked")
        if pdf and browser is None:
            raise RuntimeError("`course slides --pdf` prints with headless Chromium: "
                               + course_browser.INSTALL_HINT)
        built, overflowing = _build_decks(paths, out, executed_dir, timeout, lang, pdf,
                                          browser, log, {} if reports is None else reports)
    _write_index(out, built)
    if overflowing:
        raise DeckOverflow("slides that do not fit the 1280x720 slide (shorten the cell, "
                           "split it, or mark a new slide in its metadata):\n  "
                           + "\n  ".join(overflowing))
    return built


def _in_language(nb: nbformat.NotebookNode, lang: str, lesson: str) -> nbformat.NotebookNode:
    """The lesson's prose in ``lang`` (its translation catalogue; code unchanged): a deck in
    Chinese shows the same code and outputs as the English one."""
    if lang == "en":
        return nb
    from course_tools import translations

    return translations.translate_notebook(nb, lang, lesson)


def _build_decks(paths, out, executed_dir, timeout, lang, pdf, browser, log, reports):
    built, overflowing = [], []
    for path in paths:
        start = time.perf_counter()
        source = _in_language(notebooks.read(path), lang, path.stem)
        executed, origin = executed_copy(path, executed_dir, timeout)
        deck_nb = deck_notebook(source, executed, lang)
        title = lesson_title(source, path.stem)
        target = out / path.with_suffix(".html").name
        parts, problems, reports[target.name] = _layout(deck_nb, target, title, lang, browser)
        overflowing += problems
        handout = ""
        if pdf:
            pdf_path = target.with_suffix(".pdf")
            pages_printed = deck_browser.print_pdf(browser, target, pdf_path)
            if pages_printed != len(parts):
                overflowing.append(f"{pdf_path.name}: {pages_printed} pages for "
                                   f"{len(parts)} slides")
            handout = pdf_path.name
        deck = Deck(name=target.name, title=title, slides=len(parts),
                    notes=sum(bool(p.notes) for p in parts), outputs=origin,
                    lesson_slides=slide_count(source), pdf=handout)
        built.append(deck)
        log(f"{deck.name:<32} {deck.slides:3d} slides ({deck.lesson_slides} in the lesson), "
            f"{deck.notes:3d} with notes  ({origin}) {time.perf_counter() - start:5.1f} s")
        for problem in talk_problems(source) + problems:
            log(f"  note: {problem}")
    return built, overflowing
