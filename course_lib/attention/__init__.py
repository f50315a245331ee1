"""Attention itself: scores and pooling, multi-head attention and its variants, caches,
positions, and the efficient forms. Every lesson from 03 on takes its attention from here.

Modules:
  ``scores``     scoring functions (dot, scaled dot, additive, general), masked softmax,
                 scaled dot-product attention, additive (Bahdanau) attention
  ``pooling``    Nadaraya-Watson kernel regression: attention pooling before deep learning
  ``multihead``  split/merge heads, :class:`MultiHeadAttention` (readable and fused paths)
  ``caches``     :class:`KVCache`, :class:`RollingKVCache`, :class:`LatentCache`, cache bytes
  ``grouped``    grouped-query and multi-query attention, MHA -> GQA conversion
  ``latent``     multi-head latent attention (a compressed KV cache)
  ``positions``  sinusoidal, learned, Shaw relative, T5 bias, ALiBi, RoPE
  ``local``      sliding-window, strided and fixed sparse masks, banded attention
  ``linear``     kernelized linear attention (and its causal recurrent form)
  ``tiled``      exact tiled attention with an online softmax (FlashAttention's idea)
  ``numpy_ref``  NumPy references of softmax, attention and multi-head attention
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["scores", "pooling", "multihead", "caches", "grouped", "latent", "positions",
               "local", "linear", "tiled", "numpy_ref"]
_NAMES = {
    **dict.fromkeys(["masked_softmax", "dot_product_scores", "scaled_dot_product_scores",
                     "AdditiveScore", "GeneralScore", "scaled_dot_product_attention",
                     "AdditiveAttention"], "scores"),
    **dict.fromkeys(["nadaraya_watson", "NadarayaWatson"], "pooling"),
    **dict.fromkeys(["split_heads", "merge_heads", "MultiHeadAttention",
                     "copy_from_torch_mha", "Rotation"], "multihead"),
    **dict.fromkeys(["KVCache", "RollingKVCache", "LatentCache", "positions_seen",
                     "kv_cache_bytes_per_token", "latent_cache_bytes_per_token",
                     "cache_bytes"], "caches"),
    **dict.fromkeys(["GroupedQueryAttention", "mha_to_gqa"], "grouped"),
    "LatentAttention": "latent",
    **dict.fromkeys(["sinusoidal_encoding", "SinusoidalPositionalEncoding",
                     "LearnedPositionalEmbedding", "RelativePositionRepresentations",
                     "T5RelativeBias", "alibi_bias", "alibi_slopes", "RotaryEmbedding",
                     "relative_attention"], "positions"),
}
__all__ = [*_SUBMODULES, *_NAMES]
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, _NAMES)
