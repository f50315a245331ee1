"""Linear attention (Katharopoulos et al. 2020): a kernel instead of a softmax.

Softmax attention weighs key ``j`` by ``exp(q_i . k_j)``. Replace that similarity by a dot
product of features, ``phi(q_i) . phi(k_j)`` with ``phi(x) = elu(x) + 1 > 0``, and the
product can be regrouped::

    out_i = phi(q_i)^T (sum_j phi(k_j) v_j^T) / phi(q_i)^T (sum_j phi(k_j))

The sums do not depend on ``i``: they cost ``O(T Dh^2)`` once instead of ``O(T^2 Dh)``.
Causally, the sums run over ``j <= i`` and are updated token by token: a state
``S_i = S_(i-1) + phi(k_i) v_i^T`` of fixed size, i.e. attention becomes a recurrent
network again (:func:`causal_linear_attention_recurrent`). The price: a fixed-size state
cannot store many key-value pairs without blurring them, and ``phi`` cannot make the
weights as sharp as an exponential.

Shapes: ``(B, H, T, Dh)`` for q, k; ``(B, H, T, Dv)`` for v (any leading dims).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention import merge_heads, split_heads
from course_lib.core.masks import causal_mask

__all__ = ["elu_feature_map", "linear_attention_quadratic", "linear_attention",
           "causal_linear_attention", "causal_linear_attention_recurrent",
           "LinearAttention"]

_EPS = 1e-6  # keeps the normaliser away from zero; phi > 0 makes it positive anyway


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """``phi(x) = elu(x) + 1``: positive everywhere, so every weight is positive."""
    return F.elu(x) + 1.0


def _check(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    if q.shape[-1] != k.shape[-1] or k.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"q, k, v: expected q (..., T, d), k (..., S, d), v (..., S, dv), "
                         f"got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")


def linear_attention_quadratic(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                               causal: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference: the ``T x S`` weight matrix ``phi(q) phi(k)^T`` normalised per row.

    Returns ``(out (..., T, dv), weights (..., T, S))``.
    """
    _check(q, k, v)
    similarity = elu_feature_map(q) @ elu_feature_map(k).transpose(-2, -1)  # (..., T, S)
    if causal:
        similarity = similarity * causal_mask(q.shape[-2], k.shape[-2], device=q.device)
    weights = similarity / (similarity.sum(-1, keepdim=True) + _EPS)
    return weights @ v, weights


def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Non-causal linear attention in ``O(T d dv)``: ``(..., T, dv)``."""
    _check(q, k, v)
    fq, fk = elu_feature_map(q), elu_feature_map(k)
    state = fk.transpose(-2, -1) @ v  # (..., d, dv): sum_j phi(k_j) v_j^T
    normaliser = fk.sum(-2)  # (..., d): sum_j phi(k_j)
    return (fq @ state) / ((fq * normaliser[..., None, :]).sum(-1, keepdim=True) + _EPS)


def causal_linear_attention_recurrent(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
                                      ) -> torch.Tensor:
    """Causal linear attention as an RNN: one state update per token. ``(..., T, dv)``.

    Readable, slow in Python; :func:`causal_linear_attention` computes the same in chunks.
    """
    _check(q, k, v)
    fq, fk = elu_feature_map(q), elu_feature_map(k)
    state = q.new_zeros(*q.shape[:-2], q.shape[-1], v.shape[-1])  # S_0 = 0, (..., d, dv)
    normaliser = q.new_zeros(*q.shape[:-2], q.shape[-1])  # z_0 = 0, (..., d)
    outputs = []
    for t in range(q.shape[-2]):
        state = state + fk[..., t, :, None] * v[..., t, None, :]  # S_t = S_(t-1) + phi(k) v^T
        normaliser = normaliser + fk[..., t, :]
        numerator = (fq[..., t, :, None] * state).sum(-2)  # phi(q_t)^T S_t: (..., dv)
        denominator = (fq[..., t, :] * normaliser).sum(-1, keepdim=True) + _EPS
        outputs.append(numerator / denominator)
    return torch.stack(outputs, dim=-2)


def causal_linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                            chunk: int = 64) -> torch.Tensor:
    """Causal linear attention in chunks: ``O(T (chunk + d) dv)`` work, ``(..., T, dv)``.

    Within a chunk the small quadratic form (a ``chunk x chunk`` masked matrix); across
    chunks the running state of :func:`causal_linear_attention_recurrent`.
    """
    _check(q, k, v)
    if chunk <= 0:
        raise ValueError(f"chunk: expected a positive integer, got {chunk}")
    fq, fk = elu_feature_map(q), elu_feature_map(k)
    state = q.new_zeros(*q.shape[:-2], q.shape[-1], v.shape[-1])
    normaliser = q.new_zeros(*q.shape[:-2], 1, q.shape[-1])
    outputs = []
    for start in range(0, q.shape[-2], chunk):
        cq, ck, cv = (x[..., start:start + chunk, :] for x in (fq, fk, v))
        local = (cq @ ck.transpose(-2, -1)).tril()  # (..., c, c), j <= i inside the chunk
        numerator = cq @ state + local @ cv
        denominator = (cq * normaliser).sum(-1, keepdim=True) + local.sum(-1, keepdim=True)
        outputs.append(numerator / (denominator + _EPS))
        state = state + ck.transpose(-2, -1) @ cv
        normaliser = normaliser + ck.sum(-2, keepdim=True)
    return torch.cat(outputs, dim=-2)


class LinearAttention(nn.Module):
    """Multi-head causal (or not) linear self-attention layer.

    ``forward(x (B, T, D), is_causal=False) -> out (B, T, D)``; same projections as
    :class:`course_lib.attention.MultiHeadAttention`, the kernel in place of the softmax.
    """

    def __init__(self, d_model: int, num_heads: int, chunk: int = 64) -> None:
        super().__init__()
        if num_heads < 1 or d_model % num_heads:
            raise ValueError(f"d_model: expected a multiple of num_heads={num_heads}, "
                             f"got {d_model}")
        self.num_heads, self.chunk = num_heads, chunk
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, is_causal: bool = False) -> torch.Tensor:
        """``x (B, T, D) -> (B, T, D)``."""
        q, k, v = (split_heads(proj(x), self.num_heads)
                   for proj in (self.q_proj, self.k_proj, self.v_proj))
        if is_causal:
            out = causal_linear_attention(q, k, v, self.chunk)
        else:
            out = linear_attention(q, k, v)
        return self.out_proj(merge_heads(out))
