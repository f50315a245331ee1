"""Positional information for attention, which by itself ignores word order.

Self-attention without positions is permutation-equivariant: shuffle the tokens and the
outputs shuffle the same way. Each scheme here breaks that symmetry differently:

* absolute, added to the input: :func:`sinusoidal_encoding` /
  :class:`SinusoidalPositionalEncoding` (Vaswani et al. 2017),
  :class:`LearnedPositionalEmbedding` (Gehring et al. 2017; GPT);
* relative, inside attention: :class:`RelativePositionRepresentations` (Shaw et al. 2018)
  with :func:`course_lib.attention.relative_attention`;
  :class:`T5RelativeBias` (Raffel et al. 2020);
  :func:`alibi_bias` (Press et al. 2022);
* rotations of q and k: :class:`RotaryEmbedding` (RoPE, Su et al. 2021).

Shapes: ``B`` batch, ``H`` heads, ``T`` queries, ``S`` keys, ``D`` model width,
``Dh`` head width. With a KV cache the ``T`` queries are the *last* ``T`` of ``S``
positions (``offset = S - T``), the same alignment as :func:`course_lib.core.masks.causal_mask`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from course_lib.attention.scores import masked_softmax

__all__ = [
    "sinusoidal_encoding", "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding",
    "relative_positions", "RelativePositionRepresentations",
    "t5_relative_position_bucket", "T5RelativeBias", "alibi_slopes", "alibi_bias",
    "RotaryEmbedding", "relative_attention",
]


def _check_length(T: int, max_len: int) -> None:
    if T > max_len:
        raise ValueError(f"sequence length {T} exceeds max_len {max_len}")


# --------------------------------------------------------------------------- absolute
def sinusoidal_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """Sinusoidal positional encoding (Vaswani et al. 2017), shape ``(max_len, d_model)``.

    ``PE[pos, 2i] = sin(pos / 10000^(2i/d))`` and ``PE[pos, 2i+1] = cos(pos / 10000^(2i/d))``:
    each pair of dims is a clock at its own frequency, from one turn per ~6 tokens down to
    one per ~60 000, so nearby positions get similar codes and ``PE[pos + k]`` is a fixed
    rotation of ``PE[pos]``.
    """
    if max_len < 0 or d_model < 1:
        raise ValueError(f"sinusoidal_encoding: expected max_len >= 0 and d_model >= 1, "
                         f"got max_len={max_len}, d_model={d_model}")
    position = torch.arange(max_len, dtype=torch.float64)[:, None]  # (max_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # 2i for each pair
    angle = position / 10000.0 ** (two_i / d_model)  # (max_len, ceil(d/2))
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])  # an odd d_model has one sin more
    return pe.float()


class SinusoidalPositionalEncoding(nn.Module):
    """Adds :func:`sinusoidal_encoding` to token embeddings, then dropout.

    ``forward(x (B, T, D), offset=0) -> (B, T, D)``; positions ``offset .. offset+T-1``
    (``offset`` > 0 when generating after cached tokens).
    """

    def __init__(self, d_model: int, max_len: int = 1024, dropout: float = 0.0) -> None:
        super().__init__()
        self.max_len = max_len
        self.dropout = nn.Dropout(dropout)
        # A buffer, not a parameter: it moves with .to(device) but is not trained.
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``x (B, T, D) -> (B, T, D)``: adds the codes of positions ``offset .. offset+T-1``."""
        _check_length(offset + x.shape[1], self.max_len)
        if x.shape[-1] != self.pe.shape[1]:
            raise ValueError(f"x: expected shape (B, T, {self.pe.shape[1]}), got {tuple(x.shape)}")
        return self.dropout(x + self.pe[offset: offset + x.shape[1]].to(x.dtype))


