"""The exercise-mistake audit: every named mistake is caught by the checks a learner sees.

For every exercise of every lesson (new lessons are picked up from ``notebooks/``), the
lesson's exercise cells run in this process, each test cell with its hidden tests removed,
as in the learner's copy. Then:

- a blank answer (the learner version of the answer cell) must give "not written yet";
- every entry of every ``mistakes=`` catalogue the visible checks pass to
  ``checks.check_function`` is run *as the learner's answer* through that same check, inside
  the test cell, and must fail with "It looks like you <that mistake>": the random inputs
  must expose it, and no other entry may shadow it;
- every exercise must name at least one mistake;
- the wrong answers a learner actually writes, listed in :data:`WRITTEN`, go through the
  whole visible test cell and must get their named message.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from course_lib.notebook import checks
from course_tools import notebooks, progress

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(REPO / "notebooks")

# Wrong answers written as a learner writes them (the issue's and the speaker notes' common
# mistakes), with the words the message must contain. grade_id -> [(answer cell, words)].
WRITTEN: dict[str, list[tuple[str, str]]] = {
    "l00_softmax": [
        ("def stable_softmax(x):\n    exps = np.exp(x)\n"
         "    return exps / exps.sum(axis=-1, keepdims=True)\n",
         "It looks like you forgot to subtract the max"),
        ("def stable_softmax(x):\n    shifted = x - x.max(axis=-1)\n"
         "    exps = np.exp(shifted)\n    return exps / exps.sum(axis=-1)\n",
         "It looks like you forgot keepdims=True"),
        ("def stable_softmax(x):\n    exps = np.exp(x - x.max(axis=-1, keepdims=True))\n"
         "    return exps / exps.sum(axis=-1)\n",
         "It looks like you forgot keepdims=True"),
        ("def stable_softmax(x):\n    e_x = np.exp(x - np.max(x))\n    return e_x / e_x.sum()\n",
         "It looks like you wrote the 1-D textbook softmax"),
        ("def stable_softmax(x):\n    e = np.exp(x - np.max(x))\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n",
         "It looks like you subtracted the max of the whole array"),
        ("def stable_softmax(x):\n    e = np.exp(x - x.max(axis=0, keepdims=True))\n"
         "    return e / e.sum(axis=0, keepdims=True)\n",
         "It looks like you normalised over the first axis"),
    ],
    "l03_bug_hunt": [  # the circulating snippet, fixed one bug at a time (CONTENT.md)
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you kept mistake (2), the missing 1/sqrt(d_k) scale"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T / np.sqrt(K.shape[-1])\n"
         "    return numpy_ref.softmax(scores, axis=0) @ V\n",
         "It looks like you kept mistake (5), normalising over axis 0"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K / np.sqrt(K.shape[-1])\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you left out the transpose"),
    ],
    "l03_sdpa": [
        ("def sdpa(q, k, v, mask=None):\n    scores = q @ np.swapaxes(k, -1, -2)\n"
         "    weights = numpy_ref.masked_softmax(scores, mask)\n    return weights @ v, weights\n",
         "It looks like you left out the 1/sqrt(d_k) scale"),
    ],
    "l07_window_mask": [
        ("def window_mask(T, window):\n"
         "    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]\n"
         "    return (j <= i) & (i - j <= window)\n",
         "It looks like you let each query see window + 1 keys"),
        ("def window_mask(T, window):\n"
         "    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]\n"
         "    return (i - j).abs() < window\n",
         "It looks like you forgot causality"),
        ("def window_mask(T, window):\n"
         "    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]\n"
         "    return (j >= i) & (j - i < window)\n",
         "It looks like you put the window after the query"),
    ],
    "l07_rope": [  # the solution with one line changed each time
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(T, dtype=torch.float32)[:, None] * theta\n"
         "    even, odd = x[:, 0::2], x[:, 1::2]\n    out = torch.empty_like(x)\n"
         "    out[:, 0::2] = even * angle.cos() - odd * angle.sin()\n"
         "    out[:, 1::2] = even * angle.sin() + odd * angle.cos()\n    return out\n",
         "It looks like you ignored offset"),
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(offset, offset + T, dtype=torch.float32)[:, None] * theta\n"
         "    even, odd = x[:, 0::2], x[:, 1::2]\n    out = torch.empty_like(x)\n"
         "    out[:, 0::2] = even * angle.cos() + odd * angle.sin()\n"
         "    out[:, 1::2] = -even * angle.sin() + odd * angle.cos()\n    return out\n",
         "It looks like you rotated the wrong way"),
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(offset, offset + T, dtype=torch.float32)[:, None] * theta\n"
         "    a, b = x[:, : Dh // 2], x[:, Dh // 2:]\n"
         "    return torch.cat([a * angle.cos() - b * angle.sin(),\n"
         "                      a * angle.sin() + b * angle.cos()], dim=1)\n",
         "It looks like you paired dimension i with i + Dh/2"),
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(Dh // 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(offset, offset + T, dtype=torch.float32)[:, None] * theta\n"
         "    even, odd = x[:, 0::2], x[:, 1::2]\n    out = torch.empty_like(x)\n"
         "    out[:, 0::2] = even * angle.cos() - odd * angle.sin()\n"
         "    out[:, 1::2] = even * angle.sin() + odd * angle.cos()\n    return out\n",
         "It looks like you used the frequencies 10000 ** (-i / Dh)"),
    ],
    "l07_online_softmax": [
        ("def online_update(m, total, acc, scores, v):\n"
         "    m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))\n"
         "    p = np.exp(scores - m_new)\n"
         "    return m_new, total + p.sum(axis=-1, keepdims=True), acc + p @ v\n",
         "It looks like you forgot the rescaling step"),
        ("def online_update(m, total, acc, scores, v):\n"
         "    m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))\n"
         "    p = np.exp(scores - m_new)\n"
         "    total = total * np.exp(m - m_new) + p.sum(axis=-1, keepdims=True)\n"
         "    return m_new, total, acc + p @ v\n",
         "It looks like you rescaled total but not acc"),
        ("def online_update(m, total, acc, scores, v):\n"
         "    m_new = scores.max(axis=-1, keepdims=True)\n"
         "    scale, p = np.exp(m - m_new), np.exp(scores - m_new)\n"
         "    return m_new, total * scale + p.sum(axis=-1, keepdims=True), acc * scale + p @ v\n",
         "It looks like you took the maximum of this tile alone"),
    ],
}


def _python(source: str) -> str:
    return progress._python(source)


class Recorder:
    """Stands in for ``checks.check_function`` while a test cell runs: runs the real check,
    then each named mistake of the call as the learner's answer, in the cell's context."""

    def __init__(self) -> None:
        self.calls = 0
        self.named: list[str] = []
        self.problems: list[str] = []
        self.real = checks.check_function

    def __call__(self, candidate, reference, make_inputs, **kwargs):
        self.calls += 1
        self.real(candidate, reference, make_inputs, **kwargs)
        outcomes = dict(checks.RESULTS)  # the mistakes below must not count as the answer's
        for description, wrong in (kwargs.get("mistakes") or {}).items():
            self.named.append(description)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    self.real(wrong, reference, make_inputs, **kwargs)
            except checks.CheckFailed as failure:
                if f"It looks like you {description}." not in str(failure):
                    self.problems.append(f"mistake {description!r} got another message:\n"
                                         f"{failure}")
            else:
                self.problems.append(f"mistake {description!r} passes the visible check")
        checks.RESULTS.clear()
        checks.RESULTS.update(outcomes)


@contextlib.contextmanager
def _in_notebooks_folder():
    before, threads = os.getcwd(), torch.get_num_threads()
    os.chdir(REPO / "notebooks")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        os.chdir(before)
        torch.set_num_threads(threads)
        import matplotlib.pyplot as plt

        plt.close("all")


def _run(source: str, namespace: dict) -> None:
    exec(compile(_python(source), "<cell>", "exec"), namespace)


def _expect_failure(source: str, namespace: dict) -> str:
    """Run a test cell; return the CheckFailed message ("" if it passed)."""
    try:
        with np.errstate(all="ignore"):
            _run(source, namespace)
    except checks.CheckFailed as failure:
        return str(failure)
    return ""


def audit_lesson(path: Path) -> tuple[list[str], int]:
    """Problems found in one lesson, and the number of named mistakes tested."""
    nb = notebooks.read(path)
    learner = notebooks.student_version(nb)
    answers = {c.metadata.nbgrader.grade_id: (c, learner.cells[i])
               for i, c in enumerate(nb.cells) if notebooks.is_answer_cell(c)}
    problems: list[str] = []
    tested = 0
    namespace: dict = {"__name__": "__main__"}
    answer_id = None
    with _in_notebooks_folder():
        for index in progress.exercise_cells(nb):
            cell = nb.cells[index]
            if notebooks.is_answer_cell(cell):
                answer_id = cell.metadata.nbgrader.grade_id
            if not notebooks.is_test_cell(cell):
                _run(cell.source, namespace)
                continue
            visible = notebooks.strip_hidden_tests(cell.source)
            where = f"{path.name} {answer_id}"
            solution, blank = answers[answer_id]
            recorder = Recorder()
            namespace["checks"].check_function = recorder
            try:
                _run(visible, namespace)
            finally:
                namespace["checks"].check_function = recorder.real
            if recorder.calls == 0 or not recorder.named:
                problems.append(f"{where}: the visible check names no mistake "
                                "(give check_function a mistakes= catalogue)")
            problems += [f"{where}: {p}" for p in recorder.problems]
            for name in re.findall(r"^def (\w+)", solution.source, re.MULTILINE):
                if checks.RESULTS.get(name) != "passed":  # the learner copy's summary reads it
                    problems.append(f"{where}: no check named {name!r} passed; name the "
                                    f"check after the answer's function (name={name!r})")
            tested += len(recorder.named)
            _run(blank.source, namespace)
            message = _expect_failure(visible, namespace)
            if "not written yet" not in message:
                problems.append(f"{where}: a blank answer should say 'not written yet', "
                                f"got {message!r}")
            for code, words in WRITTEN.get(answer_id, []):
                _run(code, namespace)
                message = _expect_failure(visible, namespace)
                tested += 1
                if words not in message:
                    problems.append(f"{where}: the wrong answer\n{code}should fail with "
                                    f"{words!r}, got {message!r}")
            _run(solution.source, namespace)
    return problems, tested


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_named_mistake_is_caught_by_the_visible_checks(path: Path) -> None:
    problems, tested = audit_lesson(path)
    assert not problems, "\n\n".join(problems)
    print(f"{path.stem}: {tested} named mistakes tested")


def test_every_written_mistake_belongs_to_an_exercise() -> None:
    ids = {c.metadata.nbgrader.grade_id for p in LESSONS for c in notebooks.read(p).cells
           if notebooks.is_answer_cell(c)}
    assert set(WRITTEN) <= ids, f"no exercise for {sorted(set(WRITTEN) - ids)}"
