"""Small helpers about tensors and arrays that every layer of the library may use (a leaf:
imports nothing from it, and not even torch at import time, so the exercise checks that use
:func:`to_numpy` start fast)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["to_numpy", "tensor_bytes"]


def to_numpy(x: Any, dtype: Any = None) -> np.ndarray:
    """A tensor (any device, with or without grad), array, scalar or nested list as a NumPy
    array, optionally of ``dtype``."""
    if hasattr(x, "detach"):  # a torch.Tensor, recognised without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def tensor_bytes(*tensors: torch.Tensor | None) -> int:
    """Bytes held by the given tensors (``None`` counts 0): ``numel * element_size``."""
    return sum(t.numel() * t.element_size() for t in tensors if t is not None)
