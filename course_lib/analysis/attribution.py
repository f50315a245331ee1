"""Which inputs did a prediction use? Gradient-based attributions and attention rollout.

* :func:`gradient_x_input`: ``x * d score / d x`` (Shrikumar et al. 2016; Baehrens et al. 2010
  used the gradient alone). One backward pass; exact for a linear model, a first-order
  guess otherwise.
* :func:`integrated_gradients` (Sundararajan et al. 2017): the gradient averaged along the
  straight path from a baseline (e.g. a black image) to the input, times ``x - baseline``.
  Its attributions add up to ``score(x) - score(baseline)`` ("completeness"), which the tests
  check.
* :func:`attention_rollout` (Abnar & Zuidema 2020): how much each input token flows into
  each output token through a stack of self-attention layers, tracing the residual path too.
* :func:`rank_correlation`: Spearman's rank correlation of two maps, row by row, with tied
  values given their average rank (as ``scipy.stats.spearmanr`` does), for comparing maps.

These answer different questions from a single attention map, and the lesson measures how
far they agree. ``score`` below is the model's logit for the ``target`` class.
Shapes: ``B`` batch, ``K`` classes, ``L`` layers, ``H`` heads, ``T`` tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["gradient_x_input", "integrated_gradients", "attention_rollout",
           "rank_correlation"]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]


def _target_scores(fn: ScoreFn, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    logits = fn(x)
    if logits.dim() != 2 or logits.shape[0] != x.shape[0]:
        raise ValueError(f"fn: expected logits of shape ({x.shape[0]}, K), "
                         f"got {tuple(logits.shape)}")
    if target.shape != (x.shape[0],):
        raise ValueError(f"target: expected shape ({x.shape[0]},), got {tuple(target.shape)}")
    return logits.gather(1, target[:, None]).squeeze(1)  # (B,)


def _gradient(fn: ScoreFn, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = _target_scores(fn, x, target)
        (grad,) = torch.autograd.grad(scores.sum(), x)  # examples are independent: sum is fine
    return grad


def gradient_x_input(fn: ScoreFn, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``inputs (B, ...)``, ``target (B,)`` class ids -> attributions ``(B, ...)``.

    ``fn`` maps a batch of inputs to logits ``(B, K)`` (e.g. a model in eval mode).
    """
    return inputs.detach() * _gradient(fn, inputs, target)


def integrated_gradients(fn: ScoreFn, inputs: torch.Tensor, target: torch.Tensor, *,
                         baseline: torch.Tensor | None = None, steps: int = 32) -> torch.Tensor:
    """Integrated gradients with a ``steps``-point midpoint rule -> attributions ``(B, ...)``.

    ``baseline`` broadcastable to ``inputs`` (default: zeros, a black image).
    """
    if steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps}")
    inputs = inputs.detach()
    baseline = torch.zeros_like(inputs) if baseline is None else baseline.detach()
    try:
        delta = inputs - baseline
    except RuntimeError:
        raise ValueError(f"baseline: expected a shape broadcastable to {tuple(inputs.shape)}, "
                         f"got {tuple(baseline.shape)}") from None
    total = torch.zeros_like(inputs)
    for k in range(steps):
        alpha = (k + 0.5) / steps  # midpoints: more accurate than either end for few steps
        total += _gradient(fn, baseline + alpha * delta, target)
    return delta * total / steps


def attention_rollout(weights: Sequence[torch.Tensor], *, residual: bool = True
                      ) -> torch.Tensor:
    """Attention rollout: ``[L x (B, H, T, T)]`` self-attention weights -> ``(B, T, T)``.

    Each layer's heads are averaged; with ``residual`` the identity is mixed in,
    ``0.5 * A + 0.5 * I`` (the skip connection carries a token's own state forward), and the
    layers are multiplied from the first up: ``R = A_L ... A_2 A_1``. Row ``i`` of ``R``
    says how much of output token ``i`` comes from each input token; rows sum to 1.
    """
    if not weights:
        raise ValueError("weights: expected at least one layer's weights, got none")
    rollout = None
    for layer, w in enumerate(weights):
        if w.dim() != 4 or w.shape[-1] != w.shape[-2]:
            raise ValueError(f"weights[{layer}]: expected shape (B, H, T, T), "
                             f"got {tuple(w.shape)}")
        a = w.mean(dim=1)  # (B, T, T)
        if residual:
            a = 0.5 * a + 0.5 * torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
            a = a / a.sum(dim=-1, keepdim=True)
        if rollout is not None and rollout.shape != a.shape:
            raise ValueError(f"weights[{layer}]: expected shape {tuple(w.shape[:1])} + (H, "
                             f"{rollout.shape[-1]}, {rollout.shape[-1]}), got {tuple(w.shape)}")
        rollout = a if rollout is None else a @ rollout
    return rollout


def _average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks ``0 .. n-1`` along the last axis; tied values share the mean of their ranks."""
    values, order = x.sort(dim=-1)
    n = x.shape[-1]
    starts = torch.ones_like(values, dtype=torch.bool)
    starts[..., 1:] = values[..., 1:] != values[..., :-1]
    group = starts.long().cumsum(-1) - 1                     # tie group of each sorted entry
    position = torch.arange(n, dtype=torch.float64, device=x.device).expand(values.shape)
    total = torch.zeros_like(position).scatter_add(-1, group, position)
    count = torch.zeros_like(position).scatter_add(-1, group, torch.ones_like(position))
    mean_rank = (total / count.clamp_min(1)).gather(-1, group)
    return torch.empty_like(position).scatter(-1, order, mean_rank)


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman's rank correlation of ``a`` and ``b`` ``(..., n)`` along the last axis -> ``(...)``.

    Tied values get their average rank, so a map with many equal entries (say, blank
    patches) is not ranked by an arbitrary order. A row that is constant in ``a`` or ``b``
    has no rank correlation: NaN, as in SciPy.
    """
    if a.shape != b.shape or a.dim() < 1:
        raise ValueError(f"a, b: expected two maps of the same shape (..., n), got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    ra, rb = _average_ranks(a.detach()), _average_ranks(b.detach())
    ra, rb = ra - ra.mean(-1, keepdim=True), rb - rb.mean(-1, keepdim=True)
    return ((ra * rb).sum(-1) / (ra.norm(dim=-1) * rb.norm(dim=-1))).float()
