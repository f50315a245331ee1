"""Change a trained model's attention weights and watch the output: is the map faithful?

Jain & Wallace (2019) asked whether attention weights *explain* a prediction by replacing
them (permuted, or adversarial) and measuring how much the output moves; Wiegreffe &
Pinter (2019) answered that it depends on the model and the task, and that such tests must
be run, not assumed. :func:`run_with_attention` does the replacement on any
:class:`course_lib.attention.MultiHeadAttention` inside a model, through the layer's public
``attn_bias`` argument and PyTorch forward hooks, so no model code changes.

How: a first pass records the layer's weights ``W = softmax(S)`` for scores ``S``. The
second pass adds the bias ``log P - log W`` to the scores, and since ``log W = S - c`` (one
constant ``c`` per row), ``softmax(S + log P - log W) = softmax(log P + c) = P``: the layer
now attends with the weights ``P`` you chose, and everything else is unchanged.

Shapes: ``B`` batch, ``H`` heads, ``T`` queries, ``S`` keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.attention import MultiHeadAttention

__all__ = ["capture_attention", "run_with_attention", "permute_keys", "uniform_like"]

_TINY = 1e-12  # log of a zero weight (a masked key) stays finite; such keys keep weight ~0


def capture_attention(module: MultiHeadAttention, fn: Callable[[], Any]
                      ) -> tuple[Any, torch.Tensor]:
    """Run ``fn()`` and return ``(its result, the weights (B, H, T, S) of module's last call)``.

    The layer is made to compute its weights (the readable path) even where the model does
    not ask for them; the model still receives what it asked for.
    """
    captured: list[torch.Tensor] = []
    asked: list[bool] = []  # what the caller asked for, to hand back the same form

    def ask_for_weights(_module, args, kwargs):
        asked.append(bool(kwargs.get("need_weights", False)))
        return args, {**kwargs, "need_weights": True}

    def record(_module, _args, _kwargs, output):
        captured.append(output[1].detach())
        return output if asked.pop() else (output[0], None)

    handles = [module.register_forward_pre_hook(ask_for_weights, with_kwargs=True),
               module.register_forward_hook(record, with_kwargs=True)]
    try:
        result = fn()
    finally:
        for handle in handles:
            handle.remove()
    if not captured:
        raise ValueError("module: it was not called by fn(); pass a MultiHeadAttention the "
                         "model uses")
    return result, captured[-1]


def run_with_attention(module: MultiHeadAttention, fn: Callable[[], Any],
                       transform: Callable[[torch.Tensor], torch.Tensor]
                       ) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """Run ``fn()`` with ``module``'s weights ``W`` replaced by ``transform(W)``.

    ``transform`` maps ``(B, H, T, S)`` weights to new weights of the same shape whose rows
    sum to 1. ``fn`` must be deterministic (eval mode) and call ``module`` once. Returns
    ``(result with the new weights, W, new weights)``.
    """
    _, original = capture_attention(module, fn)
    replaced = transform(original)
    if replaced.shape != original.shape:
        raise ValueError(f"transform: expected weights of shape {tuple(original.shape)}, "
                         f"got {tuple(replaced.shape)}")
    bias = replaced.clamp_min(_TINY).log() - original.clamp_min(_TINY).log()

    def add_bias(_module, args, kwargs):
        kwargs = dict(kwargs)
        old = kwargs.get("attn_bias")
        kwargs["attn_bias"] = bias if old is None else old + bias
        return args, kwargs

    handle = module.register_forward_pre_hook(add_bias, with_kwargs=True)
    try:
        result = fn()
    finally:
        handle.remove()
    return result, original, replaced


def permute_keys(weights: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Shuffle each row's weights over the keys (one random permutation per batch item and
    head): the same distribution of weight, put on other keys. ``(B, H, T, S)`` -> same.
    Meant for unmasked keys (image patches): a permutation may move weight onto padding."""
    generator = torch.Generator().manual_seed(seed)
    B, H, _, S = weights.shape
    order = torch.stack([torch.randperm(S, generator=generator) for _ in range(B * H)])
    order = order.view(B, H, 1, S).expand_as(weights).to(weights.device)
    return weights.gather(-1, order)


def uniform_like(weights: torch.Tensor) -> torch.Tensor:
    """Equal weight on every key: ``(B, H, T, S)`` filled with ``1 / S``."""
    return torch.full_like(weights, 1.0 / weights.shape[-1])
