"""One source, two languages: the translation catalogues of the lessons' prose.

English notebooks in ``notebooks/`` are the source: code, English prose, metadata. The
Chinese prose lives next to them, one catalogue per lesson, ``translations/zh/<stem>.json``::

    {"lesson": "03_attention_basics", "language": "zh",
     "cells": {"<cell id>": {"en_sha256": "<sha256 of the English source, UTF-8>",
                             "en": "<the English source it translates>",
                             "zh": "<the Chinese markdown>"},
               "<cell id>": {"en_sha256": "...", "en": "...", "shared": true}}}

One entry per markdown cell (speaker notes included), in notebook order; ``shared: true``
for a cell without prose (only math, an image, only code), shown as it is in every
edition. Code cells are never translated: every edition runs the same code. An entry is

- *current* when its ``en_sha256`` is the hash of the cell's English source now;
- *stale* when the English changed since (the entry's ``en`` is what was translated, so
  the change is a diff: :func:`problems` shows it);
- *missing* when there is no entry, or its translation is empty and it is not shared.

:func:`translate_notebook` refuses (:class:`TranslationError`) a lesson with a missing or
stale cell rather than mix languages; ``course translations`` lists them, adds entries for
new cells, records that a changed English cell needs no Chinese change, and writes one
cell's translation. ``tests/test_translations.py`` keeps every lesson in :data:`COMPLETE`
free of missing and stale cells.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_tools import REPO, notebooks

__all__ = ["COMPLETE", "LANGUAGES", "TRANSLATIONS_DIR", "CellProblem", "TranslationError",
           "catalogue_path", "english_sha256", "in_language", "lesson_of", "load", "mark_current",
           "problems", "save", "set_translation", "skeleton", "status", "translate_notebook",
           "update_skeleton"]

TRANSLATIONS_DIR = REPO / "translations"
LANGUAGES = ("zh",)          # editions besides the English source
# Lessons whose translation is finished: the test fails on any missing or stale cell of
# these. The others are reported as expected failures with a count until a translator
# finishes one and adds it here. (When every lesson is here, the allowance goes.)
COMPLETE: dict[str, set[str]] = {"zh": {
    "00_welcome", "01_ai_history", "02_rnn_limits", "03_attention_basics", "04_seq2seq_attention",
    "05_transformer", "06_gpt", "07_attention_variants", "08_beyond_text", "09_scale",
    "10_llm_era"}}
_FIX = "course translations --stale {lesson}"   # the command every error points to


class TranslationError(ValueError):
    """A lesson cannot be shown in a language: a cell's translation is missing or stale."""


