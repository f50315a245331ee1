"""Multi-head latent attention (DeepSeek-AI 2024, DeepSeek-V2): cache one small latent vector
per token and rebuild every head's key and value from it (the paper's extra decoupled RoPE key
is left out here).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_lib.attention.caches import LatentCache
from course_lib.attention.scores import masked_softmax
from course_lib.core.masks import causal_mask

__all__ = ["LatentAttention"]


class LatentAttention(nn.Module):
    """Causal self-attention that caches a compressed latent ``c = W_down x`` per token
    (DeepSeek-AI 2024) and rebuilds keys ``W_uk c`` and values ``W_uv c`` for every head.

    ``forward(x (B, T, D), cache: LatentCache | None) -> out (B, T, D)``. The cache costs
    ``d_latent`` numbers per token and layer instead of ``2 * H * Dh``.
    """

    def __init__(self, d_model: int, num_heads: int, d_latent: int) -> None:
        super().__init__()
        if num_heads < 1 or d_model % num_heads:
            raise ValueError(f"d_model: expected a multiple of num_heads={num_heads}, "
                             f"got {d_model}")
        if d_latent < 1:
            raise ValueError(f"d_latent: expected a positive integer, got {d_latent}")
        self.num_heads, self.head_dim, self.d_latent = num_heads, d_model // num_heads, d_latent
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_down = nn.Linear(d_model, d_latent)
        self.k_up = nn.Linear(d_latent, d_model)
        self.v_up = nn.Linear(d_latent, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, H, L, Dh)
        B, L, _ = x.shape
        return x.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, cache: LatentCache | None = None) -> torch.Tensor:
        """``x (B, T, D)`` (only new tokens with a cache) -> ``(B, T, D)``."""
        B, T, D = x.shape
        latent = self.kv_down(x)  # (B, T, d_latent): all that is stored per token
        if cache is not None:
            latent = cache.append(latent)
        S = latent.shape[1]
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_up(latent)), \
            self._heads(self.v_up(latent))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        weights = masked_softmax(scores, causal_mask(T, S, device=x.device))
        return self.out_proj((weights @ v).transpose(1, 2).reshape(B, T, D))
