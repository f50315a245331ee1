"""Plain-language errors for a notebook run out of order (an IPython extension).

A test cell run before its answer cell, or any cell run before the lesson's setup cell,
fails with a bare ``NameError``. With this extension loaded (the course's Jupyter kernel
loads it at start, and :func:`course_lib.notebook.setup_notebook` loads it too) the learner reads
which cell to run first instead. Exercise checks shorten their own tracebacks
(:class:`course_lib.notebook.checks.CheckFailed`).
"""

from __future__ import annotations

from typing import Any

from course_lib.notebook import language
from course_lib.notebook.messages import say

__all__ = ["SETUP_NAMES", "explain_name_error", "load_ipython_extension"]

# Names a lesson's setup cell provides: the course library's modules and the usual aliases.
SETUP_NAMES = {"course_lib", "np", "torch", "nn", "F", "plt", "math", "time", "copy",
               "datetime", "tempfile", "Path", "display", "Markdown", "gen", "generator"}
_state: dict[str, str] = {"cell": ""}


def _is_setup_name(name: str) -> bool:
    if name in SETUP_NAMES:
        return True
    try:
        import importlib.util

        return importlib.util.find_spec(f"course_lib.{name}") is not None
    except (ImportError, ValueError):
        return False


def explain_name_error(name: str, cell: str) -> str:
    """What to do about ``name`` being undefined while running ``cell`` (its source)."""
    if _is_setup_name(name):
        return say("name.run_setup", name=name)
    if "checks." in cell or "check_" in cell:
        return say("name.run_answer", name=name)
    return say("name.run_above", name=name)


def _remember_cell(info: Any) -> None:
    _state["cell"] = getattr(info, "raw_cell", "") or ""


def _show_name_error(shell: Any, etype: type, value: BaseException, tb: Any,
                     tb_offset: int | None = None) -> None:
    # IPython leaves the showing to a custom handler (it discards what the handler returns).
    name = getattr(value, "name", None)
    if name:
        stb = [f"\x1b[1;31m{say('name.not_defined', name=name)}\x1b[0m",
               explain_name_error(name, _state["cell"])]
    else:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)


def load_ipython_extension(shell: Any) -> None:
    """Register the explanations with IPython (``%load_ext course_lib.notebook.feedback``),
    in the notebook's language (:mod:`course_lib.notebook.language`)."""
    language.use_notebook_language()
    if _remember_cell not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", _remember_cell)
    shell.set_custom_exc((NameError,), _show_name_error)
