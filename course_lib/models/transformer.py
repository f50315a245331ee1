"""The Transformer of Vaswani et al. (2017), "Attention Is All You Need", built from our parts.

An encoder layer is two sub-layers, self-attention and a position-wise feed-forward network
(FFN); a decoder layer has three: causal (masked) self-attention, cross-attention to the
encoder's output ("memory") and the FFN. Every sub-layer sits inside a residual connection
with layer normalisation, in one of two arrangements:

* post-norm (the 2017 paper):  ``x = LayerNorm(x + Sublayer(x))``
* pre-norm (``norm_first=True``, e.g. GPT-2, Xiong et al. 2020):  ``x = x + Sublayer(LayerNorm(x))``

Pre-norm keeps an untouched residual path from input to output; Xiong et al. (2020) trained
pre-norm stacks without learning-rate warmup in their settings, though most pre-norm models
are still trained with one. Because the stream is then never normalised at the end, a
pre-norm stack finishes with one more LayerNorm. (:class:`Transformer` ends post-norm stacks
with one too by default, as ``torch.nn.Transformer`` does; the 2017 paper's model has none.)

Everything is batch first and works on embeddings ``(B, S, D)`` / ``(B, T, D)`` like
``torch.nn.Transformer(batch_first=True)``, with whose weights :func:`copy_from_torch_transformer`
fills ours; the tests check that both give the same outputs. Our masks are bool with
``True`` = may attend (``torch.nn.Transformer``'s bool masks mean the opposite).
:class:`Seq2SeqTransformer` adds token embeddings, sinusoidal positions and an output layer.

Shapes: ``B`` batch, ``S`` source length, ``T`` target length, ``D`` model width
(``d_model``), ``H`` heads, ``V`` vocabulary size, ``L`` number of layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention import MultiHeadAttention, copy_from_torch_mha
from course_lib.attention.positions import SinusoidalPositionalEncoding
from course_lib.core.modules import evaluating
from course_lib.core.validation import (
    check_divisible,
    check_ids,
    check_positive_ints,
    check_probability,
)
from course_lib.training.decoding import greedy_decode
from course_lib.training.loop import EvalFn, LossFn, TrainHistory, random_batches, train
from course_lib.training.losses import sequence_cross_entropy, sequence_exact_match
from course_lib.training.schedules import warmup_cosine_schedule

__all__ = [
    "PositionwiseFFN", "EncoderLayer", "DecoderLayer", "TransformerEncoder",
    "TransformerDecoder", "TransformerConfig", "Transformer", "copy_from_torch_transformer",
    "Seq2SeqTransformerConfig", "Seq2SeqTransformer", "greedy_translate", "trim_padding",
    "exact_match", "paper_adam", "teacher_forcing_loss", "fit_seq2seq",
]

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class PositionwiseFFN(nn.Module):
    """Position-wise feed-forward network ``linear2(dropout(act(linear1(x))))``.

    The same two-layer MLP is applied to every position independently (it mixes features,
    attention mixes positions). ``d_ff`` is usually ``4 * d_model``.
    ``forward(x (..., D)) -> (..., D)``.
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0,
                 activation: str = "relu") -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {sorted(_ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., D) -> (..., D)``."""
        hidden = _ACTIVATIONS[self.activation](self.linear1(x))  # (..., d_ff)
        return self.linear2(self.dropout(hidden))


def _check_width(x: torch.Tensor, d_model: int, name: str, dims: str) -> None:
    if x.dim() != 3 or x.shape[-1] != d_model:
        raise ValueError(f"{name}: expected shape ({dims}, {d_model}), got {tuple(x.shape)}")


class EncoderLayer(nn.Module):
    """One encoder layer: self-attention, then the FFN, each with residual + LayerNorm.

    ``forward(x (B, S, D), *, key_padding_mask (B, S) bool True = real token,
    attn_mask (S, S) | (B, S, S) bool True = may attend, need_weights)`` -> ``(B, S, D)``,
    or ``(out, weights (B, H, S, S))`` with ``need_weights=True`` (the readable path).
    Parameter names follow ``torch.nn.TransformerEncoderLayer`` (``self_attn``, ``norm1``,
    ``norm2``; the FFN's ``linear1``/``linear2`` live in ``ffn``).
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.0,
                 norm_first: bool = False, activation: str = "relu",
                 layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.d_model, self.norm_first = d_model, norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ffn = PositionwiseFFN(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``x (B, S, D) -> (B, S, D)``; with ``need_weights``
        ``(out (B, S, D), weights (B, H, S, S))``."""
        _check_width(x, self.d_model, "x", "B, S")

        def attend(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            out, weights = self.self_attn(h, key_padding_mask=key_padding_mask,
                                          attn_mask=attn_mask, need_weights=need_weights)
            return self.dropout1(out), weights

        if self.norm_first:
            attended, weights = attend(self.norm1(x))
            x = x + attended
            x = x + self.dropout2(self.ffn(self.norm2(x)))
        else:
            attended, weights = attend(x)
            x = self.norm1(x + attended)
            x = self.norm2(x + self.dropout2(self.ffn(x)))
        return (x, weights) if need_weights else x


class DecoderLayer(nn.Module):
    """One decoder layer: masked self-attention, cross-attention to the memory, FFN.

    ``forward(x (B, T, D), memory (B, S, D), *, tgt_mask (T, T) | (B, T, T) bool,
    tgt_key_padding_mask (B, T), tgt_is_causal, memory_mask (T, S) | (B, T, S),
    memory_key_padding_mask (B, S), need_weights)`` -> ``(B, T, D)``, or with
    ``need_weights=True`` ``(out, {"self": (B, H, T, T), "cross": (B, H, T, S)})``;
    every mask ``True`` = may attend.
    The queries of cross-attention come from the decoder, its keys and values from the
    encoder: this is where the target looks at the source. Names follow
    ``torch.nn.TransformerDecoderLayer`` except ``cross_attn`` (torch: ``multihead_attn``).
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.0,
                 norm_first: bool = False, activation: str = "relu",
                 layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.d_model, self.norm_first = d_model, norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ffn = PositionwiseFFN(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, *,
        tgt_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
        tgt_is_causal: bool = False, memory_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None, need_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``x (B, T, D), memory (B, S, D) -> (B, T, D)``; with ``need_weights``
        ``(out, {"self": (B, H, T, T), "cross": (B, H, T, S)})``."""
        _check_width(x, self.d_model, "x", "B, T")
        _check_width(memory, self.d_model, "memory", f"{x.shape[0]}, S")

        def self_attend(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            out, weights = self.self_attn(h, key_padding_mask=tgt_key_padding_mask,
                                          attn_mask=tgt_mask, is_causal=tgt_is_causal,
                                          need_weights=need_weights)
            return self.dropout1(out), weights

        def cross_attend(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            out, weights = self.cross_attn(h, memory, memory,
                                           key_padding_mask=memory_key_padding_mask,
                                           attn_mask=memory_mask, need_weights=need_weights)
            return self.dropout2(out), weights

        if self.norm_first:
            attended, self_weights = self_attend(self.norm1(x))
            x = x + attended
            attended, cross_weights = cross_attend(self.norm2(x))
            x = x + attended
            x = x + self.dropout3(self.ffn(self.norm3(x)))
        else:
            attended, self_weights = self_attend(x)
            x = self.norm1(x + attended)
            attended, cross_weights = cross_attend(x)
            x = self.norm2(x + attended)
            x = self.norm3(x + self.dropout3(self.ffn(x)))
        if need_weights:
            return x, {"self": self_weights, "cross": cross_weights}
        return x


def _final_norm(d_model: int, norm_first: bool, final_norm: bool | None,
                eps: float) -> nn.LayerNorm | None:
    # Pre-norm stacks need a last LayerNorm (their output is an un-normalised residual sum);
    # post-norm layers already end in one.
    wanted = norm_first if final_norm is None else final_norm
    return nn.LayerNorm(d_model, eps=eps) if wanted else None


class _LayerStack(nn.Module):
    """``num_layers`` copies of ``layer_class``, then the optional final LayerNorm."""

    layer_class: type[nn.Module]

    def __init__(self, d_model: int, num_heads: int, d_ff: int, num_layers: int,
                 dropout: float = 0.0, norm_first: bool = False, activation: str = "relu",
                 final_norm: bool | None = None, layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            self.layer_class(d_model, num_heads, d_ff, dropout, norm_first, activation,
                             layer_norm_eps) for _ in range(num_layers))
        self.norm = _final_norm(d_model, norm_first, final_norm, layer_norm_eps)


class TransformerEncoder(_LayerStack):
    """A stack of ``num_layers`` :class:`EncoderLayer`, then an optional LayerNorm.

    ``final_norm=None`` adds the last LayerNorm exactly when ``norm_first`` (pre-norm).
    ``forward(src (B, S, D), *, key_padding_mask (B, S), attn_mask, need_weights)`` ->
    memory ``(B, S, D)``, or ``(memory, [L x weights (B, H, S, S)])`` with ``need_weights``.
    """

    layer_class = EncoderLayer

    def forward(self, src: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """``src (B, S, D) -> memory (B, S, D)``; with ``need_weights``
        ``(memory, [L x (B, H, S, S)])``."""
        x, all_weights = src, []
        for layer in self.layers:
            x = layer(x, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                      need_weights=need_weights)
            if need_weights:
                x, weights = x
                all_weights.append(weights)
        if self.norm is not None:
            x = self.norm(x)
        return (x, all_weights) if need_weights else x


class TransformerDecoder(_LayerStack):
    """A stack of ``num_layers`` :class:`DecoderLayer`, then an optional LayerNorm.

    ``final_norm=None`` adds the last LayerNorm exactly when ``norm_first`` (pre-norm).
    ``forward(tgt (B, T, D), memory (B, S, D), *, masks as in DecoderLayer, need_weights)``
    -> ``(B, T, D)``, or ``(out, {"self": [L x (B, H, T, T)], "cross": [L x (B, H, T, S)]})``.
    """

    layer_class = DecoderLayer

    def forward(
        self, tgt: torch.Tensor, memory: torch.Tensor, *,
        tgt_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
        tgt_is_causal: bool = False, memory_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None, need_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        """``tgt (B, T, D), memory (B, S, D) -> (B, T, D)``; with ``need_weights``
        ``(out, {"self": [L x (B, H, T, T)], "cross": [L x (B, H, T, S)]})``."""
        x, weights = tgt, {"self": [], "cross": []}
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_mask=memory_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      need_weights=need_weights)
            if need_weights:
                x, layer_weights = x
                for kind in weights:
                    weights[kind].append(layer_weights[kind])
        if self.norm is not None:
            x = self.norm(x)
        return (x, weights) if need_weights else x


@dataclass(kw_only=True)
class TransformerConfig:
    """Sizes of a :class:`Transformer`: the defaults are the sizes of the 2017 paper's base
    model (``D`` = 512, 8 heads, 6 + 6 layers, ``d_ff`` = 2048, post-norm), with two
    exceptions. ``dropout`` defaults to 0.0 (the paper uses 0.1), and ``final_norm=True`` ends
    both stacks with a LayerNorm even in post-norm mode, because ``torch.nn.Transformer`` does
    so; the paper's post-norm stacks have no final LayerNorm (``final_norm=False``). ``None``
    adds it only for pre-norm (``norm_first=True``). For the paper's model pass
    ``dropout=0.1, final_norm=False``.
    """

    d_model: int = 512
    num_heads: int = 8
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    d_ff: int = 2048
    dropout: float = 0.0
    norm_first: bool = False
    activation: str = "relu"
    final_norm: bool | None = True
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        check_positive_ints(self, "d_model", "num_heads", "d_ff")
        check_positive_ints(self, "num_encoder_layers", "num_decoder_layers", minimum=0)
        check_divisible(self, "d_model", "num_heads")
        check_probability(self, "dropout")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {sorted(_ACTIVATIONS)}, "
                             f"got {self.activation!r}")


class Transformer(nn.Module):
    """Encoder-decoder Transformer on embeddings, batch first, like ``torch.nn.Transformer``.

    Built from a :class:`TransformerConfig`. ``forward(src (B, S, D), tgt (B, T, D),
    src_mask, tgt_mask, memory_mask, src_key_padding_mask (B, S), tgt_key_padding_mask
    (B, T), memory_key_padding_mask (B, S), tgt_is_causal, need_weights)`` -> ``(B, T, D)``,
    or ``(out, {"encoder_self", "decoder_self", "cross"})`` (lists of per-layer weights)
    with ``need_weights=True``. The argument names are torch's; the masks are ours (bool,
    ``True`` = may attend / real token). ``tgt_is_causal=True`` adds the causal mask for
    you (torch only takes it as a hint that ``tgt_mask`` is causal; for a mask to pass,
    use :func:`course_lib.core.masks.causal_mask`). Matrices start Xavier-uniform, as in torch.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.d_model, self.num_heads, self.norm_first = c.d_model, c.num_heads, c.norm_first
        self.encoder = TransformerEncoder(c.d_model, c.num_heads, c.d_ff, c.num_encoder_layers,
                                          c.dropout, c.norm_first, c.activation, c.final_norm,
                                          c.layer_norm_eps)
        self.decoder = TransformerDecoder(c.d_model, c.num_heads, c.d_ff, c.num_decoder_layers,
                                          c.dropout, c.norm_first, c.activation, c.final_norm,
                                          c.layer_norm_eps)
        for parameter in self.parameters():
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor,
                src_mask: torch.Tensor | None = None, tgt_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None,
                tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None,
                tgt_is_causal: bool = False, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        """``src (B, S, D), tgt (B, T, D) -> (B, T, D)`` (with ``need_weights``:
        ``(out, weights)``); masks as in the class docstring."""
        if src.dim() != 3 or tgt.dim() != 3 or src.shape[0] != tgt.shape[0]:
            raise ValueError(f"src, tgt: expected shapes (B, S, {self.d_model}) and "
                             f"(B, T, {self.d_model}) with the same B, got "
                             f"{tuple(src.shape)} and {tuple(tgt.shape)}")
        memory = self.encoder(src, key_padding_mask=src_key_padding_mask, attn_mask=src_mask,
                              need_weights=need_weights)
        if need_weights:
            memory, encoder_self = memory
        out = self.decoder(tgt, memory, tgt_mask=tgt_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_mask=memory_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           need_weights=need_weights)
        if not need_weights:
            return out
        out, decoder = out
        return out, {"encoder_self": encoder_self, "decoder_self": decoder["self"],
                     "cross": decoder["cross"]}


def _copy_linear(ours: nn.Linear | nn.LayerNorm, theirs: nn.Linear | nn.LayerNorm) -> None:
    ours.weight.copy_(theirs.weight)
    if ours.bias is not None:
        ours.bias.copy_(theirs.bias)


def copy_from_torch_transformer(ours: Transformer, theirs: nn.Transformer) -> None:
    """Copy every weight of a ``torch.nn.Transformer`` into ``ours`` (in place).

    Both must have the same sizes, number of layers and final norms (torch's
    ``nn.Transformer`` always has them; build ours with ``final_norm=True``, the default).
    """
    pairs = [(ours.encoder, theirs.encoder, "encoder"), (ours.decoder, theirs.decoder, "decoder")]
    for our_stack, their_stack, name in pairs:
        if len(our_stack.layers) != len(their_stack.layers):
            raise ValueError(f"theirs: expected {len(our_stack.layers)} {name} layers, "
                             f"got {len(their_stack.layers)}")
        their_norm_first = bool(their_stack.layers and their_stack.layers[0].norm_first)
        if our_stack.layers and our_stack.layers[0].norm_first != their_norm_first:
            raise ValueError(f"theirs: expected norm_first={our_stack.layers[0].norm_first} "
                             f"in the {name}, got norm_first={their_norm_first}")
        if (our_stack.norm is None) != (their_stack.norm is None):
            raise ValueError(f"theirs: expected {name}.norm "
                             f"{'None' if our_stack.norm is None else 'a LayerNorm'}, "
                             f"got {type(their_stack.norm).__name__}")
    with torch.no_grad():
        for our_stack, their_stack, _ in pairs:
            for our_layer, their_layer in zip(our_stack.layers, their_stack.layers, strict=True):
                copy_from_torch_mha(our_layer.self_attn, their_layer.self_attn)
                if isinstance(our_layer, DecoderLayer):
                    copy_from_torch_mha(our_layer.cross_attn, their_layer.multihead_attn)
                    _copy_linear(our_layer.norm3, their_layer.norm3)
                if our_layer.ffn.linear1.weight.shape != their_layer.linear1.weight.shape:
                    raise ValueError(f"theirs: expected linear1 of shape "
                                     f"{tuple(our_layer.ffn.linear1.weight.shape)}, got "
                                     f"{tuple(their_layer.linear1.weight.shape)}")
                _copy_linear(our_layer.ffn.linear1, their_layer.linear1)
                _copy_linear(our_layer.ffn.linear2, their_layer.linear2)
                _copy_linear(our_layer.norm1, their_layer.norm1)
                _copy_linear(our_layer.norm2, their_layer.norm2)
            if our_stack.norm is not None:
                _copy_linear(our_stack.norm, their_stack.norm)


@dataclass(kw_only=True)
class Seq2SeqTransformerConfig(TransformerConfig):
    """Sizes of a :class:`Seq2SeqTransformer`: a :class:`TransformerConfig` plus the two
    vocabularies, ``max_len`` (longest source or target) and ``pad_id``."""

    src_vocab_size: int
    tgt_vocab_size: int
    max_len: int = 128
    pad_id: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_ints(self, "src_vocab_size", "tgt_vocab_size", "max_len")
        check_positive_ints(self, "pad_id", minimum=0)


class Seq2SeqTransformer(nn.Module):
    """Token-level encoder-decoder: embeddings * sqrt(D) + sinusoidal positions ->
    :class:`Transformer` -> linear layer to target-vocabulary logits.

    Built from a :class:`Seq2SeqTransformerConfig`. ``forward(src (B, S) ids, tgt_in (B, T)
    ids) -> logits (B, T, V)``; ``tgt_in`` is the target shifted right (starting with
    <bos>), so position ``t`` predicts target token ``t``. Padding (``pad_id``) is masked out
    as keys in every attention; the decoder's self-attention is causal. ``max_len`` bounds
    ``S`` and ``T``. ``need_weights=True`` also returns every attention weight.
    """

    def __init__(self, config: Seq2SeqTransformerConfig) -> None:
        super().__init__()
        self.config = config
        d_model = config.d_model
        self.d_model, self.pad_id, self.max_len = d_model, config.pad_id, config.max_len
        self.src_embedding = nn.Embedding(config.src_vocab_size, d_model)
        self.tgt_embedding = nn.Embedding(config.tgt_vocab_size, d_model)
        # Embeddings start with std D^-1/2, so after the sqrt(D) scaling of the paper they
        # have unit scale, comparable with the positional encoding's entries in [-1, 1].
        for embedding in (self.src_embedding, self.tgt_embedding):
            nn.init.normal_(embedding.weight, std=d_model ** -0.5)
        self.positions = SinusoidalPositionalEncoding(d_model, max_len=config.max_len,
                                                      dropout=config.dropout)
        self.transformer = Transformer(config)
        self.output = nn.Linear(d_model, config.tgt_vocab_size)

    # ---- pieces
    def _embed(self, ids: torch.Tensor, embedding: nn.Embedding) -> torch.Tensor:
        return self.positions(embedding(ids) * math.sqrt(self.d_model))

    def key_padding_mask(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids (B, S) -> (B, S)`` bool, ``True`` at real (non-pad) tokens."""
        return ids != self.pad_id

    def encode(self, src: torch.Tensor, need_weights: bool = False
               ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """``src (B, S)`` ids -> memory ``(B, S, D)`` (with ``need_weights``:
        ``(memory, [L x (B, H, S, S)])``)."""
        check_ids(src, "src", "B, S", self.max_len)
        return self.transformer.encoder(self._embed(src, self.src_embedding),
                                        key_padding_mask=self.key_padding_mask(src),
                                        need_weights=need_weights)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor,
               memory_key_padding_mask: torch.Tensor | None = None, need_weights: bool = False
               ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        """``tgt_in (B, T)`` ids, ``memory (B, S, D)``, ``memory_key_padding_mask (B, S)`` bool
        (``True`` = real source token, ``None``: no padding) -> logits ``(B, T, V)`` (with
        ``need_weights``: ``(logits, {"self": [...], "cross": [...]})``)."""
        check_ids(tgt_in, "tgt_in", "B, T", self.max_len)
        hidden = self.transformer.decoder(
            self._embed(tgt_in, self.tgt_embedding), memory,
            tgt_key_padding_mask=self.key_padding_mask(tgt_in), tgt_is_causal=True,
            memory_key_padding_mask=memory_key_padding_mask, need_weights=need_weights)
        if need_weights:
            return self.output(hidden[0]), hidden[1]
        return self.output(hidden)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        """``src (B, S)``, ``tgt_in (B, T)`` ids -> logits ``(B, T, V)``; with
        ``need_weights`` ``(logits, {"encoder_self": [L x (B, H, S, S)], "decoder_self":
        [L x (B, H, T, T)], "cross": [L x (B, H, T, S)]})`` (the readable path)."""
        if not need_weights:
            return self.decode(tgt_in, self.encode(src), self.key_padding_mask(src))
        memory, encoder_self = self.encode(src, need_weights=True)
        logits, decoder = self.decode(tgt_in, memory, self.key_padding_mask(src),
                                      need_weights=True)
        return logits, {"encoder_self": encoder_self, "decoder_self": decoder["self"],
                        "cross": decoder["cross"]}

    # ---- decoding
    def decoding_state(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The state for :meth:`step`: ``(memory (B, S, D), key padding mask (B, S))``, both
        batch first so beam search can reorder them."""
        return self.encode(src), self.key_padding_mask(src)

    def step(self, prefix: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """A step function for :mod:`course_lib.training.decoding`: ``prefix (B, t)`` ids (starting
        with <bos>) -> ``(log_probs (B, V) of the next token, state unchanged)``. The whole
        prefix is re-decoded each step (simple; fine for the course's short targets)."""
        memory, src_padding = state
        logits = self.decode(prefix, memory, src_padding)[:, -1]
        return torch.log_softmax(logits.float(), dim=-1), state


@torch.no_grad()
def greedy_translate(model: Seq2SeqTransformer, src: torch.Tensor, bos_id: int, eos_id: int,
                     max_len: int) -> torch.Tensor:
    """Greedy decoding with :func:`course_lib.training.decoding.greedy_decode`.

    ``src (B, S)`` ids -> ``(B, L)`` ids without <bos>, ``L <= max_len``; after a
    sequence's <eos> every position holds ``eos_id``. Runs in eval mode (no dropout) and
    restores the model's mode afterwards.
    """
    with evaluating(model):
        tokens, _ = greedy_decode(model.step, bos_id, eos_id, batch_size=src.shape[0],
                                  max_len=max_len, state=model.decoding_state(src),
                                  device=src.device)
    return tokens


# --------------------------------------------------------------------------- training recipe
def trim_padding(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """``ids (B, S)`` without the trailing columns that are padding in every row: a data set
    is padded to its longest sequence, a batch only needs its own longest."""
    return ids[:, :int((ids != pad_id).sum(dim=1).max())]


def exact_match(model: Seq2SeqTransformer, src: torch.Tensor, tgt_out: torch.Tensor,
                bos_id: int, eos_id: int) -> float:
    """Share of sources whose greedy translation equals ``tgt_out (B, T)`` (with <eos>)."""
    predicted = greedy_translate(model, src, bos_id, eos_id, max_len=tgt_out.shape[1])
    return sequence_exact_match(predicted, tgt_out, pad_id=model.pad_id)


def paper_adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with the 2017 paper's settings, ``betas=(0.9, 0.98)``, ``eps=1e-9``."""
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)


def teacher_forcing_loss(model: Seq2SeqTransformer, batch: tuple[torch.Tensor, ...], *,
                         smoothing: float = 0.0, trim_source: bool = False) -> torch.Tensor:
    """Cross-entropy (label-smoothed) of one teacher-forced pass over a ``(src, tgt_in,
    tgt_out)`` batch, padding ignored; ``trim_source`` first drops all-padding columns."""
    src, tgt_in, tgt_out = batch
    if trim_source:
        src = trim_padding(src, model.pad_id)
    return sequence_cross_entropy(model(src, tgt_in), tgt_out, pad_id=model.pad_id,
                                  smoothing=smoothing)


def fit_seq2seq(model: Seq2SeqTransformer, data: tuple[torch.Tensor, ...], *, steps: int,
                peak_lr: float, warmup: int, smoothing: float = 0.1, min_lr_ratio: float = 0.05,
                batch_size: int = 64, seed: int = 0, trim_source: bool = False,
                loss_fn: LossFn | None = None, eval_fn: EvalFn | None = None,
                eval_every: int = 100,
                stop_when: Callable[[dict[str, float]], bool] | None = None,
                desc: str = "training") -> TrainHistory:
    """Lesson 05's recipe: :func:`paper_adam`, linear warmup to ``peak_lr`` then cosine decay
    to ``min_lr_ratio * peak_lr`` (``warmup=0``: one step), random batches of ``data =
    (src, tgt_in, tgt_out)`` drawn from ``seed``, and :func:`teacher_forcing_loss` with
    label ``smoothing`` unless another ``loss_fn(model, batch)`` is given. Returns the
    :class:`course_lib.training.loop.TrainHistory` of :func:`course_lib.training.loop.train`."""
    optimizer = paper_adam(model, peak_lr)
    scheduler = warmup_cosine_schedule(optimizer, max(warmup, 1), steps, min_lr_ratio)
    batches = random_batches(*data, batch_size=batch_size,
                             generator=torch.Generator().manual_seed(seed))
    if loss_fn is None:
        def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            return teacher_forcing_loss(m, batch, smoothing=smoothing, trim_source=trim_source)
    return train(model, batches, loss_fn, steps=steps, optimizer=optimizer, scheduler=scheduler,
                 eval_fn=eval_fn, eval_every=eval_every, stop_when=stop_when, desc=desc)
