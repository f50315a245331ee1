"""``course progress [NN ...]`` (``make progress``, ``make progress LESSON=03``): run the
visible checks of the learner's copies; a report with the diagnosis of each failed one."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_tools import REPO, learner, notebooks, progress


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("progress", help="exercises passed in the learner's copies")
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    parser.add_argument("--folder", type=Path, default=REPO / learner.LEARNER_DIR)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    return parser


def run(args: argparse.Namespace) -> int:
    """The visible checks of the learner's copies, run headless."""
    if not notebooks.lesson_paths(args.folder):
        print(f"no learner copies in {args.folder}: run `make lab` (or `course learner`) "
              "first")
        return 1
    try:
        paths = notebooks.resolve_lessons(args.lessons, args.folder)
    except ValueError as error:
        print(f"course progress: {error}")
        return 1
    print(f"Running the checks of {len(paths)} lesson(s) in {args.folder} (your copies are "
          "read, not changed)...", flush=True)
    start = time.perf_counter()
    rows = progress.run_lessons(paths, timeout=args.timeout, show=sys.stderr.isatty())
    print(progress.format_table(rows))
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0
