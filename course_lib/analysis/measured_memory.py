"""Measured peak memory of one call: what NumPy allocates, and the bytes torch tensors hold.

NumPy reports its array buffers to :mod:`tracemalloc`, so the peak of a NumPy computation
can be measured directly. PyTorch's CPU allocator does not; for torch we count the bytes
of the tensors actually allocated, either held ones (``numel * element_size``) or, during a
call, the allocation events that :mod:`torch.profiler` records. (For what *training* keeps
in memory, by arithmetic, see :mod:`course_lib.scale.training_memory`.)
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

from course_lib.core.tensors import tensor_bytes

__all__ = ["numpy_peak_bytes", "tensor_bytes", "torch_peak_bytes"]


def numpy_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (and traced) while ``fn()`` runs, above what was live before.

    The result of ``fn`` is dropped inside the measurement; inputs created before the call
    do not count.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    if not was_tracing:
        tracemalloc.stop()
    return peak - before


def torch_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes that torch's CPU allocator handed out while ``fn()`` runs.

    Read from :mod:`torch.profiler` with ``profile_memory=True``: every allocation and
    free is an event with its size; the peak is the largest running total. Only memory
    allocated through torch counts (a kernel's stack scratch does not).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    running = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        running += event.self_cpu_memory_usage  # positive: allocated, negative: freed
        peak = max(peak, running)
    return peak
