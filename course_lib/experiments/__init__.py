"""The lessons' experiments that are more than one model: the history of AI (perceptron,
MLP, rules vs learning; lesson 01), its milestones and timeline, and long-range recall with
RNNs, LSTMs, GRUs and attention (lesson 02), date translation as a tool (lesson 04), the
LLM era's measurements (bits per character, equal-time steps, few-shot and addition
accuracy; lesson 10).

Modules: ``history``, ``milestones``, ``long_range``, ``dates``, ``llm_era``.
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["history", "milestones", "long_range", "dates", "llm_era"]
__all__ = list(_SUBMODULES)
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, {})
