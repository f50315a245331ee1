"""Argument checks shared by the models and their configs, each raising one clear
``ValueError`` that names the argument, what was expected and what was given.

A leaf module: it imports nothing from course_lib, so every layer may use it.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_rank", "check_positive_ints", "check_divisible", "check_probability", "check_ids"]


def check_rank(x: torch.Tensor, rank: int, name: str, expected: str) -> None:
    """Raise unless ``x`` has ``rank`` dimensions (``expected`` spells the shape: ``(B, T, D)``)."""
    if x.dim() != rank:
        raise ValueError(f"{name}: expected shape {expected}, got {tuple(x.shape)}")


def check_positive_ints(config: Any, *names: str, minimum: int = 1) -> None:
    """Raise unless every field ``names`` of ``config`` is an int ``>= minimum``.

    >>> check_positive_ints(config, "d_model", "num_heads")  # in a config's __post_init__
    """
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise ValueError(f"{name}: expected {what}, got {value!r}")


def check_divisible(config: Any, name: str, by: str) -> None:
    """Raise unless ``config.<name>`` is a multiple of ``config.<by>`` (e.g. heads)."""
    value, divisor = getattr(config, name), getattr(config, by)
    if value % divisor:
        raise ValueError(f"{name}: expected a multiple of {by}={divisor}, got {value}")


def check_probability(config: Any, name: str) -> None:
    """Raise unless ``config.<name>`` is in ``[0, 1)`` (a dropout probability)."""
    value = getattr(config, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value}")


def check_ids(ids: torch.Tensor, name: str, dims: str = "B, T", max_len: int | None = None,
              what: str = "max_len") -> None:
    """Raise unless ``ids`` is a 2-D integer tensor no longer than ``max_len``.

    ``dims`` names the expected shape in the message, ``what`` the limit's name.
    """
    if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype not in (
            torch.int64, torch.int32):
        shape = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
        dtype = f" {ids.dtype}" if isinstance(ids, torch.Tensor) else ""
        raise ValueError(f"{name}: expected integer ids of shape ({dims}), got {shape}{dtype}")
    if max_len is not None and ids.shape[1] > max_len:
        raise ValueError(f"{name}: length {ids.shape[1]} exceeds {what} {max_len}")
