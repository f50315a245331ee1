"""What the grader knows of a lesson, computed once per lesson from its **source** notebook.

A :class:`Lesson` runs, in the grader's own process, the set-up cells the test cells need
(not the demonstrations: see :mod:`course_tools.cells`), keeps a snapshot of the namespace at
each test cell, and calibrates each exercise by running its test cell against the source
solution. Calibration also finds what each exercise may not use: the course_lib functions its
reference calls directly that the solution does not (traced with a profiler), e.g.
``numpy_ref.masked_softmax`` for the masked softmax exercise, and their bodies (to spot a
copy). Only the course's own code runs here; a submission's never does.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import importlib
import inspect
import io
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import course_lib
from course_lib.notebook import checks
from course_tools import cells as cell_analysis
from course_tools import notebooks
from course_tools.cells import CodeCell
from course_tools.grading.answers import normalized_body

__all__ = ["Lesson", "Exercise", "install_seed", "quiet_exec", "COURSE_LIB"]

COURSE_LIB = str(Path(course_lib.__file__).resolve().parent)
_ORIGINAL_CHECK_FUNCTION = checks.check_function
# The checker is not a reference: tracing looks through it, wherever the module lives.
CHECKS_FILE = str(Path(inspect.getfile(_ORIGINAL_CHECK_FUNCTION)).resolve())
# Nor are the exercise catalogues (course_lib/exercises/), which hold the references and
# input cases a one-line test cell (`checks.exercise("l03_sdpa", sdpa)`) checks with: the
# frontier is the course_lib code their references call.
CATALOGUES = str(Path(COURSE_LIB) / "exercises") + "/"


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


def _patch_checks() -> None:
    """Put the graded ``check_function`` in every loaded course_lib module that holds the
    original (the checks module under its old and new names)."""
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "course_lib" and \
                getattr(module, "check_function", None) is _ORIGINAL_CHECK_FUNCTION:
            module.check_function = _graded_check_function


def install_seed(seed: int) -> None:
    """Make every ``check_function`` in this process use ``seed`` (the grader's processes
    only: a learner's kernel never imports the grader)."""
    _State.seed = int(seed)
    _patch_checks()


class _Frontier:
    """Records which course_lib functions a call reaches first (its "frontier"): calls made
    by notebook code, NumPy or torch into course_lib, not course_lib's calls to itself.
    ``course_lib``'s checks module is the checker and ``course_lib.exercises`` its
    catalogues, not references, so both are looked through."""

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
class Exercise:
    """A test cell and the answer cells it grades."""

    grade_id: str
    points: float
    test: CodeCell
    answers: list[CodeCell]
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    reference_bodies: dict[str, str] = field(default_factory=dict)
    problem: str | None = None     # why this exercise cannot be graded (calibration failed)


class Lesson:
    """Everything about one lesson the grader needs, computed from the source notebook."""

    def __init__(self, path: Path) -> None:
        self.path, self.name = path, path.name
        self.nb = notebooks.read(path)
        self.cells = cell_analysis.classify(self.nb)
        self.by_index = {cell.index: cell for cell in self.cells}
        self.exercises = [
            Exercise(test.grade_id or f"cell {test.index}",
                     self.nb.cells[test.index].metadata.nbgrader.get("points", 0), test, answers)
            for test, answers in cell_analysis.exercises(self.cells)]
        self.answer_names = {name for cell in self.cells if cell.kind == "answer"
                             for name in cell.defined}
        self.library_names = self._library_names()
        self.setup = cell_analysis.setup_table(self.cells)
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.error: str | None = None
        try:
            self._run_setup()
            _patch_checks()  # a checks module the set-up imported under another name
            for exercise in self.exercises:
                self._calibrate(exercise)
        except Exception as error:  # a broken lesson is a grader error, reported per row
            self.error = f"the lesson's own cells fail in the grader: {type(error).__name__}: " \
                         f"{error}"

    def _library_names(self) -> set[str]:
        """Names the lesson binds by importing (``np``, ``checks``...): assigning to their
        attributes in an answer patches a library."""
        names: set[str] = set()
        for cell in self.cells:
            try:
                tree = cell_analysis.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names |= {a.asname or a.name.split(".")[0] for a in node.names}
        return names

    # ------------------------------------------------------------ trusted set-up
    def needed_setup(self, wanted: list[tuple[int, set[str]]]) -> list[int]:
        """Source set-up cells needed so that each ``(position, names)`` is defined."""
        return cell_analysis.needed_cells(self.setup, wanted)

    def _run_setup(self) -> None:
        needed = self.needed_setup(cell_analysis.exercise_needs(self.cells))
        namespace: dict[str, Any] = {"__name__": "__lesson__", "__builtins__": builtins}
        tests = {e.test.index for e in self.exercises}
        for index in sorted(set(needed) | tests):
            if index in tests:
                self.snapshots[index] = dict(namespace)
                continue
            quiet_exec(self.by_index[index].source, namespace, f"<{self.name} cell {index}>")

    def namespace_for(self, exercise: Exercise) -> dict[str, Any]:
        """A fresh copy of the lesson's namespace as it stands at the exercise's test cell."""
        return dict(self.snapshots[exercise.test.index])

    def _calibrate(self, exercise: Exercise) -> None:
        """Run the test cell on the source solution: it must pass; trace what the
        reference and the solution call, to know what the answer may not use."""
        namespace = self.namespace_for(exercise)
        frontier = _Frontier()
        for answer in exercise.answers:
            quiet_exec(answer.source, namespace, f"<{self.name} cell {answer.index}>")
        for name in set().union(*(a.defined for a in exercise.answers)):
            if callable(namespace.get(name)):
                namespace[name] = frontier.wrap(namespace[name], frontier.solution)
        _State.recorder = frontier
        try:
            quiet_exec(exercise.test.source, namespace,
                       f"<{self.name} cell {exercise.test.index}>")
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
        tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(target)))
    except (ImportError, AttributeError, OSError, TypeError, SyntaxError):
        return None
    function = tree.body[0] if tree.body else None
    if isinstance(function, ast.FunctionDef):
        return normalized_body(function)
    return None


def quiet_exec(source: str, namespace: dict[str, Any], filename: str) -> str:
    """Execute trusted notebook code here with warnings off; return what it printed."""
    code = compile(cell_analysis.python_source(source), filename, "exec")
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        exec(code, namespace)  # noqa: S102 - the course's own source notebook
    return out.getvalue()
