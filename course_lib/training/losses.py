"""Sequence losses and metrics: label-smoothed cross-entropy with padding ignored, accuracies.

:func:`label_smoothed_cross_entropy` writes out what
``torch.nn.functional.cross_entropy(..., label_smoothing=eps, ignore_index=pad)`` computes,
so a lesson can show each term; the tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "REDUCTIONS", "label_smoothed_cross_entropy", "sequence_cross_entropy", "token_accuracy",
    "sequence_exact_match", "string_matches", "string_exact_match",
]


REDUCTIONS = ("mean", "sum", "none")


def label_smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, *,
                                 smoothing: float = 0.0, ignore_index: int | None = None,
                                 reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy against a smoothed target distribution, skipping padding positions.

    Label smoothing (Szegedy et al. 2016; used with eps = 0.1 by Vaswani et al. 2017) trains
    against ``(1 - eps) * one_hot(target) + eps / V`` instead of the one-hot target. Its
    cross-entropy with the model's log-probabilities splits into two terms::

        loss = (1 - eps) * (-log p[target])  +  eps * mean_v(-log p[v])

    The first is the usual negative log-likelihood; the second pulls every log-probability
    up a little, so the model is never rewarded for infinitely confident logits. As in
    PyTorch, the eps / V share goes to all V classes, the target and padding included.

    Args:
        logits: ``(..., V)`` unnormalised scores, e.g. ``(B, T, V)`` from a decoder.
        targets: ``(...)`` class ids, e.g. ``(B, T)``.
        smoothing: eps in [0, 1).
        ignore_index: positions whose target equals it (padding) contribute nothing.
        reduction: ``"mean"`` over the positions not ignored, ``"sum"``, or ``"none"``
            (per-position losses, zero where ignored).

    Unlike PyTorch, whose mean over zero positions is NaN, a batch with every position
    ignored gives a loss of 0 (no NaN in a training loop).
    """
    if logits.dim() < 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(f"targets: expected shape {tuple(logits.shape[:-1])} "
                         f"(logits without the class axis), got {tuple(targets.shape)}")
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing: expected a value in [0, 1), got {smoothing}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    # half-precision logits are upcast: a log-softmax over many classes needs the range
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    log_probs = F.log_softmax(logits, dim=-1)
    keep = torch.ones_like(targets, dtype=torch.bool) if ignore_index is None \
        else targets != ignore_index
    # gather needs a valid index even where the target is padding; those rows are zeroed below
    safe_targets = torch.where(keep, targets, torch.zeros_like(targets))
    nll = -log_probs.gather(-1, safe_targets.unsqueeze(-1)).squeeze(-1)
    uniform = -log_probs.mean(dim=-1)
    per_position = ((1.0 - smoothing) * nll + smoothing * uniform) * keep
    if reduction == "none":
        return per_position
    total = per_position.sum()
    if reduction == "sum":
        return total
    return total / keep.sum().clamp(min=1)


def sequence_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, *, pad_id: int,
                           smoothing: float = 0.0) -> torch.Tensor:
    """The fast path: PyTorch's fused cross-entropy on ``(B, T, V)`` logits and ``(B, T)``
    targets, padding ignored; equal to :func:`label_smoothed_cross_entropy` (tested)."""
    if logits.dim() != 3 or logits.shape[:2] != targets.shape:
        raise ValueError(f"logits, targets: expected (B, T, V) and (B, T), got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=pad_id, label_smoothing=smoothing)


def _as_padded(sequences: torch.Tensor | Sequence[Sequence[int]], pad_id: int,
               length: int) -> torch.Tensor:
    """A ``(B, length)`` long tensor: ``sequences`` right-padded with ``pad_id`` or truncated."""
    if isinstance(sequences, torch.Tensor):
        if sequences.dim() != 2:
            raise ValueError(f"predictions: expected a (B, T) tensor, got shape "
                             f"{tuple(sequences.shape)}")
        rows = sequences[:, :length]
        fill = torch.full((rows.shape[0], length - rows.shape[1]), pad_id, dtype=rows.dtype,
                          device=rows.device)
        return torch.cat([rows, fill], dim=1).long()
    out = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    for i, seq in enumerate(sequences):
        seq = list(seq)[:length]
        out[i, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out


def _aligned(predictions, targets: torch.Tensor, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    if targets.dim() != 2:
        raise ValueError(f"targets: expected a (B, T) tensor, got shape {tuple(targets.shape)}")
    predictions = _as_padded(predictions, pad_id, targets.shape[1]).to(targets.device)
    if predictions.shape[0] != targets.shape[0]:
        raise ValueError(f"predictions: expected {targets.shape[0]} sequences (as in targets), "
                         f"got {predictions.shape[0]}")
    return predictions, targets != pad_id


def token_accuracy(predictions: torch.Tensor | Sequence[Sequence[int]], targets: torch.Tensor,
                   *, pad_id: int) -> float:
    """Fraction of real (non-padding) target tokens that the prediction gets right.

    ``predictions`` is a ``(B, T')`` tensor or a list of id lists; it is padded or cut to the
    targets' length T, so position t of the prediction is compared with position t of the
    target. ``targets`` is ``(B, T)`` with ``pad_id`` after each sequence's end.
    """
    predictions, real = _aligned(predictions, targets, pad_id)
    correct = (predictions == targets) & real
    return float(correct.sum()) / max(int(real.sum()), 1)


def sequence_exact_match(predictions: torch.Tensor | Sequence[Sequence[int]],
                         targets: torch.Tensor, *, pad_id: int) -> float:
    """Fraction of sequences whose every real target token is predicted right.

    Include the end-of-sequence token in ``targets``: then a prediction that runs on past
    the target's end fails at the ``<eos>`` position, and whatever a decoder emits after its
    ``<eos>`` does not matter. ``predictions`` as in :func:`token_accuracy`.
    """
    predictions, real = _aligned(predictions, targets, pad_id)
    wrong = (predictions != targets) & real
    return float((~wrong.any(dim=1)).float().mean()) if targets.shape[0] else 0.0


def string_matches(predictions: Sequence[str], targets: Sequence[str]) -> torch.Tensor:
    """``(N,)`` bool: which decoded strings equal their targets exactly."""
    if len(predictions) != len(targets):
        raise ValueError(f"predictions: expected {len(targets)} strings (as in targets), "
                         f"got {len(predictions)}")
    return torch.tensor([p == t for p, t in zip(predictions, targets, strict=True)],
                        dtype=torch.bool)


def string_exact_match(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """Fraction of decoded strings equal to their targets (the metric lesson 04 reports)."""
    matches = string_matches(predictions, targets)
    return float(matches.float().mean()) if len(matches) else 0.0
