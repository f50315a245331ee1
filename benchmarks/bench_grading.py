"""Benchmark ``course grade`` with and without its sandbox, and against ``nbgrader autograde``.

    .venv/bin/python benchmarks/bench_grading.py                  # 30 per lesson, 2 for nbgrader
    .venv/bin/python benchmarks/bench_grading.py --size 6 --sample 1   # smoke run

For lessons 03 and 05: generates ``--size`` submissions (a fixed mix of correct, partial,
blank, broken and cheating notebooks, see ``course_tools.grading.samples``), grades them all
with ``course grade`` (default limits, every available core) in its bubblewrap sandbox, then
again without it (``--no-sandbox``), then times ``nbgrader autograde`` (the repository's
nbgrader_config.py: 600 s per cell) on ``--sample`` of the same submissions, one student at a
time as nbgrader does, all in one run. Prints seconds per submission (wall; and CPU seconds,
which a busy machine inflates less), the sandbox's cost (sandboxed / unsandboxed wall) and
the ratio ``nbgrader / ours`` (sandboxed), with the load average before and after. Needs
bubblewrap for the sandboxed column and the instructor extra (nbgrader) for the comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_tools.grading import sandbox  # noqa: E402
from course_tools.grading.batch import available_cores, grade_class  # noqa: E402
from course_tools.grading.samples import sample_class  # noqa: E402

LESSONS = {"l03": "03_attention_basics.ipynb", "l05": "05_transformer.ipynb"}
# nbgrader's sample: the kinds that run every cell (an endless loop would only measure the
# timeout), correct first.
SAMPLE_KINDS = ["correct", "partial", "patched-checks", "blank"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours(lesson: str, students: dict, work: Path, box: sandbox.Sandbox | None
         ) -> tuple[float, float, dict]:
    submissions = work / "ours" / lesson
    if not submissions.exists():
        for student, (_, nb) in students.items():
            (submissions / student).mkdir(parents=True)
            nbformat.write(nb, str(submissions / student / LESSONS[lesson]))
    out = work / f"ours_results_{'sandboxed' if box else 'plain'}" / lesson
    start = time.perf_counter()
    rows = grade_class(submissions, out, source=ROOT / "notebooks", quiet=True, sandbox=box)
    wall = time.perf_counter() - start
    cpu = sum(row.cpu_seconds for row in rows)
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    return wall, cpu, statuses


def kernel_starts(box: sandbox.Sandbox, count: int) -> tuple[float, float]:
    """Median wall seconds to start a kernel and run an empty cell, sandboxed and not,
    alternating (so that a change in the machine's load hits both alike)."""
    from course_tools.grading.kernel_client import Kernel, Limits

    times: dict[bool, list[float]] = {True: [], False: []}
    Kernel(Limits(), sandbox=None).close()  # the zygote's imports, once
    for _ in range(count):
        for sandboxed in (True, False):
            start = time.perf_counter()
            kernel = Kernel(Limits(), sandbox=box if sandboxed else None)
            kernel.run("pass")
            times[sandboxed].append(time.perf_counter() - start)
            kernel.close()
    return statistics.median(times[True]), statistics.median(times[False])


def nbgrader(lesson: str, sample: dict, work: Path) -> tuple[list[float], list[float]]:
    course = work / "nbgrader"
    root = course / "build" / "nbgrader"
    if not (course / "nbgrader_config.py").exists():
        course.mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", course)
    name = LESSONS[lesson]
    (root / "source" / lesson).mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / name, root / "source" / lesson / name)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "OMP_WAIT_POLICY": "PASSIVE", "MPLBACKEND": "Agg"}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")

    def run(*args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                                capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])

    run("generate_assignment", lesson, "--force")
    walls, cpus = [], []
    for student, (_, nb) in sample.items():
        folder = root / "submitted" / student / lesson
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / name))
        cpu, start = children_cpu(), time.perf_counter()
        run("autograde", lesson, "--student", student, "--create", "--force")
        walls.append(time.perf_counter() - start)
        cpus.append(children_cpu() - cpu)
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30, help="submissions per lesson")
    parser.add_argument("--sample", type=int, default=2, help="of them timed with nbgrader")
    parser.add_argument("--lessons", nargs="*", default=sorted(LESSONS))
    parser.add_argument("--starts", type=int, default=20, help="kernel starts timed each way")
    args = parser.parse_args()
    try:
        import nbgrader as _  # noqa: F401
        has_nbgrader = True
    except ImportError:
        has_nbgrader = False
        print("nbgrader is not installed (pip install -e '.[instructor]'): ours only")
    try:
        start = time.perf_counter()
        box = sandbox.find()
        sandbox.probe(box)
        print(f"sandbox: {box.bwrap} (probe {time.perf_counter() - start:.1f} s)")
    except sandbox.SandboxUnavailable as error:
        box = None
        print(f"no sandbox ({str(error).splitlines()[0]}): unsandboxed column only")
    if box is not None:
        sandboxed, plain = kernel_starts(box, args.starts)
        print(f"kernel start + empty cell (median of {args.starts}): sandboxed "
              f"{sandboxed * 1000:.0f} ms, without {plain * 1000:.0f} ms")
    print(f"{available_cores()} cores; {args.size} submissions per lesson; nbgrader on "
          f"{args.sample}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'lesson':<8}{'sandboxed s/sub':>16}{'cpu/sub':>8}{'30 subs s':>10}"
          f"{'plain s/sub':>12}{'cpu/sub':>8}{'cost':>6}"
          f"{'nbgrader s/sub':>15}{'cpu/sub':>8}{'ratio':>7}  statuses")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        for lesson in args.lessons:
            students = sample_class(ROOT / "notebooks" / LESSONS[lesson], args.size)
            line = f"{lesson:<8}"
            sandboxed = None
            if box is not None:
                wall, cpu, statuses = ours(lesson, students, work, box)
                sandboxed = wall / len(students)
                line += f"{sandboxed:>16.2f}{cpu / len(students):>8.2f}{sandboxed * 30:>10.1f}"
            else:
                line += f"{'-':>16}{'-':>8}{'-':>10}"
            wall, cpu, plain_statuses = ours(lesson, students, work, None)
            plain = wall / len(students)
            line += f"{plain:>12.2f}{cpu / len(students):>8.2f}"
            line += f"{sandboxed / plain:>5.2f}x" if sandboxed else f"{'-':>6}"
            if has_nbgrader and args.sample:
                ranked = sorted(students.items(), key=lambda item: (
                    SAMPLE_KINDS.index(item[1][0]) if item[1][0] in SAMPLE_KINDS else 99))
                picked = dict(ranked[:args.sample])
                walls, cpus = nbgrader(lesson, picked, work)
                theirs = sum(walls) / len(walls)
                line += (f"{theirs:>15.2f}{sum(cpus) / len(cpus):>8.2f}"
                         f"{theirs / (sandboxed or plain):>6.1f}x")
            else:
                line += f"{'-':>15}{'-':>8}{'-':>7}"
            shown = statuses if box is not None else plain_statuses
            print(line + "  " + ", ".join(f"{k} {v}" for k, v in sorted(shown.items())),
                  flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
