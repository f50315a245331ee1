"""``course release [NB ...]``: student versions (no solutions, no hidden tests)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from course_tools import notebooks, translations
from course_tools.commands import add_lang


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("release", help="write student versions")
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--out", type=Path,
                        help="default: build/release (build/release/zh for --lang zh)")
    add_lang(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Answers replaced by ``raise NotImplementedError()``, hidden tests cut; refuses, naming
    the cell, a solution it cannot strip. ``--lang zh``: the prose from the translation
    catalogue, the code cells exactly as in English; refuses a lesson named whose translation
    is missing or stale, and without lessons named releases the translated ones and lists
    the others."""
    paths = args.paths or notebooks.lesson_paths()
    if not args.paths and args.lang != "en":
        untranslated = [p for p in paths
                        if translations.problems(notebooks.read(p), p.stem, args.lang)]
        for path in untranslated:
            print(f"not translated into {args.lang} yet, left out: {path.stem} "
                  f"(`course translations --stale {path.stem}`)")
        paths = [p for p in paths if p not in untranslated]
    out = args.out or (Path("build/release") if args.lang == "en"
                       else Path("build/release") / args.lang)
    refused = [f"{path}: {problem}" for path in paths
               for problem in notebooks.unstrippable_solutions(notebooks.read(path))]
    if refused:
        print("course release: refusing to release solutions it cannot strip:\n  "
              + "\n  ".join(refused), file=sys.stderr)
        return 1
    try:
        sources = [(path, translations.in_language(path, args.lang)) for path in paths]
    except translations.TranslationError as error:
        print(f"course release: {error}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for path, source in sources:
        nb = notebooks.student_version(source)
        target = out / path.name
        nbformat.write(nb, str(target))
        print(f"wrote {target}")
    return 0
