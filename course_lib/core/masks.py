"""Boolean attention masks: ``True`` means "this query may attend to this key".

The polarity follows ``torch.nn.functional.scaled_dot_product_attention``. Beware that
``torch.nn.MultiheadAttention``'s ``key_padding_mask`` and bool ``attn_mask`` use the
opposite one (``True`` = ignore); :func:`to_torch_polarity` converts.

Shapes: ``B`` batch, ``T`` query (target) length, ``S`` key (source) length.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "causal_mask", "padding_mask", "to_torch_polarity", "check_mask",
]


def causal_mask(T: int, S: int | None = None, device: torch.device | str | None = None
                ) -> torch.Tensor:
    """Causal (look-ahead) mask of shape ``(T, S)``: ``True`` where key ``j <= i + (S - T)``.

    With ``S > T`` the ``T`` queries are taken to be the *last* ``T`` positions of an
    ``S``-long sequence (the situation with a KV cache: ``S - T`` tokens are already
    cached), so query ``i`` sits at absolute position ``i + S - T``.
    """
    S = T if S is None else S
    if T < 0 or S < 0:
        raise ValueError(f"causal_mask: expected non-negative T and S, got T={T}, S={S}")
    return torch.ones(T, S, dtype=torch.bool, device=device).tril(diagonal=S - T)


def padding_mask(lengths: torch.Tensor | Sequence[int], max_len: int | None = None
                 ) -> torch.Tensor:
    """Key padding mask of shape ``(B, S)``: ``True`` at the real (non-padding) tokens.

    ``lengths`` has shape ``(B,)``; ``S = max_len`` or ``max(lengths)``.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1:
        raise ValueError(f"lengths: expected shape (B,), got {tuple(lengths.shape)}")
    longest = int(lengths.max()) if lengths.numel() else 0
    if max_len is None:
        max_len = longest
    elif max_len < longest:
        raise ValueError(f"max_len: expected >= the longest length {longest}, got {max_len}")
    if lengths.numel() and int(lengths.min()) < 0:
        raise ValueError(f"lengths: expected non-negative values, got {lengths.tolist()}")
    positions = torch.arange(max_len, device=lengths.device)
    return positions[None, :] < lengths[:, None]


def to_torch_polarity(mask: torch.Tensor | None) -> torch.Tensor | None:
    """Flip a course mask (``True`` = may attend) into torch.nn.MultiheadAttention's
    convention (``True`` = ignore), or back. Shape unchanged; ``None`` stays ``None``."""
    return None if mask is None else ~mask


def check_mask(mask: torch.Tensor, name: str, target_shape: Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``mask`` is bool and broadcastable to ``target_shape``.

    "Broadcastable" here means the mask does not enlarge the target: it has at most as
    many dims, and each of its trailing dims is 1 or equal to the target's.
    """
    target_shape = tuple(int(n) for n in target_shape)
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"{name}: expected a bool tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise ValueError(f"{name}: expected a bool mask, got {mask.dtype}")
    shape = tuple(mask.shape)
    ok = len(shape) <= len(target_shape) and all(
        m in (1, t) for m, t in zip(reversed(shape), reversed(target_shape), strict=False))
    if not ok:
        raise ValueError(
            f"{name}: expected shape broadcastable to {target_shape}, got {shape}")
