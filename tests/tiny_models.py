"""The one builder of tiny test models, shared by the unit tests (imported by name: pytest
puts this folder on ``sys.path``)."""

from __future__ import annotations

import torch

from course_lib.models.gpt import GPT, GPTConfig


def tiny_gpt(vocab_size: int = 17, max_len: int = 16, seed: int = 0, **overrides) -> GPT:
    """A 2-layer, width-32, 4-head GPT in eval mode, its weights drawn from ``seed``."""
    torch.manual_seed(seed)
    options = dict(vocab_size=vocab_size, max_len=max_len, d_model=32, num_heads=4,
                   num_layers=2)
    options.update(overrides)
    return GPT(GPTConfig(**options)).eval()
