"""Finding induction heads and knocking them out (lesson 10); lesson 06 measures its GPT's
previous-character heads with :func:`previous_token_scores`.

An *induction head* (Elhage et al. 2021; Olsson et al. 2022) completes ``[A][B] ... [A] ->
[B]``: at the second ``A`` it attends to the token just after the first ``A`` and copies
it. In a two-layer model it needs a partner in the layer below, a *previous-token head*
that writes each token's predecessor into its position, so the induction head's query
(``A``) can match keys that say "my previous token was ``A``".

On a sequence made of a random span followed by itself
(:func:`course_lib.data.incontext.repeated_halves`, span ``L``), position ``t >= L`` has
its earlier copy at ``t - L``:

* :func:`previous_token_scores`: each head's mean weight on key ``t - 1``;
* :func:`induction_scores`: each head's mean weight on key ``t - L + 1`` (after the copy),
  over the second half;
* :func:`ablate_heads`: a context manager that zeroes chosen heads' outputs (before the
  output projection), so a measurement can be repeated without them.

Works with any model whose attention layers are :class:`course_lib.attention.MultiHeadAttention`
(or subclasses) and that returns ``(logits, maps)`` with ``maps["decoder_self"]`` holding one
``(B, H, T, S)`` weight tensor per layer when called with ``need_weights=True``, such as
:class:`course_lib.models.llama.Llama` and :class:`course_lib.models.gpt.GPT`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import torch
import torch.nn.functional as F

from course_lib.attention import MultiHeadAttention
from course_lib.core.modules import evaluating

__all__ = ["attention_maps", "previous_token_scores", "induction_scores", "ablate_heads",
           "loss_by_half", "best_head"]


@torch.no_grad()
def attention_maps(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Attention weights of every layer, ``[L x (B, H, T, T)]``, in eval mode."""
    with evaluating(model):
        _, maps = model(x, need_weights=True)
    return maps["decoder_self"]


def _diagonal_mean(weights: torch.Tensor, offset: int, start: int) -> torch.Tensor:
    """Mean over batch and queries ``t >= start`` of ``weights[..., t, t - offset]`` -> ``(H,)``."""
    T = weights.shape[-1]
    rows = torch.arange(max(start, offset), T)
    return weights[:, :, rows, rows - offset].mean(dim=(0, 2))


def previous_token_scores(maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """``(L, H)``: each head's mean attention from a token to the one just before it."""
    return torch.stack([_diagonal_mean(w, 1, 1) for w in maps])


def induction_scores(maps: Sequence[torch.Tensor], span: int) -> torch.Tensor:
    """``(L, H)``: each head's mean attention, over the repeat (queries ``t >= span``), to
    key ``t - span + 1``: the token that followed the current token's first occurrence."""
    return torch.stack([_diagonal_mean(w, span - 1, span) for w in maps])


def best_head(scores: torch.Tensor) -> tuple[int, int]:
    """``(layer, head)`` of the largest entry of an ``(L, H)`` score table."""
    index = int(scores.argmax())
    return index // scores.shape[1], index % scores.shape[1]


def _attention_layers(model: torch.nn.Module) -> list[MultiHeadAttention]:
    layers = [m for m in model.modules() if isinstance(m, MultiHeadAttention)]
    if not layers:
        raise ValueError("model: expected MultiHeadAttention layers inside, found none")
    return layers


@contextlib.contextmanager
def ablate_heads(model: torch.nn.Module, heads: Mapping[int, Sequence[int]] |
                 Sequence[tuple[int, int]]) -> Iterator[None]:
    """Within the ``with`` block, the chosen heads contribute nothing: their outputs are set
    to zero before each layer's output projection ("zero ablation").

    ``heads``: ``[(layer, head), ...]`` or ``{layer: [heads]}``; layers count the model's
    attention layers in order. The hooks are removed on exit, whatever happens.
    """
    layers = _attention_layers(model)
    pairs = list(heads.items()) if isinstance(heads, Mapping) else [(lay, [h]) for lay, h in heads]
    chosen: dict[int, set[int]] = {}
    for layer, hs in pairs:
        if not 0 <= layer < len(layers):
            raise ValueError(f"heads: layer {layer} out of range, the model has "
                             f"{len(layers)} attention layers")
        for h in hs:
            if not 0 <= h < layers[layer].num_heads:
                raise ValueError(f"heads: head {h} out of range for layer {layer} "
                                 f"({layers[layer].num_heads} heads)")
        chosen.setdefault(layer, set()).update(hs)
    handles = []

    def zero(hs: set[int], Dh: int):
        def hook(_module, args):
            merged = args[0].clone()  # (B, T, H * Dh), heads side by side
            for h in hs:
                merged[..., h * Dh:(h + 1) * Dh] = 0.0
            return (merged, *args[1:])
        return hook

    try:
        for layer, hs in chosen.items():
            attn = layers[layer]
            handles.append(attn.out_proj.register_forward_pre_hook(zero(hs, attn.head_dim)))
        yield
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def loss_by_half(model: torch.nn.Module, x: torch.Tensor, span: int) -> tuple[float, float]:
    """Mean next-token loss (nats) on a repeated-halves batch ``x (B, 2 * span)``:
    ``(first half, second half)``, each leaving out the half's first prediction target.

    The first half is unpredictable (``ln V`` at best); the second half can be copied, so
    ``first - second`` is the gain from the context: the in-context learning score.
    """
    with evaluating(model):
        logits, _ = model(x[:, :-1])
    losses = F.cross_entropy(logits.transpose(1, 2), x[:, 1:], reduction="none")  # (B, T-1)
    # target index j predicts token j + 1; first half: tokens 1..span-1, second: span+1..
    first = losses[:, : span - 1].mean().item()
    second = losses[:, span:].mean().item()
    return first, second
