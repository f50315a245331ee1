"""Small helpers about ``nn.Module``s and randomness that every layer of the library uses:
eval mode for a while, a seeded block that leaves the caller's generator alone, parameter
counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["seeded", "evaluating", "count_parameters"]


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """``with seeded(seed):`` torch's global generator starts from ``seed`` inside (for
    layers such as ``nn.Linear`` that draw their initial weights from it) and is put back
    as it was afterwards, so a library function never changes the caller's random stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``with evaluating(model):`` eval mode (no dropout) inside, the previous mode after,
    even when the body raises."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def count_parameters(model: torch.nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` by default).

    A tensor shared by two layers (tied embeddings) counts once: ``parameters()``
    yields each tensor once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
