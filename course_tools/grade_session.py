"""Grading one submission: the trusted side of ``course grade``.

A :class:`Lesson` is built once per lesson (in each grading worker) from the **source**
notebook: it runs, in the grader's own process, the set-up cells the test cells need (not
the demonstrations), keeps a snapshot of the namespace at each test cell, and calibrates each
exercise by running its test cell against the source solution. Calibration also finds what
each exercise may not use: the course_lib functions its reference calls directly that the
solution does not (traced with a profiler), e.g. ``numpy_ref.masked_softmax`` for the masked
softmax exercise.

:func:`grade` then grades a submission: its answer cells (only those) run in a fresh
:class:`~course_tools.grade_kernel_client.Kernel`; the test cells, taken from the source,
run here, where each name an answer defines is a proxy that calls the learner's function in
the kernel on the inputs the test chose and brings the result back as data. The checks,
the references and the comparison never run in the learner's kernel, and the inputs come from
a seed chosen for this run.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import importlib
import inspect
import io
import pickle
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course_lib.notebook import checks
from course_tools import grade_cells, notebooks
from course_tools.grade_kernel_client import Kernel, KernelStopped, Limits

__all__ = ["Lesson", "Exercise", "ExerciseResult", "SubmissionResult", "grade",
           "SEVERITY", "install_seed"]

COURSE_LIB = str(Path(checks.__file__).resolve().parents[1])  # course_lib/notebook/checks.py
CHECKS_FILE = str(Path(checks.__file__).resolve())
# The exercise catalogues (course_lib/exercises/) hold the checks' references and inputs: like
# the checker, they are looked through, so the frontier is the course_lib code they call.
CATALOGUES = str(Path(checks.__file__).resolve().parents[1] / "exercises") + "/"
REPO = Path(COURSE_LIB).parent

# Row statuses, most severe first: a row shows the first that applies, its message all.
SEVERITY = ["invalid-notebook", "empty-file", "unknown-lesson", "missing", "extra-file",
            "grader-error", "crash", "memory", "timeout", "exit", "syntax-error",
            "answer-error", "uses-reference", "copies-reference", "tampering",
            "missing-answer", "tests-restored", "ok"]


# ---------------------------------------------------------------- the checks, graded

class _State:
    seed = 0
    recorder: _Frontier | None = None


def _graded_check_function(candidate: Any, reference: Any, make_inputs: Any,
                           **kwargs: Any) -> None:
    """``checks.check_function`` with the run's seed (a submission cannot have precomputed
    the answers to inputs it has never seen); while calibrating, the reference is traced."""
    kwargs["seed"] = _State.seed
    recorder = _State.recorder
    if recorder is not None:
        reference = recorder.wrap(reference, recorder.reference)
    return _ORIGINAL_CHECK_FUNCTION(candidate, reference, make_inputs, **kwargs)


_ORIGINAL_CHECK_FUNCTION = checks.check_function


def install_seed(seed: int) -> None:
    """Make every ``check_function`` in this process use ``seed`` (the grader's processes
    only: a learner's kernel never imports the grader)."""
    _State.seed = int(seed)
    checks.check_function = _graded_check_function


class _Frontier:
    """Records which course_lib functions a call reaches first (its "frontier"): calls made
    by notebook code, NumPy or torch into course_lib, not course_lib's calls to itself.
    ``course_lib.notebook.checks`` is the checker and ``course_lib.exercises`` its catalogues,
    not references, so both are looked through."""

    def __init__(self) -> None:
        self.reference: set[tuple[str, str]] = set()
        self.solution: set[tuple[str, str]] = set()

    def wrap(self, function: Any, into: set[tuple[str, str]]) -> Any:
        @functools.wraps(function)
        def traced(*args: Any, **kwargs: Any) -> Any:
            root = sys._getframe()

            def profile(frame: Any, event: str, arg: Any) -> None:
                if event != "call" or not _owned(frame.f_code.co_filename):
                    return
                caller = frame.f_back
                while caller is not None and caller is not root:
                    if _owned(caller.f_code.co_filename):
                        return
                    caller = caller.f_back
                into.add((frame.f_globals.get("__name__", ""), frame.f_code.co_qualname))

            previous = sys.getprofile()
            sys.setprofile(profile)
            try:
                return function(*args, **kwargs)
            finally:
                sys.setprofile(previous)
        return traced


def _owned(filename: str) -> bool:
    return filename.startswith(COURSE_LIB) and filename != CHECKS_FILE and \
        not filename.startswith(CATALOGUES)


# ---------------------------------------------------------------- the lesson

@dataclass
class Cell:
    """A code cell of the source notebook, parsed once."""

    index: int
    source: str
    kind: str                     # "answer", "test", "setup" or "skip"
    grade_id: str | None
    defined: set[str]
    used: set[str]


@dataclass
class Exercise:
    """A test cell and the answer cells it grades."""

    grade_id: str
    points: float
    test: Cell
    answers: list[Cell]
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    reference_bodies: dict[str, str] = field(default_factory=dict)
    problem: str | None = None     # why this exercise cannot be graded (calibration failed)


class Lesson:
    """Everything about one lesson the grader needs, computed from the source notebook."""

    def __init__(self, path: Path) -> None:
        self.path, self.name = path, path.name
        self.nb = notebooks.read(path)
        self.cells = self._parse()
        self.exercises = self._exercises()
        self.answer_names = {name for cell in self.cells if cell.kind == "answer"
                             for name in cell.defined}
        self.library_names = self._library_names()
        self.setup = [(c.index, c.defined, c.used) for c in self.cells if c.kind == "setup"]
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.error: str | None = None
        try:
            self._run_setup()
            for exercise in self.exercises:
                self._calibrate(exercise)
        except Exception as error:  # a broken lesson is a grader error, reported per row
            self.error = f"the lesson's own cells fail in the grader: {type(error).__name__}: " \
                         f"{error}"

    def _parse(self) -> list[Cell]:
        cells = []
        for index, cell in notebooks.code_cells(self.nb):
            grading = cell.get("metadata", {}).get("nbgrader", {})
            if notebooks.is_answer_cell(cell):
                kind = "answer"
            elif notebooks.is_test_cell(cell):
                kind = "test"
            elif "gpu" in notebooks.tags(cell) or "skip-grading" in notebooks.tags(cell):
                kind = "skip"
            else:
                kind = "setup"
            try:
                defined, used = grade_cells.cell_names(grade_cells.parse(cell.source))
            except SyntaxError:
                defined, used = set(), set()
            cells.append(Cell(index, cell.source, kind, grading.get("grade_id"), defined, used))
        return cells

    def _exercises(self) -> list[Exercise]:
        exercises, pending = [], []
        for cell in self.cells:
            if cell.kind == "answer":
                pending.append(cell)
            elif cell.kind == "test":
                points = self.nb.cells[cell.index].metadata.nbgrader.get("points", 0)
                exercises.append(Exercise(cell.grade_id or f"cell {cell.index}", points, cell,
                                          pending))
                pending = []
        return exercises

    def _library_names(self) -> set[str]:
        names: set[str] = set()
        for cell in self.cells:
            try:
                tree = grade_cells.parse(cell.source)
            except SyntaxError:
                continue
            for node in grade_cells.ast.walk(tree):
                if isinstance(node, (grade_cells.ast.Import, grade_cells.ast.ImportFrom)):
                    names |= {a.asname or a.name.split(".")[0] for a in node.names}
        return names

    # ------------------------------------------------------------ trusted set-up
    def needed_setup(self, wanted: list[tuple[int, set[str]]]) -> list[int]:
        """Source set-up cells needed so that each ``(position, names)`` is defined."""
        return grade_cells.needed_cells(self.setup, wanted)

    def _run_setup(self) -> None:
        wanted = [(e.test.index, e.test.used - self.answer_names) for e in self.exercises]
        wanted += [(a.index, a.used) for e in self.exercises for a in e.answers]
        needed = self.needed_setup(wanted)
        namespace: dict[str, Any] = {"__name__": "__lesson__", "__builtins__": builtins}
        tests = {e.test.index for e in self.exercises}
        by_index = {c.index: c for c in self.cells}
        for index in sorted(set(needed) | tests):
            if index in tests:
                self.snapshots[index] = dict(namespace)
                continue
            _quiet_exec(by_index[index].source, namespace, f"<{self.name} cell {index}>")

    def namespace_for(self, exercise: Exercise) -> dict[str, Any]:
        """A fresh copy of the lesson's namespace as it stands at the exercise's test cell."""
        return dict(self.snapshots[exercise.test.index])

    def _calibrate(self, exercise: Exercise) -> None:
        """Run the test cell on the source solution: it must pass; trace what the
        reference and the solution call, to know what the answer may not use."""
        namespace = self.namespace_for(exercise)
        frontier = _Frontier()
        for answer in exercise.answers:
            _quiet_exec(answer.source, namespace, f"<{self.name} cell {answer.index}>")
        for name in set().union(*(a.defined for a in exercise.answers)) if exercise.answers \
                else set():
            if callable(namespace.get(name)):
                namespace[name] = frontier.wrap(namespace[name], frontier.solution)
        _State.recorder = frontier
        try:
            _quiet_exec(exercise.test.source, namespace, f"<{self.name} cell "
                                                         f"{exercise.test.index}>")
        except Exception as error:
            exercise.problem = (f"the source solution of {exercise.grade_id} does not pass "
                                f"its own test in the grader ({type(error).__name__}: {error})")
            return
        finally:
            _State.recorder = None
        exercise.forbidden = {entry for entry in frontier.reference - frontier.solution
                              if "<" not in entry[1]}
        for module, qualname in exercise.forbidden:
            body = _reference_body(module, qualname)
            if body:
                exercise.reference_bodies[f"{module.removeprefix('course_lib.')}.{qualname}"] \
                    = body


def _reference_body(module: str, qualname: str) -> str | None:
    try:
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
        tree = grade_cells.ast.parse(inspect.cleandoc("\n" + inspect.getsource(target)))
    except (ImportError, AttributeError, OSError, TypeError, SyntaxError):
        return None
    function = tree.body[0] if tree.body else None
    if isinstance(function, grade_cells.ast.FunctionDef):
        return grade_cells.normalized_body(function)
    return None


def _quiet_exec(source: str, namespace: dict[str, Any], filename: str) -> str:
    """Execute trusted notebook code here with warnings off; return what it printed."""
    code = compile(grade_cells.python_source(source), filename, "exec")
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        exec(code, namespace)  # noqa: S102 - the course's own source notebook
    return out.getvalue()


# ---------------------------------------------------------------- results

@dataclass
class ExerciseResult:
    """One exercise of one submission."""

    grade_id: str
    points: float
    max_points: float
    status: str            # passed, failed, or a problem status from SEVERITY
    message: str = ""
    feedback: list[str] = field(default_factory=list)


@dataclass
class SubmissionResult:
    """One row of the score table."""

    student: str
    lesson: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)   # (status, message)
    seconds: float = 0.0
    cpu_seconds: float = 0.0     # the grader's and the kernels' CPU time for this row

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)

    @property
    def status(self) -> str:
        found = {status for status, _ in self.problems}
        found |= {e.status for e in self.exercises}
        return next((s for s in SEVERITY if s in found), "ok")

    @property
    def message(self) -> str:
        return "; ".join(dict.fromkeys(message for _, message in self.problems))


