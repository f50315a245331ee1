"""Grading one submission: the trusted side of ``course grade``.

:func:`grade` takes a parsed submission and its :class:`~course_tools.grading.lesson.Lesson`.
Its answer cells (only those, after the lesson's set-up cells they need) run in a fresh
sandboxed kernel (:class:`~course_tools.grading.session.Session`); the test cells, taken from
the source notebook, run here, where each name an answer defines is a proxy that calls the
learner's function in the kernel on the inputs the test chose and brings the result back as
data. The checks, the references and the comparison never run in the learner's kernel, and
the inputs come from a seed chosen for this run. This process never runs or imports a
submission's code: it reads its cells as text and its results as data.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat

from course_lib.notebook import checks, messages
from course_tools import cells, notebooks
from course_tools.grading import answers as answer_checks
from course_tools.grading.kernel_client import KernelStopped, Limits
from course_tools.grading.lesson import Exercise, Lesson, quiet_exec
from course_tools.grading.matching import locate_answers, restored_test_notes
from course_tools.grading.protocol import RemoteFunction
from course_tools.grading.results import ExerciseResult, SubmissionResult
from course_tools.grading.sandbox import Sandbox
from course_tools.grading.session import Session
from course_tools.grading.status import Status

__all__ = ["grade"]

REPO = Path(__file__).resolve().parents[2]
Flags = dict[str, list[tuple[Status, str]]]


def grade(lesson: Lesson, submission: nbformat.NotebookNode, student: str, limits: Limits, *,
          sandbox: Sandbox | None, log_dir: Path | None = None,
          hidden: list[str] | None = None) -> SubmissionResult:
    """Grade one parsed submission of ``lesson``; never raises for a submission's sake.

    ``sandbox`` is ``None`` only for trusted files (``--no-sandbox``); ``hidden`` lists the
    folders the kernel's guard refuses to read (the submissions, the results...).
    """
    start = time.monotonic()
    result = SubmissionResult(student, lesson.name, sandboxed=sandbox is not None,
                              language=submission_language(submission))
    if lesson.error:
        result.problems.append((Status.GRADER_ERROR, lesson.error))
        result.exercises = [ExerciseResult(e.grade_id, 0, e.points, Status.GRADER_ERROR,
                                           lesson.error) for e in lesson.exercises]
        return result
    cpu = time.process_time()
    with _feedback_language(submission):
        result.cpu_seconds = _grade(lesson, submission, limits, result, start, sandbox,
                                    log_dir, hidden)
    result.cpu_seconds += time.process_time() - cpu
    result.seconds = time.monotonic() - start
    for exercise in result.exercises:
        exercise.message = _scrub(exercise.message)
        exercise.feedback = [_scrub(line) for line in exercise.feedback]
    result.problems = [(status, _scrub(message)) for status, message in result.problems]
    return result


def submission_language(submission: nbformat.NotebookNode) -> str:
    """``"zh"`` for a Chinese copy or release (``metadata.course.language = "zh"``), else
    ``"en"``: only these two values are taken from a student's file."""
    metadata = submission.get("metadata")
    course = metadata.get("course") if isinstance(metadata, dict) else None
    lang = course.get("language") if isinstance(course, dict) else None
    return lang if lang in ("en", "zh") else "en"


@contextlib.contextmanager
def _feedback_language(submission: nbformat.NotebookNode) -> Iterator[None]:
    """The checks' messages in the submission's language (:func:`submission_language`); the
    score table's status codes stay English."""
    before = messages.language()
    messages.set_language(submission_language(submission))
    try:
        yield
    finally:
        messages.set_language(before)


def _scrub(text: str) -> str:
    """Keep the grader's paths out of what a student reads."""
    for path in (str(REPO), str(Path.home()), tempfile.gettempdir()):
        if path and len(path) > 1:
            text = text.replace(path, "…")
    return text


def _check_answers(lesson: Lesson, found: dict[str, tuple[str, str]], flags: Flags
                   ) -> tuple[list[tuple[str, str]], list[tuple[int, set[str]]]]:
    """Read each answer cell (never run it here): flag what it may not do; return the
    answers to run, ``(grade_id, source)``, and the names they need from set-up cells."""
    runnable: list[tuple[str, str]] = []
    wanted: list[tuple[int, set[str]]] = []
    for exercise in lesson.exercises:
        for answer in exercise.answers:
            if answer.grade_id not in found:
                flags[exercise.grade_id].append((Status.MISSING_ANSWER, f"the answer cell "
                                                 f"{answer.grade_id} is missing"))
                continue
            source = found[answer.grade_id][0]
            try:
                tree = cells.parse(source)
            except SyntaxError as error:
                flags[exercise.grade_id].append((Status.SYNTAX_ERROR, f"your answer cell "
                                                 f"{answer.grade_id} has a syntax error: "
                                                 f"{error.msg} (line {error.lineno})"))
                continue
            flags[exercise.grade_id] += answer_checks.answer_problems(
                tree, forbidden=exercise.forbidden, library_names=lesson.library_names)
            flags[exercise.grade_id] += answer_checks.copies(tree, exercise.reference_bodies)
            defined, used = cells.cell_names(tree)
            wanted.append((answer.index, used - defined))
            runnable.append((answer.grade_id, source))
    return runnable, wanted


