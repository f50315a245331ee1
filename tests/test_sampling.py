"""Sampling filters (temperature, top-k, top-p) against hand-worked examples and properties;
``generate`` with and without the KV cache gives the same tokens."""

from __future__ import annotations

import pytest
import tiny_models
import torch

from course_lib.training.sampling import generate, sample_next_token, top_k_filter, top_p_filter


def kept(logits: torch.Tensor) -> list[int]:
    return torch.nonzero(torch.isfinite(logits)).flatten().tolist()


# ---------------------------------------------------------------- top-k


def test_top_k_hand_example():
    logits = torch.tensor([1.0, 3.0, 2.0, 0.0])
    assert kept(top_k_filter(logits, 2)) == [1, 2]
    assert kept(top_k_filter(logits, 1)) == [1]
    assert torch.equal(top_k_filter(logits, 4), logits)
    assert torch.equal(top_k_filter(logits, 10), logits)  # k >= V keeps everything
    # the kept logits are unchanged, not renormalised
    assert top_k_filter(logits, 2)[1].item() == 3.0


def test_top_k_batched_rows_are_independent():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0], [4.0, -1.0, 0.5, 2.0]])
    out = top_k_filter(logits, 2)
    assert kept(out[0]) == [1, 2] and kept(out[1]) == [0, 3]


def test_top_k_one_equals_argmax():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 50, generator=gen)
    tokens = sample_next_token(logits, temperature=1.0, top_k=1, generator=gen)
    assert torch.equal(tokens, logits.argmax(-1))


# ---------------------------------------------------------------- top-p


def test_top_p_hand_example():
    # probabilities 0.5, 0.3, 0.15, 0.05 placed in a shuffled order
    probs = torch.tensor([0.15, 0.5, 0.05, 0.3])
    logits = probs.log()
    assert kept(top_p_filter(logits, 0.45)) == [1]            # 0.5 already >= 0.45
    assert kept(top_p_filter(logits, 0.7)) == [1, 3]          # 0.5 < 0.7 <= 0.8
    assert kept(top_p_filter(logits, 0.9)) == [0, 1, 3]       # 0.8 < 0.9 <= 0.95
    assert kept(top_p_filter(logits, 0.97)) == [0, 1, 2, 3]
    assert kept(top_p_filter(logits, 1.0)) == [0, 1, 2, 3]
    assert kept(top_p_filter(logits, 1e-9)) == [1]           # never empty: the top token stays


def test_top_p_keeps_the_minimal_prefix():
    gen = torch.Generator().manual_seed(1)
    for _ in range(50):
        logits = 2 * torch.randn(30, generator=gen)
        p = float(torch.rand(1, generator=gen)) * 0.98 + 0.01
        mask = torch.isfinite(top_p_filter(logits, p))
        probs = torch.softmax(logits, -1)
        sorted_probs, order = torch.sort(probs, descending=True)
        m = int(mask.sum())
        # the kept tokens are exactly the m most probable ones ...
        assert set(order[:m].tolist()) == set(torch.nonzero(mask).flatten().tolist())
        # ... their mass reaches p, and one token fewer would not
        assert sorted_probs[:m].sum() >= p - 1e-6
        assert m == 1 or sorted_probs[: m - 1].sum() < p + 1e-6


def test_samples_stay_inside_the_filtered_support():
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(8, 20, generator=gen).repeat(50, 1)   # (400, 20)
    tokens = sample_next_token(logits, temperature=0.7, top_k=5, top_p=0.6, generator=gen)
    allowed = torch.isfinite(top_p_filter(top_k_filter(logits / 0.7, 5), 0.6))
    assert allowed.gather(1, tokens[:, None]).all()


# ---------------------------------------------------------------- temperature


def test_temperature_zero_is_greedy():
    logits = torch.randn(10, 7, generator=torch.Generator().manual_seed(3))
    assert torch.equal(sample_next_token(logits, temperature=0), logits.argmax(-1))
    assert torch.equal(sample_next_token(logits, temperature=0, top_p=0.3), logits.argmax(-1))


def test_temperature_reshapes_the_distribution():
    """Empirical frequencies follow softmax(logits / temperature)."""
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    n = 20000
    for temperature in (0.5, 1.0, 2.0):
        gen = torch.Generator().manual_seed(4)
        tokens = sample_next_token(logits.expand(n, 3), temperature=temperature, generator=gen)
        freq = torch.bincount(tokens, minlength=3).float() / n
        expected = torch.softmax(logits[0] / temperature, -1)
        # 5 standard errors of a binomial proportion
        tol = 5 * torch.sqrt(expected * (1 - expected) / n)
        assert torch.all((freq - expected).abs() < tol), (temperature, freq, expected)