# ---------------------------------------------------------------- the proxies

class _Session:
    """The kernel of one submission and the bookkeeping of the exercise being graded."""

    def __init__(self, scratch: Path, limits: Limits, deadline: float,
                 boot: list[str]) -> None:
        self.scratch, self.limits, self.deadline, self.boot = scratch, limits, deadline, boot
        self.kernel: Kernel | None = None
        self.completed = 0
        self.kernel_cpu = 0.0
        self.forbidden: set[tuple[str, str]] = set()
        self.used: list[str] = []

    def start(self) -> list[tuple[int, dict]]:
        """Start a kernel and run the boot cells; return ``(position, error)`` of failures."""
        self.completed = 0
        self.kernel = None
        self.kernel = Kernel(self.scratch, self.limits, self.deadline)
        errors = []
        for position, code in enumerate(self.boot):
            reply = _values(*self.kernel.run(code), self)
            self.completed += 1
            if not reply["ok"]:
                errors.append((position, reply["error"]))
        return errors

    def call(self, message: dict) -> Any:
        if self.kernel is None:
            raise KernelStopped("crash", "the kernel is not running")
        message["forbid"] = sorted(self.forbidden)
        try:
            message["args"] = pickle.dumps(message["args"], protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise RuntimeError(f"the grader could not send these inputs to the kernel: "
                               f"{error}") from None
        reply = _values(*self.kernel.request(message), self)
        self.used += reply.get("used", [])
        if reply["ok"]:
            return reply["value"]
        raise _remote_error(reply["error"])

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel_cpu += self.kernel.cpu
            self.kernel = None


class RemoteFunction:
    """Stands for a name the learner's answer defines; calling it runs it in their kernel."""

    def __init__(self, session: _Session, name: str) -> None:
        self._session, self.__name__, self.__qualname__ = session, name, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call({"op": "call", "name": self.__name__,
                                   "args": (args, kwargs)})

    def __repr__(self) -> str:
        return f"<your {self.__name__}>"


class RemoteObject:
    """An object (not plain data) a learner's function returned: calls and attributes are
    forwarded to the kernel."""

    def __init__(self, session: _Session, handle: int, type_name: str) -> None:
        self._session, self._handle, self._type = session, handle, type_name
        self.__name__ = type_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call({"op": "call", "handle": self._handle,
                                   "args": (args, kwargs)})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        session = self._session
        if session.kernel is None:
            raise KernelStopped("crash", "the kernel is not running")
        reply = _values(*session.kernel.request({"op": "getattr", "handle": self._handle,
                                                 "attr": name}), session)
        if reply["ok"]:
            return reply["value"]
        raise _remote_error(reply["error"])

    def __repr__(self) -> str:
        return f"<your {self._type} object>"


def _values(tree: Any, arrays: dict[str, Any], session: _Session) -> Any:
    """Rebuild a reply from its JSON tree and arrays (see ``grade_kernel.encode``)."""
    import numpy as np

    def build(node: Any) -> Any:
        if not isinstance(node, dict) or len(node) == 0:
            raise ValueError("malformed reply")
        if "py" in node:
            value = node["py"]
            if value is not None and type(value) not in (bool, int, float, str):
                raise ValueError("malformed reply")
            return value
        if "bigint" in node:
            return int(str(node["bigint"]))
        if "array" in node or "scalar" in node or "tensor" in node:
            key = next(k for k in ("array", "scalar", "tensor") if k in node)
            array = arrays[f"a{int(node[key])}"]
            if key == "scalar":
                return array[()]
            if key == "array":
                return array
            import torch

            dtype = getattr(torch, str(node.get("dtype", "")).removeprefix("torch."), None)
            tensor = torch.from_numpy(np.array(array))
            return tensor.to(dtype) if isinstance(dtype, torch.dtype) else tensor
        if "tuple" in node:
            return tuple(build(item) for item in node["tuple"])
        if "list" in node:
            return [build(item) for item in node["list"]]
        if "dict" in node:
            return {build(key): build(value) for key, value in node["dict"]}
        if "handle" in node:
            return RemoteObject(session, int(node["handle"]), str(node.get("type", "object")))
        raise ValueError("malformed reply")

    try:
        return build(tree)
    except (ValueError, KeyError, TypeError, IndexError, RecursionError) as error:
        raise KernelStopped("crash", f"the kernel sent a reply the grader cannot read "
                                     f"({error})") from None


def _remote_error(error: dict) -> BaseException:
    """The learner's exception, re-created here from its type name and message only."""
    name, message = str(error.get("type", "Exception")), str(error.get("message", ""))
    if error.get("not_implemented"):
        return NotImplementedError(message)
    if error.get("kind") in ("memory", "exit"):
        return KernelStopped(error["kind"], f"{name}: {message}" if message else name)
    known = getattr(builtins, name, None)
    if isinstance(known, type) and issubclass(known, Exception) and \
            known.__init__ is not None:
        try:
            return known(message)
        except Exception:
            pass
    return type(name, (Exception,), {})(message)


# ---------------------------------------------------------------- grading

def _locate_answers(lesson: Lesson, submission: nbformat.NotebookNode
                    ) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str]]]:
    """``grade_id -> (source, how)`` of the submission's answers, and notes."""
    by_id: dict[str, Any] = {}
    for cell in submission.cells:
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and grading.get("grade_id"):
            by_id.setdefault(grading["grade_id"], cell)
    found: dict[str, tuple[str, str]] = {}
    notes: list[tuple[str, str]] = []
    for exercise in lesson.exercises:
        for answer in exercise.answers:
            cell = by_id.get(answer.grade_id)
            if cell is not None:
                found[answer.grade_id] = (str(cell.get("source", "")), "id")
                continue
            match = _answer_by_names(answer, submission)
            if match is not None:
                found[answer.grade_id] = (match, "names")
                notes.append(("ok", f"answer {answer.grade_id} found by its function names "
                                    "(its cell had lost nbgrader's metadata)"))
    return found, notes


