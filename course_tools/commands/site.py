"""``course site [LESSON ...]``: the course as a static website in build/site (offline)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("site", help="the course as an offline static website")
    parser.add_argument("lessons", nargs="*", help="notebook paths or lesson numbers "
                                                   "(default: every lesson)")
    parser.add_argument("--out", type=Path, default=Path("build/site"))
    parser.add_argument("--lang", choices=["en", "zh", "all"], default="en",
                        help="the edition(s) to build (default: en)")
    parser.add_argument("--executed", type=Path, default=Path("build/executed"),
                        help="executed copies to reuse when current (from `make course`)")
    parser.add_argument("--no-outputs", action="store_true",
                        help="build from the stored notebooks without running them")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    return parser


def run(args: argparse.Namespace) -> int:
    """The course as a static website (see :mod:`course_tools.site`)."""
    from course_tools import notebooks, site

    start = time.perf_counter()
    langs = site.LANGUAGES if args.lang == "all" else (args.lang,)
    try:
        paths = notebooks.resolve_lessons(args.lessons)
        editions = site.build(paths, args.out, None if args.no_outputs else args.executed,
                              langs=langs, timeout=args.timeout)
    except (ValueError, RuntimeError) as error:
        print(f"course site: {error}", file=sys.stderr)
        return 1
    pages_built = sum(len(nav) for nav in editions.values())
    print(f"{pages_built} pages in {time.perf_counter() - start:.1f} s: open "
          f"{args.out / 'index.html'}")
    return 0
