"""A one-query attention reader: a question attends over the words of a story (lesson 03).

The lecture's example, learned. The question's key words (e.g. ``coffee shop``) are embedded
and averaged into one query vector; every word, of the question and of the story, is embedded
into a key and a value. One softmax over all those positions gives the attention weights; the
weighted sum of the values goes through a small MLP that predicts the answer (a class, here a
count).

Two choices make the weights readable:

* the query and key projections start as the identity (``qk_init="identity"``), so before any
  training a word scores high exactly when it *is* one of the question's words
  (``e_q . e_j`` is largest for ``j = q``): the focus on the asked place is there at the
  start, put there by this choice, not learned. Training on the answers then learns to
  *count* with it. With ``qk_init="random"`` (PyTorch's default initialisation) the reader
  still learns to answer, but its weights no longer single out the asked place: lesson 03
  measures both;
* values have unit length, so a word cannot make up for a tiny weight with a huge value.
  (A small weight on a distinctive value can still carry the answer: the random start's
  reader does exactly that.)

Why the question's own words are among the keys: a softmax average cannot count on its own
(two relevant words with weight 1/2 each average to the same vector as one with weight 1).
With the question words always present as a reference, the share of weight the story's
relevant words take from them grows with their number, so the average carries the count.

The model never sees the data module: pass ``vocab_size`` and ``pad_id`` in the config.

Shapes: ``B`` batch, ``Q`` question length, ``S`` story length, ``D`` ``d_model``,
``C`` ``num_classes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention import masked_softmax

__all__ = ["StoryReaderConfig", "StoryReader"]


@dataclass(kw_only=True)
class StoryReaderConfig:
    """Sizes of a :class:`StoryReader`.

    Attributes:
        vocab_size: number of token ids.
        num_classes: number of answers (``C``).
        pad_id: the padding id (never attended to).
        d_model: width of embeddings, queries, keys and values.
        d_ff: hidden width of the answer MLP.
        qk_init: ``"identity"`` (query and key projections start as the identity, so every
            word matches itself) or ``"random"`` (PyTorch's default initialisation).
    """

    vocab_size: int
    num_classes: int
    pad_id: int = 0
    d_model: int = 16
    d_ff: int = 32
    qk_init: str = "identity"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_classes", "d_model", "d_ff"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if self.qk_init not in ("identity", "random"):
            raise ValueError(f"qk_init: expected 'identity' or 'random', got {self.qk_init!r}")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id: expected an id in [0, {self.vocab_size}), got {self.pad_id}")


class StoryReader(nn.Module):
    """Question-to-story attention with one query, then an MLP on the attended summary.

    ``forward(question (B, Q), story (B, S), need_weights=False) -> logits (B, C)``, or
    ``(logits, weights (B, Q + S))`` with ``need_weights=True``: the weights over the question's
    words, then the story's words (0 on padding; each row sums to 1).
    """

    def __init__(self, config: StoryReaderConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embed = nn.Embedding(config.vocab_size, d, padding_idx=config.pad_id)
        self.query = nn.Linear(d, d, bias=False)
        self.key = nn.Linear(d, d, bias=False)
        if config.qk_init == "identity":
            with torch.no_grad():  # start by matching words to themselves (see the module doc)
                self.query.weight.copy_(torch.eye(d))
                self.key.weight.copy_(torch.eye(d))
        self.value = nn.Linear(d, d)
        self.answer = nn.Sequential(nn.Linear(d, config.d_ff), nn.ReLU(),
                                    nn.Linear(config.d_ff, config.num_classes))

    def _check(self, question: torch.Tensor, story: torch.Tensor) -> None:
        for name, ids in (("question", question), ("story", story)):
            if ids.dim() != 2 or ids.shape[1] < 1:
                raise ValueError(f"{name}: expected shape (B, length) of token ids, "
                                 f"got {tuple(ids.shape)}")
        if question.shape[0] != story.shape[0]:
            raise ValueError(f"story: expected batch size {question.shape[0]} (as question), "
                             f"got {story.shape[0]}")
        if not (question != self.config.pad_id).any(1).all():
            raise ValueError("question: every row needs at least one word that is not padding")

    def forward(self, question: torch.Tensor, story: torch.Tensor, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, C)``; with ``need_weights`` also the weights ``(B, Q + S)``."""
        self._check(question, story)
        q_real = (question != self.config.pad_id).unsqueeze(-1)          # (B, Q, 1)
        e_q = (self.embed(question) * q_real).sum(1) / q_real.sum(1)     # (B, D) mean word
        ids = torch.cat([question, story], dim=1)                         # (B, Q + S)
        e = self.embed(ids)                                               # (B, Q + S, D)
        q = self.query(e_q)                                               # (B, D)
        k = self.key(e)                                                   # (B, Q + S, D)
        scores = (k @ q.unsqueeze(-1)).squeeze(-1) / math.sqrt(self.config.d_model)
        weights = masked_softmax(scores, ids != self.config.pad_id)      # (B, Q + S)
        v = F.normalize(self.value(e), dim=-1)                            # unit-length values
        logits = self.answer((weights.unsqueeze(-1) * v).sum(1))          # (B, C)
        return (logits, weights) if need_weights else logits