def _answer_by_names(answer: Cell, submission: nbformat.NotebookNode) -> str | None:
    wanted = {name for name in answer.defined}
    for cell in submission.cells:
        if cell.get("cell_type") != "code" or cell.get("metadata", {}).get("nbgrader"):
            continue
        try:
            defined, _ = grade_cells.cell_names(grade_cells.parse(str(cell.get("source", ""))))
        except SyntaxError:
            continue
        if wanted and wanted <= defined:
            return str(cell.get("source", ""))
    return None


def _test_cell_notes(lesson: Lesson, submission: nbformat.NotebookNode) -> list[tuple[str,
                                                                                       str]]:
    by_id = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"): cell
             for cell in submission.cells}
    notes = []
    for exercise in lesson.exercises:
        cell = by_id.get(exercise.grade_id)
        source = lesson.nb.cells[exercise.test.index].source
        released = notebooks.strip_hidden_tests(source)
        if cell is None:
            notes.append(("tests-restored", f"test cell {exercise.grade_id} was deleted; "
                                             "graded with the course's copy"))
        elif _same_code(str(cell.get("source", ""))) not in (_same_code(source),
                                                              _same_code(released)):
            notes.append(("tests-restored", f"test cell {exercise.grade_id} was edited; "
                                             "graded with the course's copy"))
    return notes


