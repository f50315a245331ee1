"""Soft vs hard attention on a toy "find the flagged item" task.

*Soft* attention takes a weighted average of all values: every step is differentiable and
the gradient is exact. *Hard* attention picks one position, sampled from the attention
distribution (Xu et al. 2015, "Show, Attend and Tell"): cheaper at inference, but the pick
is discrete, so backpropagation cannot reach the scores. The score network is trained
with the score-function (REINFORCE, Williams 1992) estimator instead::

    d/dθ E_j[loss_j] = E_j[ loss_j * d/dθ log p_θ(j) ]  ~=  (loss_j - b) * d/dθ log p_θ(j)

for one sampled j. Subtracting a baseline b (here a running mean of the loss) leaves the
expectation unchanged, since E_j[d/dθ log p_θ(j)] = 0, and reduces the variance.

The task: a sequence of S items; each key is ``[flag, one-hot label, noise]`` and each value
is the one-hot label. Exactly one item is flagged; the answer is the flagged item's label.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core.modules import evaluating
from course_lib.core.validation import check_positive_ints

__all__ = [
    "PointerBatch", "make_pointer_task", "PointerClassifierConfig", "PointerClassifier",
    "soft_loss", "reinforce_loss",
    "expected_loss", "pointer_accuracy", "score_gradient", "gradient_statistics",
]


@dataclass
class PointerBatch:
    """keys (N, S, 1 + C + noise_dim), values (N, S, C) one-hot, labels (N,), flagged (N,)."""

    keys: torch.Tensor
    values: torch.Tensor
    labels: torch.Tensor
    flagged: torch.Tensor

    def __getitem__(self, index) -> PointerBatch:
        return PointerBatch(self.keys[index], self.values[index], self.labels[index],
                            self.flagged[index])

    def __len__(self) -> int:
        return self.labels.shape[0]


def make_pointer_task(n: int, seq_len: int = 10, num_classes: int = 4, noise_dim: int = 4,
                      generator: torch.Generator | None = None) -> PointerBatch:
    """``n`` random sequences of ``seq_len`` items with one flagged item each."""
    if n < 1 or seq_len < 2 or num_classes < 2 or noise_dim < 0:
        raise ValueError(f"n, seq_len, num_classes, noise_dim: expected >= 1, >= 2, >= 2, >= 0, "
                         f"got {n}, {seq_len}, {num_classes}, {noise_dim}")
    item_labels = torch.randint(num_classes, (n, seq_len), generator=generator)
    flagged = torch.randint(seq_len, (n,), generator=generator)
    flag = F.one_hot(flagged, seq_len).float()[:, :, None]  # (N, S, 1)
    values = F.one_hot(item_labels, num_classes).float()  # (N, S, C)
    noise = torch.randn(n, seq_len, noise_dim, generator=generator)
    keys = torch.cat([flag, values, noise], dim=-1)
    labels = item_labels.gather(1, flagged[:, None]).squeeze(1)
    return PointerBatch(keys, values, labels, flagged)


@dataclass(kw_only=True)
class PointerClassifierConfig:
    """Sizes of a :class:`PointerClassifier`; ``hard=True`` picks one position."""

    key_dim: int
    num_classes: int
    hard: bool = False

    def __post_init__(self) -> None:
        check_positive_ints(self, "key_dim", "num_classes")


class PointerClassifier(nn.Module):
    """Scores each key with a linear layer, attends, classifies the attended value.

    ``hard=False``: soft attention, ``context = sum_j p_j v_j``.
    ``hard=True``: ``context = v_j`` for one ``j`` sampled from ``p`` (training) or the
    most probable ``j`` (evaluation).

    Built from a :class:`PointerClassifierConfig`.
    ``forward(keys (B, S, dk), values (B, S, C))`` -> ``(logits (B, C), probs (B, S),
    picked (B,) or None)``.
    """

    def __init__(self, config: PointerClassifierConfig) -> None:
        super().__init__()
        self.config = config
        key_dim, num_classes, hard = config.key_dim, config.num_classes, config.hard
        self.score = nn.Linear(key_dim, 1)
        self.classify = nn.Linear(num_classes, num_classes)
        self.hard = hard
        self.register_buffer("baseline", torch.zeros(()))  # running mean loss (REINFORCE)

    def forward(self, keys: torch.Tensor, values: torch.Tensor,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``keys (B, S, dk)``, ``values (B, S, C)`` -> ``(logits (B, C), probs (B, S),
        picked (B,) or None)``; ``picked`` (the chosen position) only for hard attention."""
        probs = torch.softmax(self.score(keys).squeeze(-1), dim=-1)  # (B, S)
        if not self.hard:
            context = torch.bmm(probs[:, None, :], values).squeeze(1)  # (B, C)
            return self.classify(context), probs, None
        if self.training:
            picked = torch.multinomial(probs.detach(), 1, generator=generator).squeeze(1)
        else:
            picked = probs.argmax(dim=-1)
        context = values[torch.arange(values.shape[0]), picked]  # no gradient reaches probs
        return self.classify(context), probs, picked


