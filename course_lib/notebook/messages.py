"""Every sentence an exercise check says, keyed, so that each can be translated.

A message has an id (``"check.not_written"``, ``"l03_sdpa.k_dot_T"``) and an English text
with ``{fields}``. :func:`say` picks the text in the notebook's language (set once per
notebook with :func:`set_language`; :mod:`course_lib.notebook.language` does it from the
notebook's own metadata), falling back to English where no translation exists.
The generic messages of :mod:`course_lib.notebook.checks` are in :data:`MESSAGES`; each
exercise's mistakes carry their own id and English text (see :mod:`course_lib.exercises`).
A translation catalogue is a dict ``{id: text}`` registered with :func:`add_translations`.

The Chinese edition ships in the package as ``translations/zh.json`` (next to this module):
``{id: {"en": <the English text it translates>, "zh": <the Chinese>}}``. It is read the first
time ``set_language("zh")`` is called, and an entry is said only while its ``"en"`` equals
the message's current English: a translation of an English text that has since changed
(a stale entry) falls back to the English, so a learner is never told something outdated.
``tests/test_messages_zh.py`` lists the missing and stale entries.

The language can also come from the environment: ``COURSE_LANG=zh`` (``zh_CN.UTF-8`` and
``zh-CN`` work too) makes every message Chinese from the moment this module is imported, so a
Chinese learner copy, release or lab (``make lab LANG=zh``, ``course ... --lang zh``) only has
to set that variable for the kernel, or call ``set_language(language_from_environment())``.
An unknown language says everything in English.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = ["MESSAGES", "say", "set_language", "language", "add_translations",
           "translations", "catalogue", "language_from_environment", "ENVIRONMENT_VARIABLE",
           "matches"]

# The environment variable that picks the language of a kernel (e.g. ``COURSE_LANG=zh``).
ENVIRONMENT_VARIABLE = "COURSE_LANG"

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
# The shipped catalogues, read once per language: {code: {id: (english, translation)}}.
_CATALOGUES: dict[str, dict[str, tuple[str, str]]] = {}
_state = {"language": "en"}
# A language code names a file of the package: letters only, never a path.
_CODE = re.compile(r"[a-z]{2,3}")


def set_language(code: str) -> None:
    """Say every later message in language ``code`` ("en", "zh", ...) where translated."""
    _state["language"] = code
    catalogue(code)


def language_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The language ``COURSE_LANG`` asks for (``"zh"`` for ``zh``, ``zh-CN``, ``zh_CN.UTF-8``),
    or None where it is unset or empty. Call ``set_language`` with it to follow it later."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "")
    code = re.split(r"[-_.@]", value.strip(), maxsplit=1)[0].lower()
    return code or None


def catalogue(code: str) -> dict[str, tuple[str, str]]:
    """The shipped catalogue of language ``code``, ``{id: (english, translation)}``, read
    from ``translations/<code>.json`` the first time it is asked for ({} where there is none
    or it cannot be read: the messages are then English)."""
    if code not in _CATALOGUES:
        _CATALOGUES[code] = _read_catalogue(code)
    return _CATALOGUES[code]


def _read_catalogue(code: str) -> dict[str, tuple[str, str]]:
    if not _CODE.fullmatch(code) or code == "en":
        return {}
    try:
        path = resources.files(__package__).joinpath("translations", f"{code}.json")
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {key: (entry["en"], entry[code]) for key, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get("en"), str)
            and isinstance(entry.get(code), str)}


def language() -> str:
    """The language messages are said in now."""
    return _state["language"]


def add_translations(code: str, texts: dict[str, str]) -> None:
    """Register translated texts ``{message id: text}`` for language ``code``."""
    _TRANSLATIONS.setdefault(code, {}).update(texts)


def translations(code: str) -> dict[str, str]:
    """The translated texts registered for ``code`` (a copy)."""
    return dict(_TRANSLATIONS.get(code, {}))


def matches(key: str, text: str) -> bool:
    """Whether ``text`` contains message ``key`` (of :data:`MESSAGES`) as said in English or
    in a shipped translation, whatever its fields: how a tool that reads a kernel's output
    (``course progress``) recognises "not written yet" in every language."""
    english = MESSAGES[key]
    templates = [english] + [translation for code in _shipped_languages()
                             for en, translation in [catalogue(code).get(key, ("", ""))]
                             if en == english]
    return any(re.search(_pattern(template), text) for template in templates)


def _shipped_languages() -> list[str]:
    folder = resources.files(__package__).joinpath("translations")
    try:
        return sorted(entry.name[:-5] for entry in folder.iterdir()
                      if entry.name.endswith(".json"))
    except OSError:
        return []


def _pattern(template: str) -> str:
    """A regular expression for ``template`` with any text in place of each field."""
    return "".join(re.escape(literal) + (".*?" if name is not None else "")
                   for literal, name, _, _ in string.Formatter().parse(template))


class _Missing(dict):
    """Format fields: a field a message names but was not given shows as ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def say(key: str, default: str | None = None, **fields: Any) -> str:
    """The text of message ``key`` in the current language, with ``fields`` filled in.

    ``default`` is the English text of a message not in :data:`MESSAGES` (an exercise's
    mistake). A translation that does not format (a wrong field name) falls back to English.
    A registered translation (:func:`add_translations`) comes first; then the shipped
    catalogue's, only where it translates this very English text (else it is stale).
    """
    english = MESSAGES.get(key, default if default is not None else key)
    code = _state["language"]
    template = _TRANSLATIONS.get(code, {}).get(key)
    if template is None:
        translated_from, translation = catalogue(code).get(key, (None, english))
        template = translation if translated_from == english else english
    for text in (template, english):
        try:
            return string.Formatter().vformat(text, (), _Missing(fields))
        except (ValueError, TypeError, KeyError, IndexError):
            continue
    return english


_from_environment = language_from_environment()
if _from_environment:
    set_language(_from_environment)
