"""NumPy reference implementations: the attention core with nothing hidden.

Used by the tests as an independent check of :mod:`course_lib.attention` and by the
lessons to show that attention is a few lines of linear algebra. Masks are bool with
``True`` = may attend; a fully masked row gives zeros. Linear layers follow the
``torch.nn.Linear`` convention ``y = x @ W.T + b`` with ``W`` of shape ``(out, in)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "softmax", "masked_softmax", "scaled_dot_product_attention", "multi_head_attention",
]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (any shape).

    Subtracting the max first changes nothing mathematically (it cancels in the ratio) but
    keeps ``exp`` from overflowing for large scores.
    """
    x = np.asarray(x, dtype=np.float64)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None = None, axis: int = -1
                   ) -> np.ndarray:
    """Softmax of ``scores (..., T, S)`` over ``axis`` with masked positions at weight 0.

    ``mask`` is bool, broadcastable to ``scores``; a row with no ``True`` gets zeros.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if mask is None:
        return softmax(scores, axis=axis)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    filled = np.where(mask, scores, -np.inf)
    row_max = np.max(filled, axis=axis, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)  # fully masked row: any shift
    e = np.where(mask, np.exp(filled - row_max), 0.0)
    total = np.sum(e, axis=axis, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                                 mask: np.ndarray | None = None
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """``softmax(q k^T / sqrt(d)) v`` for ``q (..., T, d)``, ``k (..., S, d)``,
    ``v (..., S, dv)``; returns ``(out (..., T, dv), weights (..., T, S))``."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    weights = masked_softmax(scores, mask)
    return weights @ v, weights


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    y = x @ np.asarray(weight, dtype=np.float64).T
    return y if bias is None else y + bias


def multi_head_attention(query: np.ndarray, key: np.ndarray, value: np.ndarray, *,
                         num_heads: int, w_q: np.ndarray, w_k: np.ndarray, w_v: np.ndarray,
                         w_o: np.ndarray, b_q: np.ndarray | None = None,
                         b_k: np.ndarray | None = None, b_v: np.ndarray | None = None,
                         b_o: np.ndarray | None = None, mask: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Multi-head attention forward pass, batch first.

    Args:
        query: ``(B, T, D)``; key: ``(B, S, kdim)``; value: ``(B, S, vdim)``.
        w_q: ``(D, D)``, w_k: ``(D, kdim)``, w_v: ``(D, vdim)``, w_o: ``(D, D)``
            (``nn.Linear`` layout), biases ``(D,)`` or ``None``.
        mask: bool broadcastable to ``(B, H, T, S)``, ``True`` = may attend.

    Returns:
        ``(out (B, T, D), weights (B, H, T, S))``.
    """
    query, key, value = (np.asarray(a, dtype=np.float64) for a in (query, key, value))
    B, T, D = query.shape
    S = key.shape[1]
    if D % num_heads:
        raise ValueError(f"num_heads: expected a divisor of d_model={D}, got {num_heads}")
    Dh = D // num_heads

    def heads(x: np.ndarray, length: int) -> np.ndarray:  # (B, L, D) -> (B, H, L, Dh)
        return x.reshape(B, length, num_heads, Dh).transpose(0, 2, 1, 3)

    q = heads(_linear(query, w_q, b_q), T)
    k = heads(_linear(key, w_k, b_k), S)
    v = heads(_linear(value, w_v, b_v), S)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    merged = out.transpose(0, 2, 1, 3).reshape(B, T, D)
    return _linear(merged, w_o, b_o), weights
