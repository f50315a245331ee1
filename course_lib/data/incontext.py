"""Token sequences for in-context learning (lesson 10): repeated random spans and few-shot
prompts. No model code; every function draws from its own seeded generator.

* :func:`repeated_spans`: random tokens in which one span of random length reappears later
  at a random place. Before the repeat nothing can be predicted (the tokens are uniform);
  on the repeat, a model that finds the earlier copy of the current token and reads the
  token after it (an *induction head*, Olsson et al. 2022) predicts every token but the
  first. The spans' lengths and places vary, so no fixed offset solves it.
* :func:`repeated_halves`: the evaluation form, a random span followed by itself.
* :func:`few_shot_prompts`: ``k1 v1 k2 v2 ... kq`` with a random key -> value map per prompt;
  the answer is the value shown with the query key. With no example (zero-shot) nothing
  in the prompt or the weights says which value a key has this time.

Shapes: ``N`` sequences, ``T`` tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["RepeatedSpans", "repeated_spans", "repeated_halves", "FewShot", "few_shot_prompts",
           "span_batches", "key_value_sequences"]


@dataclass(frozen=True)
class RepeatedSpans:
    """``x, y (N, T)`` (``y`` is ``x`` shifted by one) and bool masks ``(N, T)`` of the target
    positions inside the first copy of the span (``first``, not predictable) and inside its
    repeat (``repeat``, predictable by copying), each leaving out the span's first token."""

    x: torch.Tensor
    y: torch.Tensor
    first: torch.Tensor
    repeat: torch.Tensor


def _check(vocab_size: int, seq_len: int, min_span: int, max_span: int) -> None:
    if vocab_size < 2:
        raise ValueError(f"vocab_size: expected at least 2, got {vocab_size}")
    if not 2 <= min_span <= max_span:
        raise ValueError(f"min_span, max_span: expected 2 <= min_span <= max_span, got "
                         f"{min_span}, {max_span}")
    if 2 * max_span > seq_len + 1:
        raise ValueError(f"seq_len: expected at least 2 * max_span - 1 = {2 * max_span - 1}, "
                         f"got {seq_len}")


def repeated_spans(n: int, seq_len: int, vocab_size: int, *, min_span: int = 4,
                   max_span: int = 12, seed: int = 0,
                   generator: torch.Generator | None = None) -> RepeatedSpans:
    """``n`` sequences of ``seq_len + 1`` uniform random tokens in ``[0, vocab_size)`` where a
    span of length ``L`` (uniform in ``[min_span, max_span]``) at a random start ``a`` is
    copied to a random later start ``b >= a + L``. Returned as :class:`RepeatedSpans`."""
    _check(vocab_size, seq_len, min_span, max_span)
    g = generator if generator is not None else torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab_size, (n, seq_len + 1), generator=g)
    lengths = torch.randint(min_span, max_span + 1, (n,), generator=g)
    total = seq_len + 1
    # a uniform in [0, total - 2L], then b uniform in [a + L, total - L]
    a = (torch.rand(n, generator=g) * (total - 2 * lengths + 1)).long()
    b = a + lengths + (torch.rand(n, generator=g) * (total - a - 2 * lengths + 1)).long()
    pos = torch.arange(total)
    in_first = (pos >= a[:, None]) & (pos < (a + lengths)[:, None])
    in_repeat = (pos >= b[:, None]) & (pos < (b + lengths)[:, None])
    tokens[in_repeat] = tokens[in_first]  # row by row, in order: the span's copy
    # target y[t] = token t + 1: predictable when t + 1 is in the repeat after its first token
    t = pos[:-1]
    first = (t[None] >= a[:, None]) & (t[None] < (a + lengths - 1)[:, None])
    repeat = (t[None] >= b[:, None]) & (t[None] < (b + lengths - 1)[:, None])
    return RepeatedSpans(tokens[:, :-1], tokens[:, 1:], first, repeat)


def repeated_halves(n: int, span: int, vocab_size: int, *, seed: int = 0) -> torch.Tensor:
    """``(n, 2 * span)``: a uniform random span followed by itself (the standard probe of
    induction heads). Position ``t >= span`` should attend to ``t - span + 1``."""
    if span < 2 or vocab_size < 2:
        raise ValueError(f"span, vocab_size: expected at least 2 each, got {span}, {vocab_size}")
    g = torch.Generator().manual_seed(seed)
    half = torch.randint(0, vocab_size, (n, span), generator=g)
    return torch.cat([half, half], dim=1)