def _same_code(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines() if line.strip())


def _segments(source: str) -> list[tuple[bool, str]]:
    """A test cell split into ``(hidden, code)`` parts, in order."""
    parts: list[tuple[bool, str]] = []
    hidden, lines = False, []
    for line in source.splitlines():
        marker = line.strip()
        if marker in (notebooks.HIDDEN_BEGIN, notebooks.HIDDEN_END):
            if lines:
                parts.append((hidden, "\n".join(lines)))
            hidden, lines = marker == notebooks.HIDDEN_BEGIN, []
        else:
            lines.append(line)
    if lines:
        parts.append((hidden, "\n".join(lines)))
    return [(h, code) for h, code in parts if code.strip()]


def grade(lesson: Lesson, submission: nbformat.NotebookNode, student: str,
          limits: Limits) -> SubmissionResult:
    """Grade one parsed submission of ``lesson``; never raises for a submission's sake."""
    start = time.monotonic()
    result = SubmissionResult(student, lesson.name)
    if lesson.error:
        result.problems.append(("grader-error", lesson.error))
        result.exercises = [ExerciseResult(e.grade_id, 0, e.points, "grader-error",
                                           lesson.error) for e in lesson.exercises]
        return result
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    cpu = time.process_time()
    try:
        result.cpu_seconds = _grade(lesson, submission, limits, result, scratch, start)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.cpu_seconds += time.process_time() - cpu
    result.seconds = time.monotonic() - start
    for exercise in result.exercises:
        exercise.message = _scrub(exercise.message, scratch)
        exercise.feedback = [_scrub(line, scratch) for line in exercise.feedback]
    result.problems = [(status, _scrub(message, scratch)) for status, message in
                       result.problems]
    return result


