"""Lazy re-exports for the packages' ``__init__`` files: a submodule (or a name it defines) is
imported the first time someone asks for it, so ``import course_lib.notebook`` does not load
matplotlib and the grader's kernels start fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, submodules: Iterable[str], names: dict[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``submodules`` by name, and each key of
    ``names`` (e.g. ``"GPT"``) from the submodule its value names (e.g. ``"gpt"``)."""
    submodules = tuple(submodules)

    def __getattr__(attr: str) -> Any:
        if attr in names:
            module = importlib.import_module(f"{package}.{names[attr]}")
            return getattr(module, attr)
        if attr in submodules:
            return importlib.import_module(f"{package}.{attr}")
        raise AttributeError(f"module {package!r} has no attribute {attr!r}")

    def __dir__() -> list[str]:
        return sorted({*submodules, *names})

    return __getattr__, __dir__