class LearnedPositionalEmbedding(nn.Module):
    """A trained vector per position (as in GPT), added to token embeddings.

    ``forward(x (B, T, D), offset=0) -> (B, T, D)``. Unlike sinusoids it cannot go past
    ``max_len``: there is no row for position ``max_len``.
    """

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)  # GPT-2's initialisation

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``x (B, T, D) -> (B, T, D)``: adds the vectors of positions ``offset .. offset+T-1``."""
        T = x.shape[1]
        _check_length(offset + T, self.max_len)
        positions = torch.arange(offset, offset + T, device=x.device)
        return x + self.embedding(positions)


# --------------------------------------------------------------------------- Shaw et al.
def relative_positions(T: int, S: int | None = None, offset: int | None = None,
                       device: torch.device | str | None = None) -> torch.Tensor:
    """Relative distances ``key position - query position``, shape ``(T, S)`` (int64).

    Query ``i`` sits at ``i + offset`` (default ``offset = S - T``); key ``j`` at ``j``.
    Negative values are keys in the past.
    """
    S = T if S is None else S
    offset = S - T if offset is None else offset
    query_pos = torch.arange(T, device=device)[:, None] + offset
    key_pos = torch.arange(S, device=device)[None, :]
    return key_pos - query_pos


class RelativePositionRepresentations(nn.Module):
    """Shaw et al. (2018): learned vectors for clipped relative distances.

    Distances are clipped to ``[-max_relative_position, max_relative_position]`` (beyond
    that, "far" is "far"), giving ``2k+1`` embeddings for keys (``a^K``) and for values
    (``a^V``), each of width ``head_dim`` and shared by all heads.
    ``forward(T, S=None, offset=None) -> (a_k (T, S, Dh), a_v (T, S, Dh))``.
    """

    def __init__(self, head_dim: int, max_relative_position: int) -> None:
        super().__init__()
        if max_relative_position < 1:
            raise ValueError(f"max_relative_position: expected >= 1, got {max_relative_position}")
        self.max_relative_position = max_relative_position
        self.key_embeddings = nn.Embedding(2 * max_relative_position + 1, head_dim)
        self.value_embeddings = nn.Embedding(2 * max_relative_position + 1, head_dim)

    def indices(self, T: int, S: int | None = None, offset: int | None = None) -> torch.Tensor:
        """Embedding row of each (query, key) pair, ``(T, S)``: clipped distance + k."""
        k = self.max_relative_position
        distance = relative_positions(T, S, offset, device=self.key_embeddings.weight.device)
        return distance.clamp(-k, k) + k

    def forward(self, T: int, S: int | None = None, offset: int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``T`` queries, ``S`` keys (default ``T``) -> ``(a_k (T, S, Dh), a_v (T, S, Dh))``."""
        index = self.indices(T, S, offset)
        return self.key_embeddings(index), self.value_embeddings(index)


# --------------------------------------------------------------------------- T5
def t5_relative_position_bucket(relative_position: torch.Tensor, bidirectional: bool = True,
                                num_buckets: int = 32, max_distance: int = 128) -> torch.Tensor:
    """T5's bucket for each relative position ``key - query`` (Raffel et al. 2020).

    Half the buckets (per direction) hold exact small distances; the rest cover distances
    up to ``max_distance`` on a log scale; anything farther shares the last bucket. With
    ``bidirectional`` the upper half of the buckets is for keys *after* the query; without
    it, keys after the query all go to bucket 0. Same shape as the input, int64.
    """
    relative_position = torch.as_tensor(relative_position)
    buckets = torch.zeros_like(relative_position, dtype=torch.long)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative_position > 0).long() * num_buckets
        distance = relative_position.abs()
    else:
        distance = (-relative_position).clamp(min=0)
    max_exact = num_buckets // 2
    is_small = distance < max_exact
    # float32 as in the published (Mesh TensorFlow) code, so buckets match released models.
    log_ratio = torch.log(distance.float().clamp(min=1) / max_exact) / math.log(
        max_distance / max_exact)
    large = max_exact + (log_ratio * (num_buckets - max_exact)).long()
    large = large.clamp(max=num_buckets - 1)
    return buckets + torch.where(is_small, distance, large)


class T5RelativeBias(nn.Module):
    """A learned scalar per (bucket, head) added to the attention scores (T5).

    ``forward(T, S=None, offset=None) -> (1, H, T, S)``, ready to pass as
    ``MultiHeadAttention(..., attn_bias=...)``. T5 shares one of these across layers.
    """

    def __init__(self, num_heads: int, num_buckets: int = 32, max_distance: int = 128,
                 bidirectional: bool = True) -> None:
        super().__init__()
        self.num_heads, self.num_buckets = num_heads, num_buckets
        self.max_distance, self.bidirectional = max_distance, bidirectional
        self.embedding = nn.Embedding(num_buckets, num_heads)

    def forward(self, T: int, S: int | None = None, offset: int | None = None) -> torch.Tensor:
        """``T`` queries, ``S`` keys (default ``T``) -> bias ``(1, H, T, S)``."""
        distance = relative_positions(T, S, offset, device=self.embedding.weight.device)
        bucket = t5_relative_position_bucket(distance, self.bidirectional, self.num_buckets,
                                             self.max_distance)
        return self.embedding(bucket).permute(2, 0, 1)[None]  # (T, S, H) -> (1, H, T, S)