def soft_loss(model: PointerClassifier, batch: PointerBatch) -> torch.Tensor:
    """Cross-entropy of the soft-attention model: exact gradients by backpropagation."""
    logits, _, _ = model(batch.keys, batch.values)
    return F.cross_entropy(logits, batch.labels)


def reinforce_loss(model: PointerClassifier, batch: PointerBatch, use_baseline: bool = True,
                   baseline_decay: float = 0.9, generator: torch.Generator | None = None
                   ) -> torch.Tensor:
    """Surrogate loss whose gradient is the REINFORCE estimate for a hard-attention model.

    ``CE + (CE.detach() - b) * log p(picked)``: the first term trains the classifier (its
    path is differentiable), the second the scorer. ``b`` is the running mean of the loss
    *before* this batch, so it does not depend on this batch's samples (which keeps the
    estimate unbiased); it is then updated with ``baseline_decay``.
    """
    if not model.hard:
        raise ValueError("model: expected a hard-attention PointerClassifier (hard=True), "
                         "got a soft one; use soft_loss")
    logits, probs, picked = model(batch.keys, batch.values, generator=generator)
    per_item = F.cross_entropy(logits, batch.labels, reduction="none")  # (B,)
    log_p = torch.log(probs.gather(1, picked[:, None]).squeeze(1) + 1e-12)
    baseline = model.baseline if use_baseline else torch.zeros(())
    advantage = per_item.detach() - baseline
    if use_baseline and model.training:
        with torch.no_grad():
            model.baseline.mul_(baseline_decay).add_((1 - baseline_decay) * per_item.mean())
    return (per_item + advantage * log_p).mean()


def expected_loss(model: PointerClassifier, batch: PointerBatch) -> torch.Tensor:
    """Exact expected cross-entropy of the hard model, ``mean_b sum_j p_j CE_j``.

    Enumerates every pick, so it is differentiable; tests use its gradient as the truth the
    REINFORCE estimate must match on average.
    """
    probs = torch.softmax(model.score(batch.keys).squeeze(-1), dim=-1)  # (B, S)
    logits = model.classify(batch.values)  # (B, S, C): the classifier's output for every pick
    B, S, _ = logits.shape
    ce = F.cross_entropy(logits.reshape(B * S, -1), batch.labels.repeat_interleave(S),
                         reduction="none").reshape(B, S)
    return (probs * ce).sum(-1).mean()


@torch.no_grad()
def pointer_accuracy(model: PointerClassifier, batch: PointerBatch) -> float:
    """Fraction classified correctly (hard attention picks the most probable item)."""
    with evaluating(model):
        logits, _, _ = model(batch.keys, batch.values)
    return (logits.argmax(-1) == batch.labels).float().mean().item()


def score_gradient(model: PointerClassifier, loss: torch.Tensor) -> torch.Tensor:
    """The gradient of ``loss`` with respect to the scorer's weights, flattened."""
    grads = torch.autograd.grad(loss, [model.score.weight, model.score.bias])
    return torch.cat([g.reshape(-1) for g in grads])


def gradient_statistics(model: PointerClassifier, data: PointerBatch, batch_size: int,
                        draws: int, use_baseline: bool = True,
                        generator: torch.Generator | None = None) -> dict[str, float]:
    """Spread of the scorer's gradient estimate over ``draws`` random mini-batches.

    Each draw takes a fresh mini-batch (and, for hard attention, fresh samples). Returns
    ``variance`` (summed over parameters), ``signal`` (squared norm of the mean gradient) and
    ``snr = signal / variance``: how much of one step points the right way.
    """
    model.train()
    saved = model.baseline.clone()
    grads = []
    for _ in range(draws):
        index = torch.randint(len(data), (batch_size,), generator=generator)
        batch = data[index]
        if model.hard:
            loss = reinforce_loss(model, batch, use_baseline=use_baseline, generator=generator)
            model.baseline.copy_(saved)  # measuring must not move the baseline
        else:
            loss = soft_loss(model, batch)
        grads.append(score_gradient(model, loss))
    g = torch.stack(grads)  # (draws, P)
    variance = g.var(dim=0).sum().item()
    signal = g.mean(dim=0).pow(2).sum().item()
    return {"variance": variance, "signal": signal, "snr": signal / max(variance, 1e-30)}
