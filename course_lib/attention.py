"""The attention core: scores, masked softmax, attention, multi-head attention, KV cache.

Shapes: ``B`` batch, ``T`` number of queries (target length), ``S`` number of keys
(source length), ``D`` model width, ``H`` heads, ``Dh = D / H`` width of one head.
Masks are bool with ``True`` = "may attend" (see :mod:`course_lib.masks`); a query whose
keys are all masked out gets all-zero weights and a zero output, never NaN.

:class:`MultiHeadAttention` has two paths that compute the same function:

* the readable path (``need_weights=True``) spells out scores -> masked softmax -> weights @ V
  and returns the weights ``(B, H, T, S)`` for plotting;
* the fast path (default) calls PyTorch's fused
  ``torch.nn.functional.scaled_dot_product_attention`` and returns no weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.masks import causal_mask, check_mask

# A rotation of queries or keys by position, such as positional.RotaryEmbedding:
# ``rotate(x (B, H, T, Dh), offset=first_position) -> (B, H, T, Dh)``. Attention takes any
# such callable, so this module needs no positional class (positional imports nothing).
Rotation = Callable[..., torch.Tensor]

__all__ = [
    "masked_softmax", "dot_product_scores", "scaled_dot_product_scores", "AdditiveScore",
    "GeneralScore", "scaled_dot_product_attention", "AdditiveAttention", "nadaraya_watson",
    "NadarayaWatson", "split_heads", "merge_heads", "KVCache", "MultiHeadAttention",
    "copy_from_torch_mha", "relative_attention", "Rotation",
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
        _check_rank(q, 3, "q", "(B, T, dq)")
        _check_rank(k, 3, "k", "(B, S, dk)")
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
def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None, dropout: float = 0.0,
                                 training: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Readable scaled dot-product attention ``softmax(q k^T / sqrt(d)) v``.

    Args:
        q: ``(..., T, d)`` queries.  k: ``(..., S, d)`` keys.  v: ``(..., S, dv)`` values.
        mask: bool broadcastable to ``(..., T, S)``, ``True`` = may attend.
        dropout: probability of zeroing an attention weight (only when ``training``).

    Returns:
        ``(out (..., T, dv), weights (..., T, S))``. The weights are those *before*
        dropout (what the model "looks at"); the output uses the dropped-out ones.
    """
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"v: expected {k.shape[-2]} rows (the number of keys), "
                         f"got shape {tuple(v.shape)}")
    weights = masked_softmax(scaled_dot_product_scores(q, k), mask)
    used = F.dropout(weights, p=dropout) if training and dropout > 0 else weights
    return used @ v, weights


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


