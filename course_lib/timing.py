"""Wall-clock timing for the lessons' "how long does this take" measurements.

Lessons show times, they never assert them (a shared or busy machine makes timings noisy);
speed claims with ratios against PyTorch live in ``benchmarks/``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

__all__ = [
    "median_seconds", "seconds_per_training_step",
]



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
