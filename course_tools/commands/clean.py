"""``course clean NB [NB ...]``: strip outputs and execution counts in place."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from course_tools import notebooks


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("clean", help="strip outputs from notebooks in place")
    parser.add_argument("paths", nargs="+", type=Path)
    return parser


def run(args: argparse.Namespace) -> int:
    for path in args.paths:
        nb = notebooks.read(path)
        if notebooks.clean(nb):
            nbformat.write(nb, str(path))
            print(f"cleaned {path}")
    return 0