def nadaraya_watson(x_query: torch.Tensor, x_keys: torch.Tensor, y_values: torch.Tensor,
                    bandwidth: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nadaraya-Watson kernel regression (1964) with a Gaussian kernel: attention before
    deep learning.

    ``y_hat_i = sum_j w_ij y_j`` with ``w_ij = softmax_j(-(x_i - x_j)^2 / (2 h^2))``.

    Args:
        x_query: ``(Q,)``.  x_keys: ``(K,)``.  y_values: ``(K,)``.  bandwidth: ``h > 0``.

    Returns:
        ``(y_hat (Q,), weights (Q, K))``.
    """
    x_query, x_keys, y_values = (torch.as_tensor(t) for t in (x_query, x_keys, y_values))
    if x_keys.shape != y_values.shape or x_keys.dim() != 1:
        raise ValueError(f"y_values: expected shape {tuple(x_keys.shape)} (that of x_keys, "
                         f"1-D), got {tuple(y_values.shape)}")
    bandwidth = torch.as_tensor(bandwidth, dtype=x_query.dtype)
    if bool((bandwidth <= 0).any()):
        raise ValueError(f"bandwidth: expected > 0, got {bandwidth.tolist()}")
    distance2 = (x_query[:, None] - x_keys[None, :]) ** 2  # (Q, K)
    weights = torch.softmax(-distance2 / (2 * bandwidth**2), dim=-1)
    return weights @ y_values, weights


class NadarayaWatson(nn.Module):
    """Nadaraya-Watson regression with a (learnable) bandwidth.

    The bandwidth is stored as its log so gradient steps keep it positive.
    ``forward(x_query (Q,), x_keys (K,), y_values (K,)) -> (y_hat (Q,), weights (Q, K))``.
    """

    def __init__(self, init_bandwidth: float = 1.0, learnable: bool = True) -> None:
        super().__init__()
        if init_bandwidth <= 0:
            raise ValueError(f"init_bandwidth: expected > 0, got {init_bandwidth}")
        log_h = torch.tensor(math.log(init_bandwidth))
        if learnable:
            self.log_bandwidth = nn.Parameter(log_h)
        else:
            self.register_buffer("log_bandwidth", log_h)

    @property
    def bandwidth(self) -> torch.Tensor:
        """The current bandwidth ``h`` (a 0-d tensor)."""
        return self.log_bandwidth.exp()

    def forward(self, x_query: torch.Tensor, x_keys: torch.Tensor, y_values: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x_query (Q,)``, ``x_keys (K,)``, ``y_values (K,)`` ->
        ``(y_hat (Q,), weights (Q, K))``."""
        return nadaraya_watson(x_query, x_keys, y_values, self.bandwidth)


# --------------------------------------------------------------------------- heads and cache
def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(B, T, D) -> (B, H, T, D/H)``: each head sees its own slice of the features."""
    _check_rank(x, 3, "x", "(B, T, D)")
    B, T, D = x.shape
    if D % num_heads:
        raise ValueError(f"x: expected a last dim divisible by num_heads={num_heads}, "
                         f"got shape {tuple(x.shape)}")
    return x.view(B, T, num_heads, D // num_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, T, Dh) -> (B, T, H*Dh)``: the inverse of :func:`split_heads`."""
    _check_rank(x, 4, "x", "(B, H, T, Dh)")
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)


