"""Training and evaluating a next-token language model: the loss, and the loss by position.

``model(x (B, T)) -> logits (B, T, V)``; batches are ``(x, y)`` windows from
:mod:`course_lib.data.text` (``y`` is ``x`` shifted by one).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from course_lib.core.modules import evaluating
from course_lib.data.text import sequential_windows

__all__ = ["lm_loss", "loss_by_position", "evaluate_loss"]


def lm_loss(model: torch.nn.Module, batch: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) of ``model(x) -> (B, T, V)`` logits against ``y``."""
    x, y = batch
    device = next(model.parameters()).device  # batches are made on the CPU
    logits = model(x.to(device))
    y = y.to(device)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


@torch.no_grad()
def loss_by_position(model: torch.nn.Module, ids: torch.Tensor, max_len: int, *,
                     batch_size: int = 128, max_windows: int | None = None) -> torch.Tensor:
    """Mean cross-entropy (nats) at each window position, ``(T,)``, over non-overlapping
    windows of ``ids``.

    Position ``t`` predicts a character from the ``t + 1`` characters before it in its
    window, so the curve shows how much the model gains from context.
    """
    x, y = sequential_windows(ids, max_len, max_windows)
    device = next(model.parameters()).device
    total = torch.zeros(max_len, dtype=torch.float64)
    with evaluating(model):
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size].to(device)
            yb = y[start:start + batch_size].to(device)
            logits = model(xb)  # (b, T, V)
            losses = F.cross_entropy(logits.transpose(1, 2), yb, reduction="none")  # (b, T)
            total += losses.sum(dim=0).double().cpu()
    return (total / len(x)).float()


def evaluate_loss(model: torch.nn.Module, ids: torch.Tensor, max_len: int, *,
                  batch_size: int = 128, max_windows: int | None = None) -> float:
    """Mean cross-entropy in nats per character over non-overlapping windows of ``ids``.

    Every character of the covered text is predicted once; the first ones of each window
    see little context, so this is slightly pessimistic compared with a sliding window.
    (Every window has the same length, so this is the mean of :func:`loss_by_position`.)
    """
    per_position = loss_by_position(model, ids, max_len, batch_size=batch_size,
                                     max_windows=max_windows)
    return float(per_position.double().mean())
