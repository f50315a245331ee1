"""course_lib: every component the course "Attention, from RNNs to Transformers" teaches.

Lessons import their pieces from here (``from course_lib import attention``); nothing
is pasted into notebooks. Submodules are imported lazily so ``import course_lib`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "env", "checks", "train", "data", "numpy_ref", "attention", "masks", "positional",
    "transformer", "gpt", "decoding", "sampling", "schedules", "losses", "checkpoint",
    "rnn", "seq2seq", "history", "viz", "variants", "notebooks", "cli",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