class KVCache:
    """Keys and values of the tokens generated so far, so each new token costs O(S) not O(S^2).

    ``k`` and ``v`` have shape ``(B, H, S, Dh)`` (``None`` while empty). A model keeps one
    cache per attention layer and passes it to :meth:`MultiHeadAttention.forward`.
    """

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """Number of cached positions ``S`` (0 when empty)."""
        return 0 if self.k is None else self.k.shape[-2]

    def append(self, k_new: torch.Tensor, v_new: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``k_new, v_new (B, H, T, Dh)``; return all keys and values ``(B, H, S+T, Dh)``."""
        _check_rank(k_new, 4, "k_new", "(B, H, T, Dh)")
        if v_new.shape[:-1] != k_new.shape[:-1]:
            raise ValueError(f"v_new: expected shape {tuple(k_new.shape[:-1])} + (Dv,), "
                             f"got {tuple(v_new.shape)}")
        if self.k is None:
            self.k, self.v = k_new, v_new
        else:
            if k_new.shape[:2] != self.k.shape[:2] or k_new.shape[-1] != self.k.shape[-1]:
                B, H, _, Dh = self.k.shape
                raise ValueError(f"k_new: expected shape ({B}, {H}, T, {Dh}) like the cache, "
                                 f"got {tuple(k_new.shape)}")
            self.k = torch.cat([self.k, k_new], dim=-2)
            self.v = torch.cat([self.v, v_new], dim=-2)
        return self.k, self.v

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index (B',)`` (beam search reorders hypotheses this way)."""
        if self.k is not None:
            self.k = self.k.index_select(0, index)
            self.v = self.v.index_select(0, index)

    def __repr__(self) -> str:
        shape = None if self.k is None else tuple(self.k.shape)
        return f"KVCache(length={self.length}, k shape={shape})"


# --------------------------------------------------------------------------- multi-head
class MultiHeadAttention(nn.Module):
    """Multi-head attention (Vaswani et al. 2017), batch first.

    ``forward(query (B, T, D), key (B, S, kdim) = query, value (B, S, vdim) = key, *,
    key_padding_mask (B, S) bool True = real token, attn_mask bool (T, S) | (B, T, S) |
    (B, H, T, S) True = may attend, is_causal, need_weights, cache: KVCache, attn_bias
    float broadcastable to (B, H, T, S), rotary: Rotation)``
    -> ``(out (B, T, D), weights (B, H, T, S) or None)``.

    With a ``cache``, ``key``/``value`` hold only the new tokens; they are appended and the
    queries attend to every cached key, so ``S`` = cached + new. Masks (and ``attn_bias``)
    then describe all ``S`` keys; ``is_causal`` aligns the queries with the *last* keys.
    A cache is for self-attention (a decoder's cross-attention reads the same memory at
    every step: pass no cache there). ``rotary`` rotates q and the new k at positions
    ``cached .. cached+T-1``. Returned weights are those before dropout.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None) -> None:
        super().__init__()
        if num_heads < 1 or d_model % num_heads:
            raise ValueError(f"d_model: expected a multiple of num_heads={num_heads}, "
                             f"got {d_model}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout}")
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.kdim = d_model if kdim is None else kdim
        self.vdim = d_model if vdim is None else vdim
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(self.kdim, d_model, bias=bias)
        self.v_proj = nn.Linear(self.vdim, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def extra_repr(self) -> str:
        """Shown inside ``repr(module)``: ``d_model``, ``num_heads``, ``dropout``."""
        return f"d_model={self.d_model}, num_heads={self.num_heads}, dropout={self.dropout}"

    # ---- projections
    def _project(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project and split into heads: q ``(B, H, T, Dh)``, k, v ``(B, H, S, Dh)``."""
        B, T, _ = query.shape
        H, Dh = self.num_heads, self.head_dim
        if key is query and value is query:
            # Self-attention: one matmul with the stacked weights instead of three, as
            # torch.nn.MultiheadAttention does; same numbers, fewer passes over the input.
            weight = torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight])
            bias = None
            if self.q_proj.bias is not None:
                bias = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
            qkv = F.linear(query, weight, bias).view(B, T, 3, H, Dh).permute(2, 0, 3, 1, 4)
            return qkv[0], qkv[1], qkv[2]
        q = self.q_proj(query).view(B, T, H, Dh).transpose(1, 2)
        S = key.shape[1]
        k = self.k_proj(key).view(B, S, H, Dh).transpose(1, 2)
        v = self.v_proj(value).view(B, S, H, Dh).transpose(1, 2)
        return q, k, v

    # ---- validation
    def _check_inputs(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> None:
        _check_rank(query, 3, "query", f"(B, T, {self.d_model})")
        B = query.shape[0]
        if query.shape[-1] != self.d_model:
            raise ValueError(f"query: expected shape (B, T, {self.d_model}), "
                             f"got {tuple(query.shape)}")
        if key.dim() != 3 or key.shape[0] != B or key.shape[-1] != self.kdim:
            raise ValueError(f"key: expected shape ({B}, S, {self.kdim}), got {tuple(key.shape)}")
        S = key.shape[1]
        if value.dim() != 3 or value.shape[:2] != key.shape[:2] or value.shape[-1] != self.vdim:
            raise ValueError(f"value: expected shape ({B}, {S}, {self.vdim}), "
                             f"got {tuple(value.shape)}")

    def _combined_mask(self, B: int, T: int, S: int, key_padding_mask: torch.Tensor | None,
                       attn_mask: torch.Tensor | None, is_causal: bool, device: torch.device
                       ) -> torch.Tensor | None:
        """All bool masks folded into one, broadcastable to ``(B, H, T, S)``; ``None`` if none."""
        mask = None
        if key_padding_mask is not None:
            if key_padding_mask.dtype != torch.bool:
                raise ValueError(f"key_padding_mask: expected a bool mask, "
                                 f"got {key_padding_mask.dtype}")
            if tuple(key_padding_mask.shape) != (B, S):
                raise ValueError(f"key_padding_mask: expected shape ({B}, {S}), "
                                 f"got {tuple(key_padding_mask.shape)}")
            mask = key_padding_mask[:, None, None, :]
        if attn_mask is not None:
            if attn_mask.dtype != torch.bool:
                raise ValueError(f"attn_mask: expected a bool mask, got {attn_mask.dtype}")
            shape = tuple(attn_mask.shape)
            allowed = [(T, S), (B, T, S), (B, self.num_heads, T, S)]
            if shape not in allowed:
                raise ValueError(f"attn_mask: expected shape {' or '.join(map(str, allowed))}, "
                                 f"got {shape}")
            extra = attn_mask[:, None] if attn_mask.dim() == 3 else attn_mask
            mask = extra if mask is None else mask & extra
        if is_causal:
            causal = causal_mask(T, S, device=device)
            mask = causal if mask is None else mask & causal
        return mask

    def _check_bias(self, attn_bias: torch.Tensor, B: int, T: int, S: int) -> None:
        target = (B, self.num_heads, T, S)
        if not attn_bias.is_floating_point():
            raise ValueError(f"attn_bias: expected a float tensor, got {attn_bias.dtype}")
        shape = tuple(attn_bias.shape)
        if len(shape) > 4 or not all(
                a in (1, t) for a, t in zip(reversed(shape), reversed(target), strict=False)):
            raise ValueError(f"attn_bias: expected shape broadcastable to {target}, got {shape}")

    # ---- forward
    def forward(self, query: torch.Tensor, key: torch.Tensor | None = None,
                value: torch.Tensor | None = None, *,
                key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, is_causal: bool = False,
                need_weights: bool = False, cache: KVCache | None = None,
                attn_bias: torch.Tensor | None = None, rotary: Rotation | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``query (B, T, D)``, ``key (B, S, kdim)``, ``value (B, S, vdim)`` -> ``(out (B, T, D),
        weights (B, H, T, S) or None)``: weights only with ``need_weights``; see the class."""
        key = query if key is None else key
        value = key if value is None else value
        self._check_inputs(query, key, value)

        q, k, v = self._project(query, key, value)  # (B, H, T, Dh), (B, H, S_new, Dh) x2
        past = 0 if cache is None else cache.length
        if rotary is not None:
            # Positions continue after the cached tokens, for the queries and the new keys.
            q, k = rotary(q, offset=past), rotary(k, offset=past)
        if cache is not None:
            k, v = cache.append(k, v)
        out, weights = self._attend_heads(q, k, v, key_padding_mask=key_padding_mask,
                                          attn_mask=attn_mask, is_causal=is_causal,
                                          attn_bias=attn_bias, need_weights=need_weights)
        return self.out_proj(merge_heads(out)), weights

    def _attend_heads(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                      key_padding_mask: torch.Tensor | None, attn_mask: torch.Tensor | None,
                      is_causal: bool, attn_bias: torch.Tensor | None, need_weights: bool
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attention of projected heads ``q (B, H, T, Dh)`` over ``k, v (B, H, S, Dh)``:
        masks combined and checked, then the readable or the fast path.
        Returns ``(out (B, H, T, Dh), weights (B, H, T, S) or None)``."""
        B, _, T, _ = q.shape
        S = k.shape[-2]
        # The fused kernel has its own top-left-aligned causal flag: use it (no mask is
        # built) when it means the same as ours, i.e. no other mask and T == S.
        use_flag = (is_causal and T == S and key_padding_mask is None and attn_mask is None
                    and attn_bias is None and not need_weights)
        mask = None if use_flag else self._combined_mask(
            B, T, S, key_padding_mask, attn_mask, is_causal, q.device)
        if attn_bias is not None:
            self._check_bias(attn_bias, B, T, S)
        dropout = self.dropout if self.training else 0.0
        if need_weights:
            return self._attend_readable(q, k, v, mask, attn_bias, dropout)
        return self._attend_fast(q, k, v, mask, attn_bias, dropout, use_flag), None

    def _attend_readable(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                         mask: torch.Tensor | None, attn_bias: torch.Tensor | None,
                         dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores -> (+ bias) -> masked softmax -> dropout -> weights @ v, step by step."""
        scores = scaled_dot_product_scores(q, k)  # (B, H, T, S)
        if attn_bias is not None:
            scores = scores + attn_bias
        weights = masked_softmax(scores, mask)
        used = F.dropout(weights, p=dropout) if dropout > 0 else weights
        return used @ v, weights

    @staticmethod
    def _attend_fast(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     mask: torch.Tensor | None, attn_bias: torch.Tensor | None, dropout: float,
                     use_flag: bool) -> torch.Tensor:
        """PyTorch's fused kernel, made to give zeros (not NaN) for fully masked rows."""
        empty_rows = None
        if mask is not None:
            has_key = mask.any(dim=-1, keepdim=True)  # (..., T, 1)
            if not bool(has_key.all()):
                # Let empty rows attend everywhere (finite), then zero their output; the
                # zeroing also zeroes their gradient, so no NaN reaches backward either.
                empty_rows = ~has_key
                mask = mask | empty_rows
        if attn_bias is not None:
            # The fused kernel takes one float mask: the bias plus -inf where masked.
            attn = attn_bias.to(q.dtype)
            if mask is not None:
                attn = attn.masked_fill(~mask, float("-inf"))
        else:
            attn = mask
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn, dropout_p=dropout,
                                             is_causal=use_flag)
        if empty_rows is not None:
            out = out.masked_fill(empty_rows, 0.0)
        return out


def copy_from_torch_mha(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    """Copy the weights of a ``torch.nn.MultiheadAttention`` into ``ours`` (in place).

    Torch stores q, k, v projections stacked in ``in_proj_weight (3D, D)`` when
    ``kdim == vdim == D``, else separately; its ``out_proj`` maps to ours directly.
    """
    if theirs.embed_dim != ours.d_model or theirs.num_heads != ours.num_heads:
        raise ValueError(f"theirs: expected embed_dim={ours.d_model}, num_heads={ours.num_heads}, "
                         f"got embed_dim={theirs.embed_dim}, num_heads={theirs.num_heads}")
    if theirs.kdim != ours.kdim or theirs.vdim != ours.vdim:
        raise ValueError(f"theirs: expected kdim={ours.kdim}, vdim={ours.vdim}, "
                         f"got kdim={theirs.kdim}, vdim={theirs.vdim}")
    if theirs.bias_k is not None or theirs.add_zero_attn:
        raise ValueError("theirs: add_bias_kv and add_zero_attn are not supported, got them on")
    if (theirs.in_proj_bias is None) != (ours.q_proj.bias is None):
        raise ValueError(f"theirs: expected bias={ours.q_proj.bias is not None}, "
                         f"got bias={theirs.in_proj_bias is not None}")
    with torch.no_grad():
        if theirs._qkv_same_embed_dim:
            w_q, w_k, w_v = theirs.in_proj_weight.chunk(3)
        else:
            w_q, w_k, w_v = theirs.q_proj_weight, theirs.k_proj_weight, theirs.v_proj_weight
        for layer, weight in zip((ours.q_proj, ours.k_proj, ours.v_proj), (w_q, w_k, w_v),
                                 strict=True):
            layer.weight.copy_(weight)
        if theirs.in_proj_bias is not None:
            for layer, b in zip((ours.q_proj, ours.k_proj, ours.v_proj),
                                theirs.in_proj_bias.chunk(3), strict=True):
                layer.bias.copy_(b)
        ours.out_proj.weight.copy_(theirs.out_proj.weight)
        if theirs.out_proj.bias is not None:
            ours.out_proj.bias.copy_(theirs.out_proj.bias)


def _check_rank(x: torch.Tensor, rank: int, name: str, expected: str) -> None:
    if x.dim() != rank:
        raise ValueError(f"{name}: expected shape {expected}, got {tuple(x.shape)}")


# --------------------------------------------------------------------------- relative positions
def relative_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       rel: Callable[..., tuple[torch.Tensor, torch.Tensor]],
                       mask: torch.Tensor | None = None,
                       offset: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention with Shaw et al. (2018) relative position representations.

    ``e_ij = q_i . (k_j + a^K_ij) / sqrt(Dh)``, ``w = masked_softmax(e)``,
    ``z_i = sum_j w_ij (v_j + a^V_ij)``.

    ``rel(T, S, offset) -> (a_k (T, S, Dh), a_v (T, S, Dh))`` gives the relative position
    representations, e.g. :class:`course_lib.positional.RelativePositionRepresentations`.

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
