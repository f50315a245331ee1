"""Draft a lesson notebook from Python, with the course's cell metadata filled in.

Usage (in a throw-away build script, e.g. build/drafts/make_03.py)::

    import sys; (run from the repository root)
    from course_tools.nbtools import md, code, notes, answer, grader_test, write_notebook

    cells = [
        md("# 03 · What attention is", slide="slide"),
        notes("Start with the coffee-shop story."),
        code("import course_lib\\ncourse_lib.notebook.setup_notebook()"),
        answer("l03_softmax",
               "def softmax(x):\\n    ### BEGIN SOLUTION\\n    ...\\n    ### END SOLUTION"),
        grader_test("l03_softmax_test", 2, "from course_lib import checks\\n..."),
    ]
    write_notebook("notebooks/03_attention_basics.ipynb", cells)

The notebook is the source of truth once written; this module only saves typing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_tools.notebooks import SLIDE_TYPES, SOLUTION_BEGIN, SOLUTION_END


def _meta(slide: str, tags: tuple[str, ...] | list[str] = ()) -> dict:
    if slide not in SLIDE_TYPES:
        raise ValueError(f"slide: expected one of {sorted(SLIDE_TYPES)}, got {slide!r}")
    meta: dict = {"slideshow": {"slide_type": slide}}
    if tags:
        meta["tags"] = list(tags)
    return meta


def md(text: str, slide: str = "-", tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """A markdown cell (default: continues the current slide)."""
    return new_markdown_cell(text.strip("\n"), metadata=_meta(slide, tags))


def notes(text: str) -> nbformat.NotebookNode:
    """Speaker notes for the slide before it."""
    return new_markdown_cell(text.strip("\n"), metadata=_meta("notes"))


def code(src: str, slide: str = "-", tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """A code cell (tags such as ``gpu`` go in ``tags``)."""
    return new_code_cell(src.strip("\n"), metadata=_meta(slide, tags))


def answer(grade_id: str, src: str, slide: str = "-") -> nbformat.NotebookNode:
    """An nbgrader answer cell: the solution sits between BEGIN/END SOLUTION markers."""
    if SOLUTION_BEGIN not in src or SOLUTION_END not in src:
        raise ValueError(f"answer {grade_id!r}: source needs ### BEGIN/END SOLUTION markers")
    cell = code(src, slide=slide)
    cell.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": grade_id,
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    return cell


def grader_test(grade_id: str, points: int, src: str, slide: str = "-") -> nbformat.NotebookNode:
    """An nbgrader autograded test cell (locked, worth ``points``)."""
    if points <= 0:
        raise ValueError(f"grader_test {grade_id!r}: points must be > 0, got {points}")
    cell = code(src, slide=slide)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": points,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    return cell


def write_notebook(path: str | Path, cells: list[nbformat.NotebookNode]) -> None:
    """Validate and save a notebook with the course's kernel metadata and no outputs."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
