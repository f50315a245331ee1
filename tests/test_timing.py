from __future__ import annotations

import time

import pytest
import torch

from course_lib.analysis import timing


def test_median_seconds_measures_and_warms_up() -> None:
    calls = []

    def sleepy() -> None:
        calls.append(1)
        time.sleep(0.01)

    seconds = timing.median_seconds(sleepy, repeats=3, warmup=2)
    assert len(calls) == 5 and 0.009 < seconds < 0.5
    with pytest.raises(ValueError, match="repeats: expected >= 1, got 0"):
        timing.median_seconds(sleepy, repeats=0)
    with pytest.raises(ValueError, match="warmup: expected >= 0, got -1"):
        timing.median_seconds(sleepy, warmup=-1)


def test_seconds_per_training_step_takes_optimiser_steps() -> None:
    model = torch.nn.Linear(3, 1)
    before = model.weight.detach().clone()
    x = torch.randn(8, 3)
    seconds = timing.seconds_per_training_step(model, lambda m: m(x).pow(2).mean(), repeats=2)
    assert seconds > 0 and not torch.equal(before, model.weight)


def test_interleaved_times_alternates_and_median_ratio_pairs_rounds():
    from course_lib.analysis.timing import interleaved_times, median_ratio

    calls = []
    times = interleaved_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              repeats=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "a", "b", "a", "b"]
    assert [len(v) for v in times.values()] == [3, 3]
    assert median_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0
    with pytest.raises(ValueError, match="equally long"):
        median_ratio([1.0], [])


def test_interleaved_times_can_use_a_cpu_clock():
    import time

    from course_lib.analysis.timing import interleaved_times
    times = interleaved_times({"spin": lambda: sum(range(20_000))}, repeats=3, warmup=0,
                              clock=time.process_time)
    assert len(times["spin"]) == 3 and all(t >= 0 for t in times["spin"])
