"""Sampling from a language model: temperature, top-k, top-p (nucleus) and ``generate``.

A decoder-only model gives, at every step, a score (logit) per vocabulary entry for the
next token. How we turn those scores into one token decides what the text looks like:

* temperature ``tau`` divides the logits before the softmax; ``tau -> 0`` approaches the
  argmax (greedy decoding, which we use exactly for ``temperature=0``), ``tau = 1`` keeps
  the model's distribution, ``tau > 1`` flattens it;
* top-k keeps the ``k`` highest-scoring tokens (Fan et al., 2018);
* top-p, or nucleus sampling (Holtzman et al., 2020), keeps the smallest set of tokens whose
  total probability reaches ``p``, so the set is small when the model is sure and large
  when it is not.

:func:`generate` feeds the model its own samples. It has a readable path, which re-runs the
whole sequence at every step, and a fast path that keeps a KV cache per layer and feeds only
the new token; tests check that both give the same tokens.

Shapes: ``B`` batch, ``T`` sequence length, ``V`` vocabulary size.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.analysis.timing import interleaved_times, median_ratio
from course_lib.core.modules import evaluating

__all__ = [
    "GenerationTiming", "time_generation",
    "top_k_filter",
    "top_p_filter",
    "sample_next_token",
    "generate",
]


def _check_logits(logits: torch.Tensor) -> None:
    if logits.dim() < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits: expected shape (..., V) with V >= 1, got {tuple(logits.shape)}")


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of every row and set the others to ``-inf``.

    Args:
        logits: ``(..., V)`` scores.
        k: how many tokens to keep, ``1 <= k``; ``k >= V`` keeps everything.

    Returns:
        ``(..., V)`` logits; entries outside the top ``k`` are ``-inf`` (ties with the
        ``k``-th value are kept, so a row may keep more than ``k`` when scores are equal).
    """
    _check_logits(logits)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k: expected an integer >= 1, got {k!r}")
    if k >= logits.shape[-1]:
        return logits
    kth_value = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_value, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most-probable tokens whose probability sums
    to at least ``p`` (Holtzman et al., 2020); set the others to ``-inf``.

    The most probable token is always kept, so no row is ever empty.

    Args:
        logits: ``(..., V)`` scores (already divided by the temperature, if any).
        p: the probability mass to keep, ``0 < p <= 1``; ``p = 1`` keeps everything.

    Returns:
        ``(..., V)`` logits with the tokens outside the nucleus set to ``-inf``.
    """
    _check_logits(logits)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p <= 1.0:
        raise ValueError(f"top_p: expected a number in (0, 1], got {p!r}")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    # Probability mass of the tokens strictly before each one in sorted order. A token is
    # in the nucleus when the tokens before it have not yet reached p; this keeps the
    # first token (mass before it is 0) and stops right after the prefix reaches p.
    mass_before = torch.cumsum(probs, dim=-1) - probs
    remove_sorted = mass_before >= p
    remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))


def sample_next_token(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pick one token per row from next-token logits.

    Order of operations (as in common libraries): divide by ``temperature``, apply top-k,
    apply top-p, softmax, draw one sample.

    Args:
        logits: ``(B, V)`` next-token scores.
        temperature: ``0`` means greedy (argmax; ``top_k``/``top_p`` cannot change it);
            otherwise a positive number.
        top_k: keep only the ``top_k`` best tokens (``None``: no limit).
        top_p: keep only the nucleus of mass ``top_p`` (``None``: no limit).
        generator: a seeded ``torch.Generator`` for reproducible draws.

    Returns:
        ``(B,)`` int64 token ids.
    """
    if logits.dim() != 2:
        raise ValueError(f"logits: expected shape (B, V), got {tuple(logits.shape)}")
    _check_logits(logits)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or temperature < 0:
        raise ValueError(f"temperature: expected a number >= 0, got {temperature!r}")
    if temperature == 0:
        # Validate the other arguments anyway, so a typo does not hide behind greedy mode.
        if top_k is not None:
            top_k_filter(logits[:, :1], top_k)
        if top_p is not None:
            top_p_filter(logits[:, :1], top_p)
        return logits.argmax(dim=-1)
    scaled = logits.float() / temperature
    if top_k is not None:
        scaled = top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = top_p_filter(scaled, top_p)
    probs = torch.softmax(scaled, dim=-1)
    if generator is not None and generator.device != probs.device:
        # A seeded CPU generator (the usual one) with a model on the GPU: multinomial needs
        # both on one device, so draw on the CPU.
        tokens = torch.multinomial(probs.cpu(), num_samples=1, generator=generator)
        return tokens.squeeze(-1).to(probs.device)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


def _max_len(model: nn.Module) -> int:
    """The model's context: its ``max_len`` (or ``config.max_len``)."""
    if hasattr(model, "max_len"):
        return int(model.max_len)
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "max_len"):
        return int(config.max_len)
    raise ValueError(f"model: expected a `max_len` or `config.max_len` "
                     f"attribute, got a {type(model).__name__} with neither")


