"""The flat modules of the course's first layout, mapped to their homes in the packages.

``import course_lib.train`` (or ``from course_lib import viz``) still works in a learner's
old code: the old name is an alias of the same module object, so classes, checkpoints and
isinstance checks agree whichever name imported them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

__all__ = ["MOVED", "install_aliases"]

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
