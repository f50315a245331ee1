"""The ``course`` command (also ``python -m course_tools``).

    course doctor               environment report
    course build [NB ...]       execute notebooks headless: build/executed, build/html, wall times
    course clean NB [NB ...]    strip outputs and execution counts in place
    course release [NB ...]     student versions (no solutions, no hidden tests) in build/release
    course learner [--refresh]  make or update the learner's own copies in learner/
    course lab [JUPYTER ARGS]   the learner's copies, then JupyterLab on them
    course progress [NN ...]    run the visible checks of the learner's copies (make progress)
    course grade SUBS --out DIR grade SUBS/<student>/<lesson>.ipynb: score table and feedback
    course slides [LESSON ...]  offline reveal.js decks of the lessons in build/slides
    course site [LESSON ...]    the course as a static website in build/site (offline)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nbformat

from course_lib.notebook import environment as env
from course_tools import learner, notebooks, pages, progress

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the sub-command, return its exit code."""
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="print the environment report")
    build = commands.add_parser("build", help="execute notebooks and write HTML")
    build.add_argument("paths", nargs="*", type=Path)
    build.add_argument("--out", type=Path, default=Path("build"))
    build.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    clean = commands.add_parser("clean", help="strip outputs from notebooks in place")
    clean.add_argument("paths", nargs="+", type=Path)
    release = commands.add_parser("release", help="write student versions")
    release.add_argument("paths", nargs="*", type=Path)
    release.add_argument("--out", type=Path, default=Path("build/release"))
    copies = commands.add_parser("learner", help="make or update the learner's copies")
    copies.add_argument("--refresh", action="store_true",
                        help="replace untouched copies whose lesson changed, without asking")
    copies.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)
    lab = commands.add_parser("lab", help="learner copies, then JupyterLab on them "
                                          "(other options go to jupyter lab)")
    lab.add_argument("--refresh", action="store_true", help=argparse.SUPPRESS)
    lab.add_argument("--root", type=Path, default=REPO,
                     help="serve this folder; the copies go to ROOT/learner")
    progress = commands.add_parser("progress", help="exercises passed in the learner's copies")
    progress.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    progress.add_argument("--folder", type=Path, default=REPO / learner.LEARNER_DIR)
    progress.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    slides = commands.add_parser("slides", help="offline reveal.js decks of the lessons")
    slides.add_argument("lessons", nargs="*", help="notebook paths or lesson numbers "
                                                   "(default: every lesson)")
    slides.add_argument("--out", type=Path, default=Path("build/slides"))
    slides.add_argument("--executed", type=Path, default=Path("build/executed"),
                        help="executed copies to reuse when current (from `make course`)")
    slides.add_argument("--no-outputs", action="store_true",
                        help="build from the stored notebooks without running them "
                             "(no plots or results; a quick look at slides and notes)")
    slides.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    slides.add_argument("--pdf", action="store_true",
                        help="also print each deck's handout, NN_topic.pdf: one page per slide")
    site = commands.add_parser("site", help="the course as an offline static website")
    site.add_argument("lessons", nargs="*", help="notebook paths or lesson numbers "
                                                 "(default: every lesson)")
    site.add_argument("--out", type=Path, default=Path("build/site"))
    site.add_argument("--lang", choices=["en", "zh", "all"], default="en",
                      help="the edition(s) to build (default: en)")
    site.add_argument("--executed", type=Path, default=Path("build/executed"),
                      help="executed copies to reuse when current (from `make course`)")
    site.add_argument("--no-outputs", action="store_true",
                      help="build from the stored notebooks without running them")
    site.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    _add_grade_parser(commands)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    handler = {"doctor": doctor, "build": build_course, "clean": clean_notebooks,
               "release": release_notebooks, "learner": learner_copies, "lab": start_lab,
               "progress": show_progress, "grade": grade_class,
               "slides": build_slides, "site": build_site}[args.command]
    return handler(args)


def _add_grade_parser(commands: argparse._SubParsersAction) -> None:
    grade = commands.add_parser("grade", help="grade a class: score table and feedback")
    grade.add_argument("submissions", type=Path, help="folder of <student>/<lesson>.ipynb")
    grade.add_argument("--out", type=Path, default=Path("build/grades"))
    grade.add_argument("--source", type=Path, default=Path("notebooks"),
                       help="the source notebooks (with solutions and hidden tests)")
    grade.add_argument("--lessons", nargs="*", help="lessons every student should hand in "
                       "(numbers or file names; default: those anyone handed in)")
    grade.add_argument("--jobs", type=int, help="parallel workers (default: available cores)")
    grade.add_argument("--cell-timeout", type=float, default=20.0,
                       help="CPU seconds per answer cell or per call of an answer (default 20)")
    grade.add_argument("--timeout", type=float, default=300.0,
                       help="wall seconds per submission (default 300)")
    grade.add_argument("--memory-mb", type=int, default=2048,
                       help="memory limit per student kernel in MiB (default 2048)")
    grade.add_argument("--seed", type=int, help="seed of the checks' random inputs "
                       "(default: a new one each run, so answers cannot be precomputed)")


