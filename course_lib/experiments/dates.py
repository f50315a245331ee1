"""Lesson 04's experiment: a trained date translator used as a tool (any human date in,
ISO out)."""

from __future__ import annotations

from collections.abc import Sequence

from course_lib.data import dates
from course_lib.data.vocab import Vocab
from course_lib.models.seq2seq import Seq2Seq, predict_ids

__all__ = ["translate"]


def translate(model: Seq2Seq, texts: str | Sequence[str], src_vocab: Vocab,
              tgt_vocab: Vocab, max_len: int = dates.TARGET_LENGTH + 1,
              beam_size: int = 1) -> str | list[str]:
    """Translate one date string (or a list) to ISO with a trained :class:`Seq2Seq`; raises
    ``ValueError`` naming any characters outside ``src_vocab`` (see :func:`encode_sources`)."""
    single = isinstance(texts, str)
    batch = [texts] if single else list(texts)
    batch = [" ".join(t.split()) for t in batch]  # forgive stray and doubled spaces
    src, _ = dates.encode_sources(batch, src_vocab)
    device = next(model.parameters()).device
    ids = predict_ids(model, src.to(device), tgt_vocab.bos_id, tgt_vocab.eos_id, max_len,
                beam_size=beam_size)
    out = [tgt_vocab.decode(row.tolist()) for row in ids]
    return out[0] if single else out
