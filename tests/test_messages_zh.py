"""The Chinese edition of the exercise feedback (issue 24) keeps step with the English.

Every message a check can say (the generic ones of :data:`messages.MESSAGES`, every mistake
of every exercise catalogue, and the messages an exercise module says itself) has an entry in
the shipped catalogue ``course_lib/notebook/translations/zh.json`` that translates its
*current* English; the Chinese keeps every ``{field}``; and a real check of a wrong answer
says the Chinese line under ``set_language("zh")`` and the English one by default.

After editing an English message, update its entry (both ``"en"`` and ``"zh"``): the failure
below lists every missing or stale key with the English it should translate.
"""

from __future__ import annotations

import ast
import json
import string
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from course_lib import exercises
from course_lib.notebook import checks, messages
from course_lib.notebook.checks import CheckFailed

CATALOGUE = Path(messages.__file__).parent / "translations" / "zh.json"
EXERCISE_MODULES = Path(exercises.__file__).parent


def _said_by_modules() -> Iterator[tuple[str, str]]:
    """``say("key", "English", ...)`` calls in the exercise modules: messages that are not
    mistakes of a catalogue (lesson 09's "expected a pair (q, scale)")."""
    for path in sorted(EXERCISE_MODULES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "say" and len(node.args) >= 2
                    and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                            for a in node.args[:2])):
                yield node.args[0].value, node.args[1].value


def english_messages() -> dict[str, str]:
    """Every message id a check can say, with its current English."""
    found = dict(messages.MESSAGES)
    for exercise_id in exercises.known():
        for check in exercises.get(exercise_id).checks:
            for mistake in check.mistakes:
                found[mistake.key] = mistake.text
    found.update(_said_by_modules())
    return found


def _fields(text: str) -> list[tuple[str, str, str]]:
    """The ``{field!conversion:spec}`` parts of a message, sorted."""
    return sorted((name, conversion or "", spec or "")
                  for _, name, spec, conversion in string.Formatter().parse(text)
                  if name is not None)


def _backticks(text: str) -> list[str]:
    return sorted(text.split("`")[1::2])


@pytest.fixture
def chinese() -> Iterator[None]:
    before = messages.language()
    messages.set_language("zh")
    yield
    messages.set_language(before)


def test_the_lists_of_messages_are_not_empty() -> None:
    """The key lists the other tests walk really hold the messages (a silent empty list
    would pass them all)."""
    english = english_messages()
    assert len(messages.MESSAGES) >= 30
    assert sum("." in k and not k.startswith(("check.", "summary.", "compare.", "name."))
               for k in english) >= 150
    assert "l09_quantize_rows.not_pair" in english
    assert "l03_masked_softmax.inverted_mask" in english


def test_every_message_has_a_current_chinese_translation() -> None:
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    problems = []
    for key, english in english_messages().items():
        entry = catalogue.get(key)
        if not isinstance(entry, dict) or not str(entry.get("zh", "")).strip():
            problems.append(f"missing  {key}\n    en: {english}")
        elif entry.get("en") != english:
            problems.append(f"stale    {key}\n    en now:        {english}\n"
                            f"    translated en: {entry.get('en')}")
    assert not problems, (
        f"{len(problems)} message(s) of {CATALOGUE.name} need a translation of the current "
        "English (update 'en' and 'zh'):\n" + "\n".join(problems))


def test_the_catalogue_holds_no_message_that_no_longer_exists() -> None:
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    assert sorted(set(catalogue) - set(english_messages())) == []


def test_the_chinese_keeps_every_field_and_every_code_span() -> None:
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    wrong = [f"{key}: en {_fields(e['en'])} {_backticks(e['en'])}, "
             f"zh {_fields(e['zh'])} {_backticks(e['zh'])}"
             for key, e in catalogue.items()
             if (_fields(e["en"]), _backticks(e["en"])) != (_fields(e["zh"]),
                                                            _backticks(e["zh"]))]
    assert not wrong, "\n".join(wrong)


def test_a_mistake_completes_the_chinese_sentence() -> None:
    """"看起来你{mistake}。": a mistake starts with what the learner did, and ends without a
    full stop of its own."""
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    assert catalogue["check.looks_like"]["zh"] == "看起来你{mistake}。"
    ends = [key for key, e in catalogue.items() if "." in key
            and not key.startswith(("check.", "summary.", "compare.", "name."))
            and e["zh"].rstrip().endswith(("。", ".", "你"))]
    assert ends == []


