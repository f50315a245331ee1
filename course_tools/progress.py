"""``course progress``: which exercises of the learner's own copies pass their visible checks.

Runs, in a fresh kernel, only the cells the exercises need: the lesson's setup cell, every
answer and test cell, and the cells that define names those use (found from the code, so a
new lesson needs no configuration). The learner's notebooks are read, never written.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_tools import notebooks

__all__ = ["Row", "cell_names", "exercise_cells", "setup_cell", "lesson_progress",
           "format_table"]

BUILTINS = set(dir(builtins)) | {"get_ipython", "display", "__file__"}


def _python(source: str) -> str:
    """Cell source as plain Python (IPython magics turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def cell_names(source: str) -> tuple[set[str], set[str]]:
    """``(defined, used)`` top-level names of a code cell; ``used`` excludes names the cell
    defines before using them (roughly: any name it binds) and Python's builtins."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set(), set()
    defined: set[str] = set()
    for node in tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if sub in tree.body:
                    defined.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                defined |= {(a.asname or a.name).split(".")[0] for a in sub.names}
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                defined.add(sub.id)
    local: set[str] = set()
    for sub in ast.walk(tree):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            local |= {a.arg for a in ast.walk(sub.args) if isinstance(a, ast.arg)}
        elif isinstance(sub, ast.comprehension):
            local |= {n.id for n in ast.walk(sub.target) if isinstance(n, ast.Name)}
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            local.add(sub.id)
    used = {sub.id for sub in ast.walk(tree) if isinstance(sub, ast.Name)
            and isinstance(sub.ctx, ast.Load)}
    return defined, used - defined - local - BUILTINS


def setup_cell(nb: nbformat.NotebookNode) -> int | None:
    """Index of the lesson's setup cell: the first code cell that imports ``course_lib``."""
    for index, cell in notebooks.code_cells(nb):
        if "course_lib" in cell.source and "import" in cell.source:
            return index
    return None


def exercise_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells the exercises need, in notebook order: the setup cell, the
    answer and test cells, and (transitively) the latest earlier cell defining each name
    they use."""
    names = {index: cell_names(cell.source) for index, cell in notebooks.code_cells(nb)}
    wanted = {i for i, c in notebooks.code_cells(nb)
              if notebooks.is_answer_cell(c) or notebooks.is_test_cell(c)}
    setup = setup_cell(nb)
    if setup is not None:
        wanted.add(setup)
    todo = sorted(wanted)
    while todo:
        index = todo.pop()
        for name in names[index][1]:
            source = next((j for j in sorted(names, reverse=True)
                           if j < index and name in names[j][0]), None)
            if source is not None and source not in wanted:
                wanted.add(source)
                todo.append(source)
    return sorted(wanted)


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
