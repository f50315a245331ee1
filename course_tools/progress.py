"""``course progress``: which exercises of the learner's own copies pass their visible checks.

Runs, in a fresh kernel, only the cells the exercises need: every answer and test cell, and
the set-up cells that define the names they use, found from the code by the analyser the
grader uses (:mod:`course_tools.cells`), so progress and ``course grade`` run the same cells
for an exercise and a new lesson needs no configuration. The learner's notebooks are read,
never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_tools import cells, notebooks

__all__ = ["Row", "cell_names", "exercise_cells", "setup_cell", "lesson_progress",
           "format_table"]


def _python(source: str) -> str:
    """Cell source as plain Python (IPython magics turned into calls)."""
    return cells.python_source(source)


def cell_names(source: str) -> tuple[set[str], set[str]]:
    """``(defined, used)`` top-level names of a code cell (see :func:`cells.cell_names`)."""
    return cells.source_names(source)


def setup_cell(nb: nbformat.NotebookNode) -> int | None:
    """Index of the lesson's setup cell: the first code cell that imports ``course_lib``."""
    for index, cell in notebooks.code_cells(nb):
        if "course_lib" in cell.source and "import" in cell.source:
            return index
    return None


def exercise_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells the exercises need, in notebook order: the answer and test
    cells and the set-up cells that define the names they use (see
    :func:`cells.exercise_cells`: the cells ``course grade`` runs)."""
    return cells.exercise_cells(nb)


@dataclass
class Row:
    """One exercise's result."""

    lesson: str
    exercise: str
    points: float
    status: str  # "passed", "not written yet", or "failed: <first line of the message>"


def lesson_progress(path: str | Path, *, timeout: int = 300) -> list[Row]:
    """Run the exercise cells of the notebook at ``path`` in a new kernel; one row per test."""
    from course_tools.execute import execute

    path = Path(path)
    nb = notebooks.read(path)
    keep = exercise_cells(nb)
    nb.cells = [nb.cells[i] for i in keep]
    notebooks.clean(nb)
    execute(nb, path.parent, timeout=timeout, allow_errors=True)
    rows = []
    for _, cell in notebooks.code_cells(nb):
        if not notebooks.is_test_cell(cell):
            continue
        grading = cell.metadata.nbgrader
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if not errors:
            status = "passed"
        elif "not written yet" in errors[0].evalue:
            status = "not written yet"
        else:
            first = (errors[0].evalue.strip().splitlines() or [errors[0].ename])[0]
            status = f"failed: {first[:70]}"
        rows.append(Row(path.stem, grading.grade_id.removesuffix("_test"),
                        grading.get("points", 0), status))
    return rows


def format_table(rows: list[Row]) -> str:
    """The progress table, with points earned per lesson and overall."""
    lines = [f"{'lesson':<24} {'exercise':<28} {'points':>6}  result", "-" * 78]
    for row in rows:
        earned = row.points if row.status == "passed" else 0
        lines.append(f"{row.lesson:<24} {row.exercise:<28} {earned:>2g}/{row.points:<3g}  "
                     f"{'✓ ' if row.status == 'passed' else '  '}{row.status}")
    total = sum(r.points for r in rows)
    earned = sum(r.points for r in rows if r.status == "passed")
    done = sum(r.status == "passed" for r in rows)
    lines += ["-" * 78, f"{done} of {len(rows)} exercises passed, {earned:g} of {total:g} points"]
    return "\n".join(lines)
