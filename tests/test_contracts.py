"""Contracts over interfaces, not classes: what every attention layer and every generating model
of course_lib promises, checked on all of them at once.

1. **Caching is invisible.** Any attention layer that takes a ``cache``, fed token by token
   (or in chunks) with every cache it works with, under every position scheme (none,
   learned, sinusoidal, RoPE, ALiBi, T5), with and without a sliding window, gives the output
   of one full pass over the sequence: also past the window and past the cache's first
   ``window - 1`` positions, where a rolling cache starts forgetting.
2. **Generation does not depend on the cache.** ``generate(use_cache=True)`` returns the
   tokens of ``use_cache=False`` for every model that generates, also when the text grows
   past ``max_len`` (the context slides).
3. **One return convention.** Layers, stacks and models return ``(out, maps)``
   (attention layers ``(out, weights or None)``), ``maps`` an
   :class:`~course_lib.core.maps.AttentionMaps`, filled only with ``need_weights=True``.

Extending (lesson 10 and later): a new attention layer that takes ``cache=`` goes into
``ATTENTION_LAYERS`` (a factory ``(d_model, num_heads) -> layer`` and the caches it works
with); a new model with ``make_caches`` goes into ``GENERATORS`` (a factory of a small model
with a short ``max_len``). ``test_every_layer_and_generator_is_registered`` scans
course_lib and fails until it is, so nothing is left out by accident.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import course_lib
from course_lib.attention import (
    GroupedQueryAttention,
    KVCache,
    LatentAttention,
    LatentCache,
    MultiHeadAttention,
    RollingKVCache,
    positions_seen,
)
from course_lib.attention.local import sliding_window_mask
from course_lib.attention.positions import (
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    T5RelativeBias,
    alibi_bias,
)
from course_lib.core.maps import AttentionMaps
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.models.llama import Llama, LlamaConfig
from course_lib.models.variant_lm import POSITIONS, VariantLM, VariantLMConfig
from course_lib.training.sampling import generate

D, H, WINDOW, LENGTH, MAX_LEN = 16, 4, 4, 11, 32


# --------------------------------------------------------------------------- the registries
@dataclass(frozen=True)
class LayerCase:
    """An attention layer under contract: how to build it, which caches it works with."""

    build: Callable[[int, int], nn.Module]
    caches: tuple[str, ...]  # names in CACHES


CACHES: dict[str, Callable[[], object]] = {
    "kv": KVCache,
    "rolling": lambda: RollingKVCache(WINDOW),  # only with the sliding window it serves
    "latent": LatentCache,
}

ATTENTION_LAYERS: dict[str, LayerCase] = {
    "MultiHeadAttention": LayerCase(lambda d, h: MultiHeadAttention(d, h), ("kv", "rolling")),
    "GroupedQueryAttention": LayerCase(lambda d, h: GroupedQueryAttention(d, h, h // 2),
                                       ("kv", "rolling")),
    "multi-query": LayerCase(lambda d, h: GroupedQueryAttention(d, h, 1), ("kv", "rolling")),
    "LatentAttention": LayerCase(lambda d, h: LatentAttention(d, h, d_latent=6), ("latent",)),
}


def _variant(**fields) -> Callable[[], nn.Module]:
    return lambda: VariantLM(VariantLMConfig(vocab_size=11, max_len=16, d_model=16,
                                             num_heads=4, num_layers=2, **fields))


GENERATORS: dict[str, Callable[[], nn.Module]] = {
    "GPT": lambda: GPT(GPTConfig(vocab_size=11, max_len=16, d_model=16, num_heads=4,
                                 num_layers=2)),
    **{f"VariantLM {p}": _variant(positions=p) for p in POSITIONS},
    **{f"VariantLM {p} window 5": _variant(positions=p, window=5) for p in POSITIONS},
    "VariantLM GQA rope": _variant(positions="rope", num_kv_heads=2),
    "VariantLM MQA alibi window 5": _variant(positions="alibi", num_kv_heads=1, window=5),
    "Llama (GQA, RoPE)": lambda: Llama(LlamaConfig(vocab_size=11, max_len=16, d_model=16,
                                                   num_heads=4, num_layers=2, num_kv_heads=2)),
    "Llama attention-only": lambda: Llama(LlamaConfig(
        vocab_size=11, max_len=16, d_model=16, num_heads=4, num_layers=2, attention_only=True)),
}


# --------------------------------------------------------------------------- positions
class Positions:
    """One position scheme applied as :class:`VariantLM` applies it, to a bare layer:
    absolute codes added to the input at the cache's next position, a rotation of q and k,
    or a bias over (queries, keys) aligned with the last keys."""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        self.absolute = {"learned": LearnedPositionalEmbedding(MAX_LEN, D),
                         "sinusoidal": SinusoidalPositionalEncoding(D, MAX_LEN)}.get(scheme)
        self.rotary = RotaryEmbedding(D // H) if scheme == "rope" else None
        self.t5 = T5RelativeBias(H, num_buckets=8, max_distance=MAX_LEN,
                                 bidirectional=False) if scheme == "t5" else None

    def embed(self, x: torch.Tensor, offset: int) -> torch.Tensor:
        return x if self.absolute is None else self.absolute(x, offset=offset)

    def bias(self, T: int, S: int) -> torch.Tensor | None:
        if self.scheme == "alibi":
            return alibi_bias(H, T, S)[None]
        return None if self.t5 is None else self.t5(T, S)


def _attend(layer: nn.Module, x: torch.Tensor, positions: Positions, window: int | None,
            cache: object | None) -> torch.Tensor:
    """One call of ``layer`` on ``x (B, T, D)``, the new tokens when ``cache`` holds the past."""
    T = x.shape[1]
    held = 0 if cache is None else cache.length  # keys the queries read besides their own
    S = held + T
    mask = None if window is None else sliding_window_mask(T, window, S=S)
    out, _ = layer(positions.embed(x, positions_seen(cache)), is_causal=True, attn_mask=mask,
                   attn_bias=positions.bias(T, S), rotary=positions.rotary, cache=cache)
    return out


LAYER_CASES = [
    pytest.param(name, cache, window, scheme, id=f"{name}-{cache}-w{window}-{scheme}")
    for name, case in ATTENTION_LAYERS.items()
    for cache in case.caches
    for window in ((WINDOW,) if cache == "rolling" else (None, WINDOW))
    for scheme in POSITIONS
]


@pytest.mark.parametrize(("name", "cache_kind", "window", "scheme"), LAYER_CASES)
@pytest.mark.parametrize("chunks", [(1,) * LENGTH, (3, 1, 2, 5)], ids=["tokens", "chunks"])
def test_cached_layer_equals_the_full_pass(name, cache_kind, window, scheme, chunks):
    torch.manual_seed(0)
    layer = ATTENTION_LAYERS[name].build(D, H).eval()
    positions = Positions(scheme)
    with torch.no_grad():
        x = torch.randn(2, LENGTH, D)
        full = _attend(layer, x, positions, window, cache=None)
        cache, outs, start = CACHES[cache_kind](), [], 0
        for size in chunks:
            outs.append(_attend(layer, x[:, start:start + size], positions, window, cache))
            start += size
    assert positions_seen(cache) == LENGTH  # the cache counted every position, kept or not
    if cache_kind == "rolling":
        assert cache.length == WINDOW - 1  # and kept only what the window needs
    torch.testing.assert_close(torch.cat(outs, dim=1), full, atol=2e-5, rtol=1e-4)


# --------------------------------------------------------------------------- models
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_cached_model_equals_the_full_pass_up_to_max_len(name):
    torch.manual_seed(1)
    model = GENERATORS[name]().eval()
    ids = torch.randint(0, 11, (2, model.config.max_len))
    with torch.no_grad():
        full, _ = model(ids)
        caches = model.make_caches()
        steps = [model(ids[:, :3], caches=caches)[0]]
        steps += [model(ids[:, t:t + 1], caches=caches)[0] for t in range(3, ids.shape[1])]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=2e-5, rtol=1e-4)
    assert positions_seen(caches[0]) == ids.shape[1]


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("sampling", [dict(temperature=0), dict(temperature=1.0, top_k=5)],
                         ids=["greedy", "top-k"])
def test_generate_with_and_without_cache_agree_past_max_len(name, sampling):
    torch.manual_seed(2)
    model = GENERATORS[name]()
    prompt = torch.randint(0, 11, (2, 3))
    new = 2 * model.config.max_len  # the context slides twice
    runs = [generate(model, prompt, new, use_cache=use_cache,
                     generator=torch.Generator().manual_seed(7), **sampling)
            for use_cache in (True, False)]
    assert runs[0].shape == (2, 3 + new)
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)


# --------------------------------------------------------------------------- return convention
def test_layers_and_models_return_out_and_maps():
    torch.manual_seed(3)
    x = torch.randn(1, 5, D)
    for name, case in ATTENTION_LAYERS.items():
        out, weights = case.build(D, H)(x, is_causal=True)
        assert out.shape == x.shape and weights is None, name
        _, weights = case.build(D, H)(x, is_causal=True, need_weights=True)
        assert weights.shape == (1, H, 5, 5), name
    for name, build in GENERATORS.items():
        model = build()
        ids = torch.randint(0, 11, (1, 5))
        logits, maps = model(ids)
        assert isinstance(maps, AttentionMaps) and len(maps) == 0, name
        _, maps = model(ids, need_weights=True)
        assert len(maps["decoder_self"]) == model.config.num_layers, name


# --------------------------------------------------------------------------- registration
def _course_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(course_lib.__path__, prefix="course_lib."):
        if info.name.split(".")[-1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                  if c.__module__ == module.__name__ and issubclass(c, nn.Module)]
    return found


def test_every_layer_and_generator_is_registered():
    """A layer whose forward takes ``cache`` is under contract 1, a model with ``make_caches``
    under contract 2: register new ones above (see the module docstring)."""
    registered_layers = {type(case.build(D, H)) for case in ATTENTION_LAYERS.values()}
    registered_models = {type(build()) for build in GENERATORS.values()}
    layers, models = set(), set()
    for cls in _course_classes():
        if hasattr(cls, "make_caches"):
            models.add(cls)
        elif "cache" in inspect.signature(cls.forward).parameters:
            layers.add(cls)
    blocks = {cls for cls in layers if cls.__module__.startswith("course_lib.models.")}
    # A model's blocks are covered through their model (contract 2 and the full-pass test).
    assert layers - blocks <= registered_layers, sorted(c.__name__ for c in layers - blocks
                                                        - registered_layers)
    assert models <= registered_models, sorted(c.__name__ for c in models - registered_models)
