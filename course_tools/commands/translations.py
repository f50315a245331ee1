"""``course translations [LESSON ...]``: the translation catalogues of the other editions.

    course translations                       a table: translated, shared, missing, stale
    course translations --stale [LESSON ...]  every missing or stale cell with the English
                                              diff; exit 1 if there is any
    course translations --update-skeleton L   entries for new cells, none for deleted ones
    course translations L --set CELL --file F write CELL's translation (F: a file, - stdin)
    course translations L --mark-current CELL the English changed, the translation still fits
    course translations L --shared CELL       a cell without prose (shown as it is)

See :mod:`course_tools.translations` for the catalogue format.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_tools import REPO, notebooks, translations


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "translations", help="the lessons' translations: status, stale cells, updates",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", metavar="LESSON",
                        help="a lesson number (3, 03), notebook stem or path; default: all")
    parser.add_argument("--lang", choices=translations.LANGUAGES, default="zh")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--stale", action="store_true",
                        help="list every missing or stale cell with the English diff; "
                             "exit 1 if there is any")
    action.add_argument("--update-skeleton", action="store_true",
                        help="add entries for new markdown cells, drop those of deleted cells")
    action.add_argument("--mark-current", nargs="+", metavar="CELL",
                        help="the English of CELL changed but its translation still fits: "
                             "record the current English")
    action.add_argument("--set", metavar="CELL",
                        help="write CELL's translation from --file (a file, or - for stdin)")
    action.add_argument("--shared", nargs="+", metavar="CELL",
                        help="mark CELL as having no prose (shown as it is in every edition)")
    parser.add_argument("--file", help="with --set: the translation's Markdown")
    parser.add_argument("--root", type=Path, default=translations.TRANSLATIONS_DIR,
                        help=argparse.SUPPRESS)
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks",
                        help=argparse.SUPPRESS)
    return parser


def resolve(names: list[str], folder: Path) -> list[Path]:
    """Lesson notebooks from command-line names: what :func:`notebooks.resolve_lessons`
    takes, and notebook stems (``03_attention_basics``, as the catalogues name them)."""
    stems = {p.stem: p.name for p in notebooks.lesson_paths(folder)}
    return notebooks.resolve_lessons([stems.get(name, name) for name in names], folder)


def _lesson_with_cell(paths: list[Path], cell_id: str) -> Path:
    holders = [p for p in paths if any(c.get("id") == cell_id
                                       for c in notebooks.read(p).cells)]
    if len(holders) != 1:
        where = "no lesson" if not holders else f"{len(holders)} lessons"
        raise ValueError(f"cell {cell_id!r} is in {where}: name the lesson "
                         f"(`course translations LESSON ...`)")
    return holders[0]


def run(args: argparse.Namespace) -> int:
    """Do the action asked for (a status table without one); exit code 1 on an error, or
    with ``--stale`` when a cell is missing or stale."""
    try:
        return _run(args, resolve(args.lessons, args.notebooks))
    except ValueError as error:
        print(f"course translations: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, paths: list[Path]) -> int:
    lang, root = args.lang, args.root
    if args.stale:
        return _list_stale(paths, lang, root)
    if args.update_skeleton:
        for path in paths:
            added, removed = translations.update_skeleton(path, lang, root)
            print(f"{translations.catalogue_path(path.stem, lang, root)}: {len(added)} "
                  f"cell(s) added, {len(removed)} removed")
        return 0
    cells = args.mark_current or args.shared or ([args.set] if args.set else [])
    for cell_id in cells:
        path = _lesson_with_cell(paths, cell_id)
        if args.mark_current:
            translations.mark_current(path, cell_id, lang, root)
        elif args.shared:
            translations.set_translation(path, cell_id, None, lang, shared=True, root=root)
        else:
            translations.set_translation(path, cell_id, _read_text(args.file), lang, root=root)
        print(f"{path.stem} cell {cell_id}: updated")
    if not cells:
        print(_status_table(paths, lang, root))
    return 0


def _list_stale(paths: list[Path], lang: str, root: Path) -> int:
    found = [problem for path in paths
             for problem in translations.problems(notebooks.read(path), path.stem, lang,
                                                  root=root)]
    for problem in found:
        print(problem.describe() + "\n")
    hint = (": translate with `course translations LESSON --set CELL --file F`, or "
            f"`course translations LESSON --mark-current CELL` when the English change needs "
            f"no change in {lang}") if found else ""
    print(f"{len(found)} cell(s) missing or stale in {len(paths)} lesson(s){hint}")
    return 1 if found else 0


def _read_text(name: str | None) -> str:
    if not name:
        raise ValueError("--set needs --file F (a Markdown file, or - for stdin)")
    return sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")


def _status_table(paths: list[Path], lang: str, root: Path) -> str:
    rows = [f"{'lesson':<28} {'cells':>5} {'translated':>10} {'shared':>6} {'missing':>7} "
            f"{'stale':>5}  complete"]
    for path in paths:
        counts = translations.status(notebooks.read(path), path.stem, lang, root)
        rows.append(f"{path.stem:<28} {counts['cells']:>5} {counts['translated']:>10} "
                    f"{counts['shared']:>6} {counts['missing']:>7} {counts['stale']:>5}  "
                    f"{'yes' if path.stem in translations.COMPLETE.get(lang, set()) else ''}")
    return "\n".join(rows)
