"""The ``course`` command (also ``python -m course_tools``): ``course --help`` lists the
sub-commands, ``course COMMAND --help`` their options.

Each sub-command is a module of :mod:`course_tools.commands` with ``add_parser`` and ``run``;
:data:`COMMANDS` is the table. To add one, write its module and add a line to the table.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from course_tools.commands import (
    build,
    clean,
    doctor,
    grade,
    lab,
    learner,
    progress,
    release,
    site,
    slides,
    translations,
)

COMMANDS: dict[str, ModuleType] = {
    "doctor": doctor,       # environment report
    "build": build,         # execute notebooks headless: build/executed, build/html, wall times
    "clean": clean,         # strip outputs and execution counts in place
    "release": release,     # student versions (no solutions, no hidden tests) in build/release
    "learner": learner,     # make or update the learner's own copies in learner/
    "lab": lab,             # the learner's copies, then JupyterLab on them
    "progress": progress,   # run the visible checks of the learner's copies: a table
    "grade": grade,         # grade SUBMISSIONS/<student>/<lesson>.ipynb: score table, feedback
    "slides": slides,       # offline reveal.js decks of the lessons in build/slides
    "site": site,           # the course as a static website in build/site (offline)
    "translations": translations,  # the Chinese edition's catalogues: status, stale, updates
}


def parser() -> argparse.ArgumentParser:
    """The ``course`` argument parser, one sub-parser per entry of :data:`COMMANDS`."""
    main_parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                          formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = main_parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(subparsers)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the sub-command, return its exit code."""
    course = parser()
    args, extra = course.parse_known_args(argv)
    module = COMMANDS[args.command]
    if extra and not getattr(module, "PASSES_UNKNOWN_ARGUMENTS", False):
        course.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return module.run(args)


if __name__ == "__main__":
    sys.exit(main())
