"""Lesson 07's exercises: the sliding-window mask, RoPE, the online-softmax update."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.attention import local, positions, tiled
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of

__all__ = ["EXERCISES"]


# ---------------------------------------------------------------- exercise 1: window mask

def _window(rng: np.random.Generator):
    return int(rng.integers(4, 12)), int(rng.integers(2, 5))


def _both_sides(T, window):
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    return (i - j).abs() < window


_m = mistakes_of("l07_window_mask")
WINDOW = Check(
    name="window_mask",
    reference=local.sliding_window_mask,
    cases=[_window],
    mistakes=[
        _m("window_plus_one", "let each query see window + 1 keys (an off-by-one: use "
           "i - j < window, not <=)", lambda T, w: local.sliding_window_mask(T, w + 1)),
        _m("window_minus_one", "let each query see only window - 1 keys (itself and window - 2 "
           "before it): use i - j < window", lambda T, w: local.sliding_window_mask(T, w - 1)),
        _m("not_causal", "forgot causality: your window also covers keys after the query",
           _both_sides),
        _m("after_query", "put the window after the query instead of before it (the mask is "
           "transposed)", lambda T, w: local.sliding_window_mask(T, w).T),
    ],
)


# ---------------------------------------------------------------- exercise 2: RoPE

def _rope_case(rng: np.random.Generator):
    T, Dh = int(rng.integers(2, 6)), int(rng.choice([4, 8]))
    x = torch.tensor(rng.standard_normal((T, Dh)), dtype=torch.float32)
    return x, int(rng.integers(1, 9))


def _rope_reference(x, offset):
    """``positions.RotaryEmbedding(Dh)(x, offset=offset)``."""
    return positions.RotaryEmbedding(x.shape[1])(x, offset=offset)


def _rope(x, offset, sign=1.0, exponent=2.0, halves=False):
    T, Dh = x.shape
    theta = 10000.0 ** (-exponent * torch.arange(Dh // 2, dtype=torch.float32) / Dh)
    angle = sign * torch.arange(offset, offset + T, dtype=torch.float32)[:, None] * theta
    a, b = (x[:, : Dh // 2], x[:, Dh // 2:]) if halves else (x[:, 0::2], x[:, 1::2])
    ra, rb = a * angle.cos() - b * angle.sin(), a * angle.sin() + b * angle.cos()
    if halves:
        return torch.cat([ra, rb], dim=1)
    return torch.stack([ra, rb], dim=-1).flatten(1)


_m = mistakes_of("l07_rope")
ROPE = Check(
    name="apply_rope",
    reference=_rope_reference,
    cases=[_rope_case],
    mistakes=[
        _m("no_offset", "ignored offset: the first row sits at position offset, not 0",
           lambda x, offset: _rope(x, 0)),
        _m("wrong_way", "rotated the wrong way (the signs of the sin terms are swapped)",
           lambda x, offset: _rope(x, offset, sign=-1.0)),
        _m("halves", "paired dimension i with i + Dh/2 (the 'rotate-half' layout) instead of "
           "neighbours 2i, 2i+1", lambda x, offset: _rope(x, offset, halves=True)),
        _m("frequencies", "used the frequencies 10000 ** (-i / Dh) instead of "
           "10000 ** (-2i / Dh)", lambda x, offset: _rope(x, offset, exponent=1.0)),
    ],
)


# ---------------------------------------------------------------- exercise 3: online softmax

def _tile(rng: np.random.Generator):
    T, s, dv = 4, int(rng.integers(2, 6)), 3
    old_scores = rng.normal(size=(T, 5)) * 3
    m, total, acc = tiled.online_softmax_update(
        np.full((T, 1), -np.inf), np.zeros((T, 1)), np.zeros((T, dv)),
        old_scores, rng.normal(size=(5, dv)))
    return m, total, acc, rng.normal(size=(T, s)) * 3, rng.normal(size=(s, dv))


def _update(rescale_total=True, rescale_acc=True, running_max=True):
    def online_update(m, total, acc, scores, v):
        m_new = scores.max(-1, keepdims=True)
        if running_max:
            m_new = np.maximum(m, m_new)
        p, scale = np.exp(scores - m_new), np.exp(m - m_new)
        return (m_new, (total * scale if rescale_total else total) + p.sum(-1, keepdims=True),
                (acc * scale if rescale_acc else acc) + p @ v)
    return online_update


_m = mistakes_of("l07_online_softmax")
ONLINE = Check(
    name="online_update",
    reference=tiled.online_softmax_update,
    cases=[_tile],
    mistakes=[
        _m("no_rescale", "forgot the rescaling step: multiply the old total and acc by "
           "exp(m_old - m_new) before adding this tile",
           _update(rescale_total=False, rescale_acc=False)),
        _m("total_only", "rescaled total but not acc (both were measured against the old "
           "maximum)", _update(rescale_acc=False)),
        _m("tile_max", "took the maximum of this tile alone; m must be the running maximum "
           "over all tiles", _update(running_max=False)),
    ],
)

EXERCISES = catalogue(
    Exercise("l07_window_mask", (WINDOW,), forbidden=(local.sliding_window_mask,)),
    Exercise("l07_rope", (ROPE,), forbidden=(positions.RotaryEmbedding.__init__,
                                             positions.RotaryEmbedding.forward)),
    Exercise("l07_online_softmax", (ONLINE,), forbidden=(tiled.online_softmax_update,)),
)
