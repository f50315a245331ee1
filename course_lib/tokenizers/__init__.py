"""Tokenizers: how text becomes the ids a language model reads (lesson 10).

Modules: ``bpe`` (byte-level byte-pair encoding as in GPT-2: training, the naive and the
incremental trainer, encoding, decoding, GPT-2's file format). Imports no model.
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["bpe"]
_NAMES = {"BPETokenizer": "bpe", "train_bpe": "bpe", "train_bpe_naive": "bpe"}
__all__ = [*_SUBMODULES, *_NAMES]
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, _NAMES)
