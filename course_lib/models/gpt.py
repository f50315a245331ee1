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
from course_lib.attention.caches import KVCache
from course_lib.attention.positions import LearnedPositionalEmbedding
from course_lib.core.modules import count_parameters
from course_lib.core.validation import (
    check_divisible,
    check_ids,
    check_positive_ints,
    check_probability,
)
from course_lib.models.transformer import PositionwiseFFN

__all__ = ["GPTConfig", "GPTBlock", "GPT"]


@dataclass(kw_only=True)
class GPTConfig:
    """Sizes of a :class:`GPT`. ``max_len`` is the context length (the longest sequence the
    model reads); ``d_ff=None`` means ``4 * d_model`` (as in GPT-2)."""

    vocab_size: int
    max_len: int
    d_model: int
    num_heads: int
    num_layers: int
    d_ff: int | None = None
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_ints(self, "vocab_size", "max_len", "d_model", "num_heads", "num_layers")
        check_divisible(self, "d_model", "num_heads")
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        check_positive_ints(self, "d_ff")
        check_probability(self, "dropout")


class GPTBlock(nn.Module):
    """Pre-norm block: ``x = x + attn(LN(x))`` (causal), then ``x = x + ffn(LN(x))``.

    ``forward(x (B, T, D), cache=None, need_weights=False)`` -> ``out (B, T, D)``, or
    ``(out, weights (B, H, T, S))`` with ``need_weights``; with a cache ``S`` = cached + ``T``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attn = MultiHeadAttention(config.d_model, config.num_heads, dropout=config.dropout)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.ffn = PositionwiseFFN(config.d_model, config.d_ff, config.dropout, activation="gelu")
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None,
                need_weights: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, D) -> out (B, T, D)``; with ``need_weights``
        ``(out, weights (B, H, T, S))``."""
        # is_causal with a cache aligns the new queries with the last keys, so a new token
        # sees every cached token and the new ones up to itself. A single new token may see
        # every key anyway, so generation's one-token steps skip building the mask.
        attended, weights = self.attn(self.norm1(x), is_causal=x.shape[1] > 1, cache=cache,
                                      need_weights=need_weights)
        x = x + self._drop(attended)
        x = x + self._drop(self.ffn(self.norm2(x)))
        return (x, weights) if need_weights else x

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        # Calling a p=0 / eval-mode Dropout costs a function call per use, which adds up
        # over one-token generation steps; skip it when it would do nothing.
        return self.dropout(x) if self.training and self.dropout.p > 0 else x


class GPT(nn.Module):
    """Decoder-only Transformer language model with tied input/output embeddings.

    ``forward(idx (B, T) ids, caches=None, need_weights=False) -> logits (B, T, V)``;
    ``logits[:, t]`` scores the token at position ``t + 1``. ``caches`` (from
    :meth:`make_caches`, one :class:`~course_lib.attention.KVCache` per layer) holds the past;
    ``idx`` then holds only the new tokens. Cached plus new tokens may not exceed
    ``max_len``. ``need_weights=True`` returns ``(logits, [L x weights (B, H, T, S)])``.
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
        # Tie after initialising: one matrix serves as the embedding table (V, D) and as the
        # output layer's weight (V, D), saving V * D parameters.
        self.lm_head.weight = self.token_embedding.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # GPT-2's scheme: small normal weights (std 0.02), zero biases; LayerNorms stay 1, 0.
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

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

    def _check_input(self, idx: torch.Tensor, caches: Sequence[KVCache] | None) -> int:
        """Validate ``idx`` and ``caches``; return the number of cached positions."""
        check_ids(idx, "idx", "B, T")
        past = 0
        if caches is not None:
            if len(caches) != len(self.blocks):
                raise ValueError(f"caches: expected {len(self.blocks)} KV caches (one per "
                                 f"layer), got {len(caches)}")
            past = caches[0].length
        length = past + idx.shape[1]
        if length > self.config.max_len:
            where = f" ({past} cached + {idx.shape[1]} new)" if past else ""
            raise ValueError(f"idx: sequence length {length}{where} exceeds max_len "
                             f"{self.config.max_len}")
        return past

    def forward(self, idx: torch.Tensor, caches: Sequence[KVCache] | None = None,
                need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """``idx (B, T)`` ids (only the new ones when ``caches`` hold the past) ->
        logits ``(B, T, V)``; with ``need_weights`` ``(logits, [L x (B, H, T, S)])``."""
        past = self._check_input(idx, caches)
        x = self.position_embedding(self.token_embedding(idx), offset=past)  # (B, T, D)
        x = self.dropout(x)
        all_weights = []
        for i, block in enumerate(self.blocks):
            x = block(x, cache=None if caches is None else caches[i], need_weights=need_weights)
            if need_weights:
                x, weights = x
                all_weights.append(weights)
        logits = self.lm_head(self.final_norm(x))
        return (logits, all_weights) if need_weights else logits
