"""Lesson 06's exercises: causal self-attention, temperature and top-k, one KV-cache step."""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.attention import KVCache, scaled_dot_product_attention
from course_lib.core import masks
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.training import sampling

__all__ = ["EXERCISES"]


def _tensor(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.tensor(rng.standard_normal(shape), dtype=torch.float32)


# ---------------------------------------------------------------- exercise 1: causal

def _causal_case(D: int):
    def make(rng: np.random.Generator):
        B, T = 2, int(rng.integers(3, 8))
        return _tensor(rng, B, T, D), _tensor(rng, D, D) / 3, _tensor(rng, D, D) / 3, \
            _tensor(rng, D, D) / 3
    return make


def _causal_reference(x, w_q, w_k, w_v):
    """``scaled_dot_product_attention`` of the projections with the causal mask."""
    mask = masks.causal_mask(x.shape[1])
    return scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, mask=mask)[0]


def _causal(scale=lambda x: math.sqrt(x.shape[-1]), allowed=lambda T: masks.causal_mask(T),
            fill=float("-inf")):
    def causal_self_attention(x, w_q, w_k, w_v):
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        scores = q @ k.transpose(-2, -1) / scale(x)
        keep = allowed(x.shape[1])
        if fill == 0.0:
            scores = scores * keep
        elif keep is not None:
            scores = scores.masked_fill(~keep, fill)
        return torch.softmax(scores, -1) @ v
    return causal_self_attention


_m = mistakes_of("l06_causal_attention")
CAUSAL = Check(
    name="causal_self_attention",
    reference=_causal_reference,
    cases=[_causal_case(8), _causal_case(4), _causal_case(6)],
    trials=6,
    mistakes=[
        _m("no_mask", "forgot the causal mask (every position sees the future)",
           _causal(allowed=lambda T: None)),
        _m("mask_transposed", "used the mask the wrong way round (each position sees only the "
           "future)", _causal(allowed=lambda T: masks.causal_mask(T).T)),
        _m("no_scale", "forgot to divide the scores by sqrt(D)", _causal(scale=lambda x: 1.0)),
        _m("scale_T", "divided the scores by sqrt(T), the number of positions: the scale is "
           "1/sqrt(D), D = x.shape[-1]", _causal(scale=lambda x: math.sqrt(x.shape[1]))),
        _m("zero_fill", "set the masked scores to 0 instead of -inf (a score of 0 still gets "
           "weight)", _causal(fill=0.0)),
    ],
)


# ---------------------------------------------------------------- exercise 2: sampling

def _logits(rng: np.random.Generator):
    V = int(rng.integers(5, 12))
    logits = torch.tensor(rng.standard_normal((3, V)) * 2, dtype=torch.float32)
    return logits, float(rng.choice([0.5, 0.8, 2.0])), int(rng.integers(2, V))


def _probs_reference(logits, temperature, top_k):
    """The softmax of ``sampling.top_k_filter(logits / temperature, top_k)``."""
    return torch.softmax(sampling.top_k_filter(logits / temperature, top_k), dim=-1)


def _keep_without_renormalising(logits, temperature, top_k):
    probs = torch.softmax(logits / temperature, dim=-1)
    return probs * torch.isfinite(sampling.top_k_filter(logits, top_k))


_m = mistakes_of("l06_temperature_top_k")
PROBS = Check(
    name="next_token_probs",
    reference=_probs_reference,
    cases=[_logits],
    mistakes=[
        _m("times_temperature", "multiplied the logits by the temperature instead of dividing",
           lambda z, t, k: torch.softmax(sampling.top_k_filter(z * t, k), -1)),
        _m("no_temperature", "ignored the temperature",
           lambda z, t, k: torch.softmax(sampling.top_k_filter(z, k), -1)),
        _m("no_renormalising", "zeroed the probabilities outside the top k without "
           "renormalising the rest", _keep_without_renormalising),
        _m("batch_axis", "took the softmax over the batch axis instead of the vocabulary axis",
           lambda z, t, k: torch.softmax(sampling.top_k_filter(z / t, k), 0)),
        _m("no_top_k", "ignored top_k: every token outside the k best must get probability 0",
           lambda z, t, k: torch.softmax(z / t, -1)),
    ],
)


# ---------------------------------------------------------------- exercise 3: KV cache

def _cache_case(rng: np.random.Generator):
    B, H, S, Dh = 2, 2, int(rng.integers(1, 6)), 4
    return (_tensor(rng, B, H, 1, Dh), _tensor(rng, B, H, 1, Dh), _tensor(rng, B, H, 1, Dh),
            _tensor(rng, B, H, S, Dh), _tensor(rng, B, H, S, Dh))


def _cache_reference(q, k, v, k_cache, v_cache):
    """A :class:`KVCache` holding the cached keys and values, appended with the new ones,
    and attention over all of them: ``(out, k_all, v_all)``."""
    cache = KVCache()
    cache.append(k_cache, v_cache)
    k_all, v_all = cache.append(k, v)
    return scaled_dot_product_attention(q, k_all, v_all)[0], k_all, v_all


def _cached(order="cache_first", attend_to="all", dim=-2, scaled=True):
    def cached_attention_step(q, k, v, k_cache, v_cache):
        parts_k, parts_v = ([k_cache, k], [v_cache, v]) if order == "cache_first" else \
            ([k, k_cache], [v, v_cache])
        k_all, v_all = torch.cat(parts_k, dim), torch.cat(parts_v, dim)
        keys, values = (k_all, v_all) if attend_to == "all" else (k_cache, v_cache)
        scores = q @ keys.transpose(-2, -1)
        if scaled:
            scores = scores / math.sqrt(q.shape[-1])
        return torch.softmax(scores, -1) @ values, k_all, v_all
    return cached_attention_step


_m = mistakes_of("l06_kv_cache_step")
CACHE = Check(
    name="cached_attention_step",
    reference=_cache_reference,
    cases=[_cache_case],
    mistakes=[
        _m("without_self", "attended only to the cached tokens and forgot the new token's own "
           "key and value", _cached(attend_to="cache")),
        _m("new_first", "put the new key and value before the cached ones (the cache must stay "
           "in order)", _cached(order="new_first")),
        _m("wrong_dim", "concatenated along the last axis (the features): the cache grows along "
           "the sequence axis, dim=-2", _cached(dim=-1)),
        _m("no_scale", "forgot to divide the scores by sqrt(Dh)", _cached(scaled=False)),
    ],
)

EXERCISES = catalogue(
    Exercise("l06_causal_attention", (CAUSAL,), forbidden=(scaled_dot_product_attention,)),
    Exercise("l06_temperature_top_k", (PROBS,), forbidden=(sampling.top_k_filter,)),
    Exercise("l06_kv_cache_step", (CACHE,),
             forbidden=(KVCache.__init__, KVCache.append, scaled_dot_product_attention)),
)
