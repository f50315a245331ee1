"""What this machine offers the process: the one place that counts CPU cores (the notebook
environment's thread choice and the grader's worker count both ask it)."""

from __future__ import annotations

import os

__all__ = ["available_cores"]


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity mask where the system has one (a
    container or ``taskset`` may allow fewer than ``os.cpu_count`` reports), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)
