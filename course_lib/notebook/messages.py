"""The sentences exercise checks and the out-of-order feedback say, each under an id, so that
an edition in another language can say them in its language.

:data:`MESSAGES` holds the English text of each id, with ``{fields}``. :func:`say` fills in
the text of the current language (:func:`set_language`; :mod:`course_lib.notebook.language`
sets it from the notebook's own language), or the English where that language has no text
for the id. A language's texts are a dict ``{id: text}`` given to :func:`add_translations`
(the Chinese ones: :mod:`course_lib.notebook.messages_zh`).
"""

from __future__ import annotations

import string
from typing import Any

__all__ = ["MESSAGES", "add_translations", "language", "say", "set_language", "translations"]

MESSAGES: dict[str, str] = {
    "check.passed": "✓ {name}: passed {trials} random tests.",
    "check.not_callable": "expected a function, got {got}",
    "check.not_written": ("{name} is not written yet: replace `raise NotImplementedError()` "
                          "with your code."),
    "check.failed_on": "{name} failed on random test {trial} of {trials} (inputs: {inputs}).",
    "check.looks_like": "It looks like you {mistake}.",
    "check.raised_with": "{name} raised {error}\n(called with {inputs})",
    "check.value_correct": "✓ {name}: correct.",
    "check.true_passed": "✓ {name}: passed.",
    "check.true_failed": "{name}: {message}",
    "summary.title": "Your exercises in this lesson, as last checked in this session:",
    "summary.not_checked": "not checked yet: run its test cell",
    "summary.total": ("{done} of {total} passed. `make progress` in a terminal shows every "
                      "lesson."),
    "compare.expected_items": "{what}: expected a {kind} of {count} items, got {got}",
    "compare.got_none": "{what}: got None. Did you forget a `return` statement?",
    "compare.type": "{what}: expected {expected}, got {got}",
    "compare.shape": "{what}: expected shape {expected}, got {got}",
    "compare.shape_transpose_hint": " (the last two axes look swapped: a missing or extra "
                                    "transpose?)",
    "compare.shape_reshape_hint": " (same number of elements: a reshape or a missing axis?)",
    "compare.value": "{what}: expected {expected!r}, got {got!r}",
    "compare.bool": ("{what}: expected a bool array (True/False), got dtype {dtype}. Masks are "
                     "bool: compare (e.g. `j <= i`) instead of building 0/1 numbers."),
    "compare.not_finite_hint": (
        "{what}: {count} of {size} values are NaN or inf, first at index {index} (got {got}, "
        "expected {expected:.6g}). Subtracting the max before exp, or guarding a division by "
        "zero, usually fixes this."),
    "compare.largest_error": ("{what}: values differ; largest error {error:.3g} at index "
                              "{index} (got {got:.6g}, expected {expected:.6g})"),
    "compare.transposed_sentence": ". Your result is the transpose of the expected one.",
    "compare.scale_hint": (". Every value is {ratio:.4g} times the expected one: a missing or "
                           "extra scale factor?"),
    "compare.integer_hint": (" Your values are integers (dtype {dtype}): an integer division, "
                             "or a missing float conversion?"),
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
    """Say later messages in language ``code`` ("en", "zh"), where it has a text."""
    _state["language"] = code


def language() -> str:
    """The language messages are said in now."""
    return _state["language"]


def add_translations(code: str, texts: dict[str, str]) -> None:
    """Add the texts ``{message id: text}`` of language ``code``."""
    _TRANSLATIONS.setdefault(code, {}).update(texts)


def translations(code: str) -> dict[str, str]:
    """A copy of the texts added for language ``code``."""
    return dict(_TRANSLATIONS.get(code, {}))


class _KeepUnknown(dict):
    """Fields for ``format_map``: one the text names but the caller did not give stays
    ``{name}`` rather than raise."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def say(key: str, default: str | None = None, **fields: Any) -> str:
    """Message ``key`` in the current language with ``fields`` filled in. ``default`` is the
    English of an id not in :data:`MESSAGES`; a translated text that does not format (a
    field it names with a wrong format) gives way to the English."""
    english = MESSAGES.get(key, key if default is None else default)
    text = _TRANSLATIONS.get(_state["language"], {}).get(key, english)
    for template in (text, english):
        try:
            return string.Formatter().vformat(template, (), _KeepUnknown(fields))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
    return english
