"""A decoder-only language model in the style of GPT (Radford et al. 2018; GPT-2, 2019).

Only the decoder half of the Transformer remains, without cross-attention: token
embeddings plus learned positions, a stack of pre-norm blocks (causal self-attention and a
GELU feed-forward network, each inside a residual connection), a final LayerNorm and a
linear layer back to the vocabulary that shares its weight matrix with the input
embedding ("tied" embeddings, Press & Wolf 2017). Trained to predict token ``t+1`` from
tokens ``<= t``, it generates text one token at a time (see :mod:`course_lib.training.sampling`).

With a KV cache per layer (:meth:`GPT.make_caches`) :meth:`GPT.forward` reads only the new
tokens: their queries attend to the cached keys and values, and their positions continue
after the cached ones.

Shapes: ``B`` batch, ``T`` tokens, ``D`` width, ``H`` heads, ``V`` vocabulary size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.attention import MultiHeadAttention
from course_lib.attention.caches import KVCache, context_start
from course_lib.attention.positions import LearnedPositionalEmbedding
from course_lib.core.maps import AttentionMaps
from course_lib.core.modules import count_parameters
from course_lib.core.validation import (
    check_divisible,
    check_positive_ints,
    check_probability,
)
from course_lib.models.transformer import PositionwiseFFN

__all__ = ["GPTConfig", "GPTBlock", "GPT"]


@dataclass(kw_only=True)
class GPTConfig:
    """Sizes of a :class:`GPT`. ``max_len`` is the context length (the longest sequence the
    model reads); ``d_ff=None`` means ``4 * d_model`` (as in GPT-2); ``scale_residual_init``
    starts the residual projections with GPT-2's smaller weights (see :class:`GPT`; off by
    default: measured, it made lesson 06's shallow model slightly worse)."""

    vocab_size: int
    max_len: int
    d_model: int
    num_heads: int
    num_layers: int
    d_ff: int | None = None
    dropout: float = 0.0
    scale_residual_init: bool = False

    def __post_init__(self) -> None:
        check_positive_ints(self, "vocab_size", "max_len", "d_model", "num_heads", "num_layers")
        check_divisible(self, "d_model", "num_heads")
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        check_positive_ints(self, "d_ff")
        check_probability(self, "dropout")


class GPTBlock(nn.Module):
    """Pre-norm block: ``x = x + attn(LN(x))`` (causal), then ``x = x + ffn(LN(x))``.

    ``forward(x (B, T, D), cache=None, need_weights=False)`` -> ``(out (B, T, D), maps)``;
    with ``need_weights`` ``maps["decoder_self"] = [weights (B, H, T, S)]``; with a cache
    ``S`` = cached + ``T``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attn = MultiHeadAttention(config.d_model, config.num_heads, dropout=config.dropout)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.ffn = PositionwiseFFN(config.d_model, config.d_ff, config.dropout, activation="gelu")
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, AttentionMaps]:
        """``x (B, T, D) -> (out (B, T, D), maps)``; see the class."""
        # is_causal with a cache aligns the new queries with the last keys, so a new token
        # sees every cached token and the new ones up to itself. A single new token may see
        # every key anyway, so generation's one-token steps skip building the mask.
        attended, weights = self.attn(self.norm1(x), is_causal=x.shape[1] > 1, cache=cache,
                                      need_weights=need_weights)
        x = x + self._drop(attended)
        x = x + self._drop(self.ffn(self.norm2(x)))
        return x, AttentionMaps.of("decoder_self", weights)

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        # Calling a p=0 / eval-mode Dropout costs a function call per use, which adds up
        # over one-token generation steps; skip it when it would do nothing.
        return self.dropout(x) if self.training and self.dropout.p > 0 else x


class GPT(nn.Module):
    """Decoder-only Transformer language model with tied input/output embeddings.

    ``forward(idx (B, T) ids, caches=None, need_weights=False) -> (logits (B, T, V), maps)``;
    ``logits[:, t]`` scores the token at position ``t + 1``. ``caches`` (from
    :meth:`make_caches`, one :class:`~course_lib.attention.KVCache` per layer) holds the past;
    ``idx`` then holds only the new tokens. Cached plus new tokens may not exceed
    ``max_len``. ``need_weights=True`` fills ``maps["decoder_self"]`` with ``L`` weights
    ``(B, H, T, S)``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = LearnedPositionalEmbedding(config.max_len, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(GPTBlock(config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        if config.scale_residual_init:
            self._scale_residual_projections()
        # Tie after initialising: one matrix serves as the embedding table (V, D) and as the
        # output layer's weight (V, D), saving V * D parameters.
        self.lm_head.weight = self.token_embedding.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # GPT-2's initialisation: small normal weights (std 0.02), zero biases, LayerNorms 1
        # and 0; its scaling of the residual projections is the next method (optional).
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def _scale_residual_projections(self) -> None:
        # GPT-2 (Radford et al. 2019, section 2.3) scales the weights of the layers that write
        # into the residual stream by 1/sqrt(N), N the number of residual layers: two per
        # block (attention's output projection, the FFN's second layer). Each block adds two
        # terms to the stream; this keeps the stream's variance at initialisation from
        # growing with depth. The draws are those of _init_weights, scaled. Measured on lesson
        # 06's recipe (3 layers, 1700 steps, seeds 0-2, benchmarks/gpt_recipe.py) it cost
        # 0.014-0.029 nats per character, so the course's shallow GPTs start without it.
        factor = (2 * self.config.num_layers) ** -0.5
        with torch.no_grad():
            for block in self.blocks:
                block.attn.out_proj.weight.mul_(factor)
                block.ffn.linear2.weight.mul_(factor)

    @property
    def max_len(self) -> int:
        """The longest sequence (cached + new tokens) the model can read: its context."""
        return self.config.max_len

    def make_caches(self) -> list[KVCache]:
        """Fresh, empty KV caches, one per block."""
        return [KVCache() for _ in self.blocks]

    def num_parameters(self, include_positions: bool = True) -> int:
        """Number of trainable parameters; the tied embedding matrix counts once."""
        total = count_parameters(self)  # the tied matrix counts once
        if not include_positions:
            total -= self.position_embedding.embedding.weight.numel()
        return total

    def forward(self, idx: torch.Tensor, caches: Sequence[KVCache] | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, AttentionMaps]:
        """``idx (B, T)`` ids (only the new ones when ``caches`` hold the past) ->
        ``(logits (B, T, V), maps)``; see the class."""
        past = context_start(idx, caches, len(self.blocks), self.config.max_len)
        x = self.position_embedding(self.token_embedding(idx), offset=past)  # (B, T, D)
        x = self.dropout(x)
        layer_maps = []
        for i, block in enumerate(self.blocks):
            x, maps = block(x, cache=None if caches is None else caches[i],
                            need_weights=need_weights)
            layer_maps.append(maps)
        logits = self.lm_head(self.final_norm(x))
        return logits, AttentionMaps.stack(layer_maps)
