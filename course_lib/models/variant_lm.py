"""A small causal language model whose attention variant is a config switch.

Lesson 07's bench for experiments that must differ in one thing only: the positional
scheme (none, learned, sinusoidal, ALiBi, RoPE, T5 bias), the attention kind (softmax or
linear), the number of key/value heads (MHA, GQA, MQA) and an optional sliding window.
Blocks are pre-norm, as in :mod:`course_lib.models.gpt`.

``VariantLM(config)(idx (B, T), caches=None)`` -> ``(logits (B, T, V), maps)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.attention.caches import KVCache, RollingKVCache, positions_seen
from course_lib.attention.grouped import GroupedQueryAttention, mha_to_gqa
from course_lib.attention.linear import LinearAttention
from course_lib.attention.local import sliding_window_mask
from course_lib.attention.positions import (
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    T5RelativeBias,
    alibi_bias,
)
from course_lib.core.maps import AttentionMaps
from course_lib.core.validation import (
    check_choice,
    check_divisible,
    check_ids,
    check_kv_heads,
    check_positive_ints,
    check_probability,
)
from course_lib.models.transformer import PositionwiseFFN

__all__ = ["POSITIONS", "ATTENTIONS", "VariantLMConfig", "VariantBlock", "VariantLM",
           "convert_to_gqa"]

POSITIONS = ("none", "learned", "sinusoidal", "alibi", "rope", "t5")
ATTENTIONS = ("softmax", "linear")
_ABSOLUTE = ("learned", "sinusoidal")


@dataclass(kw_only=True)
class VariantLMConfig:
    """Sizes and switches of a :class:`VariantLM`. ``d_ff=None``: ``4 * d_model``;
    ``num_kv_heads=None``: ``num_heads`` (MHA); ``window=None``: full causal attention."""

    vocab_size: int
    max_len: int
    d_model: int = 32
    num_heads: int = 4
    num_layers: int = 2
    d_ff: int | None = None
    positions: str = "learned"
    attention: str = "softmax"
    num_kv_heads: int | None = None
    window: int | None = None
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_ints(self, "vocab_size", "max_len", "d_model", "num_heads",
                            "num_layers")
        check_divisible(self, "d_model", "num_heads")
        check_choice("positions", self.positions, POSITIONS)
        check_choice("attention", self.attention, ATTENTIONS)
        if self.attention == "linear" and self.positions not in ("none", *_ABSOLUTE):
            raise ValueError(f"positions: linear attention here takes 'none', 'learned' or "
                             f"'sinusoidal', got {self.positions!r}")
        if self.num_kv_heads is None:
            self.num_kv_heads = self.num_heads
        check_kv_heads(self.num_heads, self.num_kv_heads)
        if self.window is not None:
            check_positive_ints(self, "window")
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        check_probability(self, "dropout")


class VariantBlock(nn.Module):
    """Pre-norm block: ``x + attn(LN(x))`` then ``x + ffn(LN(x))``; attention per config.

    ``forward(x (B, T, D), *, attn_mask, attn_bias, rotary, cache, need_weights)`` ->
    ``(out (B, T, D), maps)``, ``maps["decoder_self"] = [weights (B, H, T, S)]`` with
    ``need_weights``.
    """

    def __init__(self, config: VariantLMConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.linear = config.attention == "linear"
        if self.linear:
            self.attn: nn.Module = LinearAttention(config.d_model, config.num_heads)
        else:
            self.attn = GroupedQueryAttention(config.d_model, config.num_heads,
                                              config.num_kv_heads, dropout=config.dropout)
        self.ffn = PositionwiseFFN(config.d_model, config.d_ff, config.dropout,
                                   activation="gelu")

    def forward(self, x: torch.Tensor, *, attn_mask: torch.Tensor | None = None,
                attn_bias: torch.Tensor | None = None, rotary: nn.Module | None = None,
                cache: KVCache | None = None, need_weights: bool = False
                ) -> tuple[torch.Tensor, AttentionMaps]:
        """``x (B, T, D) -> (out (B, T, D), maps)``."""
        h = self.norm1(x)
        if self.linear:
            attended, weights = self.attn(h, is_causal=True, need_weights=need_weights)
        else:
            attended, weights = self.attn(h, is_causal=True, attn_mask=attn_mask,
                                          attn_bias=attn_bias, rotary=rotary, cache=cache,
                                          need_weights=need_weights)
        x = x + attended
        return x + self.ffn(self.norm2(x)), AttentionMaps.of("decoder_self", weights)


class VariantLM(nn.Module):
    """Decoder-only LM (token ids in, next-token logits out) built from a
    :class:`VariantLMConfig`. ``forward(idx (B, T), caches=None, need_weights=False)`` ->
    ``(logits (B, T, V), maps)``, ``maps["decoder_self"]`` holding every layer's weights with
    ``need_weights``. With caches (:meth:`make_caches`) ``idx`` holds only the new tokens;
    the caches say where they sit. Absolute positions (learned, sinusoidal) stop at
    ``max_len``; relative ones do not."""

    def __init__(self, config: VariantLMConfig) -> None:
        super().__init__()
        self.config = config
        D, H = config.d_model, config.num_heads
        self.token_embedding = nn.Embedding(config.vocab_size, D)
        self.absolute: nn.Module | None = None
        if config.positions == "learned":
            self.absolute = LearnedPositionalEmbedding(config.max_len, D)
        elif config.positions == "sinusoidal":
            self.absolute = SinusoidalPositionalEncoding(D, config.max_len)
        self.rotary = RotaryEmbedding(D // H) if config.positions == "rope" else None
        self.t5_bias = T5RelativeBias(H, num_buckets=16, max_distance=config.max_len,
                                      bidirectional=False) if config.positions == "t5" else None
        self.blocks = nn.ModuleList(VariantBlock(config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, config.vocab_size)

    def make_caches(self) -> list[KVCache]:
        """Empty caches, one per block: rolling ones when the config has a window."""
        if self.config.attention == "linear":
            raise ValueError("attention: caching is implemented for 'softmax' only, "
                             "got 'linear'")
        window = self.config.window
        return [RollingKVCache(window) if window else KVCache() for _ in self.blocks]

    def _bias_and_mask(self, T: int, S: int, device: torch.device
                       ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """ALiBi / T5 bias ``(1, H, T, S)`` and the sliding-window mask ``(T, S)``."""
        bias = None
        if self.config.positions == "alibi":
            bias = alibi_bias(self.config.num_heads, T, S).to(device)[None]
        elif self.t5_bias is not None:
            bias = self.t5_bias(T, S)
        mask = None
        if self.config.window is not None:
            mask = sliding_window_mask(T, self.config.window, S=S, device=device)
        return bias, mask

    def forward(self, idx: torch.Tensor, caches: Sequence[KVCache] | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, AttentionMaps]:
        """``idx (B, T)`` ids (only the new ones when ``caches`` hold the past) ->
        ``(logits (B, T, V), maps)``; see the class."""
        check_ids(idx, "idx")
        if caches is not None and len(caches) != len(self.blocks):
            raise ValueError(f"caches: expected {len(self.blocks)} caches, got {len(caches)}")
        T = idx.shape[1]
        cache = None if caches is None else caches[0]
        held = 0 if cache is None else cache.length  # keys this call's queries also read
        x = self.token_embedding(idx)
        if self.absolute is not None:
            x = self.absolute(x, offset=positions_seen(cache))
        bias, mask = self._bias_and_mask(T, held + T, idx.device)
        layer_maps = []
        for i, block in enumerate(self.blocks):
            x, maps = block(x, attn_mask=mask, attn_bias=bias, rotary=self.rotary,
                            cache=None if caches is None else caches[i],
                            need_weights=need_weights)
            layer_maps.append(maps)
        logits = self.lm_head(self.final_norm(x))
        return logits, AttentionMaps.stack(layer_maps)


def convert_to_gqa(model: VariantLM, num_kv_heads: int) -> VariantLM:
    """A copy of ``model`` whose attention layers are mean-pooled to ``num_kv_heads``
    key/value heads (:func:`course_lib.attention.caches.mha_to_gqa`); everything else copied."""
    if model.config.attention != "softmax":
        raise ValueError(f"model: expected softmax attention, got {model.config.attention!r}")
    fields = {**model.config.__dict__, "num_kv_heads": num_kv_heads}
    converted = VariantLM(VariantLMConfig(**fields))
    state = {k: v for k, v in model.state_dict().items()
             if ".attn.k_proj." not in k and ".attn.v_proj." not in k}
    converted.load_state_dict(state, strict=False)
    for ours, theirs in zip(converted.blocks, model.blocks, strict=True):
        ours.attn = mha_to_gqa(theirs.attn, num_kv_heads)
    return converted
