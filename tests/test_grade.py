"""``course grade``: every kind of bad submission gets its own row and status, cheating earns
nothing, correct answers (warnings included) earn their points, and the class is graded.

One grading run (module fixture) over a class of generated submissions of lessons 00 and 03;
each test reads its row. Limits are small so the infinite loops end quickly. Kernels run in
the sandbox wherever bubblewrap works (always in CI), else without it (a note says so).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nbformat
import pytest

from course_tools import notebooks
from course_tools.grading import samples as grade_samples
from course_tools.grading import sandbox
from course_tools.grading.batch import grade_class
from course_tools.grading.kernel_client import Limits

ROOT = Path(__file__).resolve().parents[1]
L00, L03 = "00_welcome.ipynb", "03_attention_basics.ipynb"

SOFTMAX = '''def stable_softmax(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''
# Correct, but divides 0 by 0 on fully masked rows: NumPy prints a RuntimeWarning.
WARNING_MASKED_SOFTMAX = '''def masked_softmax(scores, mask):
    scores = np.asarray(scores, dtype=float)
    mask = np.broadcast_to(mask, scores.shape)
    e = np.where(mask, np.exp(scores - np.where(mask, scores, -np.inf).max(-1, keepdims=True)), 0)
    return np.nan_to_num(e / e.sum(-1, keepdims=True))
'''


def released(name: str) -> nbformat.NotebookNode:
    """The student version of a lesson (answers blank, hidden tests cut)."""
    return notebooks.student_version(notebooks.read(ROOT / "notebooks" / name))


def answered(name: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    return grade_samples.with_answers(released(name), answers)


def without_test(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    nb.cells = [c for c in nb.cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id]
    return nb


def edited_test(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    return nb


def l00(answer: str) -> nbformat.NotebookNode:
    return answered(L00, {"l00_softmax": answer})


def l03(**answers: str) -> nbformat.NotebookNode:
    return answered(L03, {f"l03_{key}": value for key, value in answers.items()})


# student -> {file name: notebook, or raw bytes}
CLASS: dict[str, dict[str, object]] = {
    "correct": {L00: notebooks.read(ROOT / "notebooks" / L00),
                L03: notebooks.read(ROOT / "notebooks" / L03)},
    "blank": {L00: released(L00), L03: released(L03)},
    "warnings": {L03: l03(masked_softmax=WARNING_MASKED_SOFTMAX)},
    "syntax": {L00: l00("def stable_softmax(x)\n    return x\n")},
    "import_error": {L00: l00("import not_a_module\n" + SOFTMAX)},
    "infinite_loop": {L00: l00("while True:\n    pass\n" + SOFTMAX)},
    "slow_function": {L00: l00("def stable_softmax(x):\n    while True:\n        pass\n")},
    "memory": {L00: l00("import numpy as np\nhuge = np.ones((100_000, 100_000))\n" + SOFTMAX)},
    "sys_exit": {L00: l00("import sys\nsys.exit()\n" + SOFTMAX)},
    "os_exit": {L00: l00("import os\nos._exit(3)\n" + SOFTMAX)},
    "deleted_test": {L00: without_test(l00(SOFTMAX), "l00_softmax_test")},
    "edited_test": {L00: edited_test(l00("def stable_softmax(x):\n    return 0\n"),
                                     "l00_softmax_test", "print('✓ passed')")},
    "patched_checks": {L00: l00(
        "from course_lib import checks\n"
        "checks.check_function = lambda *a, **k: print('✓ stable_softmax: passed.')\n"
        "checks.check_value = checks.check_true = lambda *a, **k: None\n"
        "def stable_softmax(x):\n    return 0\n")},
    "patched_compare": {L00: l00("checks.compare = lambda *a, **k: None\n"
                                 "def stable_softmax(x):\n    return 0\n")},
    "prints_passed": {L00: l00("print('✓ stable_softmax: passed 8 random tests.')\n"
                               "def stable_softmax(x):\n    return 0\n")},
    "calls_reference": {L03: l03(masked_softmax=(
        "def masked_softmax(scores, mask):\n"
        "    return numpy_ref.masked_softmax(scores, mask)\n"))},
    "hidden_call": {L03: l03(masked_softmax=(
        "def masked_softmax(scores, mask):\n"
        "    return getattr(numpy_ref, 'masked_' + 'softmax')(scores, mask)\n"))},
    "additive_reference": {L03: l03(additive=(
        "def additive_scores(q, k, Wq, Wk, v):\n"
        "    score = attention.AdditiveScore(Wq.shape[1], Wk.shape[1], Wq.shape[0]).double()\n"
        "    return score(torch.tensor(q)[None], torch.tensor(k)[None])[0].detach().numpy()\n"))},
    "redefined_reference": {L03: l03(masked_softmax=(
        "def masked_softmax(scores, mask):\n    return scores * 0\n"
        "numpy_ref.masked_softmax = masked_softmax\n"))},
    "reads_frames": {L00: l00(
        "import inspect\n"
        "def stable_softmax(x):\n"
        "    frame = inspect.currentframe().f_back\n"
        "    return frame.f_locals.get('expected', 0)\n")},
    "copied_reference": {L00: l00(
        "def stable_softmax(x, axis=-1):\n"
        "    '''copied from course_lib'''\n"
        "    x = np.asarray(x, dtype=np.float64)\n"
        "    shifted = x - np.max(x, axis=axis, keepdims=True)\n"
        "    e = np.exp(shifted)\n"
        "    return e / np.sum(e, axis=axis, keepdims=True)\n")},
    "not_json": {L00: b"{this is not JSON"},
    "empty": {L00: b""},
    "wrong_name": {"00_welcome (1).ipynb": l00(SOFTMAX)},
    "extra_files": {L00: l00(SOFTMAX), "notes.txt": b"my notes"},
}


def working_sandbox() -> sandbox.Sandbox | None:
    """This machine's sandbox; ``None`` where bubblewrap is missing or cannot isolate (never
    in CI, where that is a failure)."""
    try:
        box = sandbox.find()
        sandbox.probe(box)
        return box
    except sandbox.SandboxUnavailable:
        if os.environ.get("CI"):
            raise
        return None


@pytest.fixture(scope="module")
def box() -> sandbox.Sandbox | None:
    return working_sandbox()


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, box: sandbox.Sandbox | None
           ) -> dict[tuple[str, str], dict]:
    submissions = tmp_path_factory.mktemp("submissions")
    for student, files in CLASS.items():
        folder = submissions / student
        folder.mkdir()
        for name, content in files.items():
            if isinstance(content, bytes):
                (folder / name).write_bytes(content)
            else:
                nbformat.write(content, str(folder / name))
    out = tmp_path_factory.mktemp("results")
    before = {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    grade_class(submissions, out, source=ROOT / "notebooks", quiet=True, seed=7, sandbox=box,
                limits=Limits(cell_cpu=3.0, submission=120.0, memory=2 * 1024 ** 3))
    after = {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    assert before == after, "grading modified a submission"
    with open(out / "scores.csv", encoding="utf-8") as handle:
        rows = {(r["student"], r["lesson"]): r for r in csv.DictReader(handle)}
    with open(out / "exercises.csv", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            rows[(r["student"], r["lesson"])].setdefault("exercises", {})[r["exercise"]] = r
    rows[("_out", "")] = {"path": out}
    return rows


# (student, lesson, status, points): every kind of submission the issue lists
EXPECTED = [
    ("correct", L00, "ok", 2), ("correct", L03, "ok", 10),
    ("blank", L00, "ok", 0), ("blank", L03, "ok", 0),
    ("syntax", L00, "syntax-error", 0),
    ("import_error", L00, "answer-error", 0),
    ("infinite_loop", L00, "timeout", 0),
    ("slow_function", L00, "timeout", 0),
    ("memory", L00, "memory", 0),
    ("sys_exit", L00, "exit", 0),
    ("os_exit", L00, "crash", 0),
    ("deleted_test", L00, "tests-restored", 2),
    ("edited_test", L00, "tests-restored", 0),
    ("patched_checks", L00, "tampering", 0),
    ("patched_compare", L00, "tampering", 0),
    ("prints_passed", L00, "ok", 0),
    ("calls_reference", L03, "uses-reference", 0),
    ("hidden_call", L03, "uses-reference", 0),
    ("additive_reference", L03, "uses-reference", 0),
    ("redefined_reference", L03, "tampering", 0),
    ("reads_frames", L00, "tampering", 0),
    ("copied_reference", L00, "copies-reference", 0),
    ("not_json", L00, "invalid-notebook", 0),
    ("empty", L00, "empty-file", 0),
    ("wrong_name", "00_welcome (1).ipynb", "unknown-lesson", 0),
    ("wrong_name", L00, "missing", 0),
    ("extra_files", "notes.txt", "extra-file", 0),
    ("extra_files", L00, "ok", 2),
]


@pytest.mark.parametrize("student, lesson, status, points", EXPECTED,
                         ids=[f"{s}-{lesson[:2]}" for s, lesson, _, _ in EXPECTED])
def test_each_submission_gets_its_row_and_status(graded: dict, student: str, lesson: str,
                                                 status: str, points: int) -> None:
    row = graded[(student, lesson)]
    assert (row["status"], float(row["total"])) == (status, points), row


def test_a_correct_answer_that_warns_gets_its_points(graded: dict) -> None:
    exercise = graded[("warnings", L03)]["exercises"]["l03_masked_softmax_test"]
    assert exercise["status"] == "passed" and float(exercise["points"]) == 2, exercise


def test_cheating_on_one_exercise_costs_only_that_exercise(graded: dict) -> None:
    exercises = graded[("calls_reference", L03)]["exercises"]
    assert exercises["l03_masked_softmax_test"]["status"] == "uses-reference"
    assert "numpy_ref.masked_softmax" in exercises["l03_masked_softmax_test"]["message"]
    assert exercises["l03_sdpa_test"]["status"] == "failed"  # blank, graded as usual


def test_a_killed_kernel_costs_only_the_exercise_that_killed_it(graded: dict) -> None:
    # the answer cell that exits the process is left out and the kernel restarted: the
    # status says what happened, the message names the cell
    row = graded[("os_exit", L00)]
    assert "l00_softmax" in row["message"] and "exited" in row["message"]


def test_feedback_shows_visible_messages_not_hidden_code_or_paths(graded: dict) -> None:
    feedback = (graded[("_out", "")]["path"] / "feedback" / "blank.md").read_text()
    assert "not written yet" in feedback
    source = notebooks.read(ROOT / "notebooks" / L00)
    hidden = [c.source.split(notebooks.HIDDEN_BEGIN)[1] for c in source.cells
              if notebooks.HIDDEN_BEGIN in c.source]
    for block in hidden:
        for line in block.splitlines():
            if len(line.strip()) > 20 and notebooks.HIDDEN_END not in line:
                assert line.strip() not in feedback
    for path in (graded[("_out", "")]["path"] / "feedback").iterdir():
        text = path.read_text()
        assert str(ROOT) not in text and "/tmp/" not in text, path.name


def _with_cell(metadata: dict, source: str, cell_type: str = "code") -> nbformat.NotebookNode:
    nb = notebooks.read(ROOT / "notebooks" / L00)
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    nb.cells.append(make(source, metadata={"nbgrader": {"schema_version": 3, "locked": False,
                                                        "task": False, **metadata},
                                           "slideshow": {"slide_type": "-"}}))
    return nb


@pytest.mark.parametrize("metadata, source, cell_type, words", [
    ({"grade_id": "l00_explain", "solution": True, "grade": True, "points": 1},
     "Softmax is invariant to shifts.", "markdown", "manually graded"),
    ({"grade_id": "l00_whole", "solution": True, "grade": False},
     "def secret():\n    return 42\n", "code", "without"),
])
def test_release_refuses_a_solution_it_cannot_strip(tmp_path: Path, metadata: dict,
                                                     source: str, cell_type: str,
                                                     words: str, capsys) -> None:
    from course_tools.cli import main

    path = tmp_path / L00
    nbformat.write(_with_cell(metadata, source, cell_type), str(path))
    assert main(["release", str(path), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert metadata["grade_id"] in error and words in error
    assert not (tmp_path / "out" / L00).exists(), "nothing may be released"
    if metadata.get("grade"):
        problems = notebooks.exercise_problems(notebooks.read(path))
        assert any("manually graded" in p for p in problems)


def test_test_cells_print_nothing_to_stderr_for_a_correct_answer_that_warns() -> None:
    """nbgrader scores a test cell with stderr output 0: a correct masked softmax that
    divides 0 by 0 (and repairs it) must pass silently."""
    import contextlib
    import io

    source = notebooks.read(ROOT / "notebooks" / L03)
    test = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "l03_masked_softmax_test")
    namespace: dict = {}
    exec("import numpy as np\nfrom course_lib import checks, numpy_ref", namespace)
    exec(WARNING_MASKED_SOFTMAX, namespace)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        exec(test.source, namespace)
    assert "passed" in out.getvalue() and err.getvalue() == ""


LESSONS = [p.name for p in notebooks.lesson_paths(ROOT / "notebooks")]


@pytest.fixture(scope="module")
def every_lesson(tmp_path_factory: pytest.TempPathFactory, box: sandbox.Sandbox | None) -> dict:
    """Every lesson graded twice: its source (solutions) and its student version (blank)."""
    submissions = tmp_path_factory.mktemp("every_lesson")
    for student, make in (("solutions", lambda n: notebooks.read(ROOT / "notebooks" / n)),
                          ("released", released)):
        (submissions / student).mkdir()
        for name in LESSONS:
            nbformat.write(make(name), str(submissions / student / name))
    rows = grade_class(submissions, tmp_path_factory.mktemp("every_lesson_out"),
                       source=ROOT / "notebooks", quiet=True, seed=11, sandbox=box)
    return {(row.student, row.lesson): row for row in rows}


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_of_every_lesson_is_gradable(every_lesson: dict, lesson: str) -> None:
    """The source solution gets every point and the blank student version none: an exercise
    the grader cannot grade (a test cell it cannot run against a proxy, a reference it cannot
    trace) is named here."""
    solved, blank = every_lesson[("solutions", lesson)], every_lesson[("released", lesson)]
    assert solved.exercises, f"{lesson} has no exercises"
    wrong = [f"{e.grade_id}: {e.status} {e.message}" for e in solved.exercises
             if e.points != e.max_points]
    assert not wrong and solved.status == "ok", f"{lesson}: " + "; ".join(wrong)
    scored = [e.grade_id for e in blank.exercises if e.points]
    assert not scored and blank.total == 0, f"{lesson}: blank answers scored in {scored}"
