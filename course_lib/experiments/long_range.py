"""The long-range experiments of lesson 02, run on the models of :mod:`course_lib.models.rnn`.

* First-token recall: RNN, LSTM, GRU and attention classifiers trained for a fixed budget
  while the distance between the token and the answer grows.
* The adding problem with and without gradient clipping.
* Per-symbol accuracy of an encoder-decoder without attention on reversal, by input
  length (the bottleneck).
* Forward-pass time of a sequential recurrence against parallel self-attention.

Every function takes a ``seed`` and leaves the caller's random generators as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.analysis.timing import median_seconds
from course_lib.attention import MultiHeadAttention
from course_lib.data import synthetic
from course_lib.models.rnn import (
    AddingRegressor,
    AddingRegressorConfig,
    AttentionClassifier,
    AttentionClassifierConfig,
    RecurrentClassifier,
    RecurrentClassifierConfig,
    SimpleRNN,
)
from course_lib.models.seq2seq import Seq2Seq, predict_ids
from course_lib.training.loop import TrainHistory, seeded, train

__all__ = [
    "make_classifier", "RecallResult", "train_recall", "train_adding",
    "symbol_accuracy_by_length", "time_rnn_vs_attention",
]


def make_classifier(kind: str, vocab_size: int, num_classes: int, width: int = 32,
                    num_heads: int = 2, gate_bias: float | None = None) -> nn.Module:
    """``kind`` in {"rnn", "lstm", "gru", "attention"}; ``width`` is the hidden/model size;
    ``gate_bias`` initialises the LSTM forget / GRU update gate (see RecurrentClassifier)."""
    if kind == "attention":
        return AttentionClassifier(AttentionClassifierConfig(
            vocab_size=vocab_size, num_classes=num_classes, d_model=width, num_heads=num_heads))
    return RecurrentClassifier(RecurrentClassifierConfig(
        kind=kind, vocab_size=vocab_size, num_classes=num_classes, hidden_size=width,
        gate_bias=gate_bias))


@dataclass
class RecallResult:
    """One run of :func:`train_recall`: the model, its test accuracy, its training history."""

    kind: str
    num_distractors: int
    accuracy: float
    model: nn.Module
    history: TrainHistory


def train_recall(kind: str, num_distractors: int, *, steps: int = 250, batch_size: int = 32,
                 width: int = 32, lr: float = 1e-2, num_classes: int = 4,
                 num_distractor_symbols: int = 8, shared_symbols: bool = True,
                 gate_bias: float | None = 3.0, test_size: int = 512, seed: int = 0,
                 progress: bool = True) -> RecallResult:
    """Train a ``kind`` classifier on first-token recall with ``T = num_distractors``.

    Every step draws a fresh batch (an endless data set, seeded per step), so the result
    measures what the architecture can learn in ``steps`` steps, not memorisation. Training
    stops early once the accuracy on a *validation* draw of ``test_size`` sequences reaches
    0.99 (checked every ``steps // 4`` steps); the returned accuracy is measured afterwards on
    a separate *test* draw of ``test_size`` sequences, which never decided anything.

    The defaults are lesson 02's (Adam, lr 1e-2 with cosine decay, clipping at norm 1, batch
    32, 250 steps, width 32, gate bias 3 (tuned for this task), 4 classes, 12 symbols shared by
    classes and distractors). ``benchmarks/calibrate_lessons.py recall`` prints the accuracy
    of every model and distance over several seeds; the lesson's notes quote its ranges.
    """
    vocab = synthetic.recall_vocab_size(num_classes, num_distractor_symbols)
    with seeded(seed):
        model = make_classifier(kind, vocab, num_classes, width, gate_bias=gate_bias)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return synthetic.first_token_recall(batch_size, num_distractors, num_classes,
                                            num_distractor_symbols, shared_symbols=shared_symbols,
                                            seed=seed * 1_000_003 + step)

    def loss_fn(m: nn.Module, b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return nn.functional.cross_entropy(m(b[0]), b[1])

    def draw(draw_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        # negative seeds: never one of the training batches' (seed * 1_000_003 + step)
        return synthetic.first_token_recall(test_size, num_distractors, num_classes,
                                            num_distractor_symbols,
                                            shared_symbols=shared_symbols, seed=draw_seed)

    x_val, y_val = draw(-1_000_001 - seed)
    x_test, y_test = draw(-1 - seed)

    def accuracy(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return (m(x).argmax(-1) == y).float().mean().item()

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    # cosine decay to 0: large steps early, small late, so a model that has found the
    # solution does not bounce out of it again near the end of the budget
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    history = train(model, batch, loss_fn, steps=steps, optimizer=optimizer,
                    scheduler=scheduler, clip_norm=1.0,
                    eval_fn=lambda m: {"val_acc": accuracy(m, x_val, y_val)},
                    eval_every=max(steps // 4, 1),
                    stop_when=lambda metrics: metrics["val_acc"] >= 0.99,
                    desc=f"{kind} T={num_distractors}", progress=progress)
    return RecallResult(kind, num_distractors, accuracy(model, x_test, y_test), model, history)


def train_adding(*, length: int, clip_norm: float | None, steps: int = 200, lr: float = 0.5,
                 hidden_size: int = 32, spectral_radius: float = 2.0, batch_size: int = 64,
                 seed: int = 0, progress: bool = True) -> tuple[list[float], bool]:
    """Train :class:`AddingRegressor` with plain SGD, with or without gradient clipping.

    A recurrent matrix with spectral radius above 1 and a large learning rate make the
    unclipped run blow up; clipping caps every step's length. Returns the per-step losses
    (cut short if a loss became inf/NaN) and whether the run diverged.
    """
    with seeded(seed):
        model = AddingRegressor(AddingRegressorConfig(
            hidden_size=hidden_size, spectral_radius=spectral_radius, matrix_seed=seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return synthetic.adding_problem(batch_size, length, seed=seed * 1_000_003 + step)

    losses: list[float] = []  # recorded here too, so a run that blows up keeps its curve

    def loss_fn(m: nn.Module, b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        loss = nn.functional.mse_loss(m(b[0]), b[1])
        if torch.isfinite(loss):
            losses.append(loss.item())
        return loss

    try:
        train(model, batch, loss_fn, steps=steps, optimizer=optimizer, clip_norm=clip_norm,
              desc=f"SGD, clip={clip_norm}", progress=progress)
    except FloatingPointError:  # train() refuses to step on an inf/NaN loss
        return losses, True
    return losses, False


def symbol_accuracy_by_length(model: Seq2Seq, data: synthetic.Seq2SeqData) -> dict[int, float]:
    """Greedy-decoding per-symbol accuracy (EOS not counted), grouped by source length.

    ``data`` is a copy or reversal task of :mod:`course_lib.data.synthetic` (its special ids).
    """
    steps = int(data.src_lengths.max())
    predicted = predict_ids(model, data.src, synthetic.BOS_ID, synthetic.EOS_ID, steps)
    target = data.tgt_out[:, :steps]
    real = torch.arange(steps)[None, :] < data.src_lengths[:, None]
    correct = (predicted == target) & real
    result = {}
    for length in sorted(set(data.src_lengths.tolist())):
        rows = data.src_lengths == length
        result[int(length)] = (correct[rows].sum() / real[rows].sum()).item()
    return result


def time_rnn_vs_attention(lengths: list[int], *, width: int = 64, batch_size: int = 8,
                          num_heads: int = 4, repeats: int = 5,
                          seed: int = 0) -> dict[str, list[float]]:
    """Seconds per forward pass at each length, for an RNN and a self-attention layer.

    ``"rnn loop"`` is :class:`SimpleRNN` (one Python step per position, like the maths),
    ``"rnn fused"`` is ``torch.nn.RNN`` (a C++ loop, still one step after another),
    ``"self-attention"`` is :class:`course_lib.attention.MultiHeadAttention`, every position
    at once. Input (B, T, width).
    """
    with seeded(seed):
        loop, fused = SimpleRNN(width, width), nn.RNN(width, width, batch_first=True)
        attention = MultiHeadAttention(width, num_heads)
    generator = torch.Generator().manual_seed(seed)  # inputs from our own stream
    times: dict[str, list[float]] = {"rnn loop": [], "rnn fused": [], "self-attention": []}
    models = {"rnn loop": loop, "rnn fused": fused, "self-attention": attention}
    with torch.no_grad():
        for length in lengths:
            x = torch.randn(batch_size, length, width, generator=generator)
            for name, model in models.items():
                times[name].append(median_seconds(lambda m=model, x=x: m(x), repeats))
    return times
