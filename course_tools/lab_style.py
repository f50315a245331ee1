"""The course's style in JupyterLab: Chinese that renders without a Chinese system font.

JupyterLab draws text with the browser's fonts; on a machine without a CJK font every
Chinese character of the lessons (the Chinese edition, the English edition's Chinese terms,
the glossary's 中文 column) would be an empty box. ``course lab`` therefore installs a tiny
JupyterLab extension into the course's environment
(``{sys.prefix}/share/jupyter/labextensions/course-lab-style/``): prebuilt by hand, no
build step and nothing fetched. Its one style module adds ``course.css``, which declares the
Noto Sans SC file installed with the course (:mod:`course_lib.notebook.fonts` owns which
file) as a web font for CJK characters only and puts it first in JupyterLab's interface,
content and code fonts; the same CSS highlights the glossary row a link lands on. The
sources are ``course_tools/lab/remoteEntry.js`` and ``course_tools/lab/course.css``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from course_lib.notebook import fonts

__all__ = ["EXTENSION", "SOURCES", "install_lab_style"]

EXTENSION = "course-lab-style"
SOURCES = Path(__file__).resolve().parent / "lab"


def install_lab_style(prefix: str | Path = sys.prefix) -> Path:
    """Write the extension into ``prefix``'s JupyterLab extensions (what changed only) and
    return its folder. The style file's name carries a hash of its content, so that a
    browser never keeps an older version from its cache. Without the font package (an
    environment not installed from the course's lock) the style is installed without it."""
    folder = Path(prefix) / "share" / "jupyter" / "labextensions" / EXTENSION
    static = folder / "static"
    static.mkdir(parents=True, exist_ok=True)
    css = (SOURCES / "course.css").read_text(encoding="utf-8")
    css_name = f"course.{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
    script = (SOURCES / "remoteEntry.js").read_text(encoding="utf-8")
    script = script.replace('"course.css"', json.dumps(css_name))
    script_name = f"remoteEntry.{hashlib.sha256(script.encode()).hexdigest()[:12]}.js"
    for old in static.glob("*"):
        if old.name not in {css_name, script_name, fonts.FONT_FILE}:
            old.unlink()
    _write(static / css_name, css)
    _write(static / script_name, script)
    package = {"name": EXTENSION, "version": "1.0.0",
               "description": "The attention course's fonts and glossary style in JupyterLab",
               "license": "MIT",
               "jupyterlab": {"_build": {"load": f"static/{script_name}", "style": "./style"}}}
    _write(folder / "package.json", json.dumps(package, indent=1) + "\n")
    font = fonts.packaged_cjk_font()
    target = static / fonts.FONT_FILE
    if font and (not target.is_file() or target.stat().st_size != Path(font).stat().st_size):
        shutil.copyfile(font, target)
    return folder


def _write(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
