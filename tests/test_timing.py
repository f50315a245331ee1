from __future__ import annotations

import time

import pytest
import torch

from course_lib.analysis import timing


class _ScriptedClock:
    """A clock whose readings are those of a script: each call of ``fn`` in a test advances
    it by the next duration, so the times a timer reports are known exactly."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def work(self, seconds: float) -> None:
        self.now += seconds


def test_median_seconds_times_each_call_after_its_warmup() -> None:
    clock = _ScriptedClock()
    durations = iter([100.0, 100.0, 3.0, 1.0, 2.0])  # two warm-up calls, then three timed

    seconds = timing.median_seconds(lambda: clock.work(next(durations)), repeats=3,
                                    warmup=2, clock=clock)
    assert seconds == 2.0  # the warm-up calls are not timed; the median of 3, 1, 2
    with pytest.raises(StopIteration):
        next(durations)  # exactly warmup + repeats calls
    with pytest.raises(ValueError, match="repeats: expected a positive integer, got 0"):
        timing.median_seconds(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup: expected an integer >= 0, got -1"):
        timing.median_seconds(lambda: None, warmup=-1)


def test_median_seconds_uses_the_wall_clock_by_default() -> None:
    seconds = timing.median_seconds(lambda: time.sleep(0.01), repeats=3, warmup=0)
    assert seconds >= 0.009  # a sleep lasts at least as long as asked; no upper bound


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
