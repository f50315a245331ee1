"""The language of the notebook the kernel runs, so that feedback speaks the lesson's language.

A Chinese copy of a lesson (``course release --lang zh``, ``make lab LANG=zh``) carries
``metadata.course.language = "zh"``; its code cells are the English ones byte for byte, so
the code cannot say which edition it runs in. :func:`notebook_language` asks, in order:

1. ``COURSE_LANG`` in the environment (a grader or a test sets it; ``zh``, ``zh_CN.UTF-8``,
   ``en``: read by :func:`course_lib.notebook.messages.language_from_environment`);
2. the notebook this kernel was started for: Jupyter's server passes its path to the
   kernel as ``JPY_SESSION_NAME``; the notebook's metadata gives its language;
3. English.

:func:`use_notebook_language` (called by ``setup_notebook``, the first cell of every lesson,
and by the out-of-order feedback extension, which the course's kernel loads at start) makes
the exercise checks and that feedback speak that language (:mod:`course_lib.notebook.messages`;
the Chinese texts are ``course_lib/notebook/translations/zh.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from course_lib.notebook import messages

__all__ = ["LANGUAGES", "notebook_language", "use_notebook_language"]

LANGUAGES = ("en", "zh")
_MAX_BYTES = 50_000_000   # a notebook larger than this is not read (a lesson is ~1 MB)


def notebook_language(environ: Mapping[str, str] | None = None) -> str:
    """``"en"`` or ``"zh"``: the language feedback should use (see the module doc). A value
    that is not a known language counts as English; an unreadable notebook too."""
    environ = os.environ if environ is None else environ
    chosen = messages.language_from_environment(environ)
    if chosen:
        return chosen if chosen in LANGUAGES else "en"
    session = environ.get("JPY_SESSION_NAME", "")
    found = _metadata_language(Path(session)) if session.endswith(".ipynb") else None
    return found if found in LANGUAGES else "en"


def _metadata_language(path: Path) -> str | None:
    """``metadata.course.language`` of the notebook at ``path`` (relative paths are taken
    from the kernel's folder, the notebook's own); None when it cannot be read."""
    try:
        if not path.is_absolute():
            path = Path.cwd() / path.name
        if path.stat().st_size > _MAX_BYTES:
            return None
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        language = metadata.get("course", {}).get("language")
    except (OSError, ValueError, AttributeError):
        return None
    return language if isinstance(language, str) else None


def use_notebook_language(environ: Mapping[str, str] | None = None) -> str:
    """Make feedback speak :func:`notebook_language`; returns that language."""
    code = notebook_language(environ)
    messages.set_language(code)
    return code
