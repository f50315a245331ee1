"""course_lib: every component the course "Attention, from RNNs to Transformers" teaches.

Lessons import their pieces from here (``from course_lib import attention``); nothing
is pasted into notebooks. Submodules load lazily, so ``import course_lib`` stays cheap and
``course_lib.attention`` works without a separate import.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

__all__ = [
    "attention", "checkpoint", "checks", "data", "decoding", "env", "gpt", "hard_attention",
    "history", "losses", "masks", "numpy_ref", "positional", "rnn", "sampling", "schedules",
    "seq2seq", "timing", "train", "transformer", "validate", "viz",
    "distributed", "memory", "parallelism", "quantize", "scaling",  # lesson 09
    "story_reader",  # lesson 03
]


def __getattr__(name: str) -> ModuleType:
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise  # the submodule exists but one of its own imports is missing
        raise AttributeError(f"module 'course_lib' has no attribute {name!r}") from None
