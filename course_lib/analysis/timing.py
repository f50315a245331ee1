"""Wall-clock timing for the lessons' "how long does this take" measurements, and the
interleaved timing the benchmarks use to compare contenders on a shared machine.

Lessons show times, they never assert them (a shared or busy machine makes timings noisy);
speed claims with ratios against PyTorch live in ``benchmarks/``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.core.validation import check_positive
from course_lib.training.sampling import generate

__all__ = ["median_seconds", "seconds_per_training_step", "interleaved_times", "median_ratio",
           "GenerationTiming", "time_generation"]


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1,
                   clock: Callable[[], float] = time.perf_counter) -> float:
    """Median wall time of one call of ``fn()`` in seconds, after ``warmup`` untimed calls.

    The first calls pay for memory allocation and kernel selection; the median resists
    the outliers other programs on the machine cause. ``clock`` as in
    :func:`interleaved_times`.
    """
    check_positive("repeats", repeats)
    check_positive("warmup", warmup, minimum=0)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
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
    check_positive("repeats", repeats)
    check_positive("warmup", warmup, minimum=0)
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


# --------------------------------------------------------------------------- generation
@dataclass(frozen=True)
class GenerationTiming:
    """Result of :func:`time_generation`: median seconds per generation with and without
    the KV cache, and ``speedup``, the median over rounds of uncached / cached time."""

    cached: float
    uncached: float
    speedup: float


def time_generation(model: nn.Module, prompt: torch.Tensor, max_new_tokens: int, *,
                    repeats: int = 5, warmup: int = 1,
                    clock: Callable[[], float] = time.perf_counter) -> GenerationTiming:
    """Time greedy generation with and without the KV cache, as ``bench_gpt.py`` does.

    Both paths are first checked to give the same tokens, then timed in alternation
    (cached, uncached, cached, ...) after ``warmup`` untimed calls each, so background
    load hits both alike; the speed-up is the median of per-round ratios.
    ``prompt (B, T0)``; keep ``T0 + max_new_tokens <= context length`` to time the cache
    rather than the sliding window. ``clock`` as in :func:`interleaved_times`.
    """
    def run(use_cache: bool) -> torch.Tensor:
        return generate(model, prompt, max_new_tokens, use_cache=use_cache, temperature=0)

    if not torch.equal(run(True), run(False)):
        raise RuntimeError("cached and uncached generation disagree")
    times = interleaved_times({"cached": lambda: run(True), "uncached": lambda: run(False)},
                              repeats=repeats, warmup=warmup, clock=clock)
    return GenerationTiming(cached=statistics.median(times["cached"]),
                            uncached=statistics.median(times["uncached"]),
                            speedup=median_ratio(times["uncached"], times["cached"]))
