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

from collections.abc import Sequence

import torch

from course_lib.core.tensors import tensor_bytes
from course_lib.core.validation import check_ids, check_positive, check_rank

__all__ = ["KVCache", "RollingKVCache", "positions_seen", "check_cache", "context_start",
           "LatentCache",
           "kv_cache_bytes_per_token", "latent_cache_bytes_per_token", "cache_bytes"]


# --------------------------------------------------------------------------- caches
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
        """Number of cached positions ``S`` (0 when empty): the keys a new query reads."""
        return 0 if self.k is None else self.k.shape[-2]

    @property
    def next_position(self) -> int:
        """The absolute position of the next token: every position appended so far.

        The one answer to "where does the next token sit" for positions, rotations and
        context limits; equal to :attr:`length` here, larger for a cache that forgets
        (:class:`RollingKVCache`)."""
        return self.length

    def append(self, k_new: torch.Tensor, v_new: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``k_new, v_new (B, H, T, Dh)``; return all keys and values ``(B, H, S+T, Dh)``."""
        check_rank(k_new, 4, "k_new", "(B, H, T, Dh)")
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


class RollingKVCache(KVCache):
    """A KV cache for sliding-window attention that keeps only the last ``window - 1`` positions.

    :meth:`append` returns the kept keys plus the new ones (what this step's queries may
    need), then forgets all but the last ``window - 1``: the next token sees those and
    itself, ``window`` keys. Memory is bounded however long generation runs.
    :attr:`length` counts the kept keys, :attr:`next_position` every position appended.
    """

    def __init__(self, window: int) -> None:
        super().__init__()
        check_positive("window", window)
        self.window = window
        self.seen = 0  # every position appended, forgotten ones included

    @property
    def next_position(self) -> int:
        """The absolute position of the next token: every position appended, not only the
        ``window - 1`` kept ones."""
        return self.seen

    def append(self, k_new: torch.Tensor, v_new: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``k_new, v_new (B, G, T, Dh)``; return kept + new ``(B, G, S, Dh)``."""
        k, v = super().append(k_new, v_new)
        self.seen += k_new.shape[-2]
        start = max(0, k.shape[-2] - (self.window - 1))
        # Slices of a bigger tensor would keep it alive: copy the kept part.
        self.k, self.v = k[..., start:, :].clone(), v[..., start:, :].clone()
        return k, v


def positions_seen(cache: KVCache | LatentCache | None) -> int:
    """Absolute position of the next token: the cache's :attr:`~KVCache.next_position`
    (0 without a cache, when the input starts at position 0)."""
    return 0 if cache is None else cache.next_position


def check_cache(cache: object, kind: type) -> None:
    """A clear error for a cache of the wrong kind: a layer stores keys and values in a
    :class:`KVCache` (or :class:`RollingKVCache`), :class:`LatentAttention` one latent per
    token in a :class:`LatentCache`; ``None`` means no cache."""
    if cache is not None and not isinstance(cache, kind):
        raise TypeError(f"cache: expected a {kind.__name__} (or None), got "
                        f"{type(cache).__name__}")


def context_start(idx: torch.Tensor, caches: Sequence[KVCache] | None, num_layers: int,
                  max_len: int) -> int:
    """The position of ``idx``'s first token in a language model with ``num_layers`` cached
    layers and context ``max_len``, after checking the call: ``idx (B, T)`` ids, one cache
    per layer, and cached plus new tokens within ``max_len`` (the caches say how many
    positions came before, :func:`positions_seen`)."""
    check_ids(idx, "idx", "B, T")
    if caches is not None and len(caches) != num_layers:
        raise ValueError(f"caches: expected {num_layers} KV caches (one per layer), "
                         f"got {len(caches)}")
    past = positions_seen(None if caches is None else caches[0])
    length = past + idx.shape[1]
    if length > max_len:
        where = f" ({past} cached + {idx.shape[1]} new)" if past else ""
        raise ValueError(f"idx: sequence length {length}{where} exceeds max_len {max_len}")
    return past


class LatentCache:
    """The cache of :class:`LatentAttention`: one latent vector per token, ``(B, S, d_latent)``."""

    def __init__(self) -> None:
        self.latent: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """Number of cached positions."""
        return 0 if self.latent is None else self.latent.shape[1]

    @property
    def next_position(self) -> int:
        """The absolute position of the next token (every position is kept)."""
        return self.length

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index (B',)``, as :meth:`KVCache.reorder`."""
        if self.latent is not None:
            self.latent = self.latent.index_select(0, index)

    def append(self, latent_new: torch.Tensor) -> torch.Tensor:
        """Append ``(B, T, d_latent)``; return all ``(B, S, d_latent)``."""
        if self.latent is not None and latent_new.shape[::2] != self.latent.shape[::2]:
            raise ValueError(f"latent_new: expected shape ({self.latent.shape[0]}, T, "
                             f"{self.latent.shape[2]}), got {tuple(latent_new.shape)}")
        self.latent = latent_new if self.latent is None else torch.cat(
            [self.latent, latent_new], dim=1)
        return self.latent


# --------------------------------------------------------------------------- bytes
def kv_cache_bytes_per_token(num_layers: int, num_kv_heads: int, head_dim: int,
                             bytes_per_value: int = 2) -> int:
    """Cache growth per generated token: keys and values, every layer, every KV head."""
    for name, value in (("num_layers", num_layers), ("num_kv_heads", num_kv_heads),
                        ("head_dim", head_dim), ("bytes_per_value", bytes_per_value)):
        check_positive(name, value)
    return 2 * num_layers * num_kv_heads * head_dim * bytes_per_value


def latent_cache_bytes_per_token(num_layers: int, d_latent: int, rope_dim: int = 0,
                                 bytes_per_value: int = 2) -> int:
    """Latent cache growth per token: one latent (plus a shared RoPE key of ``rope_dim``,
    as in DeepSeek-V2) per layer."""
    check_positive("num_layers", num_layers)
    check_positive("d_latent", d_latent)
    check_positive("rope_dim", rope_dim, minimum=0)
    return num_layers * (d_latent + rope_dim) * bytes_per_value


def cache_bytes(caches: list) -> int:
    """Bytes held by the tensors of a list of caches (KV, rolling or latent), measured from
    the tensors actually allocated (``numel * element_size``)."""
    return sum(tensor_bytes(*(getattr(cache, name, None) for name in ("k", "v", "latent")))
               for cache in caches)
