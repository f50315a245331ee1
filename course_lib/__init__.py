"""course_lib: every component the course "Attention, from RNNs to Transformers" teaches,
in packages by concept (each package's docstring lists its modules):

  core         masks, argument validation, tensor helpers (the foundation)
  attention    scores, pooling, multi-head attention and its variants, caches, positions,
               local, linear and tiled attention, NumPy references
  models       RNNs, seq2seq, hard attention, the story reader, Transformer, GPT, the
               variant LM, ViT, VQA
  training     the loop, losses, schedules, the LM loss, decoding, sampling, checkpoints
  data         vocabularies, synthetic tasks, dates, text, toys, diary stories, digits, shapes,
               in-context and arithmetic sequences
  tokenizers   byte-level BPE (train, encode, decode)
  experiments  history of AI, milestones, long-range recall
  scale        training memory, parallelism, distributed training, quantization, scaling laws
  analysis     attribution, interventions, gradient checks, timing, measured memory
  notebook     the notebook environment, exercise checks and feedback, plots
  exercises    each lesson's graded exercises: inputs, references, classic mistakes

Lessons import what they use (``from course_lib.attention import MultiHeadAttention``,
``from course_lib.notebook import checks, plots``); packages load lazily, so
``import course_lib`` stays cheap. The modules of the earlier flat layout
(``course_lib.train``, ``course_lib.viz``...) still import, as aliases of their new
homes (:data:`MOVED`).
"""

from __future__ import annotations

from course_lib._aliases import MOVED, install_aliases
from course_lib._lazy import lazy_exports

__version__ = "0.1.0"

PACKAGES = ["core", "attention", "models", "training", "data", "tokenizers", "experiments",
            "scale", "analysis", "notebook", "exercises"]
__all__ = [*PACKAGES, "MOVED"]

install_aliases()
__getattr__, _dir = lazy_exports(__name__, [*PACKAGES, *MOVED], {})


def __dir__() -> list[str]:
    return sorted({*PACKAGES, "MOVED"})