# --------------------------------------------------------------------------- ALiBi
def alibi_slopes(num_heads: int) -> torch.Tensor:
    """ALiBi head slopes (Press et al. 2022), shape ``(H,)``.

    For ``H`` a power of 2: the geometric sequence starting at ``2^(-8/H)`` with that same
    ratio (``2^-1 .. 2^-8`` for 8 heads). Otherwise, as in the paper: the slopes of the
    largest power of 2 below ``H``, then every other slope of ``2 *`` that power.
    """
    if num_heads < 1:
        raise ValueError(f"num_heads: expected >= 1, got {num_heads}")

    def power_of_2(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(num_heads).is_integer():
        slopes = power_of_2(num_heads)
    else:
        closest = 2 ** math.floor(math.log2(num_heads))
        slopes = power_of_2(closest) + power_of_2(2 * closest)[0::2][: num_heads - closest]
    return torch.tensor(slopes)


def alibi_bias(num_heads: int, T: int, S: int | None = None) -> torch.Tensor:
    """ALiBi bias ``-slope_h * |i - j|``, shape ``(H, T, S)``, queries aligned to the last
    ``T`` keys. Meant for causal attention (pass ``is_causal=True``): there ``|i - j| = i - j``,
    the distance back to each earlier key; future keys are removed by the mask.
    """
    distance = relative_positions(T, S).abs().float()  # (T, S)
    return -alibi_slopes(num_heads)[:, None, None] * distance


# --------------------------------------------------------------------------- RoPE
class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE, Su et al. 2021), pairs of adjacent dims as in the paper.

    Dims ``(2i, 2i+1)`` of a query or key at position ``m`` are rotated by the angle
    ``m * base^(-2i/Dh)``. Rotations preserve length, and ``R_m q . R_n k = q . R_(n-m) k``,
    so the score depends on positions only through the offset ``n - m``.
    ``forward(x (..., T, Dh), offset=0) -> (..., T, Dh)`` for positions ``offset ..``.
    """

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"head_dim: expected an even number, got {head_dim}")
        self.head_dim = head_dim
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        self.register_buffer("inv_freq", inv_freq.float(), persistent=False)

    def angles(self, T: int, offset: int = 0) -> torch.Tensor:
        """Rotation angles ``(T, Dh/2)``: position times frequency."""
        positions = torch.arange(offset, offset + T, device=self.inv_freq.device,
                                 dtype=self.inv_freq.dtype)
        return positions[:, None] * self.inv_freq[None, :]

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``x (..., T, Dh) -> (..., T, Dh)``, e.g. ``(B, H, T, Dh)``, rotated for positions
        ``offset .. offset+T-1``."""
        if x.shape[-1] != self.head_dim:
            raise ValueError(f"x: expected last dim {self.head_dim} (head_dim), "
                             f"got shape {tuple(x.shape)}")
        angle = self.angles(x.shape[-2], offset).to(x.dtype)
        cos, sin = angle.cos(), angle.sin()
        even, odd = x[..., 0::2], x[..., 1::2]
        rotated = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)
        return rotated.flatten(-2)  # interleave back: (..., Dh/2, 2) -> (..., Dh)


# --------------------------------------------------------------------------- relative positions
def relative_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       rel: Callable[..., tuple[torch.Tensor, torch.Tensor]],
                       mask: torch.Tensor | None = None,
                       offset: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention with Shaw et al. (2018) relative position representations.

    ``e_ij = q_i . (k_j + a^K_ij) / sqrt(Dh)``, ``w = masked_softmax(e)``,
    ``z_i = sum_j w_ij (v_j + a^V_ij)``.

    ``rel(T, S, offset) -> (a_k (T, S, Dh), a_v (T, S, Dh))`` gives the relative position
    representations, e.g. :class:`course_lib.attention.positions.RelativePositionRepresentations`.

    Args:
        q: ``(B, H, T, Dh)``; k, v: ``(B, H, S, Dh)``; mask: bool broadcastable to
        ``(B, H, T, S)``, ``True`` = may attend.

    Returns:
        ``(out (B, H, T, Dh), weights (B, H, T, S))``.
    """
    T, S, Dh = q.shape[-2], k.shape[-2], q.shape[-1]
    a_k, a_v = rel(T, S, offset)  # (T, S, Dh) each
    # q.(k + a^K) = q.k + q.a^K; the second term is one batched product per query position.
    scores = q @ k.transpose(-2, -1) + torch.einsum("bhtd,tsd->bhts", q, a_k)
    weights = masked_softmax(scores / math.sqrt(Dh), mask)
    out = weights @ v + torch.einsum("bhts,tsd->bhtd", weights, a_v)
    return out, weights
