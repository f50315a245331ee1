"""Helpers shared by the tests of the decks and of the website (both built from lessons,
both with KaTeX and the CJK font from the decks' npm lock)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

NPM_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "slides-npm"


def grading(grade_id: str, answer: bool) -> dict:
    """nbgrader metadata of an answer cell (``answer``) or of its test cell."""
    return {"nbgrader": {"grade": not answer, "grade_id": grade_id, "locked": not answer,
                         "schema_version": 3, "solution": answer, "task": False,
                         **({} if answer else {"points": 1})}}


def need_npm() -> None:
    """Skip (fail under CI) where npm is missing and the assets are not cached yet."""
    if shutil.which("npm") is None and not (NPM_CACHE / "node_modules").is_dir():
        message = ("the decks' and the site's assets install with npm: Debian/Ubuntu `sudo "
                   "apt-get install npm`, macOS `brew install node`")
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