def grade_class(args: argparse.Namespace) -> int:
    """``course grade``: see :mod:`course_tools.grade`."""
    from course_tools import grade

    return grade.main(args)


def learner_copies(args: argparse.Namespace) -> int:
    """``course learner``: create missing copies; refresh untouched outdated ones on request."""
    refresh = (lambda names: True) if args.refresh else learner.ask_on_terminal
    report = learner.update_copies(REPO / "notebooks", args.root / learner.LEARNER_DIR,
                                   refresh=refresh)
    print(report.summary())
    return 0


def start_lab(args: argparse.Namespace) -> int:
    """``course lab``: the copies, the course kernel and settings, then JupyterLab."""
    learner_copies(args)
    learner.install_kernel()
    learner.install_lab_settings()
    learner.exec_lab(args.root, args.extra)
    return 0  # not reached: exec_lab replaces this process


def show_progress(args: argparse.Namespace) -> int:
    """``course progress``: the visible checks of the learner's copies, run headless."""
    paths = notebooks.lesson_paths(args.folder)
    if args.lessons:
        paths = [p for p in paths if p.name[:2] in {n.zfill(2) for n in args.lessons}]
    if not paths:
        print(f"no learner copies in {args.folder}: run `make lab` (or `course learner`) first")
        return 1
    print(f"Running the checks of {len(paths)} lesson(s) in {args.folder} (your copies are "
          "read, not changed)...", flush=True)
    start = time.perf_counter()
    rows = progress.run_lessons(paths, timeout=args.timeout, show=sys.stderr.isatty())
    print(progress.format_table(rows))
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


def doctor(args: argparse.Namespace) -> int:
    """``course doctor``: print the environment report; exit code 0."""
    print(env.format_report(env.environment_report()))
    return 0


def clean_notebooks(args: argparse.Namespace) -> int:
    """``course clean``: strip outputs and execution counts of ``args.paths`` in place."""
    for path in args.paths:
        nb = notebooks.read(path)
        if notebooks.clean(nb):
            nbformat.write(nb, str(path))
            print(f"cleaned {path}")
    return 0


def release_notebooks(args: argparse.Namespace) -> int:
    """Student versions: answers replaced by ``raise NotImplementedError()``, hidden tests cut."""
    paths = args.paths or notebooks.lesson_paths()
    refused = [f"{path}: {problem}" for path in paths
               for problem in notebooks.unstrippable_solutions(notebooks.read(path))]
    if refused:
        print("course release: refusing to release solutions it cannot strip:\n  "
              + "\n  ".join(refused), file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb = notebooks.student_version(notebooks.read(path))
        target = args.out / path.name
        nbformat.write(nb, str(target))
        print(f"wrote {target}")
    return 0


def build_slides(args: argparse.Namespace) -> int:
    """``course slides``: a deck per lesson, its assets, the glossary page and an index."""
    from course_tools import slides

    start = time.perf_counter()
    try:
        paths = slides.resolve_lessons(args.lessons)
        decks = slides.build(paths, args.out, None if args.no_outputs else args.executed,
                             timeout=args.timeout, pdf=args.pdf)
    except (ValueError, RuntimeError) as error:
        print(f"course slides: {error}", file=sys.stderr)
        return 1
    print(f"{len(decks)} deck{'' if len(decks) == 1 else 's'}, "
          f"{sum(d.slides for d in decks)} slides in "
          f"{time.perf_counter() - start:.1f} s: open {args.out / 'index.html'}")
    return 0


def build_site(args: argparse.Namespace) -> int:
    """``course site``: the course as a static website (see :mod:`course_tools.site`)."""
    from course_tools import site, slides

    start = time.perf_counter()
    langs = site.LANGUAGES if args.lang == "all" else (args.lang,)
    try:
        paths = slides.resolve_lessons(args.lessons)
        editions = site.build(paths, args.out, None if args.no_outputs else args.executed,
                              langs=langs, timeout=args.timeout)
    except (ValueError, RuntimeError) as error:
        print(f"course site: {error}", file=sys.stderr)
        return 1
    pages_built = sum(len(nav) for nav in editions.values())
    print(f"{pages_built} pages in {time.perf_counter() - start:.1f} s: open "
          f"{args.out / 'index.html'}")
    return 0


def build_course(args: argparse.Namespace) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
