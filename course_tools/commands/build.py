"""``course build [NB ...]``: execute notebooks headless; executed copies, HTML, wall times."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import nbformat

from course_tools import REPO, notebooks, pages


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("build", help="execute notebooks and write HTML")
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build"))
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    return parser


def run(args: argparse.Namespace) -> int:
    """Execute each notebook, save the executed copy and an HTML page, report wall times."""
    from nbclient.exceptions import CellExecutionError

    from course_tools.execute import execute

    paths = args.paths or notebooks.lesson_paths()
    (args.out / "executed").mkdir(parents=True, exist_ok=True)
    (args.out / "html").mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    failed = []
    for path in paths:
        nb = notebooks.read(path)
        start = time.perf_counter()
        try:
            execute(nb, path.parent, timeout=args.timeout)
        except CellExecutionError as error:
            failed.append(path.name)
            print(f"FAILED {path.name}: {str(error).splitlines()[0] if str(error) else error}")
        seconds = time.perf_counter() - start
        timings[path.name] = round(seconds, 1)
        nbformat.write(nb, str(args.out / "executed" / path.name))
        page = pages.lesson_html(nb)
        (args.out / "html" / path.with_suffix(".html").name).write_text(page, encoding="utf-8")
        print(f"{path.name:<32} {seconds:7.1f} s", flush=True)
    pages.write_glossary(REPO / "GLOSSARY.md", args.out)  # the pages link ../GLOSSARY.html
    print(f"{'total':<32} {sum(timings.values()):7.1f} s")
    (args.out / "timings.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")
    return 1 if failed else 0
