"""``course grade SUBMISSIONS/ --out RESULTS/``: grade a class, write a score table and feedback.

``SUBMISSIONS/<student>/<lesson>.ipynb`` are read, never written. Every file gets a row:
submissions are graded (see :mod:`course_tools.grade_session`) in parallel, one grading
worker per available core, each running one single-threaded student kernel at a time;
files that are not submissions (empty, not JSON, a name that is no lesson, extra files) and
lessons a student did not hand in get a row with their own status. Writes

- ``scores.csv``: student, lesson, points per exercise, total, max, status, message;
- ``exercises.csv``: one row per student, lesson and exercise, with the check's message;
- ``feedback/<student>.md``: what each student reads: points, the visible checks' messages
  (never the hidden tests' code, nor the grader's paths).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import re
import secrets
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import nbformat

from course_lib.core.machine import available_cores
from course_tools import notebooks
from course_tools.grade_kernel_client import Limits
from course_tools.grade_session import SEVERITY, ExerciseResult, SubmissionResult

__all__ = ["grade_class", "discover", "read_submission", "write_results", "available_cores"]

_WORKER: dict = {}


def discover(submissions: Path, lessons: dict[str, Path], expected: list[str] | None = None
             ) -> tuple[list[tuple[str, str, Path]], list[SubmissionResult]]:
    """``(jobs, rows)``: the files to grade as ``(student, lesson, path)``, and a row for
    everything else (extra files, unknown lesson names, missing lessons)."""
    jobs: list[tuple[str, str, Path]] = []
    rows: list[SubmissionResult] = []
    names = sorted(lessons)
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            rows.append(_row("-", entry.name, "extra-file", "a file outside any student "
                             "folder: expected SUBMISSIONS/<student>/<lesson>.ipynb"))
            continue
        for item in sorted(entry.iterdir()):
            if item.name.startswith("."):
                continue  # .ipynb_checkpoints and other hidden files
            if item.name in lessons and item.is_file():
                jobs.append((entry.name, item.name, item))
            elif item.suffix == ".ipynb":
                hint = [n for n in names if n[:2] == item.name[:2]]
                rows.append(_row(entry.name, item.name, "unknown-lesson",
                                 f"{item.name} is not a lesson of this course"
                                 + (f": rename it {hint[0]}" if hint else
                                    f"; lessons are {', '.join(names)}")))
            else:
                rows.append(_row(entry.name, item.name, "extra-file",
                                 "not a lesson notebook: ignored"))
    students = sorted({p.name for p in submissions.iterdir() if p.is_dir()
                       and not p.name.startswith(".")})
    wanted = expected if expected is not None else sorted({lesson for _, lesson, _ in jobs})
    handed_in = {(student, lesson) for student, lesson, _ in jobs}
    for student in students:
        for lesson in wanted:
            if (student, lesson) not in handed_in:
                rows.append(_row(student, lesson, "missing", "no submission for this lesson"))
    return jobs, rows


def _row(student: str, lesson: str, status: str, message: str) -> SubmissionResult:
    return SubmissionResult(student, lesson, problems=[(status, message)])


def read_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str, str]:
    """``(notebook, status, message)``; the notebook is ``None`` when it cannot be graded."""
    data = path.read_bytes()
    if not data.strip():
        return None, "empty-file", "the file is empty"
    try:
        text = data.decode("utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, "invalid-notebook", f"not a notebook: the file is not valid JSON ({error})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, "invalid-notebook", "not a notebook: the JSON has no list of cells"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # any nbformat complaint: the file is not a usable notebook
        return None, "invalid-notebook", f"not a notebook nbformat can read ({error})"
    return nb, "ok", ""


def _init_worker(seed: int, source: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["TQDM_DISABLE"] = "1"
    import torch

    torch.set_num_threads(1)
    from course_tools import grade_session

    grade_session.install_seed(seed)
    os.chdir(source)  # lessons read their files relative to notebooks/
    _WORKER["lessons"] = {}


def _grade_job(student: str, lesson_name: str, path: str, source: str,
               limits: Limits) -> SubmissionResult:
    from course_tools import grade_session

    start = time.monotonic()
    nb, status, message = read_submission(Path(path))
    if nb is None:
        return _row(student, lesson_name, status, message)
    lessons = _WORKER["lessons"]
    if lesson_name not in lessons:
        lessons[lesson_name] = grade_session.Lesson(Path(source) / lesson_name)
    try:
        result = grade_session.grade(lessons[lesson_name], nb, student, limits)
    except Exception as error:  # the grader's own bug: one row, the class goes on
        result = _row(student, lesson_name, "grader-error", f"{type(error).__name__}: {error}")
    result.seconds = time.monotonic() - start
    return result


def grade_class(submissions: Path, out: Path, *, source: Path = Path("notebooks"),
                lessons: list[str] | None = None, jobs: int | None = None,
                limits: Limits | None = None, seed: int | None = None,
                quiet: bool = False) -> list[SubmissionResult]:
    """Grade every submission under ``submissions`` and write the results to ``out``."""
    source, submissions, out = source.resolve(), submissions.resolve(), out.resolve()
    available = {path.name: path for path in notebooks.lesson_paths(source)}
    expected = None
    if lessons:
        expected = [name for name in sorted(available)
                    if name in lessons or name[:2] in {n.zfill(2) for n in lessons}]
    todo, rows = discover(submissions, available, expected)
    todo.sort(key=lambda job: (job[1], job[0]))
    limits = limits or Limits()
    seed = secrets.randbelow(2 ** 31) if seed is None else seed
    workers = max(1, min(jobs or available_cores(), len(todo) or 1))
    start = time.monotonic()
    context = multiprocessing.get_context("spawn")
    results: list[SubmissionResult] = []
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(seed, str(source))) as pool:
        futures = [(job, pool.submit(_grade_job, job[0], job[1], str(job[2]), str(source),
                                     limits)) for job in todo]
        for (student, lesson, _), future in futures:
            try:
                results.append(future.result())
            except (BrokenProcessPool, Exception) as error:
                results.append(_row(student, lesson, "grader-error",
                                    f"the grading worker failed: {type(error).__name__}"))
            if not quiet:
                row = results[-1]
                print(f"{row.student:<16} {row.lesson:<30} {row.total:>5g}/{row.max_points:<4g}"
                      f" {row.status:<16} {row.seconds:5.1f} s", flush=True)
    rows = sorted(results + rows, key=lambda r: (r.student, r.lesson))
    write_results(rows, out)
    if not quiet:
        counts = Counter(row.status for row in rows)
        print(f"graded {len(todo)} submissions in {time.monotonic() - start:.1f} s with "
              f"{workers} workers; statuses: "
              + ", ".join(f"{s} {counts[s]}" for s in SEVERITY if counts[s]))
        print(f"wrote {out / 'scores.csv'}, {out / 'exercises.csv'} and {out / 'feedback'}/")
    return rows


def write_results(rows: list[SubmissionResult], out: Path) -> None:
    """``scores.csv``, ``exercises.csv`` and ``feedback/<student>.md`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    for row in sorted(rows, key=lambda r: r.lesson):
        for exercise in row.exercises:
            if exercise.grade_id not in columns:
                columns.append(exercise.grade_id)
    with open(out / "scores.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "lesson", *columns, "total", "max", "status", "message"])
        for row in rows:
            points = {e.grade_id: f"{e.points:g}" for e in row.exercises}
            writer.writerow([row.student, row.lesson, *(points.get(c, "") for c in columns),
                             f"{row.total:g}", f"{row.max_points:g}", row.status,
                             " ".join(row.message.split())])
    with open(out / "exercises.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "lesson", "exercise", "points", "max", "status", "message"])
        for row in rows:
            for e in row.exercises:
                writer.writerow([row.student, row.lesson, e.grade_id, f"{e.points:g}",
                                 f"{e.max_points:g}", e.status, e.message])
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for student in sorted({row.student for row in rows if row.student != "-"}):
        text = _feedback([row for row in rows if row.student == student], student)
        (feedback / f"{_safe(student)}.md").write_text(text, encoding="utf-8")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"


def _feedback(rows: list[SubmissionResult], student: str) -> str:
    lines = [f"# Feedback for {student}", ""]
    for row in rows:
        lines += [f"## {row.lesson}: {row.total:g} / {row.max_points:g} points", ""]
        if row.status != "ok":
            lines += [f"Status: **{row.status}**", ""]
        for _, message in row.problems:
            if not any(message.startswith(f"{e.grade_id}:") for e in row.exercises):
                lines.append(f"- {message}")
        for exercise in row.exercises:
            lines += _exercise_feedback(exercise)
        lines.append("")
    return "\n".join(lines)


def _exercise_feedback(exercise: ExerciseResult) -> list[str]:
    verdict = "passed" if exercise.status == "passed" else exercise.status
    lines = [f"- **{exercise.grade_id}** ({exercise.points:g} / {exercise.max_points:g}): "
             f"{verdict}"]
    for line in exercise.feedback:
        for part in line.splitlines():
            lines.append(f"    {part}")
    return lines


def main(args: object) -> int:
    """The ``course grade`` sub-command (arguments parsed by ``course_tools.cli``)."""
    limits = Limits(cell_cpu=args.cell_timeout, submission=args.timeout,
                    memory=args.memory_mb * 1024 * 1024)
    if not args.submissions.is_dir():
        print(f"course grade: {args.submissions} is not a folder of student folders",
              file=sys.stderr)
        return 2
    grade_class(args.submissions, args.out, source=args.source, lessons=args.lessons,
                jobs=args.jobs, limits=limits, seed=args.seed)
    return 0
