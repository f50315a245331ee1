"""``course learner [--refresh]``: make or update the learner's own copies in learner/."""

from __future__ import annotations

import argparse
from pathlib import Path

from course_tools import REPO, learner
from course_tools.commands import add_lang


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("learner", help="make or update the learner's copies")
    parser.add_argument("--refresh", action="store_true",
                        help="replace untouched copies whose lesson changed, without asking")
    parser.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)
    add_lang(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Create missing copies; refresh untouched outdated ones on request (``--lang zh``: the
    Chinese copies in learner/zh/)."""
    refresh = (lambda names: True) if args.refresh else learner.ask_on_terminal
    report = learner.update_copies(REPO / "notebooks",
                                   learner.learner_folder(args.root, args.lang),
                                   refresh=refresh, lang=args.lang)
    print(report.summary())
    return 0
