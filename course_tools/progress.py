"""``make progress`` (``course progress``): which exercises of the learner's own copies pass
their visible checks.

Runs, in a fresh kernel per lesson (several lessons at a time, with a progress bar), only the
cells the exercises need: every answer and test cell, and the set-up cells that define the
names they use, found from the code by the analyser the grader uses
(:mod:`course_tools.cells`), so progress and ``course grade`` run the same cells for an
exercise and a new lesson needs no configuration. The report names each exercise as its
notebook does ("Exercise 4 · fixed_attention") and prints the check's diagnosis under a
failed one. The learner's notebooks are read, never written.
"""

from __future__ import annotations

import contextlib
import os
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.notebook import messages
from course_tools import cells, notebooks

__all__ = ["Row", "cell_names", "exercise_cells", "setup_cell", "exercise_numbers",
           "lesson_progress", "run_lessons", "format_table"]


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
    """One exercise's result, named as the notebook names it."""

    lesson: str               # the notebook's file stem, "03_attention_basics"
    exercise: str             # the answer cell's grade_id, "l03_bug_hunt"
    points: float
    status: str               # "passed", "not written yet", or "failed"
    number: int = 0           # "Exercise 4" in the notebook
    names: tuple[str, ...] = ()   # the functions the answer cell defines: ("fixed_attention",)
    message: str = ""         # the diagnosis: the first line of the check's message

    @property
    def title(self) -> str:
        """``Exercise 4 · fixed_attention``."""
        return f"Exercise {self.number} · {', '.join(self.names) or self.exercise}"


def exercise_numbers(nb: nbformat.NotebookNode) -> dict[str, int]:
    """``grade_id -> N`` for the "Exercise N" heading before each answer cell (counted in
    order where a lesson does not number its exercises)."""
    numbers: dict[str, int] = {}
    heading: int | None = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = re.search(r"Exercise\s+(\d+)", cell.source)
            if found:
                heading = int(found.group(1))
        elif notebooks.is_answer_cell(cell):
            gid = cell.metadata.nbgrader.grade_id
            numbers[gid] = heading if heading is not None and heading not in \
                numbers.values() else len(numbers) + 1
    return numbers


def _status(test: nbformat.NotebookNode, answers: list[nbformat.NotebookNode]
            ) -> tuple[str, str]:
    """``(status, message)`` of one exercise from its executed cells."""
    for answer in answers:
        errors = [o for o in answer.get("outputs", []) if o.output_type == "error"]
        if errors:
            return "failed", (f"your answer cell raised {errors[0].ename}: "
                              f"{_first_line(errors[0].evalue)}")
    errors = [o for o in test.get("outputs", []) if o.output_type == "error"]
    if not errors:
        return "passed", ""
    first = _first_line(errors[0].evalue) or errors[0].ename
    if messages.matches("check.not_written", first):  # in the notebook's language
        return "not written yet", ""
    if errors[0].ename not in ("CheckFailed", "AssertionError"):
        first = f"{errors[0].ename}: {first}"
    return "failed", first


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


@contextlib.contextmanager
def _kernel_language(nb: nbformat.NotebookNode) -> Iterator[None]:
    """The kernel started inside speaks the copy's language (``metadata.course.language``,
    which a Chinese copy carries) unless ``COURSE_LANG`` already says one."""
    course = nb.metadata.get("course")
    lang = course.get("language") if isinstance(course, dict) else None
    if lang not in ("en", "zh") or messages.ENVIRONMENT_VARIABLE in os.environ:
        yield
        return
    os.environ[messages.ENVIRONMENT_VARIABLE] = lang
    try:
        yield
    finally:
        del os.environ[messages.ENVIRONMENT_VARIABLE]


def lesson_progress(path: str | Path, *, timeout: int = 300) -> list[Row]:
    """Run the exercise cells of the notebook at ``path`` in a new kernel; one row per test."""
    from course_tools.execute import execute

    path = Path(path)
    nb = notebooks.read(path)
    numbers = exercise_numbers(nb)
    keep = exercise_cells(nb)
    nb.cells = [nb.cells[i] for i in keep]
    notebooks.clean(nb)
    with _kernel_language(nb):
        execute(nb, path.parent, timeout=timeout, allow_errors=True)
    rows, answers = [], []
    for _, cell in notebooks.code_cells(nb):
        if notebooks.is_answer_cell(cell):
            answers.append(cell)
            continue
        if not notebooks.is_test_cell(cell):
            continue
        status, message = _status(cell, answers)
        gid = answers[-1].metadata.nbgrader.grade_id if answers else \
            cell.metadata.nbgrader.grade_id.removesuffix("_test")
        names = tuple(n for a in answers for n in re.findall(r"^def (\w+)", a.source,
                                                              re.MULTILINE))
        rows.append(Row(path.stem, gid, cell.metadata.nbgrader.get("points", 0), status,
                        numbers.get(gid, len(rows) + 1), names, message))
        answers = []
    return rows


def run_lessons(paths: list[Path], *, timeout: int = 300, workers: int | None = None,
                show: bool = True) -> list[Row]:
    """:func:`lesson_progress` of each lesson, several at a time (one kernel each, driven from
    fresh worker processes: a forked one could inherit a lock of a kernel client's thread),
    with a progress bar; rows in course order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    workers = max(1, min(workers or (os.cpu_count() or 1), len(paths), 4))
    results: dict[Path, list[Row]] = {}
    with tqdm(total=len(paths), desc="checking your exercises", unit="lesson",
              disable=not show, leave=False) as bar, \
            ProcessPoolExecutor(max_workers=workers,
                                mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(lesson_progress, path, timeout=timeout): path for path in paths}
        for future in as_completed(futures):
            path = futures[future]
            try:
                results[path] = future.result()
            except Exception as error:  # a lesson that cannot run is a row, not a crash
                results[path] = [Row(path.stem, "(lesson)", 0, "failed", 0, (),
                                     f"could not run: {type(error).__name__}: {error}")]
            bar.set_postfix_str(path.stem)
            bar.update()
    return [row for path in paths for row in results[path]]


def format_table(rows: list[Row], width: int = 100) -> str:
    """The progress report: one line per exercise (named as in the notebook), the diagnosis
    under each failed one, points per lesson and overall."""
    lines: list[str] = []
    lesson = None
    for row in rows:
        if row.lesson != lesson:
            lesson = row.lesson
            number, _, topic = lesson.partition("_")
            earned = sum(r.points for r in rows if r.lesson == lesson and r.status == "passed")
            total = sum(r.points for r in rows if r.lesson == lesson)
            lines.append(f"{number} · {topic.replace('_', ' ')}  ({earned:g}/{total:g} points)")
        mark = {"passed": "✓", "not written yet": "·"}.get(row.status, "✗")
        earned = row.points if row.status == "passed" else 0
        result = "passed" if row.status == "passed" else row.status
        lines.append(f"  {mark} {row.title:<44} {earned:>2g}/{row.points:<3g} {result}")
        if row.message:
            lines += textwrap.wrap(row.message, width, initial_indent="      ",
                                   subsequent_indent="      ")
    total = sum(r.points for r in rows)
    earned = sum(r.points for r in rows if r.status == "passed")
    done = sum(r.status == "passed" for r in rows)
    lines += ["", f"{done} of {len(rows)} exercises passed, {earned:g} of {total:g} points"]
    return "\n".join(lines)
