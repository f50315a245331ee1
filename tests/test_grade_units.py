"""The parts of ``course grade`` one at a time: the kernel protocol (round trips, malformed
replies), the status table (and README.md's copy of it), the kernel's guard, the refusal to
grade without a sandbox, results written atomically with a manifest, and the tooling shared
with ``course progress`` (one cell analyser, one marker parser, one lesson resolver)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course_tools import cells, cli, notebooks, progress
from course_tools.grading import protocol, sandbox
from course_tools.grading.batch import MANIFEST, write_results
from course_tools.grading.kernel import Guard
from course_tools.grading.protocol import KernelStopped, RemoteObject
from course_tools.grading.results import ExerciseResult, SubmissionResult
from course_tools.grading.status import Status, markdown_table, most_severe

ROOT = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(ROOT / "notebooks")


# --- the kernel protocol ---------------------------------------------------------------

def round_trip(value: object) -> object:
    handles: dict[int, object] = {}
    return protocol.rebuild(*protocol.decode(protocol.encode(value, handles)), channel=None)


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2 ** 70, -(2 ** 63), 1.5, float("inf"), "text ✓", (1, "a", None),
    [1, [2, [3]]], {"a": 1, 2: (3.0, "b")}, np.arange(6).reshape(2, 3),
    np.array([1 + 2j]), np.float32(2.5), np.array([True, False]), b"", b"\x00\xff ab",
    ((b"l", b"o"), [[b"lo", b"w"], [b" ", b"lo"]]),
], ids=repr)
def test_plain_values_round_trip(value: object) -> None:
    back = round_trip(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, np.generic):
        assert back == value and back.dtype == value.dtype
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool,
                                   torch.float16, torch.bfloat16])
def test_tensors_round_trip_with_their_dtype(dtype: torch.dtype) -> None:
    tensor = (torch.arange(6).reshape(2, 3) % 3).to(dtype)
    back = round_trip({"t": tensor, "size": tensor.shape})
    assert back["t"].dtype == dtype and torch.equal(back["t"], tensor)
    assert back["size"] == (2, 3)


def test_an_object_that_is_not_data_becomes_a_handle() -> None:
    handles: dict[int, object] = {}
    model = torch.nn.Linear(2, 2)
    tree, arrays = protocol.decode(protocol.encode({"model": model, "f": len}, handles))
    back = protocol.rebuild(tree, arrays, channel=None)
    assert isinstance(back["model"], RemoteObject) and set(handles.values()) == {model, len}
    with pytest.raises(AttributeError):
        back["model"].weight  # noqa: B018 - no kernel behind it


def test_deep_nesting_is_refused_when_encoding() -> None:
    value: list = []
    for _ in range(protocol.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(ValueError, match="nested"):
        protocol.encode(value)


@pytest.mark.parametrize("tree", [
    {"py": [1, 2]}, {"array": 7}, {"nothing": 1}, [], {"dict": [[{"list": []}, {"py": 1}]]},
    {"tensor": 0, "dtype": "os.system"}, {"bytes": "not hex"}, {"bytes": [1]},
])
def test_a_malformed_reply_is_the_kernels_crash_not_the_graders(tree: object) -> None:
    arrays = {"a0": np.zeros(2)}
    if isinstance(tree, dict) and tree.get("dtype") == "os.system":
        value = protocol.rebuild(tree, arrays)  # an unknown dtype name: a plain tensor
        assert isinstance(value, torch.Tensor)
        return
    with pytest.raises(KernelStopped) as stopped:
        protocol.rebuild(tree, arrays)
    assert stopped.value.kind == "crash"


def test_replies_are_never_unpickled() -> None:
    buffer = io.BytesIO()
    np.savez(buffer, json=np.frombuffer(b'{"py": 1}', dtype=np.uint8),
             a0=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        protocol.decode(buffer.getvalue())


def test_frames_round_trip_and_refuse_an_oversized_header() -> None:
    read, write = os.pipe()
    try:
        protocol.write_frame(write, b"hello")
        assert protocol.read_frame(read) == b"hello"
        os.write(write, protocol.HEADER.pack(protocol.MAX_REPLY_BYTES + 1))
        with pytest.raises(ValueError, match="over the limit"):
            protocol.read_frame(read)
    finally:
        os.close(read)
        os.close(write)


def test_remote_errors_are_rebuilt_from_names_only() -> None:
    assert isinstance(protocol.remote_error({"type": "ValueError", "message": "m"}), ValueError)
    odd = protocol.remote_error({"type": "MyError", "message": "m"})
    assert type(odd).__name__ == "MyError" and isinstance(odd, Exception)
    assert isinstance(protocol.remote_error({"type": "x y", "message": ""}), Exception)
    assert isinstance(protocol.remote_error({"not_implemented": True}), NotImplementedError)
    stopped = protocol.remote_error({"type": "MemoryError", "kind": "memory"})
    assert isinstance(stopped, KernelStopped) and stopped.kind == "memory"


# --- statuses ---------------------------------------------------------------------------

def test_the_readme_status_table_is_the_enum() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README.md's status table differs from " \
        "course_tools.grading.status: paste `python -m course_tools.grading.status`"


def test_the_chinese_readme_status_table_is_the_enum() -> None:
    readme = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert markdown_table("zh") in readme, "README.zh-CN.md's status table differs from " \
        "course_tools.grading.status: paste `python -m course_tools.grading.status zh`"


def test_every_status_means_something_in_both_languages() -> None:
    for status in Status:
        assert status.meaning_in("en") == status.meaning and status.meaning
        assert any("\u4e00" <= ch <= "\u9fff" for ch in status.meaning_in("zh")), status
    assert markdown_table("zh").startswith("| 状态 | 该题得分 | 含义 |")
    assert "| exit | 由检查决定 |" in markdown_table("zh")
    with pytest.raises(ValueError, match=r"lang: expected one of \['en', 'zh'\], got 'fr'"):
        markdown_table("fr")


def test_a_students_feedback_explains_each_status_in_their_language() -> None:
    from course_tools.grading import batch
    from course_tools.grading.results import ExerciseResult, SubmissionResult

    def result(language: str) -> SubmissionResult:
        return SubmissionResult(
            "s", "03_attention_basics.ipynb", language=language,
            problems=[(Status.TIMEOUT, "l03_scores: past 5 CPU seconds")],
            exercises=[ExerciseResult("l03_scores", 0, 1, status=Status.TIMEOUT),
                       ExerciseResult("l03_mask", 1, 1, status=Status.PASSED),
                       ExerciseResult("l03_softmax", 0, 1, status=Status.FAILED)])

    zh = batch._feedback([result("zh")], "s")
    assert f"状态：**timeout**（{Status.TIMEOUT.meaning_zh}）" in zh, zh
    assert f"**l03_scores**（0 / 1）：timeout（{Status.TIMEOUT.meaning_zh}）" in zh, zh
    assert "**l03_mask**（1 / 1）：通过" in zh and "**l03_softmax**（0 / 1）：未通过" in zh, zh
    en = batch._feedback([result("en")], "s")
    assert f"Status: **timeout** ({Status.TIMEOUT.meaning})" in en, en
    assert "**l03_mask** (1 / 1): passed" in en and "**l03_softmax** (0 / 1): failed" in en
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en), en


def test_statuses_are_one_typed_table() -> None:
    assert len({s.value for s in Status}) == len(Status)
    assert all(s.meaning for s in Status)
    blocking = {s.value for s in Status if s.blocks_points}
    assert {"sandbox", "tampering", "uses-reference", "copies-reference", "timeout", "memory",
            "crash", "syntax-error", "missing-answer", "grader-error"} <= blocking
    assert not {"ok", "passed", "tests-restored", "exit", "answer-error"} & blocking
    assert most_severe(["ok", "tampering", "sandbox", "passed"]) is Status.SANDBOX
    assert most_severe(["passed", "failed"]) is Status.OK
    with pytest.raises(ValueError):
        Status("not-a-status")


# --- the kernel's guard (called directly: installing it would guard this test run) -----

def guard_for(tmp_path: Path) -> Guard:
    scratch, hidden = tmp_path / "scratch", tmp_path / "scratch" / "submissions"
    guard = Guard(str(scratch), [str(hidden), str(ROOT)], [str(ROOT / "course_lib")])
    guard.armed = True
    return guard


@pytest.mark.parametrize("event, args, refused", [
    ("open", ("{scratch}/notes.txt", "w", os.O_WRONLY), None),
    ("open", ("{root}/course_lib/checks.py", "a", os.O_WRONLY), "outside its scratch"),
    ("open", ("{root}/course_lib/checks.py", "r", os.O_RDONLY), None),
    ("open", ("{root}/notebooks/00_welcome.ipynb", "r", os.O_RDONLY), "does not show"),
    ("open", ("{scratch}/submissions/a/00.ipynb", "r", os.O_RDONLY), "does not show"),
    ("open", ("{scratch}/submissions/a/00.ipynb", "w", os.O_WRONLY), "does not show"),
    ("open", ("/etc/passwd", None, os.O_RDWR), "outside its scratch"),
    ("os.listdir", ("{scratch}/submissions",), "does not show"),
    ("os.listdir", ("{root}",), None),  # above course_lib: Python's imports list it
    ("os.remove", ("{root}/README.md", -1), "does not show"),
    ("os.rename", ("{scratch}/a", "/usr/lib/x"), "outside its scratch"),
    ("os.kill", (1, 9), "signal"),
    ("os.killpg", (0, 9), "signal"),
    ("os.fork", (), "start a process"),
    ("os.system", (b"sleep 1",), "start a process"),
    ("socket.connect", (None, ("1.1.1.1", 80)), "network"),
    ("resource.setrlimit", (6, (1, 1)), "limits"),
    ("import", ("numpy", None, None, None, None), None),
])
def test_the_guard_refuses_and_records_each_way_out(tmp_path: Path, event: str, args: tuple,
                                                   refused: str | None) -> None:
    guard = guard_for(tmp_path)
    args = tuple(a.format(scratch=guard.scratch, root=ROOT) if isinstance(a, str) else a
                 for a in args)
    if refused is None:
        guard(event, args)
        assert guard.take() == []
        return
    with pytest.raises(PermissionError, match="sandbox"):
        guard(event, args)
    assert refused in guard.take()[0]
    guard.armed = False
    guard(event, args)  # the lesson's own cells run with the guard off
    assert guard.take() == []


# --- no sandbox, no grading -------------------------------------------------------------

def one_submission(tmp_path: Path) -> Path:
    submissions = tmp_path / "submissions"
    (submissions / "ada").mkdir(parents=True)
    nbformat.write(notebooks.read(ROOT / "notebooks" / "00_welcome.ipynb"),
                   str(submissions / "ada" / "00_welcome.ipynb"))
    return submissions


def test_grading_stops_on_a_machine_without_bwrap(tmp_path: Path, monkeypatch, capsys) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(sandbox.BWRAP_VARIABLE, raising=False)
    out = tmp_path / "out"
    assert cli.main(["grade", str(one_submission(tmp_path)), "--out", str(out),
                     "--source", str(ROOT / "notebooks")]) == 2
    error = capsys.readouterr().err
    assert "refusing to grade without a sandbox" in error
    assert "bubblewrap (bwrap) is not installed" in error
    for words in ("apt-get install bubblewrap", "kernel.unprivileged_userns_clone",
                  "apparmor_restrict_unprivileged_userns", "--no-sandbox"):
        assert words in error
    assert not out.exists(), "nothing may be graded"


FAKE_BWRAP = '''#!{python}
"""A "bwrap" that isolates nothing but the PID and mount namespaces (the filesystem stays
writable, the network reachable): the probe must refuse it."""
import ctypes, json, os, sys
args = sys.argv[1:]
info = int(args[args.index("--info-fd") + 1])
command = args[args.index("--") + 1:]
if ctypes.CDLL(None, use_errno=True).unshare(0x00020000 | 0x20000000) != 0:
    sys.exit("fake bwrap: unshare failed")
pid = os.fork()
if pid == 0:
    os.execv(command[0], command)
os.write(info, json.dumps({{"child-pid": pid}}).encode())
os.close(info)
os.waitpid(pid, 0)
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="the fake bwrap needs root to unshare")
def test_the_probe_refuses_a_sandbox_that_does_not_isolate(tmp_path: Path,
                                                          monkeypatch) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text(FAKE_BWRAP.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, str(fake))
    with pytest.raises(sandbox.SandboxUnavailable) as refused:
        sandbox.probe(sandbox.find())
    message = str(refused.value)
    assert "does not isolate" in message and "write in course_lib" in message, message
    assert "see a network interface" in message and "read a file" in message, message


def test_no_sandbox_grades_and_every_row_says_so(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert cli.main(["grade", str(one_submission(tmp_path)), "--out", str(out), "--no-sandbox",
                     "--source", str(ROOT / "notebooks"), "--jobs", "1"]) == 0
    assert "--no-sandbox" in capsys.readouterr().err
    with open(out / "scores.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["sandbox"] == "off (--no-sandbox)" for r in rows)
    assert rows[0]["status"] == "ok" and float(rows[0]["total"]) == 2
    assert "without a sandbox" in (out / "feedback" / "ada.md").read_text()
    manifest = json.loads((out / MANIFEST).read_text())
    data = (tmp_path / "submissions" / "ada" / "00_welcome.ipynb").read_bytes()
    assert manifest["sandbox"].startswith("none")
    assert manifest["graded"] == [{"student": "ada", "lesson": "00_welcome.ipynb",
                                   "sha256": hashlib.sha256(data).hexdigest(),
                                   "status": "ok", "total": 2, "max": 2}]


# --- results -------------------------------------------------------------------------

def test_results_are_written_whole(tmp_path: Path) -> None:
    row = SubmissionResult("ada", "00_welcome.ipynb",
                           [ExerciseResult("l00_softmax_test", 2, 2, Status.PASSED)],
                           sha256="ab")
    write_results([row], tmp_path, manifest={"seed": 1})
    write_results([row], tmp_path, manifest={"seed": 1})  # again, over the first
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert names == ["exercises.csv", "feedback", "feedback/ada.md", MANIFEST, "scores.csv"]


# --- one analyser, one marker parser, one lesson resolver --------------------------------

@pytest.mark.parametrize("path", LESSONS, ids=[p.name[:2] for p in LESSONS])
def test_progress_and_grade_run_the_same_cells(path: Path) -> None:
    nb = notebooks.read(path)
    code = cells.classify(nb)
    answers = [c for c in code if c.kind == "answer"]
    answer_names = set().union(*(c.defined for c in answers))
    tests = [c for c in code if c.kind == "test"]
    # what the grader runs: the set-up its test cells need here and its answers need in the
    # kernel (course_tools.grading.lesson and .grader), with the answer and test cells
    wanted = [(t.index, t.used - answer_names) for t in tests]
    wanted += [(a.index, a.used) for a in answers]
    graded = set(cells.needed_cells(cells.setup_table(code), wanted))
    graded |= {c.index for c in answers + tests}
    assert progress.exercise_cells(nb) == sorted(graded)
    assert not any(nb.cells[i].source.lstrip().startswith("train(")
                   for i in progress.exercise_cells(nb))


@pytest.mark.parametrize("path", LESSONS, ids=[p.name[:2] for p in LESSONS])
def test_one_parser_reads_the_markers(path: Path) -> None:
    for _, cell in notebooks.code_cells(notebooks.read(path)):
        visible = [code for hidden, code in notebooks.split_hidden_tests(cell.source)
                   if not hidden]
        stripped = notebooks.strip_hidden_tests(cell.source)
        assert [line for part in visible for line in part.splitlines() if line.strip()] == \
            [line for line in stripped.splitlines() if line.strip()]
        if notebooks.SOLUTION_BEGIN in cell.source:
            solved = notebooks.solution_code(cell.source)
            assert notebooks.SOLUTION_BEGIN not in solved and solved.strip()
            assert "raise NotImplementedError()" in notebooks.strip_solutions(cell.source)


def test_lesson_numbers_become_paths_in_one_place(tmp_path: Path) -> None:
    folder = ROOT / "notebooks"
    first = LESSONS[0]
    assert notebooks.resolve_lessons([], folder) == LESSONS
    assert notebooks.resolve_lessons([str(int(first.name[:2]))], folder) == [first]
    assert notebooks.resolve_lessons([first.name[:2], first.name], folder) == [first]
    assert notebooks.resolve_lessons([str(first)], folder) == [first]
    with pytest.raises(ValueError, match=r"no lesson '77'.*\(00, 01"):
        notebooks.resolve_lessons(["77"], folder)
    assert notebooks.lesson_number("03_attention_basics.ipynb") == "03"
    assert notebooks.lesson_number("notes.txt") is None


def test_every_command_is_a_module_in_the_table(capsys) -> None:
    for name, module in cli.COMMANDS.items():
        assert callable(module.add_parser) and callable(module.run), name
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in cli.COMMANDS)
    with pytest.raises(SystemExit):
        cli.main(["doctor", "--bogus"])


def test_a_folder_under_tmp_is_readable_inside_the_sandbox(tmp_path: Path) -> None:
    """A course or class kept under /tmp on the host (pytest's tmp_path is there) is bound
    read-only inside the kernel's private /tmp, not hidden by it: a course cloned into /tmp
    grades sandboxed. The private /tmp stays writable and empty of the host's files."""
    try:
        box = sandbox.find()
    except sandbox.SandboxUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but {error}", pytrace=False)
        pytest.skip(str(error))
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "module.py").write_text("VALUE = 42\n")
    assert str(folder).startswith(sandbox.SCRATCH + "/"), folder
    script = (f"cat {folder}/module.py; echo changed > {folder}/module.py 2>/dev/null "
              f"|| echo read-only; echo mine > {sandbox.SCRATCH}/own && cat "
              f"{sandbox.SCRATCH}/own; ls {sandbox.SCRATCH}")
    ran = subprocess.run(box.command(["/bin/sh", "-c", script], {"PATH": "/usr/bin:/bin"},
                                     [str(folder)]),
                         capture_output=True, text=True, timeout=60, cwd="/")
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.split()
    assert lines[:4] == ["VALUE", "=", "42", "read-only"], ran.stdout
    assert "mine" in lines and (folder / "module.py").read_text() == "VALUE = 42\n"
    top = Path(str(tmp_path).removeprefix(sandbox.SCRATCH + "/")).parts[0]
    assert sorted(lines[lines.index("mine") + 1:]) == sorted(["own", top]), ran.stdout
