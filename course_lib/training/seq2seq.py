"""Training and decoding encoder-decoders (lessons 02, 04, 05, 08): the teacher-forced loss,
lesson 05's recipe, greedy and beam decoding into ids, and exact match.

Every function here works with any course model that maps ``(src (B, S), tgt_in (B, T))``
ids to ``(logits (B, T, V), maps)`` and decodes step by step: the GRU
:class:`~course_lib.models.seq2seq.Seq2Seq` and the
:class:`~course_lib.models.transformer.Seq2SeqTransformer` both offer
``decoding_state(src)`` and ``step(prefix, state)`` for :mod:`course_lib.training.decoding`,
and a ``pad_id``. Batches are ``(src, tgt_in, tgt_out)``: ``tgt_in`` starts with <bos>,
``tgt_out`` ends with <eos>.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.modules import evaluating
from course_lib.training import decoding
from course_lib.training.loop import EvalFn, LossFn, TrainHistory, random_batches, train
from course_lib.training.losses import sequence_cross_entropy, sequence_exact_match
from course_lib.training.schedules import warmup_cosine_schedule

__all__ = [
    "trim_padding", "teacher_forcing_loss", "sequence_loss", "paper_adam", "fit_seq2seq",
    "greedy_translate", "predict_ids", "greedy_with_attention", "exact_match",
]


# --------------------------------------------------------------------------- training
def trim_padding(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """``ids (B, S)`` without the trailing columns that are padding in every row: a data set
    is padded to its longest sequence, a batch only needs its own longest."""
    return ids[:, :int((ids != pad_id).sum(dim=1).max())]


def teacher_forcing_loss(model: nn.Module, batch: Sequence[torch.Tensor], *,
                         smoothing: float = 0.0, trim_source: bool = False) -> torch.Tensor:
    """Cross-entropy (label-smoothed) of one teacher-forced pass over a ``(src, tgt_in,
    tgt_out)`` batch, the model's padding ignored; ``trim_source`` first drops all-padding
    source columns."""
    src, tgt_in, tgt_out = batch
    if trim_source:
        src = trim_padding(src, model.pad_id)
    logits, _ = model(src, tgt_in)
    return sequence_cross_entropy(logits, tgt_out, pad_id=model.pad_id, smoothing=smoothing)


def sequence_loss(model: nn.Module, batch: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of a ``(src, tgt_in, tgt_out)`` batch, padding ignored: the
    :func:`teacher_forcing_loss` without smoothing, as a ``loss_fn`` for
    :func:`course_lib.training.loop.train` (lessons 02 and 04)."""
    return teacher_forcing_loss(model, batch)


def paper_adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with the 2017 paper's settings, ``betas=(0.9, 0.98)``, ``eps=1e-9``."""
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)


def fit_seq2seq(model: nn.Module, data: tuple[torch.Tensor, ...], *, steps: int,
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


# --------------------------------------------------------------------------- decoding
@torch.no_grad()
def greedy_translate(model: nn.Module, src: torch.Tensor, bos_id: int, eos_id: int,
                     max_len: int) -> torch.Tensor:
    """Greedy decoding with :func:`course_lib.training.decoding.greedy_decode`.

    ``src (B, S)`` ids -> ``(B, L)`` ids without <bos>, ``L <= max_len`` (it stops when
    every row has ended); after a sequence's <eos> every position holds ``eos_id``. Runs in
    eval mode (no dropout) and restores the model's mode afterwards.
    """
    with evaluating(model):
        tokens, _ = decoding.greedy_decode(model.step, bos_id, eos_id, batch_size=src.shape[0],
                                           max_len=max_len, state=model.decoding_state(src),
                                           device=src.device)
    return tokens


@torch.no_grad()
def predict_ids(model: nn.Module, src: torch.Tensor, bos_id: int, eos_id: int, max_len: int,
                beam_size: int = 1, length_penalty: float = 0.0, batch_size: int = 512
                ) -> torch.Tensor:
    """Decoded token ids ``(N, max_len)`` for ``N`` padded sources ``src (N, S)``, in batches,
    each row padded with ``eos_id`` after its end.

    Greedy decoding when ``beam_size == 1`` (:func:`greedy_translate`), else beam search
    (:func:`course_lib.training.decoding.beam_search`).
    """
    outputs = []
    with evaluating(model):
        for start in range(0, src.shape[0], batch_size):
            s = src[start:start + batch_size]
            if beam_size == 1:
                tokens = greedy_translate(model, s, bos_id, eos_id, max_len)
            else:
                tokens, _ = decoding.beam_search(model.step, bos_id, eos_id, beam_size, max_len,
                                                 model.decoding_state(s),
                                                 length_penalty=length_penalty)
            outputs.append(F.pad(tokens, (0, max_len - tokens.shape[1]), value=eos_id))
    return torch.cat(outputs)


@torch.no_grad()
def greedy_with_attention(model: nn.Module, src: torch.Tensor, bos_id: int, eos_id: int,
                          max_len: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Greedy decoding of a GRU :class:`~course_lib.models.seq2seq.Seq2Seq` that also records
    its attention: ``(tokens (B, L), weights (B, L, S) or None without attention)``.

    The step runs the decoder's readable path (:meth:`Seq2Seq.step_with_weights`) and keeps
    each step's weights; all ``max_len`` steps run (no early stop) so the weights of every
    row line up.
    """
    weights = []

    def step(prefix: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        log_probs, state, w = model.step_with_weights(prefix, state)
        weights.append(w)
        return log_probs, state

    with evaluating(model):
        tokens, _ = decoding.greedy_decode(step, bos_id, eos_id, src.shape[0], max_len,
                                           model.decoding_state(src), device=src.device,
                                           stop_early=False)
    return tokens, torch.stack(weights, dim=1) if model.uses_attention else None


def exact_match(model: nn.Module, src: torch.Tensor, tgt_out: torch.Tensor,
                bos_id: int, eos_id: int) -> float:
    """Share of sources whose greedy translation equals ``tgt_out (B, T)`` (with <eos>)."""
    predicted = greedy_translate(model, src, bos_id, eos_id, max_len=tgt_out.shape[1])
    return sequence_exact_match(predicted, tgt_out, pad_id=model.pad_id)
