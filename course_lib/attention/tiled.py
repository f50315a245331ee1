"""Exact attention in tiles with an online softmax: the idea of FlashAttention, in NumPy.

Full attention builds the ``T x S`` score matrix. FlashAttention (Dao et al. 2022) never
does: it walks over tiles of keys and keeps, per query, a running maximum ``m``, a running
sum ``total`` of ``exp(score - m)`` and an unnormalised output ``acc``. When a new tile raises
the maximum, the old ``total`` and ``acc`` were computed against a smaller maximum and must be
*rescaled* by ``exp(m_old - m_new)`` before the new tile is added: the online softmax of
Milakov & Gimelshein (2018). At the end ``acc / total`` is exactly ``softmax(scores) @ v``.
Memory for scores: one ``tile x tile`` block instead of ``T x S``.

(The real kernel's gain comes from keeping tiles in fast on-chip memory on a GPU; in NumPy
we show the arithmetic and the memory, not the speed.)

Shapes: ``q (..., T, d)``, ``k (..., S, d)``, ``v (..., S, dv)``; float64.
"""

from __future__ import annotations

import numpy as np

__all__ = ["full_attention", "online_softmax_update", "tiled_attention"]


def full_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool = False
                   ) -> np.ndarray:
    """Plain attention ``softmax(q k^T / sqrt(d)) v`` with the whole score matrix."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])  # (..., T, S)
    if causal:
        T, S = scores.shape[-2:]
        scores = np.where(np.tri(T, S, S - T, dtype=bool), scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v


def online_softmax_update(m: np.ndarray, total: np.ndarray, acc: np.ndarray,
                          scores: np.ndarray, v: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fold one tile of keys into the running statistics.

    Args:
        m: ``(..., T, 1)`` running max of the scores seen so far (``-inf`` at the start).
        total: ``(..., T, 1)`` running sum of ``exp(score - m)``.
        acc: ``(..., T, dv)`` running sum of ``exp(score - m) * v``.
        scores: ``(..., T, s)`` scores of this tile (``-inf`` where masked).
        v: ``(..., s, dv)`` values of this tile.

    Returns:
        the new ``(m, total, acc)``.
    """
    m_new = np.maximum(m, scores.max(-1, keepdims=True))
    # A row that has seen only -inf so far keeps m = -inf; shift by 0 there (no NaN).
    safe = np.where(np.isfinite(m_new), m_new, 0.0)
    rescale = np.exp(m - safe)  # the step learners forget: old sums were relative to m
    p = np.exp(scores - safe)
    return m_new, total * rescale + p.sum(-1, keepdims=True), acc * rescale + p @ v


def tiled_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, tile_size: int = 64,
                    causal: bool = False) -> np.ndarray:
    """Exact attention computed tile by tile: ``(..., T, dv)``, equal to
    :func:`full_attention` to rounding, holding one ``tile x tile`` score block at a time.
    ``causal`` aligns the queries with the last keys (as :func:`course_lib.core.masks.causal_mask`).
    """
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size <= 0:
        raise ValueError(f"tile_size: expected a positive integer, got {tile_size!r}")
    if q.shape[-1] != k.shape[-1] or k.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"q, k, v: expected q (..., T, d), k (..., S, d), v (..., S, dv), "
                         f"got {q.shape}, {k.shape}, {v.shape}")
    T, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / np.sqrt(q.shape[-1])
    out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=np.result_type(q, v))
    for qs in range(0, T, tile_size):
        q_tile = q[..., qs:qs + tile_size, :] * scale
        rows = q_tile.shape[-2]
        m = np.full(q_tile.shape[:-1] + (1,), -np.inf)
        total = np.zeros_like(m)
        acc = np.zeros(q_tile.shape[:-1] + v.shape[-1:])
        last_key = S if not causal else min(S, qs + rows + S - T)  # keys beyond: all masked
        for ks in range(0, last_key, tile_size):
            scores = q_tile @ np.swapaxes(k[..., ks:ks + tile_size, :], -1, -2)
            if causal:
                qpos = np.arange(qs, qs + rows)[:, None] + (S - T)
                kpos = np.arange(ks, ks + scores.shape[-1])[None, :]
                scores = np.where(kpos <= qpos, scores, -np.inf)
            m, total, acc = online_softmax_update(m, total, acc, scores,
                                                  v[..., ks:ks + tile_size, :])
        out[..., qs:qs + rows, :] = acc / total
    return out
