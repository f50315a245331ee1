"""Multi-head latent attention (DeepSeek-AI 2024, DeepSeek-V2): cache one small latent vector
per token and rebuild every head's key and value from it (the paper's extra decoupled RoPE key
is left out here).
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.attention.caches import LatentCache, check_cache, positions_seen
from course_lib.attention.multihead import (
    Rotation,
    check_bias,
    layer_mask,
    merge_heads,
    split_heads,
)
from course_lib.attention.scores import attend
from course_lib.core.validation import check_heads, check_positive, check_rank

__all__ = ["LatentAttention"]


class LatentAttention(nn.Module):
    """Self-attention that caches a compressed latent ``c = W_down x`` per token
    (DeepSeek-AI 2024) and rebuilds keys ``W_uk c`` and values ``W_uv c`` for every head.

    ``forward(x (B, T, D), *, key_padding_mask, attn_mask, is_causal, need_weights, cache:
    LatentCache, attn_bias, rotary)`` -> ``(out (B, T, D), weights (B, H, T, S) or None)``,
    with the conventions of :class:`~course_lib.attention.MultiHeadAttention`. The cache
    costs ``d_latent`` numbers per token and layer instead of ``2 * H * Dh``.

    ``rotary`` rotates the queries and the rebuilt keys at their absolute positions. (The
    paper adds a separate rotated key instead, so that ``W_uk`` can be folded into the
    queries at inference; rebuilding every key, as here, does not need that trick.)
    """

    def __init__(self, d_model: int, num_heads: int, d_latent: int) -> None:
        super().__init__()
        check_heads(d_model, num_heads)
        check_positive("d_latent", d_latent)
        self.d_model, self.num_heads, self.d_latent = d_model, num_heads, d_latent
        self.head_dim = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_down = nn.Linear(d_model, d_latent)
        self.k_up = nn.Linear(d_latent, d_model)
        self.v_up = nn.Linear(d_latent, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, is_causal: bool = False,
                need_weights: bool = False, cache: LatentCache | None = None,
                attn_bias: torch.Tensor | None = None, rotary: Rotation | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x (B, T, D)`` (only the new tokens with a cache) -> ``(out (B, T, D), weights
        (B, H, T, S) or None)``."""
        check_rank(x, 3, "x", f"(B, T, {self.d_model})")
        if x.shape[-1] != self.d_model:
            raise ValueError(f"x: expected shape (B, T, {self.d_model}), got {tuple(x.shape)}")
        check_cache(cache, LatentCache)
        B, T, _ = x.shape
        past = positions_seen(cache)
        latent = self.kv_down(x)  # (B, T, d_latent): all that is stored per token
        if cache is not None:
            latent = cache.append(latent)  # (B, S, d_latent)
        S = latent.shape[1]
        H = self.num_heads
        q = split_heads(self.q_proj(x), H)  # (B, H, T, Dh)
        k, v = split_heads(self.k_up(latent), H), split_heads(self.v_up(latent), H)
        if rotary is not None:
            # the queries sit at past .. past+T-1, the S keys end where they end
            q, k = rotary(q, offset=past), rotary(k, offset=past + T - S)
        mask = layer_mask(B, H, T, S, key_padding_mask, attn_mask)
        if attn_bias is not None:
            check_bias(attn_bias, (B, H, T, S))
        out, weights = attend(q, k, v, mask=mask, bias=attn_bias, is_causal=is_causal,
                              need_weights=need_weights)
        return self.out_proj(merge_heads(out)), weights
