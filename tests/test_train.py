from __future__ import annotations

import pytest
import torch

from course_lib.notebook.environment import seed_everything
from course_lib.training.loop import random_batches, train


def _regression(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    seed_everything(seed)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return torch.nn.Linear(3, 1), x, y


def _mse(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def test_train_reduces_loss_and_records_history() -> None:
    model, x, y = _regression()
    history = train(model, random_batches(x, y, batch_size=32), _mse, steps=300, lr=0.05,
                    eval_fn=lambda m: {"mse": float(_mse(m, (x, y)))}, eval_every=100,
                    progress=False)
    assert history.losses[-1] < 0.01 * history.losses[0]
    assert [e["step"] for e in history.evals] == [100, 200, 300]
    assert history.metric("mse")[0] == [100, 200, 300]
    assert history.final_eval["mse"] < 1e-3 and history.seconds > 0


def test_stop_when_stops_early() -> None:
    model, x, y = _regression()
    history = train(model, random_batches(x, y, batch_size=32), _mse, steps=2000, lr=0.05,
                    eval_fn=lambda m: {"mse": float(_mse(m, (x, y)))}, eval_every=50,
                    stop_when=lambda metrics: metrics["mse"] < 0.1, progress=False)
    assert history.stopped_early and len(history.steps) < 2000
    assert history.final_eval["mse"] < 0.1


def test_training_is_reproducible() -> None:
    runs = []
    for _ in range(2):
        model, x, y = _regression(seed=1)
        gen = torch.Generator().manual_seed(1)
        runs.append(train(model, random_batches(x, y, batch_size=16, generator=gen), _mse,
                          steps=20, progress=False).losses)
    assert runs[0] == runs[1]


def test_batches_may_be_a_function_or_a_finite_list() -> None:
    model, x, y = _regression()
    seen = []
    train(model, lambda step: (seen.append(step), (x, y))[1], _mse, steps=3, progress=False)
    assert seen == [1, 2, 3]
    history = train(model, [(x[:8], y[:8]), (x[8:16], y[8:16])], _mse, steps=5,
                    progress=False)
    assert len(history.losses) == 5


def test_clear_errors() -> None:
    model, x, y = _regression()
    with pytest.raises(ValueError, match="steps: expected a positive integer, got 0"):
        train(model, [(x, y)], _mse, steps=0)
    with pytest.raises(ValueError, match="first dimension 256"):
        next(random_batches(x, y[:10], batch_size=4))
    with pytest.raises(FloatingPointError, match="loss became nan at step 1"):
        train(model, [(x, y)], lambda m, b: torch.tensor(float("nan"), requires_grad=True),
              steps=1, progress=False)


def test_random_batches_cover_the_data_each_epoch() -> None:
    x = torch.arange(10)
    batches = random_batches(x, batch_size=5, generator=torch.Generator().manual_seed(0))
    epoch = torch.cat([next(batches)[0], next(batches)[0]])
    assert sorted(epoch.tolist()) == list(range(10))


def test_history_records_the_thread_count_used():
    model = torch.nn.Linear(2, 1)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        from course_lib.notebook import environment as env
        env.set_threads(1)  # fixed: no tuner
        history = train(model, lambda step: torch.ones(4, 2), lambda m, b: m(b).pow(2).mean(),
                        steps=3, progress=False)
        assert history.thread_choices == [(1, 1)]
    finally:
        torch.set_num_threads(before)


def test_average_loss_is_the_running_average_the_bar_shows() -> None:
    from course_lib.training.loop import TrainHistory

    history = TrainHistory(losses=[1.0, 3.0, 1.0, 3.0])
    expected = 1.0
    for value in (3.0, 1.0, 3.0):
        expected = 0.95 * expected + 0.05 * value
    assert history.average_loss == pytest.approx(expected)
    assert TrainHistory().average_loss != TrainHistory().average_loss  # NaN: no steps
