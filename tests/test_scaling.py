"""course_lib.scale.scaling: the power-law fit and a tiny sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import tiny_gpt

from course_lib.models.gpt import GPTConfig
from course_lib.scale import scaling


def test_fit_recovers_a_known_power_law() -> None:
    n = np.array([1e3, 1e4, 1e5, 1e6])
    fit = scaling.fit_power_law(n, 7.0 * n ** -0.076)
    assert fit.exponent == pytest.approx(0.076, abs=1e-9)
    assert fit.coefficient == pytest.approx(7.0, rel=1e-9)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.predict(1e7) == pytest.approx(7.0 * 1e7 ** -0.076)


def test_fit_is_on_log_axes_not_linear() -> None:
    # With noise the log-log fit and a straight line through the raw values disagree;
    # the log-log slope is the exponent.
    rng = np.random.default_rng(0)
    n = np.logspace(3, 6, 8)
    loss = 5.0 * n ** -0.1 * np.exp(rng.normal(0, 0.01, 8))
    fit = scaling.fit_power_law(n, loss)
    assert fit.exponent == pytest.approx(0.1, abs=0.02)
    linear_slope = np.polyfit(n, loss, 1)[0]
    assert abs(linear_slope) < 1e-5  # meaningless as an exponent


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="positive"):
        scaling.fit_power_law([1, 2, 0], [1, 2, 3])
    with pytest.raises(ValueError, match="same length"):
        scaling.fit_power_law([1, 2], [1, 2, 3])


def test_non_embedding_parameters() -> None:
    model = tiny_gpt(vocab_size=50)
    blocks = sum(p.numel() for p in model.blocks.parameters())
    final_norm = sum(p.numel() for p in model.final_norm.parameters())
    assert scaling.non_embedding_parameters(model) == blocks + final_norm


def test_sweep_trains_each_size_on_the_same_tokens() -> None:
    ids = torch.arange(2000) % 7  # a periodic text: learnable in a few steps
    configs = [GPTConfig(vocab_size=7, max_len=8, d_model=d, num_heads=2, num_layers=1)
               for d in (8, 16)]
    state = torch.random.get_rng_state()
    runs = scaling.run_sweep(configs, ids[:1800], ids[1800:], steps=30, batch_size=8,
                             lr=1e-2, warmup=3, progress=False)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG left alone
    assert [r.d_model for r in runs] == [8, 16]
    assert all(r.tokens == 30 * 8 * 8 for r in runs)
    assert all(r.val_loss < np.log(7) for r in runs)  # both learned something
    assert runs[0].tokens_per_parameter > runs[1].tokens_per_parameter
    # Hoffmann et al.'s tokens per parameter count every parameter, embeddings included
    assert all(r.tokens_per_parameter == r.tokens / r.parameters for r in runs)
    assert all(r.parameters > r.non_embedding_parameters for r in runs)
    with pytest.raises(ValueError, match="max_len"):
        scaling.run_sweep([configs[0], GPTConfig(vocab_size=7, max_len=4, d_model=8,
                                                 num_heads=2, num_layers=1)],
                          ids, ids, steps=1, batch_size=1, lr=1e-3, warmup=1)
