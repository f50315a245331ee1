"""Timing helpers shared by the benchmark scripts.

Each contender runs a few untimed warm-up calls (first calls pay for allocation and kernel
selection), then the contenders are timed in alternation and compared by the median of
per-round ratios, which resists the outliers a shared machine produces.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved_times(fns: dict[str, Callable[[], object]], repeats: int = 20,
                      warmup: int = 3) -> dict[str, list[float]]:
    """Wall times (seconds) of ``repeats`` calls of each function, timed in alternation.

    Alternating ``a, b, a, b, ...`` exposes every contender to the same background load,
    so their ratio is fairer on a shared machine than timing one after the other.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def interleaved_median_times(fns: dict[str, Callable[[], object]], repeats: int = 20,
                             warmup: int = 3) -> dict[str, float]:
    """Median time per call of each function, timed in alternation (see interleaved_times)."""
    times = interleaved_times(fns, repeats, warmup)
    return {name: statistics.median(values) for name, values in times.items()}


def median_ratio(ours: list[float], reference: list[float]) -> float:
    """Median over rounds of ``ours[i] / reference[i]``: each ratio compares two runs taken
    back to back, so a burst of background load cancels out instead of skewing one side."""
    return statistics.median(a / b for a, b in zip(ours, reference, strict=True))