def test_same_generator_seed_gives_same_samples():
    logits = torch.randn(5, 11, generator=torch.Generator().manual_seed(5))
    a = sample_next_token(logits, generator=torch.Generator().manual_seed(9))
    b = sample_next_token(logits, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=-1.0), "temperature: expected a number >= 0, got -1.0"),
    (dict(top_k=0), "top_k: expected a positive integer, got 0"),
    (dict(top_k=2.5), "top_k: expected a positive integer, got 2.5"),
    (dict(top_p=0.0), r"top_p: expected a number in \(0, 1\], got 0.0"),
    (dict(top_p=1.5), r"top_p: expected a number in \(0, 1\], got 1.5"),
    (dict(temperature=0, top_p=2.0), r"top_p: expected a number in \(0, 1\], got 2.0"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_next_token(torch.zeros(2, 5), **kwargs)


def test_logits_shape_error():
    with pytest.raises(ValueError, match=r"logits: expected shape \(B, V\), got \(2, 3, 5\)"):
        sample_next_token(torch.zeros(2, 3, 5))


# ---------------------------------------------------------------- generate


def tiny_gpt(max_len: int = 16, seed: int = 0):
    return tiny_models.tiny_gpt(vocab_size=13, max_len=max_len, seed=seed)


def test_generate_shapes_and_prompt_kept():
    model = tiny_gpt()
    prompt = torch.randint(0, 13, (3, 4), generator=torch.Generator().manual_seed(0))
    out = generate(model, prompt, 6, generator=torch.Generator().manual_seed(1))
    assert out.shape == (3, 10) and torch.equal(out[:, :4], prompt)
    assert out.dtype == torch.int64 and 0 <= int(out.min()) and int(out.max()) < 13
    assert torch.equal(generate(model, prompt, 0), prompt)


@pytest.mark.parametrize("new_tokens", [5, 30])   # 30: runs past max_len 16
def test_cached_greedy_equals_uncached(new_tokens):
    model = tiny_gpt()
    prompt = torch.randint(0, 13, (2, 3), generator=torch.Generator().manual_seed(0))
    fast = generate(model, prompt, new_tokens, temperature=0, use_cache=True)
    slow = generate(model, prompt, new_tokens, temperature=0, use_cache=False)
    assert torch.equal(fast, slow)


@pytest.mark.parametrize("options", [dict(), dict(top_k=5), dict(top_p=0.8, temperature=1.3)])
def test_cached_sampling_equals_uncached(options):
    model = tiny_gpt(seed=1)
    prompt = torch.randint(0, 13, (4, 2), generator=torch.Generator().manual_seed(0))
    fast = generate(model, prompt, 25, use_cache=True,
                    generator=torch.Generator().manual_seed(7), **options)
    slow = generate(model, prompt, 25, use_cache=False,
                    generator=torch.Generator().manual_seed(7), **options)
    assert torch.equal(fast, slow)


def test_generate_prompt_longer_than_context_uses_the_last_window():
    model = tiny_gpt(max_len=8)
    prompt = torch.randint(0, 13, (1, 20), generator=torch.Generator().manual_seed(0))
    out = generate(model, prompt, 3, temperature=0)
    expected = generate(model, prompt[:, -8:], 1, temperature=0)[:, -1]
    assert torch.equal(out[:, 20], expected)
    assert torch.equal(out, generate(model, prompt, 3, temperature=0, use_cache=False))


def test_generate_restores_training_mode():
    model = tiny_gpt().train()
    generate(model, torch.zeros(1, 1, dtype=torch.long), 2)
    assert model.training


def test_generate_errors():
    model = tiny_gpt()
    shape_error = r"prompt: expected shape \(B, T0\) with T0 >= 1, got \(5,\)"
    with pytest.raises(ValueError, match=shape_error):
        generate(model, torch.zeros(5, dtype=torch.long), 3)
    dtype_error = "prompt: expected integer token ids, got dtype torch.float32"
    with pytest.raises(ValueError, match=dtype_error):
        generate(model, torch.zeros(1, 5), 3)
    with pytest.raises(ValueError, match="max_new_tokens: expected an integer >= 0, got -1"):
        generate(model, torch.zeros(1, 5, dtype=torch.long), -1)


def test_nucleus_of_a_peaked_distribution_is_small():
    """Why top-p adapts: a confident model keeps few tokens, an unsure one many."""
    peaked = torch.tensor([8.0] + [0.0] * 99)
    flat = torch.zeros(100)
    assert len(kept(top_p_filter(peaked, 0.9))) == 1
    assert len(kept(top_p_filter(flat, 0.905))) == 91   # 90 tokens hold 0.90 < 0.905


def test_time_generation_checks_equality_and_reports_a_speedup():
    from course_lib.models.gpt import GPT, GPTConfig
    from course_lib.training.sampling import time_generation

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, max_len=40, d_model=16, num_heads=2,
                          num_layers=1))
    # a scripted clock: its n-th reading is n**2, so the times come out known exactly
    readings = []

    def clock() -> float:
        readings.append(len(readings) + 1)
        return float(readings[-1] ** 2)

    timed = time_generation(model, torch.zeros(1, 2, dtype=torch.long), 20, repeats=2,
                            warmup=0, clock=clock)
    # alternation cached, uncached, cached, uncached reads 1..8: cached 4-1 and 36-25,
    # uncached 16-9 and 64-49 -> cached [3, 11], uncached [7, 15]; medians 7 and 11, and
    # the speed-up is the median of the per-round ratios 7/3 and 15/11
    assert len(readings) == 8
    assert (timed.cached, timed.uncached) == (7.0, 11.0)
    assert timed.speedup == pytest.approx((7 / 3 + 15 / 11) / 2)


def test_time_generation_refuses_to_time_paths_that_disagree(monkeypatch):
    """A speed-up is only reported for a cache that gives the uncached tokens."""
    from course_lib.analysis import timing

    def generate_badly(model, prompt, n, *, use_cache, temperature):
        return prompt + int(use_cache)  # the "cached" tokens differ

    monkeypatch.setattr(timing, "generate", generate_badly)
    with pytest.raises(RuntimeError, match="cached and uncached generation disagree"):
        timing.time_generation(None, torch.zeros(1, 2, dtype=torch.long), 5)
