"""The learner's own copies of the lessons, and JupyterLab started on them (``course lab``).

``notebooks/`` holds the instructor's source (solutions, hidden tests, speaker notes); a
learner works in ``learner/`` at the repository root (ignored by git), which holds the
learner versions made by :func:`course_tools.notebooks.student_version`. The copies are made
on the first ``course lab`` and never overwritten without asking: an update of the course
adds new lessons, and offers to refresh only the copies the learner has not touched.

"Touched" is decided by what the learner wrote, not by the file's bytes: the cells' types,
sources and outputs (their *fingerprint*, recorded in ``learner/.copies.json`` when a copy is
written). JupyterLab rewrites a notebook's metadata when it opens it (the kernel's
``language_info``) and autosaves it; that is not an edit. The copies are also written as
JupyterLab saves them (the full ``language_info`` of the course's kernel), so opening one does
not even mark it changed.
The learner copies sit next to ``notebooks/``, so ``../GLOSSARY.md`` links resolve the same
way from both, in JupyterLab (served from the repository root) and on a code-hosting site.

The Chinese edition (``course learner --lang zh``, ``make lab LANG=zh``) keeps its own copies
in ``learner/zh/`` with their own manifest: the same learner versions with the prose from
the translation catalogue (:mod:`course_tools.translations`), code cells unchanged, and
relative links one folder deeper (``../../GLOSSARY.md``) so that they reach the same files.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_tools import notebooks, translations

__all__ = ["LEARNER_DIR", "MANIFEST", "LAB_SETTINGS", "CopiesReport", "update_copies",
           "fingerprint", "language_info", "learner_notebook", "install_kernel",
           "install_lab_settings", "lab_command", "learner_folder", "lesson_in_language"]

LEARNER_DIR = "learner"
MANIFEST = ".copies.json"
# JupyterLab defaults for the course (the learner's own settings still win): no "Jupyter
# news" pop-up over the first plot, no update check (the course runs offline), and every
# cell rendered (not only those near the screen), so that find-in-page sees the whole lesson.
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification":
                {"fetchNews": "false", "checkForUpdates": False},
                "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}


@dataclass
class CopiesReport:
    """What :func:`update_copies` did, lesson file names in each list."""

    created: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    kept_untouched: list[str] = field(default_factory=list)  # an update offered, declined
    kept_edited: list[str] = field(default_factory=list)     # the learner's work: never touched
    current: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)  # not (yet) in this edition

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = []
        for label, names in [("new lesson copies", self.created), ("refreshed", self.refreshed),
                             ("update available (untouched, kept)", self.kept_untouched),
                             ("copies you edited or ran, kept as they are", self.kept_edited),
                             ("not translated yet (the English copies in learner/ have them)",
                              self.untranslated)]:
            if names:
                lines.append(f"{label}: {', '.join(names)}")
        return "\n".join(lines) or "learner copies are up to date"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def learner_folder(root: str | Path, lang: str = "en") -> Path:
    """Where the learner's copies in ``lang`` live under ``root``: ``learner/`` for the
    English source, ``learner/<lang>/`` for another edition."""
    return Path(root) / LEARNER_DIR if lang == "en" else Path(root) / LEARNER_DIR / lang


_RELATIVE_PARENT = re.compile(r"(\]\()(\.\./)")


def lesson_in_language(source: Path, lang: str = "en") -> nbformat.NotebookNode:
    """The lesson at ``source`` in ``lang`` (its translation, see
    :func:`course_tools.translations.translate_notebook`), with relative links that climb
    out of ``notebooks/`` climbing one folder more, for copies in ``learner/<lang>/``."""
    nb = notebooks.read(source)
    if lang == "en":
        return nb
    nb = translations.translate_notebook(nb, lang, Path(source).stem)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _RELATIVE_PARENT.sub(r"\1../\2", cell.source)
    return nb


def language_info() -> dict:
    """What the course's kernel (IPython on this Python) reports as its language, which
    JupyterLab writes into a notebook's metadata on opening it."""
    return {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
            "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3", "version": platform.python_version()}


def learner_notebook(source: Path, lang: str = "en") -> nbformat.NotebookNode:
    """The learner copy of the lesson at ``source`` in ``lang`` (see
    :func:`lesson_in_language`), with the metadata JupyterLab gives it."""
    nb = notebooks.student_version(lesson_in_language(source, lang), learner=True)
    nb.metadata["language_info"] = language_info()
    return nb


def fingerprint(nb: nbformat.NotebookNode) -> str:
    """A digest of what a learner writes in a notebook: each cell's type, source, outputs
    and execution count (not metadata, cell ids or formatting, which JupyterLab may change
    without the learner doing anything)."""
    cells = [[cell.get("cell_type"), cell.get("source", ""), cell.get("outputs", []),
              cell.get("execution_count")] for cell in nb.get("cells", [])]
    return "cells:" + _digest(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode())


