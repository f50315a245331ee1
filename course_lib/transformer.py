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

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention import MultiHeadAttention, copy_from_torch_mha
from course_lib.masks import causal_mask
from course_lib.positional import SinusoidalPositionalEncoding

__all__ = [
    "PositionwiseFFN", "EncoderLayer", "DecoderLayer", "Encoder", "Decoder", "Transformer",
    "copy_from_torch_transformer", "Seq2SeqTransformer", "greedy_translate",
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
    attn_mask (S, S) | (B, S, S) bool True = may attend) -> (B, S, D)``.
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
                attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, S, D) -> (B, S, D)`` (fast attention path, no weights kept)."""
        return self.forward_with_weights(x, key_padding_mask=key_padding_mask,
                                         attn_mask=attn_mask, need_weights=False)[0]

    def forward_with_weights(self, x: torch.Tensor, *,
                             key_padding_mask: torch.Tensor | None = None,
                             attn_mask: torch.Tensor | None = None, need_weights: bool = True
                             ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Like :meth:`forward`, also returning the attention weights ``(B, H, S, S)``
        (computed on the readable path; ``None`` when ``need_weights=False``)."""
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
        return x, weights


class DecoderLayer(nn.Module):
    """One decoder layer: masked self-attention, cross-attention to the memory, FFN.

    ``forward(x (B, T, D), memory (B, S, D), *, tgt_mask (T, T) | (B, T, T) bool,
    tgt_key_padding_mask (B, T), tgt_is_causal, memory_mask (T, S) | (B, T, S),
    memory_key_padding_mask (B, S)) -> (B, T, D)``; every mask ``True`` = may attend.
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

    def forward(self, x: torch.Tensor, memory: torch.Tensor, *,
                tgt_mask: torch.Tensor | None = None,
                tgt_key_padding_mask: torch.Tensor | None = None, tgt_is_causal: bool = False,
                memory_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, T, D), memory (B, S, D) -> (B, T, D)`` (fast attention path)."""
        return self.forward_with_weights(
            x, memory, tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_key_padding_mask,
            tgt_is_causal=tgt_is_causal, memory_mask=memory_mask,
            memory_key_padding_mask=memory_key_padding_mask, need_weights=False)[0]

    def forward_with_weights(
        self, x: torch.Tensor, memory: torch.Tensor, *,
        tgt_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
        tgt_is_causal: bool = False, memory_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Like :meth:`forward`, also returning the self-attention weights ``(B, H, T, T)``
        and the cross-attention weights ``(B, H, T, S)`` (``None`` without ``need_weights``)."""
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
        return x, self_weights, cross_weights


def _final_norm(d_model: int, norm_first: bool, final_norm: bool | None,
                eps: float) -> nn.LayerNorm | None:
    # Pre-norm stacks need a last LayerNorm (their output is an un-normalised residual sum);
    # post-norm layers already end in one.
    wanted = norm_first if final_norm is None else final_norm
    return nn.LayerNorm(d_model, eps=eps) if wanted else None


class Encoder(nn.Module):
    """A stack of ``num_layers`` :class:`EncoderLayer`, then an optional LayerNorm.

    ``final_norm=None`` adds the last LayerNorm exactly when ``norm_first`` (pre-norm).
    ``forward(src (B, S, D), *, key_padding_mask (B, S), attn_mask) -> memory (B, S, D)``.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, num_layers: int,
                 dropout: float = 0.0, norm_first: bool = False, activation: str = "relu",
                 final_norm: bool | None = None, layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout, norm_first, activation,
                         layer_norm_eps) for _ in range(num_layers))
        self.norm = _final_norm(d_model, norm_first, final_norm, layer_norm_eps)

    def forward(self, src: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``src (B, S, D) -> memory (B, S, D)``."""
        return self.forward_with_weights(src, key_padding_mask=key_padding_mask,
                                         attn_mask=attn_mask, need_weights=False)[0]

    def forward_with_weights(self, src: torch.Tensor, *,
                             key_padding_mask: torch.Tensor | None = None,
                             attn_mask: torch.Tensor | None = None, need_weights: bool = True
                             ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """``(memory (B, S, D), [L x weights (B, H, S, S)])``."""
        x, all_weights = src, []
        for layer in self.layers:
            x, weights = layer.forward_with_weights(
                x, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                need_weights=need_weights)
            all_weights.append(weights)
        if self.norm is not None:
            x = self.norm(x)
        return x, all_weights


class Decoder(nn.Module):
    """A stack of ``num_layers`` :class:`DecoderLayer`, then an optional LayerNorm.

    ``final_norm=None`` adds the last LayerNorm exactly when ``norm_first`` (pre-norm).
    ``forward(tgt (B, T, D), memory (B, S, D), *, masks as in DecoderLayer) -> (B, T, D)``.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, num_layers: int,
                 dropout: float = 0.0, norm_first: bool = False, activation: str = "relu",
                 final_norm: bool | None = None, layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, d_ff, dropout, norm_first, activation,
                         layer_norm_eps) for _ in range(num_layers))
        self.norm = _final_norm(d_model, norm_first, final_norm, layer_norm_eps)

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, *,
                tgt_mask: torch.Tensor | None = None,
                tgt_key_padding_mask: torch.Tensor | None = None, tgt_is_causal: bool = False,
                memory_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``tgt (B, T, D), memory (B, S, D) -> (B, T, D)``."""
        return self.forward_with_weights(
            tgt, memory, tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_key_padding_mask,
            tgt_is_causal=tgt_is_causal, memory_mask=memory_mask,
            memory_key_padding_mask=memory_key_padding_mask, need_weights=False)[0]

    def forward_with_weights(
        self, tgt: torch.Tensor, memory: torch.Tensor, *,
        tgt_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
        tgt_is_causal: bool = False, memory_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None], list[torch.Tensor | None]]:
        """``(out (B, T, D), [L x self weights (B, H, T, T)],
        [L x cross weights (B, H, T, S)])``."""
        x, self_weights, cross_weights = tgt, [], []
        for layer in self.layers:
            x, sw, cw = layer.forward_with_weights(
                x, memory, tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                tgt_is_causal=tgt_is_causal, memory_mask=memory_mask,
                memory_key_padding_mask=memory_key_padding_mask, need_weights=need_weights)
            self_weights.append(sw)
            cross_weights.append(cw)
        if self.norm is not None:
            x = self.norm(x)
        return x, self_weights, cross_weights


class Transformer(nn.Module):
    """Encoder-decoder Transformer on embeddings, batch first, like ``torch.nn.Transformer``.

    ``forward(src (B, S, D), tgt (B, T, D), src_mask, tgt_mask, memory_mask,
    src_key_padding_mask (B, S), tgt_key_padding_mask (B, T), memory_key_padding_mask (B, S),
    tgt_is_causal) -> (B, T, D)``. The argument names are torch's; the masks are ours
    (bool, ``True`` = may attend / real token). ``tgt_is_causal=True`` adds the causal mask
    for you (torch only takes it as a hint that ``tgt_mask`` is causal).

    ``final_norm=True`` ends both stacks with a LayerNorm even in post-norm mode, because
    ``torch.nn.Transformer`` does so (the 2017 paper does not); ``final_norm=None`` adds it
    only for pre-norm. Matrices start Xavier-uniform, as in torch.
    """

    def __init__(self, d_model: int = 512, num_heads: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, d_ff: int = 2048, dropout: float = 0.0,
                 norm_first: bool = False, activation: str = "relu",
                 final_norm: bool | None = True, layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.d_model, self.num_heads, self.norm_first = d_model, num_heads, norm_first
        self.encoder = Encoder(d_model, num_heads, d_ff, num_encoder_layers, dropout,
                               norm_first, activation, final_norm, layer_norm_eps)
        self.decoder = Decoder(d_model, num_heads, d_ff, num_decoder_layers, dropout,
                               norm_first, activation, final_norm, layer_norm_eps)
        for parameter in self.parameters():
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor,
                src_mask: torch.Tensor | None = None, tgt_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None,
                tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None,
                tgt_is_causal: bool = False) -> torch.Tensor:
        """``src (B, S, D), tgt (B, T, D) -> (B, T, D)``; masks as in the class docstring."""
        if src.dim() != 3 or tgt.dim() != 3 or src.shape[0] != tgt.shape[0]:
            raise ValueError(f"src, tgt: expected shapes (B, S, {self.d_model}) and "
                             f"(B, T, {self.d_model}) with the same B, got "
                             f"{tuple(src.shape)} and {tuple(tgt.shape)}")
        memory = self.encoder(src, key_padding_mask=src_key_padding_mask, attn_mask=src_mask)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_mask=memory_mask,
                            memory_key_padding_mask=memory_key_padding_mask)

    @staticmethod
    def generate_square_subsequent_mask(size: int, device: torch.device | str | None = None
                                        ) -> torch.Tensor:
        """The causal mask ``(size, size)`` in *our* polarity (``True`` on and below the
        diagonal). torch's method of the same name returns a float mask with ``-inf`` above."""
        return causal_mask(size, device=device)


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