def _scrub(text: str, scratch: Path) -> str:
    """Keep the grader's paths out of what a student reads."""
    for path in (str(scratch), str(REPO), str(Path.home()), tempfile.gettempdir()):
        if path and len(path) > 1:
            text = text.replace(path, "…")
    return text


def _grade(lesson: Lesson, submission: nbformat.NotebookNode, limits: Limits,
           result: SubmissionResult, scratch: Path, start: float) -> float:
    """Fill ``result``; return the CPU seconds the kernels used."""
    answers, notes = _locate_answers(lesson, submission)
    result.problems += notes + _test_cell_notes(lesson, submission)
    exercise_of = {a.grade_id: e for e in lesson.exercises for a in e.answers}
    flags: dict[str, list[tuple[str, str]]] = {e.grade_id: [] for e in lesson.exercises}
    runnable: list[tuple[int, str, str]] = []   # (source index, grade_id, source)
    wanted: list[tuple[int, set[str]]] = []
    for exercise in lesson.exercises:
        for answer in exercise.answers:
            if answer.grade_id not in answers:
                flags[exercise.grade_id].append(("missing-answer", f"the answer cell "
                                                 f"{answer.grade_id} is missing"))
                continue
            source = answers[answer.grade_id][0]
            try:
                tree = grade_cells.parse(source)
            except SyntaxError as error:
                flags[exercise.grade_id].append(("syntax-error", f"your answer cell "
                                                 f"{answer.grade_id} has a syntax error: "
                                                 f"{error.msg} (line {error.lineno})"))
                continue
            problems = grade_cells.answer_problems(tree, forbidden=exercise.forbidden,
                                                   library_names=lesson.library_names)
            problems += grade_cells.copies(tree, exercise.reference_bodies)
            flags[exercise.grade_id] += problems
            defined, used = grade_cells.cell_names(tree)
            wanted.append((answer.index, used - defined))
            runnable.append((answer.index, answer.grade_id, source))
    boot_cells = lesson.needed_setup(wanted)
    by_index = {c.index: c for c in lesson.cells}
    boot = [by_index[i].source for i in boot_cells]
    skipped: set[str] = set()
    session = _Session(scratch, limits, start + limits.submission, [])

    def flag(gid: str, status: str, message: str) -> None:
        entry = (status, message)
        if entry not in flags[exercise_of[gid].grade_id]:
            flags[exercise_of[gid].grade_id].append(entry)

    def restart() -> None:
        """(Re)start the kernel: set-up cells, then every answer that has not stopped it."""
        while True:
            session.close()
            active = [(gid, source) for _, gid, source in runnable if gid not in skipped]
            session.boot = boot + [source for _, source in active]
            try:
                errors = session.start()
            except KernelStopped as stopped:
                if session.kernel is None or session.completed < len(boot):
                    raise
                gid = active[session.completed - len(boot)][0]
                skipped.add(gid)
                flag(gid, stopped.kind, f"your answer cell {gid} stopped the kernel: "
                                        f"{stopped.message}")
                continue
            again = False
            for position, error in errors:
                if position < len(boot):
                    raise RuntimeError(f"set-up cell {boot_cells[position]} of the lesson "
                                       f"failed: {error['type']}: {error['message']}")
                gid = active[position - len(boot)][0]
                kind = {"syntax": "syntax-error", "exec": "answer-error"}.get(
                    error["kind"], error["kind"])
                flag(gid, kind, f"your answer cell {gid} raised {error['type']}: "
                                f"{error['message']}")
                if kind == "memory":
                    skipped.add(gid)
                    again = True
            if not again:
                return

    try:
        restart()
    except KernelStopped as stopped:
        session.close()
        result.problems.append((stopped.kind, f"the kernel could not start: {stopped.message}"))
    except RuntimeError as error:
        session.close()
        result.problems.append(("grader-error", str(error)))
    names = sorted(lesson.answer_names)
    try:
        for exercise in lesson.exercises:
            result.exercises.append(_grade_exercise(lesson, exercise, session, names,
                                                    flags[exercise.grade_id], restart))
    finally:
        session.close()
    for exercise in result.exercises:
        if exercise.status not in ("passed", "failed"):
            result.problems.append((exercise.status, f"{exercise.grade_id}: {exercise.message}"))
    return session.kernel_cpu


