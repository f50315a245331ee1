"""Wall-clock timing for the lessons' "how long does this take" measurements, and the
interleaved timing the benchmarks use to compare contenders on a shared machine.

Lessons show times, they never assert them (a shared or busy machine makes timings noisy);
speed claims with ratios against PyTorch live in ``benchmarks/``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

__all__ = ["median_seconds", "seconds_per_training_step", "interleaved_times", "median_ratio"]


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of one call of ``fn()`` in seconds, after ``warmup`` untimed calls.

    The first calls pay for memory allocation and kernel selection; the median resists
    the outliers other programs on the machine cause.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: expected >= 0, got {warmup}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def seconds_per_training_step(model: torch.nn.Module,
                              loss_of_model: Callable[[torch.nn.Module], torch.Tensor],
                              repeats: int = 5) -> float:
    """Median wall time of one optimiser step (zero_grad, backward, Adam step) in seconds.

    ``loss_of_model(model) -> scalar loss`` on a fixed batch. The model's weights change
    (a tiny learning rate), so time a throw-away copy if its training matters.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def step() -> None:
        optimizer.zero_grad()
        loss_of_model(model).backward()
        optimizer.step()

    return median_seconds(step, repeats=repeats, warmup=1)


def interleaved_times(fns: dict[str, Callable[[], object]], repeats: int = 20,
                      warmup: int = 3, clock: Callable[[], float] = time.perf_counter
                      ) -> dict[str, list[float]]:
    """Wall times (seconds) of ``repeats`` calls of each function, timed in alternation.

    Each contender first runs ``warmup`` untimed calls (first calls pay for allocation and
    kernel selection). Alternating ``a, b, a, b, ...`` then exposes every contender to the
    same background load, so their ratio is fairer on a shared machine than timing one
    after the other. ``clock=time.process_time`` measures CPU seconds instead: for
    single-threaded work on a busy machine, close to what a quiet machine's wall clock shows.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: expected >= 0, got {warmup}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return times


def median_ratio(ours: list[float], reference: list[float]) -> float:
    """Median over rounds of ``ours[i] / reference[i]``: each ratio compares two runs taken
    back to back, so a burst of background load cancels out instead of skewing one side."""
    if not ours or len(ours) != len(reference):
        raise ValueError(f"expected two equally long, non-empty lists of times, got "
                         f"{len(ours)} and {len(reference)}")
    return statistics.median(a / b for a, b in zip(ours, reference, strict=True))