def test_the_chinese_uses_full_width_punctuation_outside_code() -> None:
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    half_width = []
    for key, entry in catalogue.items():
        prose = "".join(entry["zh"].split("`")[0::2])
        for mark in ("，", "：", "；"):
            prose = prose.replace(mark, "")
        # A half-width comma, colon or semicolon right after a Chinese character.
        if any(a >= "\u4e00" and b in ",:;" for a, b in zip(prose, prose[1:], strict=False)):
            half_width.append(key)
    assert half_width == []


def _masked_softmax_inverted(scores, mask):
    """Lesson 03's masked softmax written with the mask the wrong way round (as a learner
    would: masked positions kept, allowed ones set to -inf; a row left empty gives zeros)."""
    kept = np.where(mask, -np.inf, scores)
    top = kept.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(np.isfinite(kept), np.exp(kept - top), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def _first_line_of_check(answer) -> str:
    with pytest.raises(CheckFailed) as failure:
        checks.exercise("l03_masked_softmax", answer)
    return str(failure.value).splitlines()[0]


def test_a_wrong_answer_is_told_in_english_by_default() -> None:
    assert messages.language() == "en"
    line = _first_line_of_check(_masked_softmax_inverted)
    assert line.startswith("It looks like you used the mask the wrong way round")


def test_a_wrong_answer_is_told_in_chinese(chinese: None) -> None:
    line = _first_line_of_check(_masked_softmax_inverted)
    entry = json.loads(CATALOGUE.read_text(encoding="utf-8"))[
        "l03_masked_softmax.inverted_mask"]
    assert line == "看起来你" + entry["zh"] + "。"
    assert not line.isascii()


def test_an_unknown_language_falls_back_to_english() -> None:
    before = messages.language()
    try:
        for code in ("fr", "../zh", "ZH-cn", ""):
            messages.set_language(code)
            assert messages.say("check.value_correct", name="x") == "✓ x: correct."
            line = _first_line_of_check(_masked_softmax_inverted)
            assert line.startswith("It looks like you used the mask the wrong way round")
    finally:
        messages.set_language(before)


def test_a_stale_translation_falls_back_to_english(chinese: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry translating English that has since changed is not said."""
    assert messages.say("check.value_correct", name="x") == "✓ x：正确。"
    monkeypatch.setitem(messages.MESSAGES, "check.value_correct", "✓ {name}: right.")
    assert messages.say("check.value_correct", name="x") == "✓ x: right."
    mistake = "l03_sdpa.no_scale"
    english = english_messages()[mistake]
    assert messages.say(mistake, english) != english
    assert messages.say(mistake, english + " (changed)") == english + " (changed)"


def test_the_language_can_come_from_the_environment() -> None:
    found = messages.language_from_environment
    assert found({"COURSE_LANG": "zh"}) == "zh"
    assert found({"COURSE_LANG": "zh_CN.UTF-8"}) == "zh"
    assert found({"COURSE_LANG": "zh-CN"}) == "zh"
    assert found({"COURSE_LANG": ""}) is None
    assert found({"LANG": "zh_CN.UTF-8"}) is None  # the system's LANG is not the course's


def test_a_fresh_kernel_with_course_lang_speaks_chinese(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = ("from course_lib.notebook import messages; "
            "print(messages.language(), messages.say('check.value_correct', name='f'))")
    env = {**os.environ, "COURSE_LANG": "zh_CN.UTF-8"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True, cwd=tmp_path).stdout
    assert out.strip() == "zh ✓ f：正确。"


def test_progress_recognises_a_blank_answer_in_either_language(chinese: None) -> None:
    """``course progress`` reads the kernel's first line: "not written yet" in Chinese too."""
    chinese_line = messages.say("check.not_written", name="stable_softmax")
    assert chinese_line.startswith("stable_softmax 还没有写")
    messages.set_language("en")
    english_line = messages.say("check.not_written", name="stable_softmax")
    assert messages.matches("check.not_written", chinese_line)
    assert messages.matches("check.not_written", english_line)
    assert not messages.matches("check.not_written", messages.say("check.passed", name="f",
                                                                  trials=5))


def test_course_progress_counts_a_chinese_blank_answer_as_not_written(chinese: None) -> None:
    import nbformat

    from course_tools import progress

    test_cell = nbformat.v4.new_code_cell("checks.exercise('l00_softmax', stable_softmax)")
    test_cell.outputs = [nbformat.v4.new_output(
        "error", ename="CheckFailed", traceback=[],
        evalue=messages.say("check.not_written", name="stable_softmax"))]
    assert progress._status(test_cell, []) == ("not written yet", "")