def _grade_exercise(lesson: Lesson, exercise: Exercise, session: _Session, names: list[str],
                    flags: list[tuple[str, str]], restart: Any) -> ExerciseResult:
    result = ExerciseResult(exercise.grade_id, 0, exercise.points, "failed")
    if exercise.problem:
        result.status, result.message = "grader-error", exercise.problem
        return result
    blocking = [f for f in flags if f[0] in ("syntax-error", "uses-reference",
                                             "copies-reference", "tampering", "timeout",
                                             "memory", "crash", "missing-answer")]
    if blocking:
        result.status = next(s for s in SEVERITY if s in {f[0] for f in blocking})
        result.message = "; ".join(message for _, message in blocking)
        result.feedback.append(result.message)
        return result
    if session.kernel is None:
        result.status, result.message = "crash", "the kernel is not running"
        return result
    namespace = lesson.namespace_for(exercise)
    for name in names:
        namespace[name] = RemoteFunction(session, name)
    session.forbidden, session.used = exercise.forbidden, []
    failure: str | None = None
    try:
        for hidden, code in _segments(exercise.test.source):
            try:
                printed = _quiet_exec(code, namespace, f"<test {exercise.grade_id}>")
            except KernelStopped:
                raise
            except AssertionError as error:
                failure = _failure(hidden, error)
                break
            except Exception as error:
                failure = _failure(hidden, error)
                break
            if not hidden:
                result.feedback += [line for line in printed.splitlines() if line.strip()]
    except KernelStopped as stopped:
        result.status, result.message = stopped.kind, stopped.message
        result.feedback.append(f"grading stopped: {stopped.message}")
        try:
            restart()
        except (KernelStopped, RuntimeError):
            session.close()
        return result
    if session.used:
        used = ", ".join(dict.fromkeys(session.used))
        result.status = "uses-reference"
        result.message = f"your answer called {used}, the course_lib code this exercise " \
                         "asks you to write"
        result.feedback.append(result.message)
        return result
    other = [message for status, message in flags]
    if failure is None:
        result.status, result.points = "passed", exercise.points
        result.message = "; ".join(other)
    else:
        result.message = "; ".join([failure] + other)
        result.feedback.append(failure)
        status = next((s for s in SEVERITY if s in {f[0] for f in flags}), None)
        if status in ("exit", "answer-error"):
            result.status = status
    return result


def _failure(hidden: bool, error: BaseException) -> str:
    if hidden:
        return "passed the visible checks but failed a hidden test"
    message = str(error).strip()
    if isinstance(error, checks.CheckFailed) and message:
        return message
    if isinstance(error, AssertionError):
        return f"a check failed{': ' + message if message else ''}"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
