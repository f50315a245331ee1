"""Run every student version (all answers left blank) and check the lessons still run.

Writes student versions with `course release`, executes each with errors allowed, and fails
if any cell other than an exercise's answer or test cell raises: later cells must never
depend on a learner's answer, and a blank submission must be graded, not crash the lesson.
Cells tagged `gpu` are skipped without CUDA. Takes about as long as `make course`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat

from course_tools import notebooks
from course_tools.cli import main as course
from course_tools.execute import execute

OUT = Path("build/release")


def broken_cells(path: Path) -> list[str]:
    """Errors in the student version of ``path`` outside its exercise cells."""
    nb = nbformat.read(path, as_version=4)
    execute(nb, Path("notebooks"), allow_errors=True)
    problems = []
    for index, cell in notebooks.code_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors and not (notebooks.is_answer_cell(cell) or notebooks.is_test_cell(cell)):
            problems.append(f"{path.name} cell {index}: {errors[0].ename}: {errors[0].evalue}")
    return problems


def main() -> int:
    course(["release", "--out", str(OUT)])
    problems = []
    for path in sorted(OUT.glob("*.ipynb")):
        start = time.perf_counter()
        found = broken_cells(path)
        problems += found
        print(f"{path.name:<32} {time.perf_counter() - start:6.1f} s  "
              f"{'ok' if not found else f'{len(found)} broken cells'}", flush=True)
    print("\n".join(problems) or "every lesson runs with blank answers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
