"""Change a trained model's attention weights and watch the output: is the map faithful?

Jain & Wallace (2019) asked whether attention weights *explain* a prediction by replacing
them (permuted, or adversarial) and measuring how much the output moves; Wiegreffe &
Pinter (2019) answered that it depends on the model and the task, and that such tests must
be run, not assumed. :func:`run_with_attention` does the replacement on any
:class:`course_lib.attention.MultiHeadAttention` inside a model with PyTorch forward hooks,
so no model code changes.

How: a first pass records the layer's weights ``W (B, H, T, S)``. In the second pass a
forward hook recomputes the layer's output from the weights ``P`` you chose,
``out_proj(merge_heads(P @ V))`` with ``V`` the layer's own value heads: the layer attends
with exactly ``P``, and everything else (its projections, the rest of the model) is as
trained. Why not add the bias ``log P - log W`` to the scores, which looks simpler? A
peaked softmax underflows to ``W = 0`` in float32, where ``log W`` no longer tells the
score, and the weights realised that way can miss ``P`` badly; the tests check a layer with
such peaked weights.

Shapes: ``B`` batch, ``H`` heads, ``T`` queries, ``S`` keys, ``Dh`` head width.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.attention import MultiHeadAttention
from course_lib.attention.multihead import merge_heads

__all__ = ["capture_attention", "run_with_attention", "permute_keys", "uniform_like"]


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


def _value_heads(module: MultiHeadAttention, args: tuple, kwargs: dict) -> torch.Tensor:
    """The value heads ``(B, H, S, Dh)`` that ``module`` computes for this call's inputs
    (key/value heads shared by a group of query heads are repeated, as the layer does)."""
    if kwargs.get("cache") is not None:
        raise ValueError("module: expected a call without a KV cache, got cache=...; "
                         "replace the weights of a full forward pass instead")
    # MultiHeadAttention is called as (query, key=query, value=key), GroupedQueryAttention
    # as (x): the values are read from the last of these that was given.
    query = args[0] if args else kwargs.get("query", kwargs.get("x"))
    key = args[1] if len(args) > 1 else kwargs.get("key")
    value = args[2] if len(args) > 2 else kwargs.get("value")
    value = value if value is not None else key if key is not None else query
    B, S, _ = value.shape
    Dh = module.head_dim
    v = module.v_proj(value).view(B, S, -1, Dh).transpose(1, 2)  # (B, G, S, Dh)
    return v.repeat_interleave(module.num_heads // v.shape[1], dim=1)


def run_with_attention(module: MultiHeadAttention, fn: Callable[[], Any],
                       transform: Callable[[torch.Tensor], torch.Tensor]
                       ) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """Run ``fn()`` with ``module``'s weights ``W`` replaced by ``transform(W)``.

    ``transform`` maps ``(B, H, T, S)`` weights to new weights of the same shape (rows that
    sum to 1, for a distribution; they are used as given, masked keys included). ``fn`` must
    be deterministic (eval mode, or no dropout) and call ``module`` once, without a KV
    cache. Returns ``(result with the new weights, W, new weights)``; a caller that asks the
    layer for its weights gets the new ones.
    """
    if module.training and module.dropout > 0:
        raise ValueError(f"module: expected eval mode or dropout 0, got training mode with "
                         f"dropout={module.dropout}")
    _, original = capture_attention(module, fn)
    replaced = transform(original)
    if replaced.shape != original.shape:
        raise ValueError(f"transform: expected weights of shape {tuple(original.shape)}, "
                         f"got {tuple(replaced.shape)}")

    def attend_with_replaced(_module, args, kwargs, output):
        v = _value_heads(module, args, kwargs)                       # (B, H, S, Dh)
        out = module.out_proj(merge_heads(replaced.to(v.dtype) @ v))  # (B, T, D)
        return out, (None if output[1] is None else replaced)

    handle = module.register_forward_hook(attend_with_replaced, with_kwargs=True)
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
