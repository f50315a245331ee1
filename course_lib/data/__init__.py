"""Data for the lessons: everything is generated or ships with Python (no downloads needed).
Imports no model and no training code.

Modules: ``vocab`` (token <-> id), ``synthetic`` (copy, reversal, long-range and recall
tasks), ``dates`` (date translation, English and Chinese formats), ``text`` (character
corpora and windows), ``toys`` (lesson 01's reviews and spirals), ``diary`` (diary stories
with a counting question, lesson 03), ``digits`` (8x8 digit images, lesson 08), ``shapes``
(toy VQA scenes, lesson 08), ``incontext`` (repeated random spans and few-shot prompts,
lesson 10), ``arithmetic`` (addition with and without a scratchpad, lesson 10).
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["vocab", "synthetic", "dates", "text", "toys", "diary", "digits", "shapes",
               "incontext", "arithmetic"]
__all__ = list(_SUBMODULES)
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, {})
