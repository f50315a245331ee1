"""Small tensor helpers every layer of the library may use (a leaf: imports nothing from it)."""

from __future__ import annotations

import torch

__all__ = ["tensor_bytes"]


def tensor_bytes(*tensors: torch.Tensor | None) -> int:
    """Bytes held by the given tensors (``None`` counts 0): ``numel * element_size``."""
    return sum(t.numel() * t.element_size() for t in tensors if t is not None)
