"""What a lesson notebook needs around the lesson itself: the environment (threads, seeds,
device, the report), exercise checks and their feedback, and plotting.

Modules: ``environment`` (``setup_notebook``, ``seed_everything``, threads, the report),
``checks`` (exercise checks that name the mistake), ``feedback`` (one-line messages in
place of tracebacks), ``plots`` (every figure the lessons draw), ``fonts`` (the Chinese font
of the plots), ``viewer`` (the interactive attention viewer, ``attention_viewer``).
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["environment", "checks", "feedback", "plots", "fonts", "viewer"]
_NAMES = {**dict.fromkeys(["setup_notebook", "seed_everything", "environment_report"],
                         "environment"), "attention_viewer": "viewer"}
__all__ = [*_SUBMODULES, *_NAMES]
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, _NAMES)
