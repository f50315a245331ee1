"""The flat modules of the course's first layout, mapped to their homes in the packages, and
the names that moved from one module to another.

``import course_lib.train`` (or ``from course_lib import viz``) still works in a learner's
old code: the old name is an alias of the same module object, so classes, checkpoints and
isinstance checks agree whichever name imported them. Likewise
``from course_lib.models.transformer import fit_seq2seq`` still finds the function in its
new home (:data:`MOVED_NAMES`): the old module answers for it on first use, so the library's
own layers stay in order (no model module imports training code).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["MOVED", "MOVED_NAMES", "install_aliases", "moved_names"]

#: old flat module -> its module in the package layout
MOVED: dict[str, str] = {
    "masks": "core.masks", "validate": "core.validation",
    "numpy_ref": "attention.numpy_ref", "positional": "attention.positions",
    "local_attention": "attention.local", "linear_attention": "attention.linear",
    "tiled_attention": "attention.tiled", "kv_memory": "attention.caches",
    "rnn": "models.rnn", "seq2seq": "models.seq2seq", "hard_attention": "models.hard_attention",
    "story_reader": "models.story_reader", "transformer": "models.transformer",
    "gpt": "models.gpt", "variant_lm": "models.variant_lm", "vit": "models.vit",
    "vqa": "models.vqa",
    "train": "training.loop", "losses": "training.losses", "schedules": "training.schedules",
    "decoding": "training.decoding", "sampling": "training.sampling",
    "checkpoint": "training.checkpoint",
    "history": "experiments.history", "milestones": "experiments.milestones",
    "long_range": "experiments.long_range",
    "memory": "scale.training_memory", "parallelism": "scale.parallelism",
    "distributed": "scale.distributed", "quantize": "scale.quantize", "scaling": "scale.scaling",
    "attribution": "analysis.attribution", "interventions": "analysis.interventions",
    "gradcheck": "analysis.gradcheck", "timing": "analysis.timing",
    "peak_memory": "analysis.measured_memory",
    "env": "notebook.environment", "checks": "notebook.checks", "feedback": "notebook.feedback",
    "viz": "notebook.plots",
}


#: module -> {name that left it: the module it lives in now}
MOVED_NAMES: dict[str, dict[str, str]] = {
    "course_lib.models.transformer": dict.fromkeys(
        ["greedy_translate", "trim_padding", "exact_match", "paper_adam", "teacher_forcing_loss",
         "fit_seq2seq"], "course_lib.training.seq2seq"),
    "course_lib.models.seq2seq": dict.fromkeys(
        ["sequence_loss", "greedy_with_attention", "predict_ids"], "course_lib.training.seq2seq"),
    "course_lib.training.sampling": dict.fromkeys(
        ["time_generation", "GenerationTiming"], "course_lib.analysis.timing"),
}


def moved_names(module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that finds the names :data:`MOVED_NAMES` lists for ``module``
    in their new homes (imported on first use), and raises ``AttributeError`` otherwise."""
    moved = MOVED_NAMES[module]

    def __getattr__(name: str) -> Any:
        if name in moved:
            return getattr(importlib.import_module(moved[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # Already executed at its new home; the import system has just stamped the alias's
        # spec on it: give the module its own back (reload, pickling and tools read it).
        module.__spec__ = self.own_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``course_lib.<old name>`` and hands back the module at its new home."""

    def find_spec(self, fullname: str, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package != "course_lib" or name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(f"course_lib.{MOVED[name]}"))


def install_aliases() -> None:
    """Put the alias finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