@dataclass
class CellProblem:
    """A markdown cell of ``lesson`` whose translation is ``kind`` ("missing" or "stale");
    ``diff`` is the English change since the translation (stale cells), ``english`` the
    current English source."""

    lesson: str
    cell_id: str
    kind: str
    english: str
    diff: str = ""

    def describe(self) -> str:
        """A few lines: where, what, and the English diff or the English to translate."""
        head = f"{self.lesson} cell {self.cell_id}: translation {self.kind}"
        if self.kind == "stale":
            return (f"{head}; the English changed since it was translated:\n{self.diff}\n"
                    f"  the English now:\n" + _indent(self.english))
        return f"{head}; the English to translate:\n" + _indent(self.english)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def english_sha256(source: str) -> str:
    """The hash a catalogue records for an English cell source (sha256 of its UTF-8)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def catalogue_path(lesson: str, lang: str = "zh", root: Path = TRANSLATIONS_DIR) -> Path:
    """Where the catalogue of ``lesson`` (a notebook stem) in ``lang`` lives."""
    _check_language(lang)
    return Path(root) / lang / f"{lesson}.json"


def _check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"lang: expected one of {LANGUAGES}, got {lang!r}")


def load(lesson: str, lang: str = "zh", root: Path = TRANSLATIONS_DIR) -> dict | None:
    """The catalogue of ``lesson`` in ``lang``, or None when there is none yet. Raises
    ``ValueError`` naming the file when it is not a catalogue (see the module doc)."""
    path = catalogue_path(lesson, lang, root)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    problems = _format_problems(data, lesson, lang)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return data


def _format_problems(data: object, lesson: str, lang: str) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
        return ['expected {"lesson": ..., "language": ..., "cells": {...}}']
    found = []
    if data.get("lesson") != lesson or data.get("language") != lang:
        found.append(f"lesson/language are {data.get('lesson')!r}/{data.get('language')!r}, "
                     f"expected {lesson!r}/{lang!r}")
    for cell_id, entry in data["cells"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("en"), str) \
                or not isinstance(entry.get("en_sha256"), str):
            found.append(f"cell {cell_id}: expected en_sha256, en and {lang} or shared")
        elif not isinstance(entry.get(lang, ""), str) or \
                not isinstance(entry.get("shared", False), bool):
            found.append(f"cell {cell_id}: {lang} must be a string and shared a boolean")
        elif english_sha256(entry["en"]) != entry["en_sha256"]:
            found.append(f"cell {cell_id}: en_sha256 is not the hash of en (edit neither by "
                         f"hand: `course translations --mark-current {cell_id}`)")
    return found


def save(catalogue: dict, root: Path = TRANSLATIONS_DIR) -> Path:
    """Write ``catalogue`` to its file (``ensure_ascii=False, indent=1``, a final newline)."""
    path = catalogue_path(catalogue["lesson"], catalogue["language"], root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(catalogue, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def _markdown_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    cells = [cell for cell in nb.cells if cell.cell_type == "markdown"]
    missing = [index for index, cell in enumerate(nb.cells)
               if cell.cell_type == "markdown" and not cell.get("id")]
    if missing:
        raise ValueError(f"markdown cells {missing} have no id (nbformat >= 4.5 gives every "
                         f"cell one; re-save the notebook)")
    return cells


def _entry(source: str) -> dict:
    return {"en_sha256": english_sha256(source), "en": source}


def skeleton(nb: nbformat.NotebookNode, lesson: str, lang: str = "zh",
             existing: dict | None = None) -> dict:
    """The catalogue of ``nb`` with one entry per markdown cell in notebook order: the
    entries of ``existing`` kept as they are (a changed cell stays stale until translated
    or marked current; an entry not translated yet follows the English), new cells added
    untranslated (or ``shared`` when they have no
    prose: only math, code or an image), entries of deleted cells dropped."""
    _check_language(lang)
    old = (existing or {}).get("cells", {})
    cells = {}
    for cell in _markdown_cells(nb):
        new = ({**_entry(cell.source), lang: ""} if _has_prose(cell.source)
               else {**_entry(cell.source), "shared": True})
        kept = old.get(cell.id)
        untranslated = kept and not kept.get("shared") and not kept.get(lang, "").strip()
        cells[cell.id] = new if not kept or untranslated else kept
    return {"lesson": lesson, "language": lang, "cells": cells}


def update_skeleton(path: Path, lang: str = "zh", root: Path = TRANSLATIONS_DIR
                    ) -> tuple[list[str], list[str]]:
    """Bring the catalogue of the lesson at ``path`` in line with its cells (see
    :func:`skeleton`) and save it; returns the cell ids ``(added, removed)``."""
    lesson = Path(path).stem
    existing = load(lesson, lang, root)
    updated = skeleton(notebooks.read(path), lesson, lang, existing)
    before = set((existing or {}).get("cells", {}))
    save(updated, root)
    return ([c for c in updated["cells"] if c not in before],
            sorted(before - set(updated["cells"])))


def _english_diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "translated English",
                                 "current English", lineterm="", n=1)
    return "\n".join("    " + line for line in lines)


def problems(nb: nbformat.NotebookNode, lesson: str, lang: str = "zh",
             catalogue: dict | None = None, root: Path = TRANSLATIONS_DIR) -> list[CellProblem]:
    """Every markdown cell of ``nb`` whose translation into ``lang`` is missing or stale
    (``catalogue`` defaults to the stored one)."""
    if catalogue is None:
        catalogue = load(lesson, lang, root) or {"cells": {}}
    found = []
    for cell in _markdown_cells(nb):
        entry = catalogue["cells"].get(cell.id)
        if entry is None:
            found.append(CellProblem(lesson, cell.id, "missing", cell.source))
        elif entry["en_sha256"] != english_sha256(cell.source):
            found.append(CellProblem(lesson, cell.id, "stale", cell.source,
                                     _english_diff(entry["en"], cell.source)))
        elif not entry.get("shared") and not entry.get(lang, "").strip():
            found.append(CellProblem(lesson, cell.id, "missing", cell.source))
    return found


def status(nb: nbformat.NotebookNode, lesson: str, lang: str = "zh",
           root: Path = TRANSLATIONS_DIR) -> dict[str, int]:
    """Counts of the lesson's markdown cells: ``cells``, ``translated`` (current, with a
    translation), ``shared``, ``missing`` and ``stale``."""
    catalogue = load(lesson, lang, root) or {"cells": {}}
    found = {p.cell_id: p.kind for p in problems(nb, lesson, lang, catalogue)}
    cells = _markdown_cells(nb)
    shared = sum(1 for c in cells if c.id not in found
                 and catalogue["cells"][c.id].get("shared"))
    kinds = list(found.values())
    return {"cells": len(cells), "translated": len(cells) - len(found) - shared,
            "shared": shared, "missing": kinds.count("missing"), "stale": kinds.count("stale")}


def lesson_of(nb: nbformat.NotebookNode, lang: str = "zh", root: Path = TRANSLATIONS_DIR
              ) -> str | None:
    """The lesson whose catalogue holds ``nb``'s markdown cells (cell ids are unique across
    the course), or None. For callers that have a notebook but not its file name."""
    ids = {cell.get("id") for cell in nb.cells if cell.cell_type == "markdown"}
    best, overlap = None, 0
    for path in sorted((Path(root) / lang).glob("*.json")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", {})
        except (ValueError, AttributeError):
            continue
        shared = len(ids & set(cells))
        if shared > overlap:
            best, overlap = path.stem, shared
    return best


def translate_notebook(nb: nbformat.NotebookNode, lang: str, lesson: str | None = None,
                       root: Path = TRANSLATIONS_DIR) -> nbformat.NotebookNode:
    """``nb`` in language ``lang``: a copy whose markdown cells hold their translation (a
    shared cell keeps its source), code cells and every cell's metadata as they are, and
    ``metadata.course.language = lang`` (read by the exercise feedback and the learner
    tools). ``lesson`` (the notebook's stem) is found from the catalogues when not given.

    Raises :class:`TranslationError` naming the lesson, each missing or stale cell and the
    command that lists them, rather than return a notebook in two languages.
    """
    _check_language(lang)
    lesson = lesson or lesson_of(nb, lang, root)
    if lesson is None:
        raise TranslationError(f"no {lang} catalogue holds this notebook's cells: run "
                               f"`course translations --update-skeleton LESSON` to start one")
    catalogue = load(lesson, lang, root)
    if catalogue is None:
        raise TranslationError(f"{lesson}: no {lang} translation yet "
                               f"({catalogue_path(lesson, lang, root)}): run "
                               f"`course translations --update-skeleton {lesson}`")
    found = problems(nb, lesson, lang, catalogue)
    if found:
        kinds = [p.kind for p in found]
        cells = ", ".join(f"{p.cell_id} ({p.kind})" for p in found[:6])
        more = f" and {len(found) - 6} more" if len(found) > 6 else ""
        raise TranslationError(
            f"{lesson}: {len(found)} markdown cell(s) without a current {lang} translation "
            f"({kinds.count('missing')} missing, {kinds.count('stale')} stale): {cells}{more}; "
            f"`{_FIX.format(lesson=lesson)}` shows each with its English (and the diff)")
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            entry = catalogue["cells"][cell.id]
            if not entry.get("shared"):
                cell.source = entry[lang]
    out.metadata.setdefault("course", nbformat.NotebookNode())["language"] = lang
    return out


def _find_entry(catalogue: dict, cell_id: str) -> dict:
    if cell_id not in catalogue["cells"]:
        raise ValueError(f"{catalogue['lesson']}: no markdown cell {cell_id!r} in its "
                         f"catalogue (run `course translations --update-skeleton "
                         f"{catalogue['lesson']}` after adding cells)")
    return catalogue["cells"][cell_id]


def _current_source(path: Path, cell_id: str) -> str:
    for cell in _markdown_cells(notebooks.read(path)):
        if cell.id == cell_id:
            return cell.source
    raise ValueError(f"{Path(path).name}: no markdown cell with id {cell_id!r}")


def mark_current(path: Path, cell_id: str, lang: str = "zh",
                 root: Path = TRANSLATIONS_DIR) -> dict:
    """Record that the translation of ``cell_id`` (lesson at ``path``) fits the English as
    it is now (after a translator checked that the English change needs no change in
    ``lang``): its ``en`` and ``en_sha256`` become the current source's. Returns the entry."""
    lesson = Path(path).stem
    catalogue = load(lesson, lang, root) or skeleton(notebooks.read(path), lesson, lang)
    entry = _find_entry(catalogue, cell_id)
    entry.update(_entry(_current_source(path, cell_id)))
    save(catalogue, root)
    return entry


def set_translation(path: Path, cell_id: str, text: str | None, lang: str = "zh", *,
                    shared: bool = False, root: Path = TRANSLATIONS_DIR) -> dict:
    """Write the translation ``text`` of ``cell_id`` (lesson at ``path``), or mark the cell
    ``shared`` (no prose: the English source is shown in every edition), recording the
    current English as what it translates. Returns the entry."""
    lesson = Path(path).stem
    catalogue = load(lesson, lang, root) or skeleton(notebooks.read(path), lesson, lang)
    entry = _find_entry(catalogue, cell_id)
    source = _current_source(path, cell_id)
    if shared:
        if _has_prose(source):
            raise ValueError(f"{lesson} cell {cell_id} has prose; translate it instead of "
                             f"marking it shared")
        new = {**_entry(source), "shared": True}
    else:
        if not (text or "").strip():
            raise ValueError(f"{lesson} cell {cell_id}: the translation is empty")
        new = {**_entry(source), lang: text.rstrip("\n")}
    entry.clear()
    entry.update(new)
    save(catalogue, root)
    return entry


_NOT_PROSE = [
    re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.DOTALL),          # math
    re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL),              # code
    re.compile(r"!\[[^\]]*\]\([^)]*\)|<[^>]+>|\([^)\s]*\)"),   # images, tags, link targets
]


def _has_prose(source: str) -> bool:
    """Whether a markdown source has words to translate (two letters in a row outside math,
    code, images and link targets)."""
    for pattern in _NOT_PROSE:
        source = pattern.sub(" ", source)
    return re.search(r"[A-Za-z]{2}", source) is not None


def in_language(path: Path, lang: str) -> nbformat.NotebookNode:
    """The lesson at ``path`` in ``lang``: the English source as it is, or its translation
    (:func:`translate_notebook`; raises :class:`TranslationError` when not current)."""
    nb = notebooks.read(path)
    return nb if lang == "en" else translate_notebook(nb, lang, Path(path).stem)