class Seq2SeqTransformer(nn.Module):
    """Token-level encoder-decoder: embeddings * sqrt(D) + sinusoidal positions ->
    :class:`Transformer` -> linear layer to target-vocabulary logits.

    ``forward(src (B, S) ids, tgt_in (B, T) ids) -> logits (B, T, V)``; ``tgt_in`` is the
    target shifted right (starting with <bos>), so position ``t`` predicts target token
    ``t``. Padding (``pad_id``) is masked out as keys in every attention; the decoder's
    self-attention is causal. ``max_len`` bounds ``S`` and ``T``.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int, num_heads: int,
                 num_encoder_layers: int, num_decoder_layers: int, d_ff: int,
                 dropout: float = 0.0, max_len: int = 128, pad_id: int = 0,
                 norm_first: bool = False) -> None:
        super().__init__()
        self.d_model, self.pad_id, self.max_len = d_model, pad_id, max_len
        self.src_embedding = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_model)
        # Embeddings start with std D^-1/2, so after the sqrt(D) scaling of the paper they
        # have unit scale, comparable with the positional encoding's entries in [-1, 1].
        for embedding in (self.src_embedding, self.tgt_embedding):
            nn.init.normal_(embedding.weight, std=d_model ** -0.5)
        self.positions = SinusoidalPositionalEncoding(d_model, max_len=max_len, dropout=dropout)
        self.transformer = Transformer(d_model, num_heads, num_encoder_layers,
                                       num_decoder_layers, d_ff, dropout, norm_first)
        self.output = nn.Linear(d_model, tgt_vocab_size)

    # ---- pieces
    def _check_ids(self, ids: torch.Tensor, name: str, dims: str) -> None:
        if ids.dim() != 2 or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"{name}: expected integer ids of shape ({dims}), "
                             f"got {tuple(ids.shape)} {ids.dtype}")
        if ids.shape[1] > self.max_len:
            raise ValueError(f"{name}: length {ids.shape[1]} exceeds max_len {self.max_len}")

    def _embed(self, ids: torch.Tensor, embedding: nn.Embedding) -> torch.Tensor:
        return self.positions(embedding(ids) * math.sqrt(self.d_model))

    def source_padding(self, src: torch.Tensor) -> torch.Tensor:
        """``(B, S)`` bool, ``True`` at real (non-pad) source tokens."""
        return src != self.pad_id

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """``src (B, S)`` ids -> memory ``(B, S, D)``."""
        self._check_ids(src, "src", "B, S")
        return self.transformer.encoder(self._embed(src, self.src_embedding),
                                        key_padding_mask=self.source_padding(src))

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor,
               src_padding: torch.Tensor | None = None) -> torch.Tensor:
        """``tgt_in (B, T)`` ids, ``memory (B, S, D)``, ``src_padding (B, S)`` bool (``True``
        = real source token, ``None``: no padding) -> logits ``(B, T, V)``."""
        self._check_ids(tgt_in, "tgt_in", "B, T")
        hidden = self.transformer.decoder(
            self._embed(tgt_in, self.tgt_embedding), memory,
            tgt_key_padding_mask=tgt_in != self.pad_id, tgt_is_causal=True,
            memory_key_padding_mask=src_padding)
        return self.output(hidden)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """``src (B, S)``, ``tgt_in (B, T)`` ids -> logits ``(B, T, V)``."""
        return self.decode(tgt_in, self.encode(src), self.source_padding(src))

    # ---- inspection and decoding
    @torch.no_grad()
    def attention_maps(self, src: torch.Tensor, tgt_in: torch.Tensor
                       ) -> dict[str, list[torch.Tensor]]:
        """Every attention weight, per layer and head, computed on the readable path:
        ``{"encoder_self": [L x (B, H, S, S)], "decoder_self": [L x (B, H, T, T)],
        "cross": [L x (B, H, T, S)]}``."""
        self._check_ids(src, "src", "B, S")
        self._check_ids(tgt_in, "tgt_in", "B, T")
        src_padding = self.source_padding(src)
        memory, encoder_self = self.transformer.encoder.forward_with_weights(
            self._embed(src, self.src_embedding), key_padding_mask=src_padding)
        _, decoder_self, cross = self.transformer.decoder.forward_with_weights(
            self._embed(tgt_in, self.tgt_embedding), memory,
            tgt_key_padding_mask=tgt_in != self.pad_id, tgt_is_causal=True,
            memory_key_padding_mask=src_padding)
        return {"encoder_self": encoder_self, "decoder_self": decoder_self, "cross": cross}

    def decoding_state(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The state for :meth:`step`: ``(memory (B, S, D), src_padding (B, S))``, both
        batch first so beam search can reorder them."""
        return self.encode(src), self.source_padding(src)

    def step(self, prefix: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """A step function for :mod:`course_lib.decoding`: ``prefix (B, t)`` ids (starting
        with <bos>) -> ``(log_probs (B, V) of the next token, state unchanged)``. The whole
        prefix is re-decoded each step (simple; fine for the course's short targets)."""
        memory, src_padding = state
        logits = self.decode(prefix, memory, src_padding)[:, -1]
        return torch.log_softmax(logits.float(), dim=-1), state


@torch.no_grad()
def greedy_translate(model: Seq2SeqTransformer, src: torch.Tensor, bos_id: int, eos_id: int,
                     max_len: int) -> torch.Tensor:
    """Greedy decoding with :func:`course_lib.decoding.greedy_decode`.

    ``src (B, S)`` ids -> ``(B, L)`` ids without <bos>, ``L <= max_len``; after a
    sequence's <eos> every position holds ``eos_id``. Runs in eval mode (no dropout) and
    restores the model's mode afterwards.
    """
    from course_lib.decoding import greedy_decode  # imported here: only this helper needs it

    was_training = model.training
    model.eval()
    try:
        tokens, _ = greedy_decode(model.step, bos_id, eos_id, batch_size=src.shape[0],
                                  max_len=max_len, state=model.decoding_state(src),
                                  device=src.device)
    finally:
        model.train(was_training)
    return tokens
