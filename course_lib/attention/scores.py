"""Scores and the attention they make: scoring functions, masked softmax, :func:`attend` (the
one attention path every layer of the library calls), scaled dot-product attention, additive
(Bahdanau) attention.

Shapes: ``B`` batch, ``T`` number of queries (target length), ``S`` number of keys
(source length), ``Dk``/``Dv`` key/value width. Masks are bool with ``True`` = "may attend"
(see :mod:`course_lib.core.masks`); a query whose keys are all masked out gets all-zero
weights and a zero output, never NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.masks import causal_mask, check_mask
from course_lib.core.validation import check_rank

__all__ = [
    "masked_softmax", "dot_product_scores", "scaled_dot_product_scores", "AdditiveScore",
    "GeneralScore", "attend", "scaled_dot_product_attention", "AdditiveAttention",
]


# --------------------------------------------------------------------------- softmax and scores
def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1
                   ) -> torch.Tensor:
    """Softmax of ``scores`` over ``dim`` that gives masked-out positions weight 0.

    Args:
        scores: ``(..., T, S)`` attention scores.
        mask: bool, broadcastable to ``scores``; ``True`` = may attend. ``None``: no mask.
        dim: the axis that sums to one (the keys).

    Returns:
        weights of the same shape as ``scores``. A row whose keys are all masked gets zeros
        (a plain ``-inf`` fill would give 0/0 = NaN there), and its gradient is zero.
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    check_mask(mask, "mask", scores.shape)
    # The most negative finite number instead of -inf: exp() of it is exactly 0 next to any
    # real score, and a fully masked row becomes uniform instead of NaN ...
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    # ... which multiplying by the mask then turns into the zeros we want.
    return torch.softmax(filled, dim=dim) * mask


def _check_same_width(q: torch.Tensor, k: torch.Tensor) -> None:
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"k: expected last dim {q.shape[-1]} (the width of q), "
                         f"got shape {tuple(k.shape)}")


def dot_product_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Dot-product scores ``q @ k^T`` (Luong et al. 2015 "dot").

    ``q (..., T, d)``, ``k (..., S, d)`` -> ``(..., T, S)``.
    """
    _check_same_width(q, k)
    return q @ k.transpose(-2, -1)


def scaled_dot_product_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product scores ``q @ k^T / sqrt(d)`` (Vaswani et al. 2017).

    Dividing by ``sqrt(d)`` keeps the scores' variance near 1 when q and k have unit-variance
    entries, so the softmax does not saturate as ``d`` grows.
    ``q (..., T, d)``, ``k (..., S, d)`` -> ``(..., T, S)``.
    """
    return dot_product_scores(q, k) / math.sqrt(q.shape[-1])


class AdditiveScore(nn.Module):
    """Additive (Bahdanau et al. 2014) score ``v^T tanh(W_q q + W_k k)``.

    ``forward(q (B, T, dq), k (B, S, dk)) -> (B, T, S)``. Memory grows as ``B*T*S*hidden``:
    fine for the course's small examples, the reason dot products won for long sequences.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)  # W_q
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=False)  # W_k
        self.v = nn.Linear(hidden_dim, 1, bias=False)  # v^T

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``q (B, T, dq)``, ``k (B, S, dk)`` -> scores ``(B, T, S)``."""
        check_rank(q, 3, "q", "(B, T, dq)")
        check_rank(k, 3, "k", "(B, S, dk)")
        if q.shape[0] != k.shape[0]:
            raise ValueError(f"k: expected batch size {q.shape[0]} (that of q), "
                             f"got shape {tuple(k.shape)}")
        # (B, T, 1, h) + (B, 1, S, h) -> (B, T, S, h): every query meets every key.
        features = torch.tanh(self.query_proj(q)[:, :, None, :] + self.key_proj(k)[:, None, :, :])
        return self.v(features).squeeze(-1)


class GeneralScore(nn.Module):
    """Luong et al. (2015) "general" score ``q^T W k``.

    ``forward(q (B, T, dq), k (B, S, dk)) -> (B, T, S)``; ``W`` has shape ``(dq, dk)``.
    """

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_dim, query_dim, bias=False)  # k -> W k

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``q (B, T, dq)``, ``k (B, S, dk)`` -> scores ``q W k^T`` ``(B, T, S)``."""
        return dot_product_scores(q, self.key_proj(k))


# --------------------------------------------------------------------------- attention
def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
           mask: torch.Tensor | None = None, bias: torch.Tensor | None = None,
           is_causal: bool = False, scale: float | None = None, dropout: float = 0.0,
           need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The one attention path every layer calls: scores, bias, masks, scale, softmax, values.

    ``softmax(q k^T * scale + bias, masked) v`` with ``scale = 1 / sqrt(d)`` by default.
    Two ways to compute it, the same function (tested equal):

    * ``need_weights=True``, the readable path: scores -> (+ bias) -> masked softmax ->
      dropout -> weights @ v, returning the weights (those before dropout);
    * otherwise PyTorch's fused ``F.scaled_dot_product_attention``, which returns no weights.

    Args:
        q: ``(..., T, d)``; k: ``(..., S, d)``; v: ``(..., S, dv)``.
        mask: bool broadcastable to ``(..., T, S)``, ``True`` = may attend.
        bias: float broadcastable to ``(..., T, S)``, added to the scaled scores (ALiBi,
            T5, Shaw's relative term).
        is_causal: add a causal mask, queries aligned with the *last* ``T`` keys (as
            :func:`course_lib.core.masks.causal_mask`: right for a KV cache).
        dropout: probability of dropping a weight (pass 0 in eval mode).

    Returns:
        ``(out (..., T, dv), weights (..., T, S) or None)``. A query whose keys are all
        masked out gets zero weights and a zero output (never NaN, in either path).
    """
    _check_same_width(q, k)
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"v: expected {k.shape[-2]} rows (the number of keys), "
                         f"got shape {tuple(v.shape)}")
    T, S = q.shape[-2], k.shape[-2]
    # The fused kernel has its own causal flag, aligned top-left: use it (no mask is built)
    # when it means the same as ours, i.e. no other mask and T == S.
    use_flag = (is_causal and T == S and mask is None and bias is None and not need_weights)
    if is_causal and not use_flag:
        causal = causal_mask(T, S, device=q.device)
        mask = causal if mask is None else mask & causal
    if mask is not None:
        check_mask(mask, "mask", (*torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]), T, S))
    if need_weights:
        return _attend_readable(q, k, v, mask, bias, scale, dropout)
    return _attend_fused(q, k, v, mask, bias, scale, dropout, use_flag), None


