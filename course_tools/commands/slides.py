"""``course slides [LESSON ...]``: offline reveal.js decks of the lessons in build/slides."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_tools.commands import add_lang


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("slides", help="offline reveal.js decks of the lessons")
    parser.add_argument("lessons", nargs="*", help="notebook paths or lesson numbers "
                                                   "(default: every lesson)")
    parser.add_argument("--out", type=Path,
                        help="default: build/slides (build/slides/zh for --lang zh)")
    add_lang(parser)
    parser.add_argument("--executed", type=Path, default=Path("build/executed"),
                        help="executed copies to reuse when current (from `make course`)")
    parser.add_argument("--no-outputs", action="store_true",
                        help="build from the stored notebooks without running them "
                             "(no plots or results; a quick look at slides and notes)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--pdf", action="store_true",
                        help="also print each deck's handout, NN_topic.pdf: one page per slide")
    return parser


def run(args: argparse.Namespace) -> int:
    """A deck per lesson, its assets, the glossary page and an index."""
    from course_tools import notebooks, slides

    start = time.perf_counter()
    try:
        paths = notebooks.resolve_lessons(args.lessons)
        out = args.out or (Path("build/slides") if args.lang == "en"
                           else Path("build/slides") / args.lang)
        decks = slides.build(paths, out, None if args.no_outputs else args.executed,
                             timeout=args.timeout, pdf=args.pdf, lang=args.lang)
    except (ValueError, RuntimeError) as error:
        print(f"course slides: {error}", file=sys.stderr)
        return 1
    print(f"{len(decks)} deck{'' if len(decks) == 1 else 's'}, "
          f"{sum(d.slides for d in decks)} slides in "
          f"{time.perf_counter() - start:.1f} s: open {out / 'index.html'}")
    return 0