def key_value_sequences(n: int, seq_len: int, num_keys: int, num_values: int, *,
                        generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)``, ``(n, seq_len)`` each: ``k v k v ...`` pairs with keys drawn (with
    repetition) from ``[0, num_keys)`` and values ``num_keys + [0, num_values)`` given by a
    random map per sequence: a value can be predicted once its key has been seen with it."""
    pairs = seq_len // 2 + 1
    mapping = torch.randint(0, num_values, (n, num_keys), generator=generator)
    keys = torch.randint(0, num_keys, (n, pairs), generator=generator)
    values = mapping.gather(1, keys) + num_keys
    tokens = torch.stack([keys, values], dim=2).reshape(n, -1)[:, : seq_len + 1]
    return tokens[:, :-1], tokens[:, 1:]


def span_batches(batch_size: int, seq_len: int, vocab_size: int, *, min_span: int = 4,
                 max_span: int = 12, pairs_fraction: float = 0.0, num_keys: int = 8,
                 seed: int = 0):
    """A ``step -> (x, y)`` source of fresh :func:`repeated_spans` batches for
    :func:`course_lib.training.loop.train` (one seeded generator: reproducible).

    With ``pairs_fraction > 0`` that share of each batch is :func:`key_value_sequences`
    (``num_keys`` keys, the other ``vocab_size - num_keys`` tokens as values): the format
    of :func:`few_shot_prompts`.
    """
    _check(vocab_size, seq_len, min_span, max_span)
    if not 0.0 <= pairs_fraction <= 1.0:
        raise ValueError(f"pairs_fraction: expected a number in [0, 1], got {pairs_fraction}")
    g = torch.Generator().manual_seed(seed)
    num_pairs = int(round(batch_size * pairs_fraction))

    def batch(_step: int) -> tuple[torch.Tensor, torch.Tensor]:
        data = repeated_spans(batch_size - num_pairs, seq_len, vocab_size, min_span=min_span,
                              max_span=max_span, generator=g)
        if not num_pairs:
            return data.x, data.y
        x, y = key_value_sequences(num_pairs, seq_len, num_keys, vocab_size - num_keys,
                                   generator=g)
        return torch.cat([data.x, x]), torch.cat([data.y, y])

    return batch


@dataclass(frozen=True)
class FewShot:
    """Prompts ``x (N, 2 * shots + 1)``: ``shots`` (key, value) pairs then a query key; the
    answers ``y (N,)``; ``seen (N,)`` whether the query key is among the examples."""

    x: torch.Tensor
    y: torch.Tensor
    seen: torch.Tensor


def few_shot_prompts(n: int, shots: int, num_keys: int, num_values: int, *,
                     key_offset: int = 0, value_offset: int | None = None,
                     seed: int = 0) -> FewShot:
    """Few-shot prompts for a random map from ``num_keys`` keys to ``num_values`` values.

    Keys are tokens ``key_offset + [0, num_keys)``, values ``value_offset + [0, num_values)``
    (default: right after the keys). Each prompt draws its own map and ``shots`` distinct
    keys; the query is one of them (zero shots: any key), so its value appears once in the
    prompt. Chance accuracy is ``1 / num_values``.
    """
    if shots < 0 or shots > num_keys:
        raise ValueError(f"shots: expected 0..num_keys={num_keys}, got {shots}")
    if num_keys < 1 or num_values < 2:
        raise ValueError(f"num_keys, num_values: expected >= 1 and >= 2, got {num_keys}, "
                         f"{num_values}")
    value_offset = key_offset + num_keys if value_offset is None else value_offset
    g = torch.Generator().manual_seed(seed)
    mapping = torch.randint(0, num_values, (n, num_keys), generator=g)
    keys = torch.argsort(torch.rand(n, num_keys, generator=g), dim=1)[:, :max(shots, 1)]
    if shots:
        pick = torch.randint(0, shots, (n,), generator=g)
        query = keys.gather(1, pick[:, None])[:, 0]
    else:
        query = torch.randint(0, num_keys, (n,), generator=g)
    shown = keys[:, :shots]
    values = mapping.gather(1, shown)
    pairs = torch.stack([shown + key_offset, values + value_offset], dim=2).reshape(n, -1)
    x = torch.cat([pairs, (query + key_offset)[:, None]], dim=1)
    y = mapping.gather(1, query[:, None])[:, 0] + value_offset
    seen = torch.full((n,), shots > 0)
    return FewShot(x, y, seen)
