"""Multi-head attention: heads split and merged, the readable and the fast path.

Shapes: ``B`` batch, ``T`` number of queries (target length), ``S`` number of keys
(source length), ``D`` model width, ``H`` heads, ``Dh = D / H`` width of one head.
Masks are bool with ``True`` = "may attend" (see :mod:`course_lib.core.masks`); a query whose
keys are all masked out gets all-zero weights and a zero output, never NaN.

:class:`MultiHeadAttention` has two paths that compute the same function:

* the readable path (``need_weights=True``) spells out scores -> masked softmax -> weights @ V
  and returns the weights ``(B, H, T, S)`` for plotting;
* the fast path (default) calls PyTorch's fused
  ``torch.nn.functional.scaled_dot_product_attention`` and returns no weights.

Both are :func:`course_lib.attention.scores.attend`, the path every attention module shares;
:func:`split_heads` and :func:`merge_heads` are the one way heads are cut and joined.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention.caches import KVCache, check_cache, positions_seen
from course_lib.attention.scores import attend
from course_lib.core.validation import check_fraction, check_heads, check_rank

# A rotation of queries or keys by position, such as positions.RotaryEmbedding:
# ``rotate(x (B, H, T, Dh), offset=first_position) -> (B, H, T, Dh)``. Attention takes any
# such callable, so this module needs no positional class.
Rotation = Callable[..., torch.Tensor]

__all__ = ["split_heads", "merge_heads", "layer_mask", "check_bias", "MultiHeadAttention",
           "copy_from_torch_mha", "Rotation"]


# --------------------------------------------------------------------------- heads
def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(B, T, D) -> (B, H, T, D/H)``: each head sees its own slice of the features.

    A view, no copy. Every attention module cuts its heads here (``num_heads`` may be the
    number of key/value heads, or ``3 H`` for a stacked q, k, v projection)."""
    check_rank(x, 3, "x", "(B, T, D)")
    B, T, D = x.shape
    if D % num_heads:
        raise ValueError(f"x: expected a last dim divisible by num_heads={num_heads}, "
                         f"got shape {tuple(x.shape)}")
    return x.view(B, T, num_heads, D // num_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, T, Dh) -> (B, T, H*Dh)``: the inverse of :func:`split_heads`."""
    check_rank(x, 4, "x", "(B, H, T, Dh)")
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)


# --------------------------------------------------------------------------- layer masks
def layer_mask(B: int, H: int, T: int, S: int, key_padding_mask: torch.Tensor | None,
               attn_mask: torch.Tensor | None) -> torch.Tensor | None:
    """An attention layer's bool masks, checked and folded into one broadcastable to
    ``(B, H, T, S)``; ``None`` if none. ``key_padding_mask (B, S)`` (True = real token),
    ``attn_mask (T, S) | (B, T, S) | (B, H, T, S)`` (True = may attend). The causal mask is
    :func:`~course_lib.attention.scores.attend`'s job."""
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
        allowed = [(T, S), (B, T, S), (B, H, T, S)]
        if shape not in allowed:
            raise ValueError(f"attn_mask: expected shape {' or '.join(map(str, allowed))}, "
                             f"got {shape}")
        extra = attn_mask[:, None] if attn_mask.dim() == 3 else attn_mask
        mask = extra if mask is None else mask & extra
    return mask


def check_bias(attn_bias: torch.Tensor, target: tuple[int, int, int, int]) -> None:
    """Raise unless ``attn_bias`` is a float tensor broadcastable to ``target (B, H, T, S)``."""
    if not attn_bias.is_floating_point():
        raise ValueError(f"attn_bias: expected a float tensor, got {attn_bias.dtype}")
    shape = tuple(attn_bias.shape)
    if len(shape) > 4 or not all(
            a in (1, t) for a, t in zip(reversed(shape), reversed(target), strict=False)):
        raise ValueError(f"attn_bias: expected shape broadcastable to {target}, got {shape}")


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
        check_heads(d_model, num_heads)
        check_fraction("dropout", dropout)
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
        H = self.num_heads
        if key is query and value is query:
            # Self-attention: one matmul with the stacked weights instead of three, as
            # torch.nn.MultiheadAttention does; same numbers, fewer passes over the input.
            weight = torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight])
            bias = None
            if self.q_proj.bias is not None:
                bias = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
            # (B, T, 3D) -> (B, 3H, T, Dh): the first H heads are q, then k, then v
            q, k, v = split_heads(F.linear(query, weight, bias), 3 * H).chunk(3, dim=1)
            return q, k, v
        return (split_heads(self.q_proj(query), H), split_heads(self.k_proj(key), H),
                split_heads(self.v_proj(value), H))

    def _share_kv(self, k: torch.Tensor, v: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Key/value heads as the query heads read them: one each here (GQA shares them)."""
        return k, v

    # ---- validation
    def _check_inputs(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> None:
        check_rank(query, 3, "query", f"(B, T, {self.d_model})")
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
        check_cache(cache, KVCache)

        q, k, v = self._project(query, key, value)  # (B, H, T, Dh), (B, H|G, S_new, Dh) x2
        if rotary is not None:
            # Positions continue after every token the cache has seen (the cache knows).
            past = positions_seen(cache)
            q, k = rotary(q, offset=past), rotary(k, offset=past)
        if cache is not None:
            k, v = cache.append(k, v)
        k, v = self._share_kv(k, v)
        out, weights = self._attend_heads(q, k, v, key_padding_mask=key_padding_mask,
                                          attn_mask=attn_mask, is_causal=is_causal,
                                          attn_bias=attn_bias, need_weights=need_weights)
        return self.out_proj(merge_heads(out)), weights

    def _attend_heads(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                      key_padding_mask: torch.Tensor | None, attn_mask: torch.Tensor | None,
                      is_causal: bool, attn_bias: torch.Tensor | None, need_weights: bool
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attention of projected heads ``q (B, H, T, Dh)`` over ``k, v (B, H, S, Dh)``: the
        layer's masks checked and combined, then :func:`~course_lib.attention.scores.attend`.
        Returns ``(out (B, H, T, Dh), weights (B, H, T, S) or None)``."""
        B, _, T, _ = q.shape
        S = k.shape[-2]
        mask = layer_mask(B, self.num_heads, T, S, key_padding_mask, attn_mask)
        if attn_bias is not None:
            check_bias(attn_bias, (B, self.num_heads, T, S))
        return attend(q, k, v, mask=mask, bias=attn_bias, is_causal=is_causal,
                      dropout=self.dropout if self.training else 0.0, need_weights=need_weights)


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
