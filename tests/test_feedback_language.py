"""Exercise feedback in the notebook's language (course_lib.notebook.language, messages).

A Chinese copy of a lesson carries ``metadata.course.language = "zh"``; the kernel finds its
notebook through ``JPY_SESSION_NAME`` (or ``COURSE_LANG``), and every message the checks and
the out-of-order feedback say comes from the Chinese catalogue
(``course_lib/notebook/translations/zh.json``, kept in step by ``tests/test_messages_zh.py``).
English stays the default, and exactly as it was.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib.notebook import checks, feedback, language, messages
from course_tools import translations

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_language():
    yield
    messages.set_language("en")


def _notebook(folder: Path, lang: str | None) -> Path:
    path = folder / "lesson.ipynb"
    metadata = {"course": {"language": lang}} if lang else {}
    path.write_text(json.dumps({"cells": [], "metadata": metadata, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")
    return path


def test_language_from_the_environment_then_the_notebook(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    zh, en = _notebook(tmp_path, "zh"), _notebook(tmp_path / "en", None)
    assert language.notebook_language({}) == "en"
    assert language.notebook_language({"JPY_SESSION_NAME": str(zh)}) == "zh"
    assert language.notebook_language({"JPY_SESSION_NAME": str(en)}) == "en"
    assert language.notebook_language({"COURSE_LANG": "en", "JPY_SESSION_NAME": str(zh)}) == "en"
    assert language.notebook_language({"COURSE_LANG": "zh"}) == "zh"
    assert language.notebook_language({"COURSE_LANG": "fr"}) == "en"
    # hostile or broken notebooks: English, no error
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    (tmp_path / "odd.ipynb").write_text('{"metadata": {"course": ["zh"]}}', encoding="utf-8")
    for name in ("bad.ipynb", "odd.ipynb", "gone.ipynb"):
        assert language.notebook_language({"JPY_SESSION_NAME": str(tmp_path / name)}) == "en"


def test_a_chinese_learner_copy_is_found_chinese(tmp_path: Path) -> None:
    stem = sorted(translations.COMPLETE["zh"])[0]
    nb = translations.in_language(REPO / "notebooks" / f"{stem}.ipynb", "zh")
    path = tmp_path / f"{stem}.ipynb"
    nbformat.write(nb, str(path))
    assert language.notebook_language({"JPY_SESSION_NAME": str(path)}) == "zh"


def _wrong_softmax(x):
    return np.exp(x) / np.exp(x).sum()          # sums over every axis: wrong for a batch


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _failure(candidate) -> str:
    with pytest.raises(checks.CheckFailed) as failure:
        checks.check_function(candidate, _softmax, lambda rng: (rng.normal(size=(3, 4)),),
                              name="softmax", mistakes={"summed over every axis":
                                                        _wrong_softmax})
    return str(failure.value)


def _zh(key: str, **fields) -> str:
    """The shipped Chinese text of message ``key`` with ``fields``, its first line."""
    english, chinese = messages.catalogue("zh")[key]
    assert english == messages.MESSAGES[key], f"{key}: the Chinese entry is stale"
    return chinese.format(**fields)


def test_checks_speak_the_notebook_language(tmp_path: Path, restore_language, capsys) -> None:
    english = _failure(_wrong_softmax)
    assert english.startswith("It looks like you summed over every axis.\n"
                              "softmax failed random test 1 of 5")

    assert language.use_notebook_language({"JPY_SESSION_NAME":
                                           str(_notebook(tmp_path, "zh"))}) == "zh"
    chinese = _failure(_wrong_softmax)
    assert chinese.startswith(_zh("check.looks_like", mistake="summed over every axis"))
    assert re.search(r"[\u4e00-\u9fff]", chinese.splitlines()[1])
    with pytest.raises(checks.CheckFailed, match=re.escape(_zh("check.not_written",
                                                                name="softmax"))):
        checks.check_function(lambda x: (_ for _ in ()).throw(NotImplementedError()),
                              _softmax, lambda rng: (rng.normal(size=3),), name="softmax")
    # the out-of-order feedback too
    assert feedback.explain_name_error("np", "") == _zh("name.run_setup", name="np")
    assert feedback.explain_name_error("sdpa", "checks.exercise('l03_sdpa', sdpa)") == \
        _zh("name.run_answer", name="sdpa")

    assert language.use_notebook_language({}) == "en"
    assert _failure(_wrong_softmax) == english, "English is as it was"
    assert feedback.explain_name_error("np", "").startswith("`np` is not defined")


def test_a_named_mistake_in_chinese(restore_language) -> None:
    def naive(x):
        return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)

    language.use_notebook_language({"COURSE_LANG": "zh_CN.UTF-8"})
    with pytest.raises(checks.CheckFailed) as failure:
        checks.exercise("l00_softmax", naive)
    mistake = messages.catalogue("zh")["l00_softmax.naive"][1]
    assert str(failure.value).startswith(_zh("check.looks_like", mistake=mistake))
    language.use_notebook_language({"COURSE_LANG": "en"})
    with pytest.raises(checks.CheckFailed, match="It looks like you forgot to subtract the max"):
        checks.exercise("l00_softmax", naive)


def test_course_progress_runs_a_chinese_copy_in_chinese(tmp_path: Path) -> None:
    from course_tools import learner, progress

    folder = tmp_path / "learner" / "zh"
    learner.update_copies(REPO / "notebooks", folder, lang="zh")
    copy = folder / "00_welcome.ipynb"
    nb = nbformat.read(str(copy), as_version=4)
    answer = next(c for c in nb.cells if c.cell_type == "code"
                  and c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = ("def stable_softmax(x):\n    e = np.exp(x - x.min(axis=-1, keepdims=True))"
                     "\n    return e / e.sum(axis=-1, keepdims=True)\n")
    nbformat.write(nb, str(copy))
    [row] = progress.lesson_progress(copy, timeout=120)
    mistake = messages.catalogue("zh")["l00_softmax.min_shift"][1]
    assert row.status == "failed" and row.message.startswith(
        _zh("check.looks_like", mistake=mistake)[:20]), row


def test_the_grader_gives_a_chinese_submission_chinese_feedback(monkeypatch,
                                                                restore_language) -> None:
    from course_tools import notebooks
    from course_tools.grading import batch, grader
    from course_tools.grading import lesson as graded
    from course_tools.grading.kernel_client import Limits

    source = REPO / "notebooks" / "00_welcome.ipynb"
    monkeypatch.chdir(source.parent)                  # as the grader's workers do
    monkeypatch.setattr(checks, "check_function", checks.check_function)  # restored after
    graded.install_seed(0)
    lesson = graded.Lesson(source)
    wrong = ("import numpy as np\ndef stable_softmax(x):\n"
             "    e = np.exp(x - x.min(axis=-1, keepdims=True))\n"
             "    return e / e.sum(axis=-1, keepdims=True)\n")
    said, graded_rows = {}, {}
    for lang in ("en", "zh"):
        nb = notebooks.student_version(translations.in_language(source, lang)
                                       if lang == "zh" else notebooks.read(source))
        next(c for c in nb.cells if notebooks.is_answer_cell(c)).source = wrong
        graded_rows[lang] = grader.grade(lesson, nb, "s", Limits(cell_cpu=5.0,
                                                                  submission=120.0),
                                         sandbox=None)      # a trusted, written answer
        said[lang] = graded_rows[lang].exercises[0].message
    mistake = messages.catalogue("zh")["l00_softmax.min_shift"][1]
    assert said["en"].startswith("It looks like you subtracted the row minimum")
    assert said["zh"].startswith(_zh("check.looks_like", mistake=mistake))
    assert messages.language() == "en", "the grader's language is restored"

    # the feedback file a student reads: its frame in the language of their submission
    assert {lang: r.language for lang, r in graded_rows.items()} == {"en": "en", "zh": "zh"}
    zh_file = batch._feedback([graded_rows["zh"]], "s")
    assert zh_file.startswith("# s 的反馈\n") and "00_welcome.ipynb：0 / 2 分" in zh_file
    assert "points" not in zh_file and "Feedback" not in zh_file, zh_file
    assert "：未通过" in zh_file and "failed" not in zh_file, zh_file
    en_file = batch._feedback([graded_rows["en"]], "s")
    assert en_file.startswith("# Feedback for s\n") and "0 / 2 points" in en_file
    assert "): failed" in en_file, en_file
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en_file.split("\n    ")[0]), en_file
    both = batch._feedback([graded_rows["en"], graded_rows["zh"]], "s")
    assert both.startswith("# Feedback for s") and "0 / 2 points" in both and "0 / 2 分" in both
