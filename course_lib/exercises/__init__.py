"""The graded exercises of every lesson: inputs, references and classic mistakes.

One module per lesson (``l00``, ``l03``, ...), each with ``EXERCISES``, a dict from an
exercise's id (its answer cell's nbgrader ``grade_id``) to an
:class:`~course_lib.exercises.catalogue.Exercise`. A lesson's locked test cell is one line,
``checks.exercise("l03_sdpa", sdpa)``, which finds the catalogue here by the id's prefix; the
mistakes and references are not printed in the notebook. Hidden tests stay in the notebook.

This package sits above every other (it imports the references from anywhere in
course_lib); :mod:`course_lib.notebook.checks` reaches it only by name, at run time.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from course_lib._lazy import lazy_exports

__all__ = ["catalogue", "known", "lessons", "get"]

_lazy_getattr, _lazy_dir = lazy_exports(__name__, ["catalogue"], {})


def lessons() -> list[str]:
    """The lesson modules that hold exercises (``["l00", "l01", ...]``)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__)
                  if m.name[:1] == "l" and m.name[1:].isdigit())


def get(exercise_id: str) -> Any:
    """The :class:`~course_lib.exercises.catalogue.Exercise` with this id."""
    module = importlib.import_module(f"{__name__}.{exercise_id.split('_', 1)[0]}")
    return module.EXERCISES[exercise_id]


def known() -> list[str]:
    """Every exercise id, lesson by lesson."""
    return [exercise_id for lesson in lessons()
            for exercise_id in importlib.import_module(f"{__name__}.{lesson}").EXERCISES]


def __getattr__(attr: str) -> Any:
    if attr in lessons():
        return importlib.import_module(f"{__name__}.{attr}")
    return _lazy_getattr(attr)


def __dir__() -> list[str]:
    return sorted({*_lazy_dir(), *lessons(), *__all__})
