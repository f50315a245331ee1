"""Argument checks shared by the models and their configs, each raising one clear
``ValueError`` that names the argument, what was expected and what was given.

A leaf module: it imports nothing from course_lib, so every layer may use it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["check_rank", "check_positive", "check_number", "check_choice", "check_fraction",
           "check_heads", "check_kv_heads", "check_positive_ints", "check_divisible",
           "check_probability", "check_ids"]


def check_rank(x: torch.Tensor, rank: int, name: str, expected: str) -> None:
    """Raise unless ``x`` has ``rank`` dimensions (``expected`` spells the shape: ``(B, T, D)``)."""
    if x.dim() != rank:
        raise ValueError(f"{name}: expected shape {expected}, got {tuple(x.shape)}")


# --------------------------------------------------------------------------- single values
def check_positive(name: str, value: Any, minimum: int = 1) -> None:
    """Raise unless ``value`` is an int (not a bool) ``>= minimum``.

    >>> check_positive("window", window)            # "window: expected a positive integer"
    >>> check_positive("max_new_tokens", n, minimum=0)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name}: expected {what}, got {value!r}")


def check_number(name: str, value: Any, minimum: float = 0.0, *, strict: bool = False) -> None:
    """Raise unless ``value`` is a real number ``>= minimum`` (``> minimum`` when ``strict``)."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and (
        value > minimum if strict else value >= minimum)
    if not ok:
        if strict and minimum == 0:
            what = "a positive number"
        else:
            what = f"a number {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name}: expected {what}, got {value!r}")


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise unless ``value`` is one of ``choices`` (named in the message)."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {tuple(choices)}, got {value!r}")


def check_fraction(name: str, value: Any) -> None:
    """Raise unless ``value`` is a probability in ``[0, 1)`` (a dropout rate)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")


def check_heads(d_model: int, num_heads: int, name: str = "d_model") -> None:
    """Raise unless ``num_heads >= 1`` divides ``d_model`` (every head gets ``D / H`` dims)."""
    check_positive("num_heads", num_heads)
    if d_model % num_heads:
        raise ValueError(f"{name}: expected a multiple of num_heads={num_heads}, got {d_model}")


def check_kv_heads(num_heads: int, num_kv_heads: Any) -> None:
    """Raise unless ``num_kv_heads`` is a positive divisor of ``num_heads`` (grouped-query
    attention: each key/value head serves ``num_heads / num_kv_heads`` query heads)."""
    check_positive("num_kv_heads", num_kv_heads)
    if num_heads % num_kv_heads:
        raise ValueError(f"num_kv_heads: expected a positive divisor of num_heads="
                         f"{num_heads}, got {num_kv_heads!r}")


# --------------------------------------------------------------------------- config fields
def check_positive_ints(config: Any, *names: str, minimum: int = 1) -> None:
    """Raise unless every field ``names`` of ``config`` is an int ``>= minimum``.

    >>> check_positive_ints(config, "d_model", "num_heads")  # in a config's __post_init__
    """
    for name in names:
        check_positive(name, getattr(config, name), minimum)


def check_divisible(config: Any, name: str, by: str) -> None:
    """Raise unless ``config.<name>`` is a multiple of ``config.<by>`` (e.g. heads)."""
    value, divisor = getattr(config, name), getattr(config, by)
    if value % divisor:
        raise ValueError(f"{name}: expected a multiple of {by}={divisor}, got {value}")


def check_probability(config: Any, name: str) -> None:
    """Raise unless ``config.<name>`` is in ``[0, 1)`` (a dropout probability)."""
    check_fraction(name, getattr(config, name))


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
