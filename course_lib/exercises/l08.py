"""Lesson 08's exercises: patches in the right order, cross-attention from words to patches."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.attention import scaled_dot_product_attention
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.models.vit import patchify

__all__ = ["EXERCISES"]


def _tensor(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.tensor(rng.standard_normal(shape), dtype=torch.float32)


# ---------------------------------------------------------------- exercise 1: patchify

def _images(channels: int | None = None):
    """(B, C, H, W) with H != W (so that reading columns first shows) and p in {2, 4}."""
    def make(rng: np.random.Generator):
        B = int(rng.integers(1, 3))
        C = channels or int(rng.integers(1, 4))
        p = int(rng.choice([2, 4]))
        H, W = p * int(rng.integers(1, 4)), p * int(rng.integers(2, 4))
        return _tensor(rng, B, C, H, W), p
    return make


def _grid(images, p, order):
    B, C, H, W = images.shape
    grid = images.reshape(B, C, H // p, p, W // p, p).permute(*order)
    return grid.reshape(B, (H // p) * (W // p), C * p * p)


def _flatten_at_once(images, p):
    B, C, H, W = images.shape
    return images.reshape(B, (H // p) * (W // p), C * p * p)


_m = mistakes_of("l08_patchify")
PATCHIFY = Check(
    name="my_patchify",
    reference=patchify,
    cases=[_images(3), _images(), _images(2)],
    mistakes=[
        _m("flatten_at_once", "reshaped straight to (B, N, C*p*p) without first moving the "
           "patch-grid axes in front (the reshape-order mistake): each 'patch' mixes pixels of "
           "several patches", _flatten_at_once),
        _m("channel_last", "put the channel last inside each patch; unfold and Conv2d order a "
           "patch channel first", lambda x, p: _grid(x, p, (0, 2, 4, 3, 5, 1))),
        _m("column_major", "read the patches column by column; they go row by row (left to "
           "right, then down)", lambda x, p: _grid(x, p, (0, 4, 2, 1, 3, 5))),
        _m("pixel_columns_first", "flattened each patch's pixels column by column; inside a "
           "patch the rows come first, then the columns", lambda x, p: _grid(x, p,
                                                                             (0, 2, 4, 1, 5, 3))),
    ],
)


# ---------------------------------------------------------------- exercise 2: cross-attention

def _cross_case(d: int):
    def make(rng: np.random.Generator):
        B, T, N, D = 2, int(rng.integers(2, 6)), int(rng.integers(6, 10)), 8
        return (_tensor(rng, B, T, D), _tensor(rng, B, N, D), _tensor(rng, D, d),
                _tensor(rng, D, d), _tensor(rng, D, d))
    return make


def _cross_reference(words, patches, w_q, w_k, w_v):
    """``scaled_dot_product_attention`` with queries from the words, keys and values from
    the patches: ``(out, weights)``."""
    return scaled_dot_product_attention(words @ w_q, patches @ w_k, patches @ w_v)


def _cross(askers="words", dim=-1, scale=lambda d: d ** 0.5):
    def cross_attend(words, patches, w_q, w_k, w_v):
        ask, read = (words, patches) if askers == "words" else (patches, words)
        q, k, v = ask @ w_q, read @ w_k, read @ w_v
        weights = torch.softmax(q @ k.transpose(-2, -1) / scale(q.shape[-1]), dim=dim)
        return weights @ v, weights
    return cross_attend


_m = mistakes_of("l08_cross_attention")
CROSS = Check(
    name="cross_attend",
    reference=_cross_reference,
    cases=[_cross_case(4), _cross_case(6)],
    mistakes=[
        _m("patches_ask", "let the patches attend to the words: the queries must come from the "
           "text (words) and the keys and values from the image (patches)",
           _cross(askers="patches")),
        _m("over_words", "took the softmax over the words (dim=-2); each word's weights over "
           "the patches must sum to 1 (dim=-1)", _cross(dim=-2)),
        _m("no_scale", "forgot to divide the scores by sqrt(d)", _cross(scale=lambda d: 1.0)),
        _m("scale_D", "divided by sqrt(D), the input width, instead of sqrt(d), the width of "
           "the queries and keys", _cross(scale=lambda d: 8 ** 0.5)),
    ],
)

EXERCISES = catalogue(
    Exercise("l08_patchify", (PATCHIFY,), forbidden=(patchify,)),
    Exercise("l08_cross_attention", (CROSS,), forbidden=(scaled_dot_product_attention,)),
)
