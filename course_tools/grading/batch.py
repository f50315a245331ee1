"""Grading a class: ``SUBMISSIONS/<student>/<lesson>.ipynb`` in, a score table and feedback out.

Every file gets a row. Before any kernel starts, every submission is read once, into
memory, with its SHA-256 (the files are never opened again, and never for writing); the
grading workers (one per available core, each running one sandboxed kernel at a time) get
the bytes, not the paths. Files that are not submissions (empty, not JSON, a name that is no
lesson, extra files) and lessons a student did not hand in get a row with their own status.
The grader alone writes the results, each file atomically (written aside, then renamed):

- ``scores.csv``: student, lesson, points per exercise, total, max, status, message, sandbox;
- ``exercises.csv``: one row per student, lesson and exercise, with the check's message;
- ``feedback/<student>.md``: what each student reads: points, the visible checks' messages
  (never the hidden tests' code, nor the grader's paths), in the submission's language;
- ``manifest.json``: the seed, whether kernels were sandboxed, and the SHA-256 of every file
  graded and of the source notebooks, so a result can be traced to the bytes it graded. A
  rerun into the same folder reuses its seed, so the same files give the same table.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import io
import json
import multiprocessing
import os
import re
import secrets
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.core.machine import available_cores
from course_tools import notebooks
from course_tools.grading.kernel_client import Limits
from course_tools.grading.results import ExerciseResult, SubmissionResult, row
from course_tools.grading.sandbox import Sandbox, hidden_folders
from course_tools.grading.status import Status

__all__ = ["Submission", "grade_class", "discover", "parse_submission", "write_results",
           "available_cores", "MANIFEST"]

MANIFEST = "manifest.json"
_WORKER: dict = {}


@dataclass(frozen=True)
class Submission:
    """A file to grade, read once: its bytes and their SHA-256."""

    student: str
    lesson: str
    data: bytes
    sha256: str


def _read_once(path: Path) -> tuple[bytes, str]:
    with open(path, "rb") as handle:  # read-only, once
        data = handle.read()
    return data, hashlib.sha256(data).hexdigest()


def discover(submissions: Path, lessons: dict[str, Path], expected: list[str] | None = None
             ) -> tuple[list[Submission], list[SubmissionResult]]:
    """``(jobs, rows)``: the files to grade, read into memory with their digest, and a row for
    everything else (extra files, unknown lesson names, missing lessons)."""
    jobs: list[Submission] = []
    rows: list[SubmissionResult] = []
    names = sorted(lessons)
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir() or entry.is_symlink():
            rows.append(row("-", entry.name, Status.EXTRA_FILE, "a file outside any student "
                            "folder: expected SUBMISSIONS/<student>/<lesson>.ipynb"))
            continue
        for item in sorted(entry.iterdir()):
            if item.name.startswith("."):
                continue  # .ipynb_checkpoints and other hidden files
            if item.name in lessons and item.is_file() and not item.is_symlink():
                data, digest = _read_once(item)
                jobs.append(Submission(entry.name, item.name, data, digest))
            elif item.suffix == ".ipynb":
                hint = [n for n in names if n[:2] == notebooks.lesson_number(item.name)]
                rows.append(row(entry.name, item.name, Status.UNKNOWN_LESSON,
                                f"{item.name} is not a lesson of this course"
                                + (f": rename it {hint[0]}" if hint else
                                   f"; lessons are {', '.join(names)}")))
            else:
                rows.append(row(entry.name, item.name, Status.EXTRA_FILE,
                                "not a lesson notebook: ignored"))
    students = sorted({p.name for p in submissions.iterdir() if p.is_dir()
                       and not p.name.startswith(".") and not p.is_symlink()})
    wanted = expected if expected is not None else sorted({job.lesson for job in jobs})
    handed_in = {(job.student, job.lesson) for job in jobs}
    for student in students:
        for lesson in wanted:
            if (student, lesson) not in handed_in:
                rows.append(row(student, lesson, Status.MISSING, "no submission for this "
                                                                 "lesson"))
    return jobs, rows


def parse_submission(data: bytes) -> tuple[nbformat.NotebookNode | None, Status, str]:
    """``(notebook, status, message)`` from a file's bytes; the notebook is ``None`` when it
    cannot be graded. Parsing only: nothing in the file runs."""
    if not data.strip():
        return None, Status.EMPTY_FILE, "the file is empty"
    try:
        text = data.decode("utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, Status.INVALID_NOTEBOOK, f"not a notebook: the file is not valid JSON " \
                                              f"({error})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, Status.INVALID_NOTEBOOK, "not a notebook: the JSON has no list of cells"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # any nbformat complaint: the file is not a usable notebook
        return None, Status.INVALID_NOTEBOOK, f"not a notebook nbformat can read ({error})"
    return nb, Status.OK, ""


def _init_worker(seed: int, source: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["TQDM_DISABLE"] = "1"
    import torch

    torch.set_num_threads(1)
    from course_tools.grading import lesson

    lesson.install_seed(seed)
    os.chdir(source)  # lessons read their files relative to notebooks/
    _WORKER["lessons"] = {}
    _WORKER["logs"] = Path(tempfile.mkdtemp(prefix="course-grade-logs-"))
    atexit.register(shutil.rmtree, _WORKER["logs"], True)


def _grade_job(job: Submission, source: str, limits: Limits, sandbox: Sandbox | None,
               hidden: list[str]) -> SubmissionResult:
    from course_tools.grading import grader, lesson

    start = time.monotonic()
    nb, status, message = parse_submission(job.data)
    if nb is None:
        return row(job.student, job.lesson, status, message, sha256=job.sha256,
                   sandboxed=sandbox is not None)
    lessons = _WORKER["lessons"]
    if job.lesson not in lessons:
        lessons[job.lesson] = lesson.Lesson(Path(source) / job.lesson)
    try:
        result = grader.grade(lessons[job.lesson], nb, job.student, limits, sandbox=sandbox,
                              log_dir=_WORKER["logs"], hidden=hidden)
    except Exception as error:  # the grader's own bug: one row, the class goes on
        result = row(job.student, job.lesson, Status.GRADER_ERROR,
                     f"{type(error).__name__}: {error}",
                     language=grader.submission_language(nb))
    result.sha256, result.sandboxed = job.sha256, sandbox is not None
    result.seconds = time.monotonic() - start
    return result


def _previous_seed(out: Path) -> int | None:
    try:
        return int(json.loads((out / MANIFEST).read_text(encoding="utf-8"))["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def grade_class(submissions: Path, out: Path, *, source: Path = Path("notebooks"),
                lessons: list[str] | None = None, jobs: int | None = None,
                limits: Limits | None = None, seed: int | None = None,
                sandbox: Sandbox | None = None, quiet: bool = False) -> list[SubmissionResult]:
    """Grade every submission under ``submissions`` and write the results to ``out``.

    ``sandbox`` (from :func:`course_tools.grading.sandbox.find`, probed by the caller) is
    ``None`` only for trusted files. ``seed``: the checks' inputs; by default the seed of an
    earlier run into ``out``, else a new one.
    """
    source, submissions, out = source.resolve(), submissions.resolve(), out.resolve()
    available = {path.name: path for path in notebooks.lesson_paths(source)}
    expected = None
    if lessons:
        expected = [p.name for p in notebooks.resolve_lessons(lessons, source)]
    todo, rows = discover(submissions, available, expected)
    todo.sort(key=lambda job: (job.lesson, job.student))
    limits = limits or Limits()
    seed = seed if seed is not None else _previous_seed(out)
    seed = secrets.randbelow(2 ** 31) if seed is None else seed
    hidden = hidden_folders(submissions, out, source)
    workers = max(1, min(jobs or available_cores(), len(todo) or 1))
    start = time.monotonic()
    context = multiprocessing.get_context("spawn")
    results: list[SubmissionResult] = []
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(seed, str(source))) as pool:
        futures = [(job, pool.submit(_grade_job, job, str(source), limits, sandbox, hidden))
                   for job in todo]
        for job, future in futures:
            try:
                results.append(future.result())
            except (BrokenProcessPool, Exception) as error:
                results.append(row(job.student, job.lesson, Status.GRADER_ERROR,
                                   f"the grading worker failed: {type(error).__name__}",
                                   sha256=job.sha256, sandboxed=sandbox is not None))
            if not quiet:
                done = results[-1]
                print(f"{done.student:<16} {done.lesson:<30} {done.total:>5g}/"
                      f"{done.max_points:<4g} {done.status:<16} {done.seconds:5.1f} s",
                      flush=True)
    for extra in rows:
        extra.sandboxed = sandbox is not None
    rows = sorted(results + rows, key=lambda r: (r.student, r.lesson))
    write_results(rows, out, manifest=_manifest(rows, seed, sandbox, available, limits))
    if not quiet:
        counts = Counter(row.status for row in rows)
        print(f"graded {len(todo)} submissions in {time.monotonic() - start:.1f} s with "
              f"{workers} workers ({'sandboxed' if sandbox else 'NO SANDBOX'}); statuses: "
              + ", ".join(f"{s} {counts[s]}" for s in Status if counts[s]))
        print(f"wrote {out / 'scores.csv'}, {out / 'exercises.csv'}, {out / 'feedback'}/ and "
              f"{out / MANIFEST}")
    return rows


def _manifest(rows: list[SubmissionResult], seed: int, sandbox: Sandbox | None,
              lessons: dict[str, Path], limits: Limits) -> dict:
    return {
        "seed": seed,
        "sandbox": sandbox.describe() if sandbox else "none (--no-sandbox)",
        "limits": {k: v for k, v in vars(limits).items()},
        "lessons": {name: _read_once(path)[1] for name, path in sorted(lessons.items())},
        "graded": [{"student": r.student, "lesson": r.lesson, "sha256": r.sha256,
                    "status": str(r.status), "total": r.total, "max": r.max_points}
                   for r in rows if r.sha256],
    }


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it into place: a reader sees the old file or
    the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def write_results(rows: list[SubmissionResult], out: Path, manifest: dict | None = None
                  ) -> None:
    """``scores.csv``, ``exercises.csv``, ``feedback/<student>.md`` (and ``manifest.json``)
    under ``out``, each written atomically."""
    columns: list[str] = []
    for result in sorted(rows, key=lambda r: r.lesson):
        for exercise in result.exercises:
            if exercise.grade_id not in columns:
                columns.append(exercise.grade_id)
    scores = [["student", "lesson", *columns, "total", "max", "status", "message", "sandbox"]]
    for result in rows:
        points = {e.grade_id: f"{e.points:g}" for e in result.exercises}
        scores.append([result.student, result.lesson, *(points.get(c, "") for c in columns),
                       f"{result.total:g}", f"{result.max_points:g}", str(result.status),
                       " ".join(result.message.split()),
                       "on" if result.sandboxed else "off (--no-sandbox)"])
    _write_atomically(out / "scores.csv", _csv(scores))
    exercises = [["student", "lesson", "exercise", "points", "max", "status", "message"]]
    for result in rows:
        for e in result.exercises:
            exercises.append([result.student, result.lesson, e.grade_id, f"{e.points:g}",
                              f"{e.max_points:g}", str(e.status), e.message])
    _write_atomically(out / "exercises.csv", _csv(exercises))
    for student in sorted({r.student for r in rows if r.student != "-"}):
        text = _feedback([r for r in rows if r.student == student], student)
        _write_atomically(out / "feedback" / f"{_safe(student)}.md", text)
    if manifest is not None:
        _write_atomically(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"


# The frame of a student's feedback file, in the language of their submission (the checks'
# messages inside it already are); the status codes are the score table's and stay as they are.
FEEDBACK_TEXT: dict[str, dict[str, str]] = {
    "en": {"title": "Feedback for {student}",
           "lesson": "{lesson}: {total:g} / {max:g} points",
           "status": "Status: **{status}** ({meaning})",
           "no_sandbox": "Graded without a sandbox (`--no-sandbox`).",
           "exercise": "- **{grade_id}** ({points:g} / {max:g}): {verdict}",
           "passed": "passed", "failed": "failed",
           "other": "{status} ({meaning})"},
    "zh": {"title": "{student} 的反馈",
           "lesson": "{lesson}：{total:g} / {max:g} 分",
           "status": "状态：**{status}**（{meaning}）",
           "no_sandbox": "未在沙箱中评分（`--no-sandbox`）。",
           "exercise": "- **{grade_id}**（{points:g} / {max:g}）：{verdict}",
           "passed": "通过", "failed": "未通过",
           "other": "{status}（{meaning}）"},
}


def _feedback(rows: list[SubmissionResult], student: str) -> str:
    """The feedback file of one student: each lesson's part in its submission's language,
    the title in Chinese only when every submission is Chinese."""
    languages = {result.language for result in rows}
    title = FEEDBACK_TEXT["zh" if languages == {"zh"} else "en"]["title"]
    lines = [f"# {title.format(student=student)}", ""]
    for result in rows:
        language = result.language if result.language in FEEDBACK_TEXT else "en"
        text = FEEDBACK_TEXT[language]
        lines += ["## " + text["lesson"].format(lesson=result.lesson, total=result.total,
                                                max=result.max_points), ""]
        if result.status is not Status.OK:
            lines += [text["status"].format(status=result.status,
                                            meaning=result.status.meaning_in(language)), ""]
        if not result.sandboxed:
            lines += [text["no_sandbox"], ""]
        for _, message in result.problems:
            if not any(message.startswith(f"{e.grade_id}:") for e in result.exercises):
                lines.append(f"- {message}")
        for exercise in result.exercises:
            lines += _exercise_feedback(exercise, language)
        lines.append("")
    return "\n".join(lines)


def _exercise_feedback(exercise: ExerciseResult, language: str) -> list[str]:
    """The lines of one exercise in the feedback: its points and verdict (a status other
    than passed or failed with its meaning), then the checks' messages."""
    text = FEEDBACK_TEXT[language]
    if exercise.status in (Status.PASSED, Status.FAILED):
        verdict = text[exercise.status.value]
    else:
        verdict = text["other"].format(status=exercise.status,
                                       meaning=exercise.status.meaning_in(language))
    lines = [text["exercise"].format(grade_id=exercise.grade_id, points=exercise.points,
                                     max=exercise.max_points, verdict=verdict)]
    for line in exercise.feedback:
        for part in line.splitlines():
            lines.append(f"    {part}")
    return lines
