"""Every lesson runs top to bottom: executed once per test session with the course's
executor (``course_tools.execute``), its executed copy written to ``build/executed/`` for
the deck and site tests that follow (fixture ``executed_lesson`` in ``tests/conftest.py``).

As ``nbval --nbval-lax`` did: an error in any cell fails (with the cell's index, id and
traceback), outputs are not compared with stored ones, cells tagged ``gpu`` are skipped
where CUDA is absent. The lessons' learning targets are asserts in their cells, so a lesson
that stops teaching what it claims fails here. One lesson: ``pytest tests/test_lessons.py
-k 03``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_tools import notebooks

ROOT = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(ROOT / "notebooks")


@pytest.mark.lessons
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs(executed_lesson, path: Path) -> None:
    executed = notebooks.read(executed_lesson(path.name, fresh=True))
    not_run = [i for i, cell in notebooks.code_cells(executed) if cell.execution_count is None]
    assert not not_run, f"{path.name}: code cells {not_run} did not run"
