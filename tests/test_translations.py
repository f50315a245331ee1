"""The Chinese edition stays in step with the English source (course_tools/translations.py).

Every markdown cell of every lesson has a current translation (or is shared): a changed
English cell fails here, naming the lesson and cell with the English diff, until its
translation is updated. Lessons not yet in ``translations.COMPLETE`` are reported as
expected failures with their count; a translator who finishes one adds it there. Also:
the machinery itself on a small notebook, the Chinese style rules on the finished
lessons, and the student release in Chinese (code cells byte-identical to the English).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from course_tools import learner, notebooks, translations
from course_tools.cli import main as course

REPO = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(REPO / "notebooks")
LIST_ALL = "`course translations --stale` lists every missing or stale cell"


# ---------------------------------------------------------------------------- the machinery

def _lesson(folder: Path, cells: list) -> Path:
    nb = nbformat.v4.new_notebook(cells=cells)
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index}"
    path = folder / "notebooks" / "07_toy.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, Path]:
    """A three-cell lesson and an empty catalogue folder."""
    path = _lesson(tmp_path, [nbformat.v4.new_markdown_cell("# Title\n\nSome prose."),
                              nbformat.v4.new_code_cell("x = 1  # code stays English"),
                              nbformat.v4.new_markdown_cell("$$a = b$$")])
    return path, tmp_path / "translations"


def test_skeleton_has_every_markdown_cell_in_order(toy) -> None:
    path, root = toy
    assert translations.update_skeleton(path, root=root) == (["c0", "c2"], [])
    catalogue = translations.load("07_toy", root=root)
    assert list(catalogue["cells"]) == ["c0", "c2"]
    assert catalogue["cells"]["c0"] == {
        "en_sha256": translations.english_sha256("# Title\n\nSome prose."),
        "en": "# Title\n\nSome prose.", "zh": ""}
    assert catalogue["cells"]["c2"]["shared"] is True          # no prose: shared
    text = translations.catalogue_path("07_toy", root=root).read_text(encoding="utf-8")
    assert text == json.dumps(catalogue, ensure_ascii=False, indent=1) + "\n"


def test_missing_then_translated_then_stale_then_current(toy) -> None:
    path, root = toy
    translations.update_skeleton(path, root=root)
    nb = notebooks.read(path)
    assert [(p.cell_id, p.kind) for p in translations.problems(nb, "07_toy", root=root)] == \
        [("c0", "missing")]
    with pytest.raises(translations.TranslationError, match=r"07_toy.*c0 \(missing\).*"
                       r"course translations --stale 07_toy"):
        translations.translate_notebook(nb, "zh", "07_toy", root=root)

    translations.set_translation(path, "c0", "# 标题\n\n一些文字。\n", root=root)
    zh = translations.translate_notebook(nb, "zh", "07_toy", root=root)
    assert [c.source for c in zh.cells] == ["# 标题\n\n一些文字。", "x = 1  # code stays English",
                                            "$$a = b$$"]
    assert zh.metadata.course.language == "zh"
    assert nb.cells[0].source == "# Title\n\nSome prose.", "the English is not modified"
    assert translations.lesson_of(nb, root=root) == "07_toy"

    nb.cells[0].source = "# Title\n\nSome better prose."
    nbformat.write(nb, str(path))
    [stale] = translations.problems(nb, "07_toy", root=root)
    assert (stale.cell_id, stale.kind) == ("c0", "stale")
    assert "-Some prose." in stale.diff and "+Some better prose." in stale.diff
    assert "07_toy cell c0" in stale.describe()
    with pytest.raises(translations.TranslationError, match=r"c0 \(stale\)"):
        translations.translate_notebook(nb, "zh", "07_toy", root=root)

    translations.mark_current(path, "c0", root=root)   # the Chinese still fits
    assert translations.problems(nb, "07_toy", root=root) == []
    assert translations.status(nb, "07_toy", root=root) == {
        "cells": 2, "translated": 1, "shared": 1, "missing": 0, "stale": 0}


def test_new_and_deleted_cells_update_the_skeleton(toy) -> None:
    path, root = toy
    translations.update_skeleton(path, root=root)
    translations.set_translation(path, "c0", "一些文字。", root=root)
    nb = notebooks.read(path)
    del nb.cells[2]
    added = nbformat.v4.new_markdown_cell("New prose.")
    added.id = "c9"
    nb.cells.insert(0, added)
    nbformat.write(nb, str(path))
    assert translations.update_skeleton(path, root=root) == (["c9"], ["c2"])
    cells = translations.load("07_toy", root=root)["cells"]
    assert list(cells) == ["c9", "c0"] and cells["c0"]["zh"] == "一些文字。"


def test_catalogue_errors_are_clear(toy) -> None:
    path, root = toy
    translations.update_skeleton(path, root=root)
    with pytest.raises(ValueError, match="has prose"):
        translations.set_translation(path, "c0", None, shared=True, root=root)
    with pytest.raises(ValueError, match="empty"):
        translations.set_translation(path, "c0", "  \n", root=root)
    with pytest.raises(ValueError, match="no markdown cell 'c1'"):
        translations.set_translation(path, "c1", "代码", root=root)
    file = translations.catalogue_path("07_toy", root=root)
    data = json.loads(file.read_text(encoding="utf-8"))
    data["cells"]["c0"]["en"] = "edited by hand"
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="en_sha256 is not the hash of en"):
        translations.load("07_toy", root=root)
    with pytest.raises(translations.TranslationError, match="no zh catalogue"):
        translations.translate_notebook(notebooks.read(path), "zh", root=root / "elsewhere")


def test_command_lists_stale_cells_with_the_diff(toy, capsys) -> None:
    path, root = toy
    common = ["--root", str(root), "--notebooks", str(path.parent)]
    assert course(["translations", "--update-skeleton", *common]) == 0
    assert course(["translations", "--stale", *common]) == 1
    assert "07_toy cell c0: translation missing" in capsys.readouterr().out
    text = path.parent / "c0.md"
    text.write_text("# 标题\n\n一些文字。", encoding="utf-8")
    assert course(["translations", "07", "--set", "c0", "--file", str(text), *common]) == 0
    assert course(["translations", "--stale", *common]) == 0
    nb = notebooks.read(path)
    nb.cells[0].source += " More."
    nbformat.write(nb, str(path))
    capsys.readouterr()
    assert course(["translations", "--stale", *common]) == 1
    out = capsys.readouterr().out
    assert "07_toy cell c0: translation stale" in out and "+Some prose. More." in out
    assert course(["translations", "--mark-current", "c0", *common]) == 0
    assert course(["translations", *common]) == 0
    assert re.search(r"07_toy\s+2\s+1\s+1\s+0\s+0", capsys.readouterr().out)


# ---------------------------------------------------------------------------- the lessons

def _problems_text(found: list[translations.CellProblem]) -> str:
    return "\n".join(p.describe() for p in found[:5]) + (
        f"\n... and {len(found) - 5} more" if len(found) > 5 else "")


@pytest.mark.parametrize("lang", translations.LANGUAGES)
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_cell_has_a_current_translation(path: Path, lang: str) -> None:
    nb = notebooks.read(path)
    found = translations.problems(nb, path.stem, lang)
    if path.stem not in translations.COMPLETE[lang]:
        counts = translations.status(nb, path.stem, lang)
        if found:
            pytest.xfail(f"{path.stem} is not translated into {lang} yet: {counts['missing']} "
                         f"missing, {counts['stale']} stale of {counts['cells']} markdown cells "
                         f"(add it to translations.COMPLETE when done)")
        return
    if found:
        pytest.fail(f"{path.stem}: {len(found)} markdown cell(s) without a current {lang} "
                    f"translation ({LIST_ALL}). Translate each: `course translations "
                    f"{path.stem} --set CELL --file F`; or, when the English change needs no "
                    f"change in {lang}: `course translations {path.stem} --mark-current "
                    f"CELL`.\n" + _problems_text(found), pytrace=False)
    catalogue = translations.load(path.stem, lang)
    ids = [c.id for c in nb.cells if c.cell_type == "markdown"]
    assert list(catalogue["cells"]) == ids, (
        f"{path.stem}: the catalogue's cells are not the lesson's markdown cells in order: "
        f"run `course translations --update-skeleton {path.stem}`")


def test_every_lesson_has_a_catalogue_and_complete_names_lessons() -> None:
    stems = {p.stem for p in LESSONS}
    for lang in translations.LANGUAGES:
        assert translations.COMPLETE[lang] <= stems
        missing = [s for s in sorted(stems) if translations.load(s, lang) is None]
        assert not missing, f"no {lang} catalogue for {missing}: `course translations " \
                            f"--update-skeleton {' '.join(missing)}`"


# The Chinese style rules (CONTRIBUTING.md, "Two languages"), checked on finished lessons.
_CJK = r"[\u3400-\u9fff]"
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
_CODE = re.compile(r"`[^`\n]+`")
_LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")


def _codeish(span: str) -> bool:
    """An inline code span that is code (an identifier, a call, a value: kept verbatim in
    every edition), not a quoted message or a path (which an edition may adapt: the Chinese
    copies live in ``learner/zh/``, the feedback speaks Chinese)."""
    text = span.strip("`")
    return re.search(r"[()=]", text) is not None or (" " not in text and "/" not in text)


def style_problems(english: str, chinese: str) -> list[str]:
    """What a translation of ``english`` breaks of the style rules (empty when none)."""
    found = []
    if not re.search(_CJK, chinese):
        found.append("no Chinese in the translation (a cell without prose is `shared`)")
    if Counter(_MATH.findall(english)) != Counter(_MATH.findall(chinese)):
        changed = set(_MATH.findall(english)) ^ set(_MATH.findall(chinese))
        found.append(f"formulas differ: {sorted(changed)}")
    code = [s for s in _CODE.findall(_MATH.sub("", english)) if _codeish(s)]
    lost = [s for s in code if s not in chinese]
    if lost:
        found.append(f"code lost or changed: {lost}")
    if Counter(_LINK_TARGET.findall(english)) != Counter(_LINK_TARGET.findall(chinese)):
        found.append("links differ (the same targets and glossary anchors in every language)")
    prose = _CODE.sub("`c`", _MATH.sub("$m$", chinese))
    for pattern, rule in [
        (rf"{_CJK}\n{_CJK}", "a line break between Chinese characters shows as a space: keep "
                             "a paragraph on one line"),
        (rf"{_CJK}[,;:?!]|{_CJK}\.(?!\w)",
         "half-width punctuation after Chinese: use ，；：？！。"),
        (rf"{_CJK}[A-Za-z0-9`$]|[A-Za-z0-9`$]{_CJK}", "a space between Chinese and Latin "
                                                     "letters, digits, code or math")]:
        match = re.search(pattern, prose)
        if match:
            found.append(f"{rule} (at {match.group(0)!r})")
    return found


def test_style_rules_catch_what_they_say() -> None:
    english = "Use `f(x)`: $e^x$ [term (术语)](G.md#t)."
    assert style_problems(english, "用 `f(x)`：$e^x$ [术语（term）](G.md#t)。") == []
    for bad, rule in [("用 `f()`：$e^x$ [术语](G.md#t)。", "code lost"),
                      ("用 `f(x)`：$e^y$ [术语](G.md#t)。", "formulas"),
                      ("用 `f(x)`：$e^x$ [术语](G.md#u)。", "links"),
                      ("用 `f(x)`：$e^x$ [术语](G.md#t)，好.", "half-width"),
                      ("用`f(x)`：$e^x$ [术语](G.md#t)。", "a space"),
                      ("用 `f(x)`：$e^x$ [术\n语](G.md#t)。", "line break"),
                      ("Use `f(x)`: $e^x$ [term](G.md#t).", "no Chinese")]:
        assert any(rule in p for p in style_problems(english, bad)), (bad, rule)


@pytest.mark.parametrize("lang", translations.LANGUAGES)
def test_finished_translations_follow_the_style_rules(lang: str) -> None:
    glossary = notebooks.load_glossary(REPO / "GLOSSARY.md")
    found = []
    for path in LESSONS:
        if path.stem not in translations.COMPLETE[lang]:
            continue
        for cell_id, entry in translations.load(path.stem, lang)["cells"].items():
            if not entry.get("shared"):
                found += [f"{path.stem} cell {cell_id}: {p}"
                          for p in style_problems(entry["en"], entry[lang])]
        translated = translations.translate_notebook(notebooks.read(path), lang, path.stem)
        found += [f"{path.stem} ({lang}): {p}"
                  for p in notebooks.glossary_problems(translated, glossary)]
    assert not found, "\n".join(found)


def _released(folder: Path, lang: str, stems: list[str]) -> dict[str, nbformat.NotebookNode]:
    paths = [str(REPO / "notebooks" / f"{stem}.ipynb") for stem in stems]
    assert course(["release", "--lang", lang, "--out", str(folder), *paths]) == 0
    return {stem: notebooks.read(folder / f"{stem}.ipynb") for stem in stems}


@pytest.mark.parametrize("lang", translations.LANGUAGES)
def test_release_in_chinese_has_chinese_prose_and_the_same_code(tmp_path: Path,
                                                                  lang: str) -> None:
    stems = sorted(translations.COMPLETE[lang])
    english, chinese = (_released(tmp_path / edition, edition, stems)
                        for edition in ("en", lang))
    for stem in stems:
        en, zh = english[stem], chinese[stem]
        assert [c.cell_type for c in en.cells] == [c.cell_type for c in zh.cells]
        for a, b in zip(en.cells, zh.cells, strict=True):
            if a.cell_type == "code":
                assert a == b, f"{stem} cell {a.id}: code cells must be byte-identical"
        catalogue = translations.load(stem, lang)["cells"]
        prose = [c for c in zh.cells if c.cell_type == "markdown"
                 and not catalogue[c.id].get("shared")]
        assert prose and all(re.search(_CJK, c.source) for c in prose)
        assert all(c.source == catalogue[c.id][lang] for c in prose)
        assert zh.metadata.course.language == lang and "course" not in en.metadata


def test_release_refuses_an_unfinished_translation(tmp_path: Path, capsys) -> None:
    # a lesson whose English changed after its translation: a copy with one edited cell
    source = LESSONS[0]
    nb = notebooks.read(source)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    cell.source += "\n\nA sentence added to the English."
    edited = tmp_path / "notebooks" / source.name
    edited.parent.mkdir()
    nbformat.write(nb, str(edited))
    out = tmp_path / "release"
    assert course(["release", "--lang", "zh", "--out", str(out), str(edited)]) == 1
    error = capsys.readouterr().err
    assert source.stem in error and f"{cell.id} (stale)" in error
    assert "course translations --stale" in error
    assert not out.exists() or not list(out.glob("*.ipynb"))


def test_release_without_lessons_named_releases_the_translated_ones(tmp_path: Path,
                                                                    capsys) -> None:
    assert course(["release", "--lang", "zh", "--out", str(tmp_path)]) == 0
    released = sorted(p.stem for p in tmp_path.glob("*.ipynb"))
    finished = sorted(p.stem for p in LESSONS
                      if not translations.problems(notebooks.read(p), p.stem, "zh"))
    assert released == finished and set(translations.COMPLETE["zh"]) <= set(released)
    out = capsys.readouterr().out
    for path in LESSONS:
        if path.stem not in released:
            assert f"left out: {path.stem}" in out


def test_chinese_learner_copies_beside_the_english_ones(tmp_path: Path) -> None:
    stem = sorted(translations.COMPLETE["zh"])[0]
    source = tmp_path / "notebooks"
    source.mkdir()
    (source / f"{stem}.ipynb").write_bytes((REPO / "notebooks" / f"{stem}.ipynb").read_bytes())
    folder = learner.learner_folder(tmp_path, "zh")
    assert folder == tmp_path / "learner" / "zh"
    report = learner.update_copies(source, folder, lang="zh")
    assert report.created == [f"{stem}.ipynb"]
    copy = notebooks.read(folder / f"{stem}.ipynb")
    english = notebooks.student_version(notebooks.read(source / f"{stem}.ipynb"), learner=True)
    assert [c.source for c in copy.cells if c.cell_type == "code"] == \
        [c.source for c in english.cells if c.cell_type == "code"]
    assert copy.metadata.course.language == "zh"
    assert "你的进度" in copy.cells[-2].source and "Your progress" not in copy.cells[-2].source
    # relative links reach the same files from one folder deeper
    for cell in copy.cells:
        for target in notebooks.MARKDOWN_LINK.findall(cell.source if cell.cell_type ==
                                                       "markdown" else ""):
            if target.startswith("../"):
                assert target.startswith("../../"), target
    # a learner's edited copy is never overwritten
    edited = (folder / f"{stem}.ipynb").read_text(encoding="utf-8").replace("raise", "pass #")
    (folder / f"{stem}.ipynb").write_text(edited, encoding="utf-8")
    nb = notebooks.read(source / f"{stem}.ipynb")
    code = [c for c in nb.cells if c.cell_type == "code"][-1]
    code.source += "\nprint('changed')"  # the lesson's code changed since: an update
    nbformat.write(nb, str(source / f"{stem}.ipynb"))
    report = learner.update_copies(source, folder, refresh=lambda names: True, lang="zh")
    assert report.kept_edited == [f"{stem}.ipynb"]
    assert (folder / f"{stem}.ipynb").read_text(encoding="utf-8") == edited


def test_chinese_readme_is_linked_and_maps_every_lesson() -> None:
    assert "(README.zh-CN.md)" in (REPO / "README.md").read_text(encoding="utf-8")
    readme = (REPO / "README.zh-CN.md").read_text(encoding="utf-8")
    course_map = readme.split("## 课程地图", 1)[1].split("\n## ", 1)[0]
    for path in LESSONS:
        assert f"`{path.name}`" in course_map, f"README.zh-CN.md's course map lacks {path.name}"
    for command in ("make lab LANG=zh", "course release --lang zh", "course slides --lang zh"):
        assert command in readme