def _check_prompt(prompt: torch.Tensor, max_new_tokens: int) -> None:
    if prompt.dim() != 2 or prompt.shape[1] == 0:
        raise ValueError(f"prompt: expected shape (B, T0) with T0 >= 1, got {tuple(prompt.shape)}")
    if prompt.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"prompt: expected integer token ids, got dtype {prompt.dtype}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
            or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens: expected an integer >= 0, got {max_new_tokens!r}")


@torch.no_grad()
def generate(
    model: nn.Module,
    prompt: torch.Tensor,
    max_new_tokens: int,
    *,
    use_cache: bool = True,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend ``prompt`` by ``max_new_tokens`` tokens sampled from ``model``.

    The model must map ids ``(B, T)`` to logits ``(B, T, V)``, accept ``caches=`` (one
    KV cache per layer, from ``model.make_caches()``) and know its context length
    ``max_len``. When the sequence grows past ``max_len`` only the last ``max_len``
    tokens are fed (a sliding window).

    Args:
        model: e.g. :class:`course_lib.models.gpt.GPT`; switched to eval mode while generating.
        prompt: ``(B, T0)`` token ids, ``T0 >= 1``.
        max_new_tokens: how many tokens to add.
        use_cache: ``True``: fast path with a KV cache; ``False``: readable path that
            re-runs the model on the whole window at every step. Both give the same tokens.
        temperature, top_k, top_p, generator: see :func:`sample_next_token`.

    Returns:
        ``(B, T0 + max_new_tokens)`` token ids: the prompt followed by the new tokens.
    """
    _check_prompt(prompt, max_new_tokens)
    max_len = _max_len(model)
    with evaluating(model):
        step = _generate_cached if use_cache else _generate_uncached
        return step(model, prompt, max_new_tokens, max_len,
                    dict(temperature=temperature, top_k=top_k, top_p=top_p,
                         generator=generator))


def _generate_uncached(model: nn.Module, prompt: torch.Tensor, max_new_tokens: int,
                       max_len: int, sampling: dict) -> torch.Tensor:
    """Readable path: every step runs the model on the last ``max_len`` tokens and
    keeps only the logits of the last position. Cost per step grows with the length."""
    sequence = prompt
    for _ in range(max_new_tokens):
        window = sequence[:, -max_len:]                # (B, <= max_len)
        logits = model(window)[:, -1, :]                       # (B, V)
        next_token = sample_next_token(logits, **sampling)     # (B,)
        sequence = torch.cat([sequence, next_token[:, None]], dim=1)
    return sequence


def _generate_cached(model: nn.Module, prompt: torch.Tensor, max_new_tokens: int,
                     max_len: int, sampling: dict) -> torch.Tensor:
    """Fast path: keys and values of past tokens stay in per-layer caches, so each step
    feeds one token. When the cache is full (the next token would sit at position
    ``max_len``), the positions of a sliding window shift, so the cached keys are
    stale: we rebuild the caches from the last ``max_len`` tokens, which is what
    the readable path computes too."""
    if max_new_tokens == 0:
        return prompt
    sequence = prompt
    caches = model.make_caches()
    logits = model(sequence[:, -max_len:], caches=caches)[:, -1, :]
    for step in range(max_new_tokens):
        next_token = sample_next_token(logits, **sampling)
        sequence = torch.cat([sequence, next_token[:, None]], dim=1)
        if step == max_new_tokens - 1:
            break  # the last token needs no logits after it
        if caches[0].length + 1 <= max_len:
            logits = model(next_token[:, None], caches=caches)[:, -1, :]
        else:
            caches = model.make_caches()
            logits = model(sequence[:, -max_len:], caches=caches)[:, -1, :]
    return sequence


@dataclass(frozen=True)
class GenerationTiming:
    """Result of :func:`time_generation`: median seconds per generation with and without
    the KV cache, and ``speedup``, the median over rounds of uncached / cached time."""

    cached: float
    uncached: float
    speedup: float


def time_generation(model: nn.Module, prompt: torch.Tensor, max_new_tokens: int, *,
                    repeats: int = 5, warmup: int = 1) -> GenerationTiming:
    """Time greedy generation with and without the KV cache, as ``bench_gpt.py`` does.

    Both paths are first checked to give the same tokens, then timed in alternation
    (cached, uncached, cached, ...) after ``warmup`` untimed calls each, so background
    load hits both alike; the speed-up is the median of per-round ratios.
    ``prompt (B, T0)``; keep ``T0 + max_new_tokens <= context length`` to time the cache
    rather than the sliding window.
    """
    def run(use_cache: bool) -> torch.Tensor:
        return generate(model, prompt, max_new_tokens, use_cache=use_cache, temperature=0)

    if not torch.equal(run(True), run(False)):
        raise RuntimeError("cached and uncached generation disagree")
    times = interleaved_times({"cached": lambda: run(True), "uncached": lambda: run(False)},
                              repeats=repeats, warmup=warmup)
    return GenerationTiming(cached=statistics.median(times["cached"]),
                            uncached=statistics.median(times["uncached"]),
                            speedup=median_ratio(times["uncached"], times["cached"]))
