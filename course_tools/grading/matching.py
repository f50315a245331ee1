"""A submission's answers and test cells, matched to its lesson's.

Answers are found by their nbgrader ``grade_id``, or, when a cell lost its metadata (copied
into a new cell), by the names it defines. Test cells always come from the source notebook;
a submission whose test cells were deleted or edited is noted (``tests-restored``).
"""

from __future__ import annotations

from typing import Any

import nbformat

from course_tools import cells, notebooks
from course_tools.cells import CodeCell
from course_tools.grading.lesson import Lesson
from course_tools.grading.status import Status

__all__ = ["locate_answers", "restored_test_notes"]

Note = tuple[Status, str]


def locate_answers(lesson: Lesson, submission: nbformat.NotebookNode
                   ) -> tuple[dict[str, tuple[str, str]], list[Note]]:
    """``grade_id -> (source, how)`` of the submission's answers (``how``: ``id`` or
    ``names``), and notes for the row."""
    by_id: dict[str, Any] = {}
    for cell in submission.cells:
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and grading.get("grade_id"):
            by_id.setdefault(grading["grade_id"], cell)
    found: dict[str, tuple[str, str]] = {}
    notes: list[Note] = []
    for exercise in lesson.exercises:
        for answer in exercise.answers:
            cell = by_id.get(answer.grade_id)
            if cell is not None:
                found[answer.grade_id] = (str(cell.get("source", "")), "id")
                continue
            match = _answer_by_names(answer, submission)
            if match is not None:
                found[answer.grade_id] = (match, "names")
                notes.append((Status.OK, f"answer {answer.grade_id} found by its function "
                                         "names (its cell had lost nbgrader's metadata)"))
    return found, notes


def _answer_by_names(answer: CodeCell, submission: nbformat.NotebookNode) -> str | None:
    wanted = set(answer.defined)
    for cell in submission.cells:
        if cell.get("cell_type") != "code" or cell.get("metadata", {}).get("nbgrader"):
            continue
        defined, _ = cells.source_names(str(cell.get("source", "")))
        if wanted and wanted <= defined:
            return str(cell.get("source", ""))
    return None


def restored_test_notes(lesson: Lesson, submission: nbformat.NotebookNode) -> list[Note]:
    """A ``tests-restored`` note for each test cell the submission deleted or edited."""
    by_id = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"): cell
             for cell in submission.cells}
    notes = []
    for exercise in lesson.exercises:
        cell = by_id.get(exercise.grade_id)
        source = lesson.nb.cells[exercise.test.index].source
        released = notebooks.strip_hidden_tests(source)
        if cell is None:
            notes.append((Status.TESTS_RESTORED, f"test cell {exercise.grade_id} was deleted; "
                                                 "graded with the course's copy"))
        elif _same_code(str(cell.get("source", ""))) not in (_same_code(source),
                                                              _same_code(released)):
            notes.append((Status.TESTS_RESTORED, f"test cell {exercise.grade_id} was edited; "
                                                 "graded with the course's copy"))
    return notes


def _same_code(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines() if line.strip())
