"""Lesson 04's exercises: one step of the attention decoder, one step of beam search.

The decoder step is checked on freshly initialised decoders of several sizes (the embedding,
hidden and encoder widths all different, so swapped concatenations show), not on the
lesson's trained model: the step's wiring is what is tested, and no training has to run.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.core.masks import padding_mask
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.models.seq2seq import GRUDecoder
from course_lib.training import decoding

__all__ = ["EXERCISES"]


# ---------------------------------------------------------------- exercise 1: decoder step

def _step(vocab: int, embed: int, hidden: int, enc: int, B: int, S: int):
    def make(rng: np.random.Generator):
        torch.manual_seed(int(rng.integers(1_000_000)))
        decoder = GRUDecoder(vocab, embed, hidden, enc, attention=True).eval()
        lengths = torch.tensor(rng.integers(1, S + 1, size=B))
        lengths[0] = max(1, S - 2)  # at least one sequence with padding
        return (decoder, torch.tensor(rng.integers(0, vocab, size=B)),
                torch.tensor(rng.normal(size=(B, hidden)), dtype=torch.float32),
                torch.tensor(rng.normal(size=(B, S, enc)), dtype=torch.float32),
                padding_mask(lengths, S))
    return make


def _decoder_step_reference(decoder, y_prev, h, enc_out, mask):
    """``GRUDecoder.step`` with attention: ``(logits, new state, weights)``."""
    with torch.no_grad():
        return decoder.step(y_prev, h, enc_out, mask, summary=None)


def _decoder(cell_input="emb_ctx", out_state="new", masked=True, out_input="state_ctx_emb"):
    def decoder_step(d, y, h, enc, mask):
        emb = d.embed(y)
        ctx, w = d.attention(h, enc, enc, mask if masked else torch.ones_like(mask))
        parts = [emb, ctx] if cell_input == "emb_ctx" else [ctx, emb]
        h2 = d.cell(torch.cat(parts, -1), h)
        state = h2 if out_state == "new" else h
        order = {"state_ctx_emb": [state, ctx, emb], "state_emb_ctx": [state, emb, ctx]}
        return d.out(torch.cat(order[out_input], -1)), h2, w
    return decoder_step


_m = mistakes_of("l04_decoder_step")
DECODER_STEP = Check(
    name="decoder_step",
    reference=_decoder_step_reference,
    cases=[_step(11, 6, 8, 10, 3, 7), _step(9, 5, 7, 12, 2, 5), _step(13, 4, 9, 6, 4, 6)],
    trials=6,
    mistakes=[
        _m("no_mask", "forgot the padding mask: padded positions received attention",
           _decoder(masked=False)),
        _m("cell_input_swapped", "fed [context; embedding] to the GRU cell; the cell expects "
           "[embedding; context]", _decoder(cell_input="ctx_emb")),
        _m("old_state_out", "used the previous state h, not the new one, in the output layer",
           _decoder(out_state="old")),
        _m("out_input_order", "concatenated [new state, embedding, context] for the output "
           "layer; it expects [new state, context, embedding]",
           _decoder(out_input="state_emb_ctx")),
    ],
)


# ---------------------------------------------------------------- exercise 2: beam step

def _beam(beam_size_of=lambda K: K):
    def make(rng: np.random.Generator):
        K, V = int(rng.integers(2, 5)), int(rng.integers(5, 9))
        scores = torch.tensor(-rng.exponential(size=K) * 3, dtype=torch.float32)
        lp = torch.log_softmax(torch.tensor(rng.normal(size=(K, V)) * 2, dtype=torch.float32),
                               -1)
        return scores, lp, int(beam_size_of(K))
    return make


def _token_only(beam_scores, log_probs, k):
    V = log_probs.shape[1]
    s, flat = log_probs.reshape(-1).topk(k)
    return s, flat // V, flat % V


def _best_per_beam(beam_scores, log_probs, k):
    s, tok = (beam_scores[:, None] + log_probs).max(-1)
    order = s.argsort(descending=True)[:k]
    return s[order], order, tok[order]


def _split(beams_of, tokens_of, size_of=lambda K, k: k):
    def beam_step(beam_scores, log_probs, k):
        K, V = log_probs.shape
        s, flat = (beam_scores[:, None] + log_probs).reshape(-1).topk(size_of(K, k))
        return s, beams_of(flat, K, V), tokens_of(flat, K, V)
    return beam_step


_m = mistakes_of("l04_beam_step")
BEAM_STEP = Check(
    name="beam_step",
    reference=decoding.beam_step,
    cases=[_beam(), _beam(lambda K: K + 2), _beam(lambda K: 2)],
    trials=6,
    mistakes=[
        _m("token_only", "ranked the new token's log-probability alone and forgot the prefix "
           "score beam_scores", _token_only),
        _m("best_per_beam", "kept the best token of each beam instead of the best extensions "
           "over all beams", _best_per_beam),
        _m("div_mod_swapped", "swapped // and %: in the flattened (K * V) ranking, index // V "
           "is the beam and index % V the token",
           _split(lambda f, K, V: f % V, lambda f, K, V: f // V)),
        _m("divided_by_K", "divided the flat index by K (the number of beams) instead of V "
           "(the vocabulary size): each beam owns V consecutive entries",
           _split(lambda f, K, V: f // K, lambda f, K, V: f % K)),
        _m("kept_K", "kept K extensions (as many as there are beams now) instead of "
           "beam_size", _split(lambda f, K, V: f // V, lambda f, K, V: f % V,
                               size_of=lambda K, k: K)),
    ],
)

EXERCISES = catalogue(
    Exercise("l04_decoder_step", (DECODER_STEP,), forbidden=(GRUDecoder.step,)),
    Exercise("l04_beam_step", (BEAM_STEP,), forbidden=(decoding.beam_step,)),
)
