"""``course doctor``: the environment report."""

from __future__ import annotations

import argparse

from course_lib.notebook import environment as env


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser("doctor", help="print the environment report")


def run(args: argparse.Namespace) -> int:
    print(env.format_report(env.environment_report()))
    return 0
