"""Grouped-query attention (Ainslie et al. 2023) and multi-query attention (Shazeer 2019):
groups of query heads share one of ``num_kv_heads`` key/value heads, so the KV cache shrinks
by ``num_heads / num_kv_heads``. :func:`mha_to_gqa` converts a trained MHA layer by
mean-pooling the heads of each group, as Ainslie et al. do before a short "uptraining".

Shapes: ``B`` batch, ``T`` new tokens, ``S`` keys, ``D`` width, ``H`` query heads,
``G`` key/value heads, ``Dh`` head width.
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.attention.caches import KVCache
from course_lib.attention.multihead import MultiHeadAttention, Rotation, split_heads
from course_lib.core.validation import check_kv_heads

__all__ = ["GroupedQueryAttention", "mha_to_gqa"]


# --------------------------------------------------------------------------- GQA
class GroupedQueryAttention(MultiHeadAttention):
    """Self-attention with ``num_kv_heads`` key/value heads shared by groups of query heads.

    ``num_kv_heads = num_heads``: multi-head attention (equal to
    :class:`~course_lib.attention.MultiHeadAttention` with the same weights);
    ``num_kv_heads = 1``: multi-query attention. The cache stores ``G`` heads, not ``H``.

    ``forward(x (B, T, D), *, key_padding_mask, attn_mask, is_causal, need_weights, cache,
    attn_bias, rotary)`` -> ``(out (B, T, D), weights (B, H, T, S) or None)``, with the
    conventions of :class:`~course_lib.attention.MultiHeadAttention` (self-attention only).
    """

    def __init__(self, d_model: int, num_heads: int, num_kv_heads: int,
                 dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__(d_model, num_heads, dropout=dropout, bias=bias)
        check_kv_heads(num_heads, num_kv_heads)
        self.num_kv_heads = num_kv_heads
        self.group_size = num_heads // num_kv_heads
        kv_width = num_kv_heads * self.head_dim
        self.k_proj = nn.Linear(d_model, kv_width, bias=bias)
        self.v_proj = nn.Linear(d_model, kv_width, bias=bias)

    def extra_repr(self) -> str:
        """Shown inside ``repr(module)``."""
        return f"{super().extra_repr()}, num_kv_heads={self.num_kv_heads}"

    def _project(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q ``(B, H, T, Dh)``; k, v ``(B, G, T, Dh)`` (self-attention: ``key is value is
        query``)."""
        return (split_heads(self.q_proj(query), self.num_heads),
                split_heads(self.k_proj(key), self.num_kv_heads),
                split_heads(self.v_proj(value), self.num_kv_heads))

    def _share_kv(self, k: torch.Tensor, v: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, G, S, Dh) -> (B, H, S, Dh)``: each group of query heads reads its shared
        key/value head. Done after the cache, which holds ``G`` heads: the memory saving."""
        return (k.repeat_interleave(self.group_size, dim=1),
                v.repeat_interleave(self.group_size, dim=1))

    def forward(self, x: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, is_causal: bool = False,
                need_weights: bool = False, cache: KVCache | None = None,
                attn_bias: torch.Tensor | None = None, rotary: Rotation | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x (B, T, D)`` -> ``(out (B, T, D), weights (B, H, T, S) or None)``."""
        return super().forward(x, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                               is_causal=is_causal, need_weights=need_weights, cache=cache,
                               attn_bias=attn_bias, rotary=rotary)


def mha_to_gqa(mha: MultiHeadAttention, num_kv_heads: int) -> GroupedQueryAttention:
    """A :class:`GroupedQueryAttention` whose key/value heads are the means of ``mha``'s
    heads in each group (Ainslie et al. 2023); query and output projections are copied."""
    if mha.kdim != mha.d_model or mha.vdim != mha.d_model:
        raise ValueError(f"mha: expected a self-attention layer (kdim = vdim = d_model = "
                         f"{mha.d_model}), got kdim={mha.kdim}, vdim={mha.vdim}")
    has_bias = mha.q_proj.bias is not None
    gqa = GroupedQueryAttention(mha.d_model, mha.num_heads, num_kv_heads,
                                dropout=mha.dropout, bias=has_bias)
    G, Dh = num_kv_heads, mha.head_dim
    with torch.no_grad():
        gqa.q_proj.load_state_dict(mha.q_proj.state_dict())
        gqa.out_proj.load_state_dict(mha.out_proj.state_dict())
        for ours, theirs in ((gqa.k_proj, mha.k_proj), (gqa.v_proj, mha.v_proj)):
            # rows of the weight are (head, dim): (H*Dh, D) -> (G, H/G, Dh, D), mean over H/G
            weight = theirs.weight.view(G, -1, Dh, theirs.weight.shape[1]).mean(1)
            ours.weight.copy_(weight.reshape(G * Dh, -1))
            if has_bias:
                ours.bias.copy_(theirs.bias.view(G, -1, Dh).mean(1).reshape(-1))
    return gqa
