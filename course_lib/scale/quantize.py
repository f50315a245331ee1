"""Int8 weight quantization: store each weight matrix as 8-bit integers plus one scale per row.

Symmetric "absmax" quantization, row by row: for a row ``w`` of a weight matrix the scale is
``s = max|w| / 127`` and the stored integers are ``q = round(w / s)`` in ``[-127, 127]``;
the model computes with ``q * s``. A matrix of ``R x C`` 32-bit floats (``4 R C`` bytes)
becomes ``R C`` bytes of integers plus ``R`` scales: close to a quarter of the size. One
scale per row (per output channel) rather than one per matrix keeps a row of small weights
from being flattened to zeros by another row's outlier.

This is *weight-only* quantization: the model still multiplies in floating point, with the
dequantized ``q * s``, so it saves memory and memory traffic, not arithmetic. Weights are
the easy part, even in large models. What breaks at scale is quantizing the *activations*
too, as int8 matrix products need: beyond about 6.7 billion parameters a few hidden-state
feature dimensions carry values far larger than the rest, and a scale shared with them
rounds the other features away. LLM.int8() (Dettmers et al. 2022) multiplies those outlier
dimensions in 16-bit and the rest in int8; SmoothQuant (Xiao et al. 2023) rescales each
feature to move the difficulty from the activations into the weights, which absorb it;
GPTQ (Frantar et al. 2023) takes weight-only quantization to 3-4 bits.

Only 2-D floating-point tensors (linear and embedding weights) are quantized; biases and
LayerNorm parameters are tiny and stay in float32.
"""

from __future__ import annotations

import copy
import io

import torch

__all__ = ["quantize_int8", "dequantize_int8", "quantize_state_dict",
           "dequantize_state_dict", "dequantized_copy", "serialized_bytes"]


def quantize_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight (R, C)`` float -> ``(q (R, C) int8, scale (R, 1) float32)``, per row absmax.

    A row of zeros gets scale 1 (any scale represents it exactly) instead of a division by 0.
    """
    if weight.dim() != 2 or not weight.is_floating_point():
        raise ValueError(f"weight: expected a 2-D floating-point matrix, got shape "
                         f"{tuple(weight.shape)} and dtype {weight.dtype}")
    w = weight.detach().float()
    largest = w.abs().amax(dim=1, keepdim=True)  # (R, 1)
    scale = torch.where(largest > 0, largest / 127.0, torch.ones_like(largest))
    q = torch.round(w / scale).clamp(-127, 127).to(torch.int8)
    return q, scale


def dequantize_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``q (R, C) int8, scale (R, 1)`` -> the float32 matrix ``q * scale`` the model uses."""
    if q.dtype != torch.int8:
        raise ValueError(f"q: expected dtype torch.int8, got {q.dtype}")
    if q.dim() != 2 or tuple(scale.shape) != (q.shape[0], 1):
        raise ValueError(f"scale: expected shape ({q.shape[0]}, 1) for q of shape "
                         f"{tuple(q.shape)}, got {tuple(scale.shape)}")
    return q.float() * scale


def quantize_state_dict(model: torch.nn.Module) -> dict[str, object]:
    """``model``'s state dict with every 2-D float tensor replaced by ``{"q", "scale"}``.

    Tied weights (one tensor under two names, like GPT's embedding and output layer) are
    quantized once and the same pair is stored under both names, so saving it stores them
    once, as ``torch.save`` does for the original.
    """
    done: dict[int, dict[str, torch.Tensor]] = {}
    out: dict[str, object] = {}
    for name, tensor in model.state_dict(keep_vars=False).items():
        if tensor.dim() == 2 and tensor.is_floating_point():
            key = tensor.untyped_storage().data_ptr()
            if key not in done:
                q, scale = quantize_int8(tensor)
                done[key] = {"q": q, "scale": scale}
            out[name] = done[key]
        else:
            out[name] = tensor
    return out


def dequantize_state_dict(state: dict[str, object]) -> dict[str, torch.Tensor]:
    """Back to an ordinary float state dict (what :meth:`torch.nn.Module.load_state_dict`
    takes); quantized entries become ``q * scale``."""
    out: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        if isinstance(value, dict):
            out[name] = dequantize_int8(value["q"], value["scale"])
        else:
            out[name] = value
    return out


def dequantized_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose 2-D weights are their int8 round trip (``q * scale``): the
    model an int8-weight inference engine would run, for measuring the loss it costs."""
    twin = copy.deepcopy(model)
    twin.load_state_dict(dequantize_state_dict(quantize_state_dict(model)))
    return twin


def serialized_bytes(obj: object) -> int:
    """Size in bytes of ``torch.save(obj)``: what the weights take on disk."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getbuffer().nbytes
