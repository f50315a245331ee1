"""Attention pooling before deep learning: Nadaraya-Watson kernel regression (1964)."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["nadaraya_watson", "NadarayaWatson"]


def nadaraya_watson(x_query: torch.Tensor, x_keys: torch.Tensor, y_values: torch.Tensor,
                    bandwidth: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nadaraya-Watson kernel regression (1964) with a Gaussian kernel: attention before
    deep learning.

    ``y_hat_i = sum_j w_ij y_j`` with ``w_ij = softmax_j(-(x_i - x_j)^2 / (2 h^2))``.

    Args:
        x_query: ``(Q,)``.  x_keys: ``(K,)``.  y_values: ``(K,)``.  bandwidth: ``h > 0``.

    Returns:
        ``(y_hat (Q,), weights (Q, K))``.
    """
    x_query, x_keys, y_values = (torch.as_tensor(t) for t in (x_query, x_keys, y_values))
    if x_keys.shape != y_values.shape or x_keys.dim() != 1:
        raise ValueError(f"y_values: expected shape {tuple(x_keys.shape)} (that of x_keys, "
                         f"1-D), got {tuple(y_values.shape)}")
    bandwidth = torch.as_tensor(bandwidth, dtype=x_query.dtype)
    if bool((bandwidth <= 0).any()):
        raise ValueError(f"bandwidth: expected > 0, got {bandwidth.tolist()}")
    distance2 = (x_query[:, None] - x_keys[None, :]) ** 2  # (Q, K)
    weights = torch.softmax(-distance2 / (2 * bandwidth**2), dim=-1)
    return weights @ y_values, weights


class NadarayaWatson(nn.Module):
    """Nadaraya-Watson regression with a (learnable) bandwidth.

    The bandwidth is stored as its log so gradient steps keep it positive.
    ``forward(x_query (Q,), x_keys (K,), y_values (K,)) -> (y_hat (Q,), weights (Q, K))``.
    """

    def __init__(self, init_bandwidth: float = 1.0, learnable: bool = True) -> None:
        super().__init__()
        if init_bandwidth <= 0:
            raise ValueError(f"init_bandwidth: expected > 0, got {init_bandwidth}")
        log_h = torch.tensor(math.log(init_bandwidth))
        if learnable:
            self.log_bandwidth = nn.Parameter(log_h)
        else:
            self.register_buffer("log_bandwidth", log_h)

    @property
    def bandwidth(self) -> torch.Tensor:
        """The current bandwidth ``h`` (a 0-d tensor)."""
        return self.log_bandwidth.exp()

    def forward(self, x_query: torch.Tensor, x_keys: torch.Tensor, y_values: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x_query (Q,)``, ``x_keys (K,)``, ``y_values (K,)`` ->
        ``(y_hat (Q,), weights (Q, K))``."""
        return nadaraya_watson(x_query, x_keys, y_values, self.bandwidth)
