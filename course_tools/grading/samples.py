"""Made-up submissions for the grader's benchmark: a class of correct, partial, blank, broken
and cheating notebooks, built from a lesson's source notebook."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from course_tools import notebooks

__all__ = ["with_answers", "sample_class"]


def with_answers(nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose answer cells (by grade_id) hold the given sources."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def sample_class(source: Path, size: int = 30) -> dict[str, tuple[str, nbformat.NotebookNode]]:
    """``student -> (kind, notebook)``: ``size`` submissions of one lesson, in a fixed mix of
    a third correct, partial answers, blank, broken (syntax error, exception, ``sys.exit``,
    a crash, an endless loop) and cheating (patched checks, the reference called)."""
    nb = notebooks.read(source)
    blank = notebooks.student_version(nb)
    answers = {cell.metadata.nbgrader.grade_id: notebooks.solution_code(cell.source)
               for cell in nb.cells if notebooks.is_answer_cell(cell)}
    ids = list(answers)
    first = ids[0]
    def broken(code: str) -> nbformat.NotebookNode:
        return with_answers(blank, {**answers, first: code})

    kinds = {
        "correct": lambda i: with_answers(blank, answers),
        "partial": lambda i: with_answers(blank, {g: answers[g] for g in ids[: 1 + i % 2]}),
        "blank": lambda i: blank,
        "syntax-error": lambda i: broken("def broken(:\n"),
        "exception": lambda i: broken("import not_a_module\n" + answers[first]),
        "sys-exit": lambda i: broken("import sys\nsys.exit()\n"),
        "crash": lambda i: broken("import os\nos._exit(1)\n"),
        "endless-loop": lambda i: broken("while True:\n    pass\n"),
        "patched-checks": lambda i: broken(
            "checks.check_function = lambda *a, **k: print('passed')\n"),
    }
    mix = (["correct"] * 10 + ["partial"] * 5 + ["blank"] * 4 + ["syntax-error", "exception",
           "sys-exit", "crash", "endless-loop"] + ["patched-checks"] * 5)
    return {f"s{i:02d}_{kind}": (kind, kinds[kind](i)) for i, kind in
            enumerate((mix * (size // len(mix) + 1))[:size])}
