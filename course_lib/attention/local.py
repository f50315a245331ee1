"""Local and sparse attention: each query reads a few keys instead of all of them.

* sliding-window attention (Beltagy et al. 2020, Longformer), optionally with *global*
  tokens that see and are seen by every position: :func:`sliding_window_mask`;
* the fixed and strided factorized patterns of Child et al. (2019):
  :func:`strided_masks`, :func:`fixed_masks` (one mask per head of a pair);
* :func:`banded_attention`, an implementation of sliding-window attention whose work grows
  linearly with the length: the sequence is cut into blocks and each block of queries
  meets only its neighbouring blocks of keys, never a ``T x T`` score matrix. It equals
  full attention under :func:`sliding_window_mask`.

Masks are bool, ``True`` = may attend, shape ``(T, T)``. Shapes: ``B`` batch, ``H`` heads,
``T`` length, ``Dh`` head width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_lib.attention import masked_softmax

__all__ = ["window_reach", "sliding_window_mask", "strided_masks", "fixed_masks",
           "banded_attention", "mask_density"]


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


def window_reach(window: int, causal: bool = True) -> tuple[int, int]:
    """How far back and forward a query sees: ``(back, forward)`` positions.

    ``window`` counts the keys one query sees, itself included. Causal: the ``window - 1``
    previous tokens and itself. Bidirectional: ``(window - 1) / 2`` on each side, so
    ``window`` must be odd.
    """
    _check_positive("window", window)
    if causal:
        return window - 1, 0
    if window % 2 == 0:
        raise ValueError(f"window: expected an odd number for a bidirectional window "
                         f"(as many keys on each side), got {window}")
    return (window - 1) // 2, (window - 1) // 2


def sliding_window_mask(T: int, window: int, *, S: int | None = None, causal: bool = True,
                        num_global: int = 0, device: torch.device | str | None = None
                        ) -> torch.Tensor:
    """Sliding-window mask ``(T, S)``: query ``i`` may see key ``j`` when
    ``i - back <= j <= i + forward`` (see :func:`window_reach`).

    ``S`` (default ``T``): with ``S > T`` the queries are the *last* ``T`` of ``S``
    positions, as with a KV cache (the alignment of :func:`course_lib.core.masks.causal_mask`).
    ``num_global``: the first tokens are global (Longformer): they attend to every key and
    every query attends to them (causality still applies when ``causal``).
    """
    back, forward = window_reach(window, causal)
    S = T if S is None else S
    if num_global < 0:
        raise ValueError(f"num_global: expected >= 0, got {num_global}")
    i = torch.arange(T, device=device)[:, None] + (S - T)  # absolute query positions
    j = torch.arange(S, device=device)[None, :]
    offset = j - i  # key position - query position
    mask = (offset >= -back) & (offset <= forward)
    if num_global:
        glob = (i < num_global) | (j < num_global)
        mask = mask | glob
        if causal:
            mask = mask & (offset <= 0)
    return mask


def strided_masks(T: int, stride: int, device: torch.device | str | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Child et al. (2019) strided pattern, causal: two masks ``(T, T)`` for two heads.

    The first head sees the previous ``stride`` positions (``0 <= i - j < stride``); the
    second every ``stride``-th position back (``(i - j) % stride == 0``). Together they
    connect any two positions in two steps, with about ``2 sqrt(T)`` keys per query when
    ``stride ~ sqrt(T)``.
    """
    _check_positive("stride", stride)
    distance = torch.arange(T, device=device)[:, None] - torch.arange(T, device=device)[None, :]
    causal = distance >= 0
    return causal & (distance < stride), causal & (distance % stride == 0)


def fixed_masks(T: int, block: int, summary: int = 1,
                device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Child et al. (2019) fixed pattern, causal: two masks ``(T, T)`` for two heads.

    The first head sees the keys of its own block of ``block`` positions; the second the
    last ``summary`` positions of every block (cells that summarise their block).
    """
    _check_positive("block", block)
    _check_positive("summary", summary)
    if summary > block:
        raise ValueError(f"summary: expected <= block={block}, got {summary}")
    i = torch.arange(T, device=device)[:, None]
    j = torch.arange(T, device=device)[None, :]
    causal = j <= i
    same_block = (i // block) == (j // block)
    summary_cells = (j % block) >= block - summary
    return causal & same_block, causal & summary_cells


def mask_density(mask: torch.Tensor) -> float:
    """Fraction of (query, key) pairs a mask allows (1.0 for full attention)."""
    return float(mask.float().mean())


def banded_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, *,
                     causal: bool = True) -> torch.Tensor:
    """Sliding-window attention in blocks: work and memory ``O(T * window)``, not ``O(T^2)``.

    The length is padded to a multiple of a block size ``b = max(back, forward, 1)``; the
    queries of block ``n`` can only reach keys in blocks ``n-1, n`` (and ``n+1`` when not
    causal), so each block computes a ``(b, 2b or 3b)`` score matrix. Exactly the softmax of
    full attention restricted to :func:`sliding_window_mask` (same scale ``1/sqrt(Dh)``).

    Args:
        q, k, v: ``(B, H, T, Dh)`` (any leading dims; ``k``/``v`` as long as ``q``).
        window: keys per query, itself included (odd when ``causal=False``).

    Returns:
        ``out (B, H, T, Dh)``.
    """
    back, forward = window_reach(window, causal)
    if k.shape != q.shape[:-1] + k.shape[-1:] or k.shape[-1] != q.shape[-1] \
            or v.shape[:-1] != k.shape[:-1]:
        raise ValueError(f"k, v: expected shapes {tuple(q.shape)} like q (self-attention), "
                         f"got k {tuple(k.shape)} and v {tuple(v.shape)}")
    *lead, T, Dh = q.shape
    b = max(back, forward, 1)
    n_blocks = math.ceil(T / b)
    pad = n_blocks * b - T

    def blocks(x: torch.Tensor) -> torch.Tensor:  # (..., T, d) -> (..., n, b, d)
        x = F.pad(x, (0, 0, 0, pad))
        return x.reshape(*lead, n_blocks, b, x.shape[-1])

    def neighbours(x: torch.Tensor) -> torch.Tensor:
        # keys of blocks n-1, n (, n+1) side by side: (..., n, 2b or 3b, d)
        xb = blocks(x)
        prev = F.pad(xb, (0, 0, 0, 0, 1, 0))[..., :-1, :, :]  # block n-1 (zeros before 0)
        parts = [prev, xb]
        if forward:
            parts.append(F.pad(xb, (0, 0, 0, 0, 0, 1))[..., 1:, :, :])  # block n+1
        return torch.cat(parts, dim=-2)

    qb, kb, vb = blocks(q), neighbours(k), neighbours(v)
    scores = qb @ kb.transpose(-2, -1) / math.sqrt(Dh)  # (..., n, b, 2b|3b)
    # Absolute positions of each query row and key column in every block.
    n = torch.arange(n_blocks, device=q.device)[:, None, None]
    query_pos = n * b + torch.arange(b, device=q.device)[None, :, None]
    key_pos = (n - 1) * b + torch.arange(kb.shape[-2], device=q.device)[None, None, :]
    offset = key_pos - query_pos
    allowed = (offset >= -back) & (offset <= forward) & (key_pos >= 0) & (key_pos < T)
    weights = masked_softmax(scores, allowed)
    out = (weights @ vb).reshape(*lead, n_blocks * b, v.shape[-1])
    return out[..., :T, :]
