"""``course lab [JUPYTER ARGS]``: the learner's copies, then JupyterLab on them."""

from __future__ import annotations

import argparse
from pathlib import Path

from course_tools import REPO, lab_style, learner
from course_tools.commands import add_lang
from course_tools.commands import learner as learner_command

PASSES_UNKNOWN_ARGUMENTS = True  # they go to jupyter lab


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("lab", help="learner copies, then JupyterLab on them "
                                               "(other options go to jupyter lab)")
    parser.add_argument("--refresh", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=REPO,
                        help="serve this folder; the copies go to ROOT/learner")
    add_lang(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """The copies, the course kernel and settings, then JupyterLab (replaces this process)."""
    learner_command.run(args)
    learner.install_kernel()
    learner.install_lab_settings()
    lab_style.install_lab_style()
    learner.exec_lab(args.root, args.extra, lang=args.lang)
    return 0  # not reached: exec_lab replaces this process