def _grade(lesson: Lesson, submission: nbformat.NotebookNode, limits: Limits,
           result: SubmissionResult, start: float, sandbox: Sandbox | None,
           log_dir: Path | None, hidden: list[str] | None) -> float:
    """Fill ``result``; return the CPU seconds the kernels used."""
    found, notes = locate_answers(lesson, submission)
    result.problems += notes + restored_test_notes(lesson, submission)
    exercise_of = {a.grade_id: e for e in lesson.exercises for a in e.answers}
    flags: Flags = {e.grade_id: [] for e in lesson.exercises}
    runnable, wanted = _check_answers(lesson, found, flags)
    boot = [lesson.by_index[i].source for i in lesson.needed_setup(wanted)]

    def flag(gid: str, status: Status, message: str) -> None:
        entry = (status, message)
        if entry not in flags[exercise_of[gid].grade_id]:
            flags[exercise_of[gid].grade_id].append(entry)

    session = Session(limits, start + limits.submission, boot, runnable, flag,
                      sandbox=sandbox, log_dir=log_dir, hidden=hidden)
    try:
        session.start()
    except KernelStopped as stopped:
        session.close()
        result.problems.append((Status(stopped.kind),
                                f"the kernel could not start: {stopped.message}"))
    except RuntimeError as error:
        session.close()
        result.problems.append((Status.GRADER_ERROR, str(error)))
    names = sorted(lesson.answer_names)
    try:
        for exercise in lesson.exercises:
            result.exercises.append(_grade_exercise(lesson, exercise, session, names,
                                                    flags[exercise.grade_id]))
    finally:
        session.close()
    for exercise in result.exercises:
        if exercise.status not in (Status.PASSED, Status.FAILED):
            result.problems.append((exercise.status, f"{exercise.grade_id}: {exercise.message}"))
    return session.kernel_cpu


def _grade_exercise(lesson: Lesson, exercise: Exercise, session: Session, names: list[str],
                    flags: list[tuple[Status, str]]) -> ExerciseResult:
    result = ExerciseResult(exercise.grade_id, 0, exercise.points)
    if exercise.problem:
        result.status, result.message = Status.GRADER_ERROR, exercise.problem
        return result
    blocking = [f for f in flags if f[0].blocks_points]
    if blocking:
        return _blocked(result, blocking)
    if session.kernel is None:
        result.status, result.message = Status.CRASH, "the kernel is not running"
        return result
    namespace = lesson.namespace_for(exercise)
    for name in names:
        namespace[name] = RemoteFunction(session, name)
    session.begin_exercise(exercise.forbidden)
    try:
        failure = _run_tests(exercise, namespace, result)
    except KernelStopped as stopped:
        result.status, result.message = Status(stopped.kind), stopped.message
        result.feedback.append(f"grading stopped: {stopped.message}")
        try:
            session.start()
        except (KernelStopped, RuntimeError):
            session.close()
        return result
    if session.refused:
        return _blocked(result, [(Status.SANDBOX, f"your answer {refused}")
                                 for refused in dict.fromkeys(session.refused)])
    if session.used:
        used = ", ".join(dict.fromkeys(session.used))
        result.status = Status.USES_REFERENCE
        result.message = f"your answer called {used}, the course_lib code this exercise " \
                         "asks you to write"
        result.feedback.append(result.message)
        return result
    other = [message for _, message in flags]
    if failure is None:
        result.status, result.points = Status.PASSED, exercise.points
        result.message = "; ".join(other)
    else:
        result.message = "; ".join([failure] + other)
        result.feedback.append(failure)
        statuses = [status for status, _ in flags if status in (Status.EXIT,
                                                                Status.ANSWER_ERROR)]
        if statuses:
            result.status = min(statuses, key=lambda s: s.severity)
    return result


def _blocked(result: ExerciseResult, blocking: list[tuple[Status, str]]) -> ExerciseResult:
    """0 points: the exercise's most severe point-blocking status, every message."""
    result.status = min((status for status, _ in blocking), key=lambda s: s.severity)
    result.message = "; ".join(message for _, message in blocking)
    result.feedback.append(result.message)
    return result


def _run_tests(exercise: Exercise, namespace: dict[str, Any], result: ExerciseResult
               ) -> str | None:
    """Run the source test cell here, part by part; the first failure's message (``None``:
    passed). The visible parts' printed lines become feedback."""
    for hidden, code in notebooks.split_hidden_tests(exercise.test.source):
        try:
            printed = quiet_exec(code, namespace, f"<test {exercise.grade_id}>")
        except KernelStopped:
            raise
        except Exception as error:
            return _failure(hidden, error)
        if not hidden:
            result.feedback += [line for line in printed.splitlines() if line.strip()]
    return None


def _failure(hidden: bool, error: BaseException) -> str:
    if hidden:
        return "passed the visible checks but failed a hidden test"
    message = str(error).strip()
    if isinstance(error, checks.CheckFailed) and message:
        return message
    if isinstance(error, AssertionError):
        return f"a check failed{': ' + message if message else ''}"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
