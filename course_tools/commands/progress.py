"""``course progress [NN ...]`` (``make progress``, ``make progress LESSON=03``): run the
visible checks of the learner's copies; a report with the diagnosis of each failed one."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_tools import REPO, learner, notebooks, progress
from course_tools.commands import add_lang


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("progress", help="exercises passed in the learner's copies")
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    parser.add_argument("--folder", type=Path,
                        help="default: learner/ (learner/zh/ with --lang zh)")
    add_lang(parser)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    return parser


def run(args: argparse.Namespace) -> int:
    """The visible checks of the learner's copies, run headless."""
    args.folder = args.folder or learner.learner_folder(REPO, args.lang)
    if not notebooks.lesson_paths(args.folder):
        lab = "make lab" if args.lang == "en" else f"make lab LANG={args.lang}"
        print(f"no learner copies in {args.folder}: run `{lab}` (or `course learner "
              f"--lang {args.lang}`) first")
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
