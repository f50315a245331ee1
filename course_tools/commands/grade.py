"""``course grade SUBMISSIONS --out RESULTS``: grade a class (see :mod:`course_tools.grading`).

Every kernel runs in a bubblewrap sandbox; before grading, a probe checks that the sandbox
works here and ``course grade`` stops, saying how to get one, when it does not.
``--no-sandbox`` grades trusted files without one, and every row of that run says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_tools.grading.kernel_client import Limits


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("grade", help="grade a class: score table and feedback")
    parser.add_argument("submissions", type=Path, help="folder of <student>/<lesson>.ipynb")
    parser.add_argument("--out", type=Path, default=Path("build/grades"))
    parser.add_argument("--source", type=Path, default=Path("notebooks"),
                        help="the source notebooks (with solutions and hidden tests)")
    parser.add_argument("--lessons", nargs="*", help="lessons every student should hand in "
                        "(numbers or file names; default: those anyone handed in)")
    parser.add_argument("--jobs", type=int, help="parallel workers (default: available cores)")
    parser.add_argument("--cell-timeout", type=float, default=20.0,
                        help="CPU seconds per answer cell or per call of an answer (default 20)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="wall seconds per submission (default 300)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="memory limit per student kernel in MiB (default 2048)")
    parser.add_argument("--seed", type=int, help="seed of the checks' random inputs "
                        "(default: the previous run's in --out, else a new one, so answers "
                        "cannot be precomputed)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without the OS sandbox: only for files you trust "
                             "(every row says so)")
    return parser


def run(args: argparse.Namespace) -> int:
    from course_tools.grading import batch, sandbox

    if not args.submissions.is_dir():
        print(f"course grade: {args.submissions} is not a folder of student folders",
              file=sys.stderr)
        return 2
    limits = Limits(cell_cpu=args.cell_timeout, submission=args.timeout,
                    memory=args.memory_mb * 1024 * 1024)
    box = None
    if args.no_sandbox:
        print("course grade: --no-sandbox: student code runs without isolation; grade only "
              "files you trust", file=sys.stderr)
    else:
        try:
            box = sandbox.find(limits.scratch)
            sandbox.probe(box)
            for gap in box.gaps():
                print(f"course grade: warning: this bubblewrap has {gap}", file=sys.stderr)
        except sandbox.SandboxUnavailable as error:
            print(f"course grade: refusing to grade without a sandbox: {error}",
                  file=sys.stderr)
            return 2
    try:
        batch.grade_class(args.submissions, args.out, source=args.source,
                          lessons=args.lessons, jobs=args.jobs, limits=limits, seed=args.seed,
                          sandbox=box)
    except ValueError as error:  # an unknown lesson in --lessons
        print(f"course grade: {error}", file=sys.stderr)
        return 2
    return 0