def _fingerprint_of_file(path: Path) -> str | None:
    try:
        return fingerprint(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    except Exception:  # not a notebook any more: the learner's business, never overwritten
        return None


def _untouched(path: Path, recorded: str | None) -> bool:
    """Whether the copy at ``path`` still holds what was written there."""
    if recorded is None:
        return False
    if recorded.startswith("cells:"):
        return _fingerprint_of_file(path) == recorded
    return _digest(path.read_bytes()) == recorded  # a manifest from before fingerprints


def update_copies(source_dir: str | Path = "notebooks", learner_dir: str | Path = LEARNER_DIR,
                  *, refresh: Callable[[list[str]], bool] = lambda names: False,
                  lang: str = "en") -> CopiesReport:
    """Create missing learner copies; offer a refresh of untouched outdated ones.

    Args:
        source_dir: the instructor's lesson notebooks.
        learner_dir: where the learner's copies live (created if missing).
        refresh: called once with the untouched copies whose lesson changed; return True to
            replace them. Copies the learner edited (or ran) are never replaced.
        lang: the edition ("en", the source, or "zh": see :func:`lesson_in_language`); a
            lesson whose translation is missing or stale gets no copy (``untranslated``).
    """
    learner_dir = Path(learner_dir)
    learner_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = learner_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report, outdated = CopiesReport(), {}
    for source in notebooks.lesson_paths(source_dir):
        try:
            target, nb = learner_dir / source.name, learner_notebook(source, lang)
        except translations.TranslationError:
            report.untranslated.append(source.name)
            continue
        data, new = (nbformat.writes(nb) + "\n").encode("utf-8"), fingerprint(nb)
        if not target.exists():
            target.write_bytes(data)
            manifest[source.name] = new
            report.created.append(source.name)
            continue
        recorded = manifest.get(source.name)
        if recorded == new or _fingerprint_of_file(target) == new:
            # the lesson has not changed since this copy was written (whatever the learner
            # did with it since), or the copy already holds the new version
            manifest[source.name] = new
            report.current.append(source.name)
        elif _untouched(target, recorded):
            outdated[source.name] = (data, new)
        else:
            report.kept_edited.append(source.name)
    if outdated and refresh(sorted(outdated)):
        for name, (data, digest) in outdated.items():
            (learner_dir / name).write_bytes(data)
            manifest[name] = digest
        report.refreshed = sorted(outdated)
    else:
        report.kept_untouched = sorted(outdated)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return report


def ask_on_terminal(names: list[str]) -> bool:
    """Ask whether to refresh ``names``; no when nobody can answer (not a terminal)."""
    question = (f"The course updated {len(names)} lesson(s) you have not edited: "
                f"{', '.join(names)}. Replace your copies with the new version? [y/N] ")
    if not sys.stdin.isatty():
        print(question + "no (not a terminal; run `course learner --refresh` to replace them)")
        return False
    return input(question).strip().lower() in {"y", "yes"}


def install_kernel(prefix: str | Path = sys.prefix) -> Path:
    """The course's Jupyter kernel in this environment (``{prefix}/share/jupyter/kernels``):
    this Python, with :mod:`course_lib.notebook.feedback` loaded so that a test cell run before its
    answer (or before the setup cell) says which cell to run. Returns the kernel's folder."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / notebooks.KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--InteractiveShellApp.extensions=course_lib.notebook.feedback"],
            "display_name": notebooks.KERNELSPEC["display_name"], "language": "python",
            "metadata": {"debugger": True}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder


def install_lab_settings(prefix: str | Path = sys.prefix) -> Path:
    """Merge :data:`LAB_SETTINGS` into this environment's JupyterLab ``overrides.json``."""
    path = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads(path.read_text()) if path.exists() else {}
    for plugin, values in LAB_SETTINGS.items():
        settings.setdefault(plugin, {}).update(values)
    path.write_text(json.dumps(settings, indent=1) + "\n")
    return path


def lab_command(root: str | Path, extra: list[str], first: str = "00_welcome.ipynb",
                lang: str = "en") -> list[str]:
    """The ``jupyter lab`` command line: served from ``root`` (the repository, so that the
    glossary next to ``learner/`` is served too), opening the learner's first lesson in
    ``lang``."""
    folder = learner_folder(".", lang).as_posix().removeprefix("./")
    return [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={Path(root).resolve()}",
            f"--LabApp.default_url=/lab/tree/{folder}/{first}", *extra]


def exec_lab(root: Path, extra: list[str], lang: str = "en") -> None:
    """Replace this process by JupyterLab (so that stopping it stops the server)."""
    command = lab_command(root, extra, lang=lang)
    print("$ " + " ".join(command), flush=True)
    os.execv(command[0], command)
