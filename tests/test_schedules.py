"""Learning-rate schedules against their formulas, written out independently here."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.training import schedules


def paper_rate(step: int, d_model: int, warmup: int) -> float:
    """Vaswani et al. (2017), eq. (3), typed in from the paper with plain math."""
    return d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)


def test_noam_lr_matches_the_paper_formula():
    for step in (1, 2, 10, 3999, 4000, 4001, 10_000, 100_000):
        assert schedules.noam_lr(step, 512, 4000) == pytest.approx(paper_rate(step, 512, 4000))


def test_noam_lr_peaks_at_warmup_and_is_vectorised():
    steps = np.arange(1, 20_001)
    rates = schedules.noam_lr(steps, 512, 4000)
    assert rates.shape == steps.shape
    assert int(steps[np.argmax(rates)]) == 4000
    assert rates.max() == pytest.approx((512 * 4000) ** -0.5)
    assert np.all(np.diff(rates[:4000]) > 0) and np.all(np.diff(rates[4000:]) < 0)


def test_inverse_sqrt_lr_is_the_noam_shape_rescaled_to_its_peak():
    steps = np.arange(1, 3000)
    peak = 3e-3
    factor = peak * math.sqrt(64 * 200)
    np.testing.assert_allclose(schedules.inverse_sqrt_lr(steps, peak, 200),
                               schedules.noam_lr(steps, 64, 200, factor=factor), rtol=1e-12)
    assert schedules.inverse_sqrt_lr(200, peak, 200) == pytest.approx(peak)


def test_warmup_cosine_lr_formula():
    peak, warm, total, low = 1e-3, 10, 110, 1e-4
    for step in range(1, 130):
        if step <= warm:
            expected = peak * step / warm
        elif step >= total:
            expected = low
        else:
            t = (step - warm) / (total - warm)
            expected = low + 0.5 * (peak - low) * (1 + math.cos(math.pi * t))
        assert schedules.warmup_cosine_lr(step, peak, warm, total, low) == pytest.approx(expected)
    assert schedules.warmup_cosine_lr(60, peak, warm, total, low) == pytest.approx((peak + low) / 2)


def run_and_record(make, base_lr: float, steps: int) -> list[float]:
    """Drive a real optimizer + scheduler and record the lr used by each optimizer.step()."""
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.Adam([param], lr=base_lr, betas=(0.9, 0.98), eps=1e-9)
    scheduler = make(optimizer)
    used = []
    for _ in range(steps):
        used.append(optimizer.param_groups[0]["lr"])
        param.sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
    return used


def test_noam_schedule_uses_the_formula_at_every_optimizer_step():
    used = run_and_record(lambda opt: schedules.noam_schedule(opt, 64, 50), 1.0, 200)
    expected = [paper_rate(k, 64, 50) for k in range(1, 201)]
    np.testing.assert_allclose(used, expected, rtol=1e-12)
    # the optimizer's lr scales the whole curve (the paper's "factor")
    scaled = run_and_record(lambda opt: schedules.noam_schedule(opt, 64, 50), 2.0, 200)
    np.testing.assert_allclose(scaled, 2.0 * np.array(expected), rtol=1e-12)


def test_warmup_cosine_schedule_and_inverse_sqrt_schedule_follow_their_functions():
    used = run_and_record(lambda opt: schedules.warmup_cosine_schedule(opt, 20, 100, 0.1),
                          5e-3, 120)
    steps = np.arange(1, 121)
    np.testing.assert_allclose(used, schedules.warmup_cosine_lr(steps, 5e-3, 20, 100, 5e-4),
                               rtol=1e-12)
    used = run_and_record(lambda opt: schedules.inverse_sqrt_schedule(opt, 30), 3e-3, 100)
    np.testing.assert_allclose(used, schedules.inverse_sqrt_lr(np.arange(1, 101), 3e-3, 30),
                               rtol=1e-12)


def test_trace_schedule_matches_a_real_training_loop():
    traced = schedules.trace_schedule(lambda opt: schedules.noam_schedule(opt, 32, 10), 40)
    np.testing.assert_allclose(traced, [paper_rate(k, 32, 10) for k in range(1, 41)], rtol=1e-12)


def test_schedule_through_course_train_loop():
    from course_lib.training.loop import train

    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
    scheduler = schedules.noam_schedule(optimizer, 16, 5)
    history = train(model, lambda step: torch.randn(4, 2),
                    lambda m, x: m(x).pow(2).mean(), steps=12, optimizer=optimizer,
                    scheduler=scheduler, progress=False)
    # train records the lr *after* each step, i.e. the one the next step will use
    np.testing.assert_allclose(history.learning_rates,
                               [paper_rate(k + 1, 16, 5) for k in range(1, 13)], rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: schedules.noam_lr(0, 512, 4000), "step: expected optimiser steps counted from 1"),
        (lambda: schedules.noam_lr(1, 0, 4000), "d_model: expected a positive number, got 0"),
        (lambda: schedules.noam_lr(1, 512, -5), "warmup_steps: expected a positive number, got -5"),
        (lambda: schedules.warmup_cosine_lr(5, 1e-3, 10, 10),
         "total_steps: expected more than warmup_steps (10), got 10"),
        (lambda: schedules.warmup_cosine_lr(5, 1e-3, 10, 20, min_lr=2e-3),
         "min_lr: expected a value in [0, peak_lr=0.001], got 0.002"),
        (lambda: schedules.inverse_sqrt_lr(5, 0.0, 10), "peak_lr: expected a positive number"),
        (lambda: schedules.trace_schedule(lambda o: schedules.noam_schedule(o, 8, 2), 0),
         "steps: expected a positive integer, got 0"),
    ],
)
def test_clear_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_factories_validate_when_built():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="total_steps"):
        schedules.warmup_cosine_schedule(optimizer, 50, 20)
    with pytest.raises(ValueError, match="warmup_steps"):
        schedules.noam_schedule(optimizer, 64, 0)
