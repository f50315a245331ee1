"""Looking inside and measuring: attributions, attention interventions, gradient checks,
timing, and measured (not computed) memory.

Modules: ``attribution`` (gradient x input, integrated gradients, rollout),
``interventions`` (capture or replace attention weights), ``gradcheck`` (finite
differences), ``timing`` (median and interleaved timings), ``measured_memory`` (peak bytes
of NumPy and torch calls), ``induction`` (previous-token and induction-head scores, head
ablation; lesson 10).
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["attribution", "interventions", "gradcheck", "timing", "measured_memory",
               "induction"]
__all__ = list(_SUBMODULES)
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, {})