def _attend_readable(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     mask: torch.Tensor | None, bias: torch.Tensor | None,
                     scale: float | None, dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores -> (+ bias) -> masked softmax -> dropout -> weights @ v, step by step."""
    if scale is None:
        scores = scaled_dot_product_scores(q, k)  # (..., T, S)
    else:
        scores = dot_product_scores(q, k) * scale
    if bias is not None:
        scores = scores + bias.to(scores.dtype)  # as the fused path does
    weights = masked_softmax(scores, mask)
    used = F.dropout(weights, p=dropout) if dropout > 0 else weights
    return used @ v, weights


def _attend_fused(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                  mask: torch.Tensor | None, bias: torch.Tensor | None, scale: float | None,
                  dropout: float, use_flag: bool) -> torch.Tensor:
    """PyTorch's fused kernel, made to give zeros (not NaN) for fully masked rows."""
    empty_rows = None
    if mask is not None:
        has_key = mask.any(dim=-1, keepdim=True)  # (..., T, 1)
        if not bool(has_key.all()):
            # Let empty rows attend everywhere (finite), then zero their output; the
            # zeroing also zeroes their gradient, so no NaN reaches backward either.
            empty_rows = ~has_key
            mask = mask | empty_rows
    if bias is not None:
        # The fused kernel takes one float mask: the bias plus -inf where masked.
        attn = bias.to(q.dtype)
        if mask is not None:
            attn = attn.masked_fill(~mask, float("-inf"))
    else:
        attn = mask
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn, dropout_p=dropout,
                                         is_causal=use_flag, scale=scale)
    if empty_rows is not None:
        out = out.masked_fill(empty_rows, 0.0)
    return out


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None, dropout: float = 0.0,
                                 training: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Readable scaled dot-product attention ``softmax(q k^T / sqrt(d)) v`` (lesson 03's
    formula; :func:`attend`'s readable path).

    Args:
        q: ``(..., T, d)`` queries.  k: ``(..., S, d)`` keys.  v: ``(..., S, dv)`` values.
        mask: bool broadcastable to ``(..., T, S)``, ``True`` = may attend.
        dropout: probability of zeroing an attention weight (only when ``training``).

    Returns:
        ``(out (..., T, dv), weights (..., T, S))``. The weights are those *before*
        dropout (what the model "looks at"); the output uses the dropped-out ones.
    """
    # need_weights: the readable path, whose weights are always a tensor
    return attend(q, k, v, mask=mask, dropout=dropout if training else 0.0,
                  need_weights=True)  # type: ignore[return-value]


class AdditiveAttention(nn.Module):
    """Bahdanau-style attention: additive scores, masked softmax, weighted sum of values.

    ``forward(query (B, dq) or (B, T, dq), keys (B, S, dk), values (B, S, dv),
    key_padding_mask (B, S) bool True = real token)`` -> ``(context, weights)`` with
    ``context (B, dv)`` and ``weights (B, S)`` for a 2-D query, else ``(B, T, dv)`` and
    ``(B, T, S)``.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.score = AdditiveScore(query_dim, key_dim, hidden_dim)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query (B, dq) | (B, T, dq)``, ``keys (B, S, dk)``, ``values (B, S, dv)``,
        ``key_padding_mask (B, S)`` -> ``(context (B, dv), weights (B, S))`` for a 2-D query,
        else ``(context (B, T, dv), weights (B, T, S))``."""
        single = query.dim() == 2  # one decoder step: (B, dq)
        q = query[:, None, :] if single else query
        if values.shape[:2] != keys.shape[:2]:
            raise ValueError(f"values: expected shape ({keys.shape[0]}, {keys.shape[1]}, dv), "
                             f"got {tuple(values.shape)}")
        scores = self.score(q, keys)  # (B, T, S)
        mask = key_padding_mask
        if mask is not None:
            check_mask(mask, "key_padding_mask", (keys.shape[0], keys.shape[1]))
            if mask.dim() == 2:
                mask = mask[:, None, :]  # the same keys for every query
        weights = masked_softmax(scores, mask)
        context = weights @ values
        if single:
            return context[:, 0], weights[:, 0]
        return context, weights
