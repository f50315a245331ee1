"""A hostile class: ``course grade`` in its sandbox against students who attack the class.

Each attacker's answer cell (or, for one, the function the grader calls) does its damage and
then answers correctly; they are graded in one run together with honest students who sort
before and after them. Every attack gets its row and nothing for the attacked exercise, the
grader survives, every file outside the kernels' scratch folders is byte-identical afterwards,
no process of the class is left running, and the honest students keep full marks.

Two kinds of attack: plain ones (stopped first by the kernel's guard, which turns even a
caught attempt into the ``sandbox`` status), and the same damage after switching the guard
off (found by ``gc``, which the answer check flags as tampering), which only the OS sandbox
stops. Lessons 00 and 03 only, whose grading runs no training: the class grades in about a
minute on two cores. Needs bubblewrap: skipped where there is none, a failure in CI.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.notebook import checks
from course_tools import notebooks
from course_tools.grading import samples, sandbox
from course_tools.grading.batch import MANIFEST, grade_class
from course_tools.grading.kernel_client import Limits

ROOT = Path(__file__).resolve().parents[1]
L00, L03 = "00_welcome.ipynb", "03_attention_basics.ipynb"
CHECKS = str(Path(checks.__file__).resolve())  # the checker, wherever course_lib keeps it
SOFTMAX = '''
def stable_softmax(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''
GUARD_OFF = '''
import gc
for _object in gc.get_objects():
    if type(_object).__name__ == "Guard":
        _object.armed = False
'''


def attempt(*lines: str) -> str:
    """Each line of damage in its own ``try``: a failed step does not stop the next."""
    return "".join(f"try:\n    {line}\nexcept BaseException:\n    pass\n" for line in lines)


def attacks(paths: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``student -> (answer cell of l00_softmax, status expected)``; ``paths`` are the
    class's real paths, which an attacker is assumed to know."""
    writes = [f"open({paths['checks']!r}, 'a').write('\\n# pwned by a student\\n')",
              *[f"open({p!r}, 'a').write('pwned')" for p in paths["course"]],
              *[f"open({p!r}, 'w').write('{{}}')" for p in paths["submissions"]],
              f"open({paths['results']!r} + '/scores.csv', 'w').write('pwned')",
              f"open({paths['results']!r} + '/planted.txt', 'w').write('pwned')",
              f"open({paths['outside']!r} + '/pwned.txt', 'w').write('pwned')",
              f"open({paths['home']!r} + '/course-grade-pwned.txt', 'w').write('pwned')"]
    reads = [f"stolen = open({paths['victim']!r}).read()",
             f"listing = os.listdir({paths['submission_folder']!r})"]
    signals = ["os.kill(1, 9)", f"os.kill({paths['grader']}, 9)",  # SIGKILL
               "[os.kill(int(p), 15) for p in os.listdir('/proc') "
               "if p.isdigit() and int(p) != os.getpid()]"]
    forks = ["[os.fork() or (time.sleep(600), os._exit(0)) for _ in range(300)]"]
    disk = ["[open(f'/tmp/fill{i}', 'wb').write(bytes(1 << 20)) for i in range(3000)]",
            "open('/tmp/one_big', 'wb').write(bytes(3 << 30))"]
    network = ["socket.create_connection(('1.1.1.1', 80), timeout=3)",
               "socket.getaddrinfo('example.com', 80)",
               "urllib.request.urlopen('http://example.com', timeout=3)"]
    header = "import os, socket, time, urllib.request\n"  # nothing the answer check flags
    plain = {
        "m01_writes_course": attempt(*writes[:1 + len(paths["course"])]),
        "m02_writes_submissions": attempt(*[w for w in writes if "'{}'" in w]),
        "m03_writes_results": attempt(*[w for w in writes if paths["results"] in w]),
        "m04_writes_outside": attempt(writes[-2], writes[-1], "open('/var/tmp/pwned', 'w')"),
        "m05_reads_submission": attempt(*reads),
        "m06_signals_grader": attempt(*signals),
        "m07_signals_group": attempt("os.killpg(0, 9)", "os.killpg(os.getpgid(0), 9)"),
        "m08_forks": attempt(*forks, "os.system('sleep 600 &')"),
        "m09_fills_disk": attempt(*disk),
        "m10_network": attempt(*network),
    }
    cases = {name: (header + code + SOFTMAX, "sandbox") for name, code in plain.items()}
    # the damage inside the function the grader calls, not in the answer cell
    cases["m11_attacks_in_call"] = (header + SOFTMAX.replace(
        "    x = np.asarray", "    " + attempt(writes[0]).replace("\n", "\n    ").rstrip()
        + "\n    x = np.asarray"), "sandbox")
    # the guard switched off: only the OS sandbox stands in the way
    off = {
        "m12_os_writes": (attempt(*writes, *reads), "tampering"),
        "m13_os_signals": (attempt(*signals), "tampering"),
        "m14_os_killpg": (attempt("os.killpg(0, 9)"), "crash"),
        "m15_os_forks": (attempt(*forks), "tampering"),
        "m16_os_fills_disk": (attempt(*disk), "sandbox"),
        "m17_os_network": (attempt(*network), "tampering"),
    }
    for name, (code, status) in off.items():
        cases[name] = (header + GUARD_OFF + code + SOFTMAX, status)
    return cases


