"""The memory of inference: fewer key/value heads, compressed keys, a bounded cache.

Generating token ``t`` reads the cached keys and values of all earlier tokens, so the KV
cache grows by ``2 * layers * kv_heads * head_dim`` numbers per token and, at long
contexts, outgrows the weights. Three ways to shrink it, and one to bound it:

* multi-query attention (MQA, Shazeer 2019): every query head shares one key/value head;
* grouped-query attention (GQA, Ainslie et al. 2023): groups of query heads share one of
  ``num_kv_heads`` key/value heads (MHA and MQA are the two ends);
  :func:`mha_to_gqa` converts a trained MHA layer by mean-pooling the heads of each group,
  as Ainslie et al. do before a short "uptraining";
* multi-head latent attention (DeepSeek-AI 2024, DeepSeek-V2): cache one small latent
  vector per token and rebuild every head's key and value from it (:class:`LatentAttention`;
  the paper's extra decoupled RoPE key is left out here);
* a rolling cache for sliding-window attention (:class:`RollingKVCache`): only the last
  ``window - 1`` positions are kept, so memory stops growing.

Shapes: ``B`` batch, ``T`` new tokens, ``S`` keys, ``D`` width, ``H`` query heads,
``G`` key/value heads, ``Dh`` head width.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_lib.attention import (
    KVCache,
    MultiHeadAttention,
    Rotation,
    masked_softmax,
    merge_heads,
)
from course_lib.masks import causal_mask
from course_lib.peak_memory import tensor_bytes

__all__ = ["GroupedQueryAttention", "RollingKVCache", "positions_seen", "mha_to_gqa",
           "LatentAttention", "LatentCache", "kv_cache_bytes_per_token",
           "latent_cache_bytes_per_token", "cache_bytes"]


# --------------------------------------------------------------------------- caches
class RollingKVCache(KVCache):
    """A KV cache for sliding-window attention that keeps only the last ``window - 1`` positions.

    :meth:`append` returns the kept keys plus the new ones (what this step's queries may
    need), then forgets all but the last ``window - 1``: the next token sees those and
    itself, ``window`` keys. Memory is bounded however long generation runs.
    ``seen`` counts every position appended (the absolute position of the next token).
    """

    def __init__(self, window: int) -> None:
        super().__init__()
        if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
            raise ValueError(f"window: expected a positive integer, got {window!r}")
        self.window = window
        self.seen = 0

    def append(self, k_new: torch.Tensor, v_new: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``k_new, v_new (B, G, T, Dh)``; return kept + new ``(B, G, S, Dh)``."""
        k, v = super().append(k_new, v_new)
        self.seen += k_new.shape[-2]
        start = max(0, k.shape[-2] - (self.window - 1))
        # Slices of a bigger tensor would keep it alive: copy the kept part.
        self.k, self.v = k[..., start:, :].clone(), v[..., start:, :].clone()
        return k, v


def positions_seen(cache: KVCache | None) -> int:
    """Absolute position of the next token: tokens appended so far (0 without a cache)."""
    if cache is None:
        return 0
    return cache.seen if isinstance(cache, RollingKVCache) else cache.length


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
        if isinstance(num_kv_heads, bool) or not isinstance(num_kv_heads, int) \
                or num_kv_heads < 1 or num_heads % num_kv_heads:
            raise ValueError(f"num_kv_heads: expected a positive divisor of num_heads="
                             f"{num_heads}, got {num_kv_heads!r}")
        self.num_kv_heads = num_kv_heads
        self.group_size = num_heads // num_kv_heads
        kv_width = num_kv_heads * self.head_dim
        self.k_proj = nn.Linear(d_model, kv_width, bias=bias)
        self.v_proj = nn.Linear(d_model, kv_width, bias=bias)

    def extra_repr(self) -> str:
        """Shown inside ``repr(module)``."""
        return f"{super().extra_repr()}, num_kv_heads={self.num_kv_heads}"

    def _project_self(self, x: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q ``(B, H, T, Dh)``; k, v ``(B, G, T, Dh)``."""
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        return q, k, v

    def forward(self, x: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, is_causal: bool = False,
                need_weights: bool = False, cache: KVCache | None = None,
                attn_bias: torch.Tensor | None = None, rotary: Rotation | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x (B, T, D)`` -> ``(out (B, T, D), weights (B, H, T, S) or None)``."""
        self._check_inputs(x, x, x)
        q, k, v = self._project_self(x)
        past = positions_seen(cache)
        if rotary is not None:
            q, k = rotary(q, offset=past), rotary(k, offset=past)
        if cache is not None:
            k, v = cache.append(k, v)  # the cache holds G heads: the memory saving
        # Each group of query heads reads its shared key/value head.
        k = k.repeat_interleave(self.group_size, dim=1)
        v = v.repeat_interleave(self.group_size, dim=1)
        out, weights = self._attend_heads(q, k, v, key_padding_mask=key_padding_mask,
                                          attn_mask=attn_mask, is_causal=is_causal,
                                          attn_bias=attn_bias, need_weights=need_weights)
        return self.out_proj(merge_heads(out)), weights


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


# --------------------------------------------------------------------------- latent
class LatentCache:
    """The cache of :class:`LatentAttention`: one latent vector per token, ``(B, S, d_latent)``."""

    def __init__(self) -> None:
        self.latent: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """Number of cached positions."""
        return 0 if self.latent is None else self.latent.shape[1]

    def append(self, latent_new: torch.Tensor) -> torch.Tensor:
        """Append ``(B, T, d_latent)``; return all ``(B, S, d_latent)``."""
        if self.latent is not None and latent_new.shape[::2] != self.latent.shape[::2]:
            raise ValueError(f"latent_new: expected shape ({self.latent.shape[0]}, T, "
                             f"{self.latent.shape[2]}), got {tuple(latent_new.shape)}")
        self.latent = latent_new if self.latent is None else torch.cat(
            [self.latent, latent_new], dim=1)
        return self.latent


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


# --------------------------------------------------------------------------- bytes
def kv_cache_bytes_per_token(num_layers: int, num_kv_heads: int, head_dim: int,
                             bytes_per_value: int = 2) -> int:
    """Cache growth per generated token: keys and values, every layer, every KV head."""
    for name, value in (("num_layers", num_layers), ("num_kv_heads", num_kv_heads),
                        ("head_dim", head_dim), ("bytes_per_value", bytes_per_value)):
        if value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value}")
    return 2 * num_layers * num_kv_heads * head_dim * bytes_per_value


def latent_cache_bytes_per_token(num_layers: int, d_latent: int, rope_dim: int = 0,
                                 bytes_per_value: int = 2) -> int:
    """Latent cache growth per token: one latent (plus a shared RoPE key of ``rope_dim``,
    as in DeepSeek-V2) per layer."""
    if num_layers < 1 or d_latent < 1 or rope_dim < 0:
        raise ValueError(f"expected num_layers >= 1, d_latent >= 1, rope_dim >= 0, got "
                         f"{num_layers}, {d_latent}, {rope_dim}")
    return num_layers * (d_latent + rope_dim) * bytes_per_value


def cache_bytes(caches: list) -> int:
    """Bytes held by the tensors of a list of caches (KV, rolling or latent), measured from
    the tensors actually allocated (``numel * element_size``)."""
    return sum(tensor_bytes(*(getattr(cache, name, None) for name in ("k", "v", "latent")))
               for cache in caches)
