"""GRU encoder-decoder, with and without additive (Bahdanau) attention.

The encoder is a bidirectional GRU over the source characters. The decoder is a GRU cell
that emits one target character per step. The two models differ only in the *context*
the decoder sees at each step:

* without attention: one fixed context vector ``c``, the encoder's final states, for every
  step: the whole input squeezed through a bottleneck. The decoder follows Cho et al.
  (2014)'s RNN encoder-decoder: ``c`` sets the first state (``h_0 = tanh(V c)``) and enters
  every step and the output layer, next to the previous token (Sutskever et al. 2014, by
  contrast, use the encoder's last state only as the decoder's first state);
* with attention (Bahdanau, Cho and Bengio 2014): at step t a fresh
  weighted average of all encoder states, the weights computed from the decoder's previous
  hidden state by :class:`course_lib.attention.AdditiveAttention`.

One decoder step (attention model), with y the previous token and h the hidden state::

    context_t, alpha_t = attention(query=h_{t-1}, keys=enc, values=enc, mask)
    h_t    = GRUCell([embed(y_{t-1}); context_t], h_{t-1})
    logits = Linear([h_t; context_t; embed(y_{t-1})])

Training uses teacher forcing (the true previous token is fed in); decoding feeds the
model's own outputs through :mod:`course_lib.training.decoding`, for which :meth:`Seq2Seq.step`
is a ready step function. The model takes padded token ids and its config's ``pad_id``
and builds its own padding mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.attention import AdditiveAttention, masked_softmax
from course_lib.core.modules import evaluating
from course_lib.core.validation import check_ids, check_positive_ints
from course_lib.training import decoding
from course_lib.training.losses import sequence_cross_entropy

__all__ = [
    "GRUEncoder", "GRUDecoder", "Seq2SeqConfig", "Seq2Seq", "sequence_loss",
    "greedy_with_attention", "predict_ids", "DecoderState",
]

# State passed between decoder steps, every tensor batch-first (beam search reorders rows):
# (h (B, H), enc_out (B, S, E), mask (B, S), summary (B, E), keys (B, S, A) projected keys)
DecoderState = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class GRUEncoder(nn.Module):
    """Bidirectional GRU encoder.

    ``forward(src (B, S) ids, key_padding_mask (B, S) bool True = real token)`` ->
    ``(outputs (B, S, 2H), summary (B, 2H))``, where ``summary`` joins the forward GRU's last
    state and the backward GRU's first. Padding (at the end of each row) is packed away,
    so pads never reach either direction's state.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, pad_id: int = 0
                 ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.gru = nn.GRU(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.output_size = 2 * hidden_size

    def forward(self, src: torch.Tensor, key_padding_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``src (B, S)`` ids, ``key_padding_mask (B, S)`` -> ``(outputs (B, S, 2H),
        summary (B, 2H))``, ``H`` the GRU's hidden size."""
        check_ids(src, "src", "B, S")
        if key_padding_mask.shape != src.shape:
            raise ValueError(f"key_padding_mask: expected shape {tuple(src.shape)}, "
                             f"got {tuple(key_padding_mask.shape)}")
        lengths = key_padding_mask.sum(dim=1)
        if int(lengths.min()) < 1:
            raise ValueError("src: expected every row to hold at least one real token, "
                             "got a row of padding only")
        packed = pack_padded_sequence(self.embed(src), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        outputs, final = self.gru(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])
        summary = torch.cat([final[0], final[1]], dim=-1)  # (B, 2H)
        return outputs, summary


class GRUDecoder(nn.Module):
    """GRU-cell decoder; with ``attention=True`` it attends over the encoder outputs.

    Args:
        enc_dim: width E of the encoder outputs.
        attn_dim: hidden width of the additive score (default: ``hidden_size``).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, enc_dim: int,
                 attention: bool = True, attn_dim: int | None = None) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.attention = (AdditiveAttention(hidden_size, enc_dim, attn_dim or hidden_size)
                          if attention else None)
        self.cell = nn.GRUCell(embed_dim + enc_dim, hidden_size)
        self.out = nn.Linear(hidden_size + enc_dim + embed_dim, vocab_size)

    def step(self, y_prev: torch.Tensor, h: torch.Tensor, enc_out: torch.Tensor,
             mask: torch.Tensor, summary: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One step: ``y_prev (B,)`` ids, ``h (B, H)``, ``enc_out (B, S, E)``, ``mask (B, S)``
        (True = real token), ``summary (B, E)`` -> ``(logits (B, V), h_new (B, H),
        weights (B, S) or None)``."""
        emb = self.embed(y_prev)  # (B, e)
        if self.attention is not None:
            # Bahdanau: the *previous* state asks the question, before reading y_prev.
            context, weights = self.attention(h, enc_out, enc_out, mask)  # (B, E), (B, S)
        else:
            context, weights = summary, None  # the same vector at every step
        h_new = self.cell(torch.cat([emb, context], dim=-1), h)
        logits = self.out(torch.cat([h_new, context, emb], dim=-1))
        return logits, h_new, weights

    def project_keys(self, enc_out: torch.Tensor) -> torch.Tensor:
        """``W_k enc_out`` (B, S, A), computed once per source instead of at every step."""
        if self.attention is None:
            return enc_out[:, :, :0]  # (B, S, 0): nothing to project
        return self.attention.score.key_proj(enc_out)

    def fast_step(self, y_prev: torch.Tensor, h: torch.Tensor, enc_out: torch.Tensor,
                  mask: torch.Tensor, summary: torch.Tensor, keys: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """:meth:`step` with the keys projected beforehand (``keys = project_keys(enc_out)``).

        The same numbers as :meth:`step` (tested); training is about twice as fast because the
        key projection, the largest matrix product, runs once per sequence, not once per step.
        """
        if self.attention is None:
            return self.step(y_prev, h, enc_out, mask, summary)
        emb = self.embed(y_prev)
        score = self.attention.score
        features = torch.tanh(score.query_proj(h)[:, None, :] + keys)  # (B, S, A)
        weights = masked_softmax(score.v(features).squeeze(-1), mask)  # (B, S)
        context = torch.bmm(weights[:, None, :], enc_out).squeeze(1)  # (B, E)
        h_new = self.cell(torch.cat([emb, context], dim=-1), h)
        logits = self.out(torch.cat([h_new, context, emb], dim=-1))
        return logits, h_new, weights


@dataclass(kw_only=True)
class Seq2SeqConfig:
    """Sizes of a GRU :class:`Seq2Seq`. ``attn_dim=None``: the additive score's hidden
    width is ``hidden_size``; ``attention=False``: the fixed-context model."""

    src_vocab_size: int
    tgt_vocab_size: int
    embed_dim: int = 32
    hidden_size: int = 64
    attention: bool = True
    attn_dim: int | None = None
    pad_id: int = 0

    def __post_init__(self) -> None:
        check_positive_ints(self, "src_vocab_size", "tgt_vocab_size", "embed_dim",
                            "hidden_size")
        check_positive_ints(self, "pad_id", minimum=0)
        if self.attn_dim is not None:
            check_positive_ints(self, "attn_dim")


class Seq2Seq(nn.Module):
    """GRU encoder-decoder for character sequences (used on dates in lesson 04).

    Built from a :class:`Seq2SeqConfig`. ``forward(src (B, S) ids, tgt_in (B, T) ids)`` ->
    ``logits (B, T, V)`` with teacher forcing; ``need_weights=True`` returns ``(logits,
    weights (B, T, S))`` (``None`` for the model without attention). ``src`` is padded
    with ``config.pad_id`` after each row's last token.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.pad_id = c.pad_id
        self.encoder = GRUEncoder(c.src_vocab_size, c.embed_dim, c.hidden_size, c.pad_id)
        enc_dim = self.encoder.output_size
        self.bridge = nn.Linear(enc_dim, c.hidden_size)  # encoder summary -> first decoder state
        self.decoder = GRUDecoder(c.tgt_vocab_size, c.embed_dim, c.hidden_size, enc_dim,
                                  c.attention, c.attn_dim)
        self.uses_attention = c.attention

    def encode(self, src: torch.Tensor) -> DecoderState:
        """Run the encoder on ``src (B, S)`` ids; return the decoder's initial state tuple
        (all batch-first)."""
        mask = src != self.pad_id
        enc_out, summary = self.encoder(src, mask)
        h0 = torch.tanh(self.bridge(summary))
        return h0, enc_out, mask, summary, self.decoder.project_keys(enc_out)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """``src (B, S)``, ``tgt_in (B, T)`` (teacher forcing) -> ``logits (B, T, V)``;
        with ``need_weights`` ``(logits, weights (B, T, S) or None)``."""
        check_ids(tgt_in, "tgt_in", "B, T")
        h, enc_out, mask, summary, keys = self.encode(src)
        all_logits, all_weights = [], []
        for t in range(tgt_in.shape[1]):  # teacher forcing: feed the true previous token
            logits, h, weights = self.decoder.fast_step(tgt_in[:, t], h, enc_out, mask, summary,
                                                        keys)
            all_logits.append(logits)
            all_weights.append(weights)
        logits = torch.stack(all_logits, dim=1)
        if not need_weights:
            return logits
        return logits, torch.stack(all_weights, dim=1) if self.uses_attention else None

    def step(self, prefix: torch.Tensor, state: DecoderState
             ) -> tuple[torch.Tensor, DecoderState]:
        """A :mod:`course_lib.training.decoding` step function:
        ``prefix (B, t)`` -> ``log_probs (B, V)``.

        Only ``prefix[:, -1]`` is read: the GRU's hidden state carries the rest.
        """
        h, enc_out, mask, summary, keys = state
        logits, h, _ = self.decoder.fast_step(prefix[:, -1], h, enc_out, mask, summary, keys)
        return F.log_softmax(logits, dim=-1), (h, enc_out, mask, summary, keys)


def sequence_loss(model: Seq2Seq, batch: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of a ``(src, tgt_in, tgt_out)`` batch (teacher forcing); target
    padding (the model's ``pad_id``) is ignored."""
    src, tgt_in, tgt_out = batch
    return sequence_cross_entropy(model(src, tgt_in), tgt_out, pad_id=model.pad_id)


@torch.no_grad()
def greedy_with_attention(model: Seq2Seq, src: torch.Tensor, bos_id: int, eos_id: int,
                          max_len: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Greedy decoding that also records attention: ``(tokens (B, L), weights (B, L, S))``.

    :func:`course_lib.training.decoding.greedy_decode` with a step function that runs the decoder's
    readable path and keeps each step's weights; all ``max_len`` steps run (no early
    stop) so the weights of every row line up.
    """
    weights = []

    def step(prefix: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        h, enc_out, mask, summary, keys = state
        logits, h, w = model.decoder.step(prefix[:, -1], h, enc_out, mask, summary)
        weights.append(w)
        return F.log_softmax(logits, dim=-1), (h, enc_out, mask, summary, keys)

    tokens, _ = decoding.greedy_decode(step, bos_id, eos_id, src.shape[0], max_len,
                                       model.encode(src), device=src.device, stop_early=False)
    return tokens, torch.stack(weights, dim=1) if model.uses_attention else None


@torch.no_grad()
def predict_ids(model: Seq2Seq, src: torch.Tensor, bos_id: int, eos_id: int, max_len: int,
                beam_size: int = 1, length_penalty: float = 0.0, batch_size: int = 512
                ) -> torch.Tensor:
    """Decoded token ids ``(N, L)`` for ``N`` padded sources ``src (N, S)``, in batches.

    Greedy decoding when ``beam_size == 1``, else beam search (:mod:`course_lib.training.decoding`).
    """
    outputs = []
    with evaluating(model):
        for start in range(0, src.shape[0], batch_size):
            s = src[start:start + batch_size]
            state = model.encode(s)
            if beam_size == 1:
                tokens, _ = decoding.greedy_decode(model.step, bos_id, eos_id, s.shape[0],
                                                   max_len, state, device=s.device)
            else:
                tokens, _ = decoding.beam_search(model.step, bos_id, eos_id, beam_size, max_len,
                                                 state, length_penalty=length_penalty)
            outputs.append(F.pad(tokens, (0, max_len - tokens.shape[1]), value=eos_id))
    return torch.cat(outputs)