def digests(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders`` (Python's bytecode caches left out: the
    grader's own imports may write them)."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def class_processes() -> set[int]:
    """Processes a grading run starts: kernels (forked by the zygote) and sandboxes."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"course_tools.grading" in cmdline or cmdline.startswith(b"bwrap") or \
                b"/bwrap\0" in cmdline:
            found.add(int(entry))
    return found


@pytest.fixture(scope="module")
def box() -> sandbox.Sandbox:
    try:
        found = sandbox.find()
        sandbox.probe(found)
        return found
    except sandbox.SandboxUnavailable as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no working sandbox here: {str(error).splitlines()[0]}")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, box: sandbox.Sandbox) -> dict:
    work = tmp_path_factory.mktemp("hostile")
    submissions, results, outside = work / "submissions", work / "results", work / "outside"
    for folder in (submissions, results, outside):
        folder.mkdir()
    (results / "previous.txt").write_text("last term's grades\n")
    (outside / "keep.txt").write_text("the TA's notes\n")
    source = {name: notebooks.read(ROOT / "notebooks" / name) for name in (L00, L03)}
    released = notebooks.student_version(source[L00])
    honest = ["a_honest", "z_honest"]
    names = honest + [f"m{i:02d}" for i in range(1, 18)]
    files = [submissions / s / L00 for s in names] + [submissions / s / L03 for s in honest]
    paths = {
        "checks": CHECKS,
        "course": [str(p) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))[:3]]
        + [str(ROOT / "course_tools" / "cli.py")],
        "submissions": [str(f) for f in files if "honest" in str(f)],
        "victim": str(submissions / "a_honest" / L00),
        "submission_folder": str(submissions),
        "results": str(results), "outside": str(outside), "home": str(Path.home()),
        "grader": str(os.getpid()),
    }
    cases = attacks(paths)
    for student in honest:
        for name in (L00, L03):
            (submissions / student).mkdir(exist_ok=True)
            nbformat.write(source[name], str(submissions / student / name))
    for student, (code, _) in cases.items():
        (submissions / student).mkdir()
        nb = samples.with_answers(released, {"l00_softmax": code})
        nbformat.write(nb, str(submissions / student / L00))
    watched = [ROOT / "course_lib", ROOT / "course_tools", ROOT / "notebooks", submissions,
               outside]
    before = digests(*watched)
    previous = (results / "previous.txt").read_bytes()
    running = class_processes()
    start = time.monotonic()
    rows = grade_class(submissions, results, source=ROOT / "notebooks", quiet=True, seed=3,
                       sandbox=box, limits=Limits(cell_cpu=10.0, submission=120.0))
    seconds = time.monotonic() - start
    deadline = time.monotonic() + 10
    left = class_processes() - running
    while left and time.monotonic() < deadline:  # killed processes take a moment to go
        time.sleep(0.2)
        left = class_processes() - running
    with open(results / "scores.csv", encoding="utf-8") as handle:
        table = {(r["student"], r["lesson"]): r for r in csv.DictReader(handle)}
    return {"rows": {(r.student, r.lesson): r for r in rows}, "table": table,
            "cases": cases, "before": before, "after": digests(*watched),
            "results": results, "previous": previous, "left": left, "seconds": seconds,
            "home": Path.home()}


EXPECTED = [f"m{i:02d}" for i in range(1, 18)]


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_attack_gets_its_row_and_nothing_for_the_exercise(hostile: dict,
                                                              student: str) -> None:
    name = next(n for n in hostile["cases"] if n.startswith(student))
    row = hostile["rows"][(name, L00)]
    expected = hostile["cases"][name][1]
    attacked = {e.grade_id: e for e in row.exercises}["l00_softmax_test"]
    assert (str(row.status), attacked.points, row.total) == (expected, 0, 0), \
        (name, row.status, row.message)
    assert hostile["table"][(name, L00)]["status"] == expected


def test_honest_students_before_and_after_keep_full_marks(hostile: dict) -> None:
    for student in ("a_honest", "z_honest"):
        for lesson, points in ((L00, 2), (L03, 10)):
            row = hostile["rows"][(student, lesson)]
            assert (str(row.status), row.total) == ("ok", points), (student, row.message)


def test_every_file_outside_the_scratch_folders_is_unchanged(hostile: dict) -> None:
    before, after = hostile["before"], hostile["after"]
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, f"files changed by the class: {changed}"
    results = hostile["results"]
    assert (results / "previous.txt").read_bytes() == hostile["previous"]
    assert sorted(p.name for p in results.iterdir()) == sorted(
        ["exercises.csv", "feedback", MANIFEST, "previous.txt", "scores.csv"])
    assert not (hostile["home"] / "course-grade-pwned.txt").exists()
    assert not Path("/var/tmp/pwned").exists()
    feedback = (results / "feedback" / "a_honest.md").read_text()
    assert "2 / 2 points" in feedback and "pwned" not in feedback


def test_no_process_of_the_class_is_left_running(hostile: dict) -> None:
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in hostile["left"]
            if Path(f"/proc/{pid}").exists()}
    assert not left, left


def test_the_grader_survives_and_grades_everyone(hostile: dict) -> None:
    students = {student for student, _ in hostile["rows"]}
    assert len(students) == 2 + len(EXPECTED)
    assert not [r for r in hostile["rows"].values() if str(r.status) == "grader-error"]
    assert all(r.sandboxed for r in hostile["rows"].values())


def test_a_rerun_gives_the_same_table(tmp_path: Path, box: sandbox.Sandbox) -> None:
    """The same files graded twice into one folder (the second run reuses the first's
    seed from the manifest) give byte-identical tables and feedback."""
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    source = notebooks.read(ROOT / "notebooks" / L00)
    blank = notebooks.student_version(source)
    files = {"honest": source, "blank": blank,
             "attacker": samples.with_answers(blank, {"l00_softmax": attacks({
                 "checks": CHECKS, "course": [],
                 "submissions": [], "victim": "", "submission_folder": "", "results": "",
                 "outside": "", "home": "", "grader": "1"})["m01_writes_course"][0]})}
    for student, nb in files.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(nb, str(submissions / student / L00))
    tables = []
    for _ in range(2):
        grade_class(submissions, out, source=ROOT / "notebooks", quiet=True, sandbox=box, jobs=1)
        tables.append({name: (out / name).read_bytes() for name in
                       ("scores.csv", "exercises.csv", "feedback/honest.md", MANIFEST)})
    assert tables[0] == tables[1]
    scores = tables[0]["scores.csv"].decode()
    assert "attacker,00_welcome.ipynb,0,0,2,sandbox" in scores, scores
