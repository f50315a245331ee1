"""``course release [NB ...]``: student versions (no solutions, no hidden tests)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from course_tools import notebooks


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("release", help="write student versions")
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build/release"))
    return parser


def run(args: argparse.Namespace) -> int:
    """Answers replaced by ``raise NotImplementedError()``, hidden tests cut; refuses, naming
    the cell, a solution it cannot strip."""
    paths = args.paths or notebooks.lesson_paths()
    refused = [f"{path}: {problem}" for path in paths
               for problem in notebooks.unstrippable_solutions(notebooks.read(path))]
    if refused:
        print("course release: refusing to release solutions it cannot strip:\n  "
              + "\n  ".join(refused), file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb = notebooks.student_version(notebooks.read(path))
        target = args.out / path.name
        nbformat.write(nb, str(target))
        print(f"wrote {target}")
    return 0
