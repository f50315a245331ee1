"""Exercise feedback in the notebook's language (course_lib.notebook.language, messages).

A Chinese copy of a lesson carries ``metadata.course.language = "zh"``; the kernel finds its
notebook through ``JPY_SESSION_NAME`` (or ``COURSE_LANG``), and every message the checks and
the out-of-order feedback say comes from the Chinese catalogue, with the same fields as the
English one. English stays the default, and exactly as it was.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import nbformat
import numpy as np
import pytest

import course_lib.exercises as exercises
from course_lib.notebook import checks, feedback, language, messages, messages_zh
from course_tools import translations

REPO = Path(__file__).resolve().parents[1]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture
def restore_language():
    yield
    messages.set_language("en")


def test_every_message_has_a_chinese_text_with_the_same_fields() -> None:
    missing = sorted(set(messages.MESSAGES) - set(messages_zh.MESSAGES))
    assert not missing, f"no Chinese text in course_lib/notebook/messages_zh.py for {missing}"
    for key, english in messages.MESSAGES.items():
        chinese = messages_zh.MESSAGES[key]
        assert _fields(chinese) == _fields(english), key
        words = re.sub(r"\{[^}]*\}|`[^`]*`|NaN|inf|None|NameError|dtype|True/False|exp|"
                       r"reshape|course_lib|setup_notebook|Run → Run All Above Selected Cell|"
                       r"uses-reference", "", chinese)
        assert not re.search(r"[A-Za-z]{2}", words), f"{key}: English left: {chinese}"


def test_chinese_texts_follow_the_style_rules() -> None:
    for key, chinese in messages_zh.MESSAGES.items():
        text = re.sub(r"\{[^}]*\}", "F", chinese)
        assert not re.search(r"[\u4e00-\u9fff][,;:?!]", text), f"{key}: half-width punctuation"
        assert not re.search(r"[\u4e00-\u9fff][A-Za-z0-9`$(]|[A-Za-z0-9`$)][\u4e00-\u9fff]",
                             text), f"{key}: a space between Chinese and Latin letters or digits"


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


def test_checks_speak_the_notebook_language(tmp_path: Path, restore_language, capsys) -> None:
    english = _failure(_wrong_softmax)
    assert english.startswith("It looks like you summed over every axis.\n"
                              "softmax failed random test 1 of 5")

    assert language.use_notebook_language({"JPY_SESSION_NAME":
                                           str(_notebook(tmp_path, "zh"))}) == "zh"
    chinese = _failure(_wrong_softmax)
    assert chinese.startswith("看起来是这个错误：summed over every axis。\n"
                              "softmax 没有通过第 1 个随机测试（共 5 个；")
    assert "个值中有" in chinese and "应当是" in chinese
    with pytest.raises(checks.CheckFailed, match="还没有写"):
        checks.check_function(lambda x: (_ for _ in ()).throw(NotImplementedError()),
                              _softmax, lambda rng: (rng.normal(size=3),), name="softmax")
    checks.check_value(np.ones(2), np.ones(2), name="x")
    assert capsys.readouterr().out == "✓ x：正确。\n"
    assert feedback.explain_name_error("np", "").startswith("`np` 没有定义：请先运行本课的设置")

    assert language.use_notebook_language({}) == "en"
    assert _failure(_wrong_softmax) == english, "English is as it was"


def _mistakes() -> dict[str, str]:
    """Every classic mistake of the exercises: ``{id: English}``."""
    return {mistake.key: mistake.text for exercise_id in exercises.known()
            for check in exercises.get(exercise_id).checks for mistake in check.mistakes}


def test_every_mistake_has_a_chinese_text_and_no_other_id_does() -> None:
    mistakes = _mistakes()
    unknown = [k for k in messages_zh.MESSAGES if k not in messages.MESSAGES
               and k not in mistakes]
    assert not unknown, f"Chinese texts of ids that no message has (renamed?): {unknown}"
    missing = sorted(k for k in mistakes if k not in messages_zh.MESSAGES)
    assert not missing, (f"classic mistakes without a Chinese text in "
                         f"course_lib/notebook/messages_zh.py: {missing}")
    for key, english in mistakes.items():
        assert _fields(messages_zh.MESSAGES[key]) == _fields(english), key
        assert re.search(r"[\u4e00-\u9fff]", messages_zh.MESSAGES[key]), key


def test_a_named_mistake_in_chinese(restore_language) -> None:
    def naive(x):
        return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)

    language.use_notebook_language({"COURSE_LANG": "zh"})
    with pytest.raises(checks.CheckFailed) as failure:
        checks.exercise("l00_softmax", naive)
    assert str(failure.value).startswith("看起来是这个错误：你忘了减去最大值，于是 exp 溢出了")
    language.use_notebook_language({"COURSE_LANG": "en"})
    with pytest.raises(checks.CheckFailed, match="It looks like you forgot to subtract the max"):
        checks.exercise("l00_softmax", naive)
