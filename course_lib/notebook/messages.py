"""Every sentence an exercise check says, keyed, so that each can be translated.

A message has an id (``"check.not_written"``, ``"l03_sdpa.k_dot_T"``) and an English text
with ``{fields}``. :func:`say` picks the text in the notebook's language (set once per
notebook with :func:`set_language`: :mod:`course_lib.notebook.language` does it from the
notebook's metadata, and registers the Chinese texts of
:mod:`course_lib.notebook.messages_zh`), falling back to English where no translation exists.
The generic messages of :mod:`course_lib.notebook.checks` are in :data:`MESSAGES`; each
exercise's mistakes carry their own id and English text (see :mod:`course_lib.exercises`).
A translation catalogue is a dict ``{id: text}`` registered with :func:`add_translations`.
"""

from __future__ import annotations

import string
from typing import Any

__all__ = ["MESSAGES", "say", "set_language", "language", "add_translations",
           "translations"]

MESSAGES: dict[str, str] = {
    "check.passed": "✓ {name}: passed {trials} random tests.",
    "check.not_callable": "expected a function, got {got}",
    "check.not_written": ("{name} is not written yet: replace `raise NotImplementedError()` "
                          "with your code."),
    "check.failed": "{name} failed random test {trial} of {trials}: {problem}",
    "check.failed_with": "{name} failed random test {trial} of {trials} ({inputs}): {problem}",
    "check.inputs": "(inputs: {inputs})",
    "check.looks_like": "It looks like you {mistake}.",
    "check.raised": "{name} raised {error}",
    "check.uses_reference": (
        "{name} calls {used}, the course_lib function this exercise asks you to write: "
        "write it yourself (`course grade` gives such an answer 0 points, 'uses-reference')."),
    "check.unknown_exercise": "no exercise named {exercise!r} (known: {known})",
    "check.answer_count": ("{exercise} checks {expected} function(s) ({names}), "
                           "got {given}"),
    "check.value_correct": "✓ {name}: correct.",
    "check.true_passed": "✓ {name}: passed.",
    "check.true_failed": "{name}: {message}",
    "summary.title": "Your exercises in this lesson, as last checked in this session:",
    "summary.not_checked": "not checked yet: run its test cell",
    "summary.total": ("{done} of {total} passed. `make progress` in a terminal shows every "
                      "lesson."),
    "compare.expected_items": "{what}: expected a {kind} of {count} items, got {got}",
    "compare.item_count": "{what}: expected a {kind} of {count} items, got {given}; {first}",
    "compare.missing_item": "{what} is missing (expected {expected})",
    "compare.extra_item": "{what} is one too many (got {got})",
    "compare.got_none": "{what}: got None. Did you forget a `return` statement?",
    "compare.got_sequence": ("{what}: got a {kind} of {count} items ({items}) where one "
                             "{expected} is expected: return that one value alone"),
    "compare.type": "{what}: expected {expected}, got {got}",
    "compare.shape": "{what}: expected shape {expected}, got {got}",
    "compare.shape_swapped": " (the last two axes are swapped)",
    "compare.shape_same_size": " (the same number of elements, arranged differently)",
    "compare.value": "{what}: expected {expected!r}, got {got!r}",
    "compare.bool": ("{what}: expected a bool array (True/False), got dtype {dtype}. Masks are "
                     "bool: compare (e.g. `j <= i`) instead of building 0/1 numbers."),
    "compare.not_finite": ("{what}: {count} of {size} values are NaN or inf where the expected "
                           "values are finite, the first at index {index} (got {got}, "
                           "expected {expected:.6g})"),
    "compare.differ": ("{what}: {count} of {size} values differ, the first at index {index} "
                       "(got {got:.6g}, expected {expected:.6g})"),
    "compare.differ_scalar": "{what}: got {got:.6g}, expected {expected:.6g}",
    "compare.transposed": ". Your result is the transpose of the expected one",
    "compare.ratio": ". Every value is {ratio:.4g} times the expected one",
    "compare.integers": ". Your values are integers (dtype {dtype})",
    # course_lib.notebook.feedback: a cell run out of order
    "name.not_defined": "✗ NameError: name '{name}' is not defined",
    "name.run_setup": ("`{name}` is not defined: run the lesson's setup cell first (the first "
                       "code cell; it imports course_lib and calls setup_notebook), then this "
                       "cell again."),
    "name.run_answer": ("`{name}` is not defined: run the answer cell above first (the cell "
                        "that defines `{name}`), then this test cell again."),
    "name.run_above": ("`{name}` is not defined yet: run the cells above this one first "
                       "(Run → Run All Above Selected Cell), then this cell again."),
}

_TRANSLATIONS: dict[str, dict[str, str]] = {}
_state = {"language": "en"}


def set_language(code: str) -> None:
    """Say every later message in language ``code`` ("en", "zh", ...) where translated."""
    _state["language"] = code


def language() -> str:
    """The language messages are said in now."""
    return _state["language"]


def add_translations(code: str, texts: dict[str, str]) -> None:
    """Register translated texts ``{message id: text}`` for language ``code``."""
    _TRANSLATIONS.setdefault(code, {}).update(texts)


def translations(code: str) -> dict[str, str]:
    """The translated texts registered for ``code`` (a copy)."""
    return dict(_TRANSLATIONS.get(code, {}))


class _Missing(dict):
    """Format fields: a field a message names but was not given shows as ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def say(key: str, default: str | None = None, **fields: Any) -> str:
    """The text of message ``key`` in the current language, with ``fields`` filled in.

    ``default`` is the English text of a message not in :data:`MESSAGES` (an exercise's
    mistake). A translation that does not format (a wrong field name) falls back to English.
    """
    english = MESSAGES.get(key, default if default is not None else key)
    template = _TRANSLATIONS.get(_state["language"], {}).get(key, english)
    for text in (template, english):
        try:
            return string.Formatter().vformat(text, (), _Missing(fields))
        except (ValueError, TypeError, KeyError, IndexError):
            continue
    return english
