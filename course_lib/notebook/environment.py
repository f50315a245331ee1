"""The machine a lesson runs on: device choice, seeding, threads, an environment report.

Threads. torch runs each operation on a fixed number of OpenMP threads, each taking an
equal share. When another program holds a core (a browser, a second notebook, a grader),
the thread that shares it finishes late and every other thread waits for it, so two
threads can be much slower than one (they spin-wait for each other; a lesson once ran
13.8x slower). Making the threads sleep instead (``OMP_WAIT_POLICY=PASSIVE``) protects a
busy machine but costs a quiet one the second thread's gain on our small models (measured
in BENCHMARKS.md), so the course chooses the count instead:

* lessons with tiny models use one thread (``setup_notebook(num_threads=1)``): as fast as
  two when the machine is quiet, and unaffected when it is busy;
* lessons with bigger models leave the count to :class:`ThreadTuner`, which
  :func:`course_lib.training.loop.train` consults: it times a few steps with each candidate count
  and keeps the fastest for the machine *as it is now*, re-checking every few seconds.

An explicit setting always wins: ``COURSE_NUM_THREADS`` (or ``OMP_NUM_THREADS``) in the
environment, or ``setup_notebook(num_threads=k)``.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time

import numpy as np
import torch

from course_lib.core.machine import available_cores
from course_lib.core.validation import check_positive
from course_lib.notebook import language

# The font's one owner is course_lib.notebook.fonts; these names stay importable from here.
from course_lib.notebook.fonts import CJK_FONTS, packaged_cjk_font

__all__ = [
    "pick_device", "seed_everything", "set_threads", "available_cores", "explicit_threads",
    "ThreadTuner", "thread_candidates", "thread_tuner", "fastest_thread_count",
    "environment_report", "format_report",
    "setup_notebook", "CJK_FONTS", "packaged_cjk_font",
]

THREADS_VARIABLES = ("COURSE_NUM_THREADS", "OMP_NUM_THREADS")
# Whether train() may tune the thread count (True after setup_notebook() without an
# explicit count); set_threads(k) turns it off.
_auto_threads = False


def pick_device(prefer: str | None = None) -> torch.device:
    """Return ``prefer`` if given, else the best available device: cuda, then mps, then cpu."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a torch generator with that seed.

    One call at the top of a notebook makes every later random draw reproducible, as long
    as the cells run in order.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def set_threads(num_threads: int | None = None) -> int:
    """Use ``num_threads`` CPU threads for torch (default: every core the process may use).

    A fixed count: :func:`course_lib.training.loop.train` will not tune it afterwards.
    """
    global _auto_threads
    if num_threads is None:
        num_threads = available_cores()
    check_positive("num_threads", num_threads)
    torch.set_num_threads(num_threads)
    _auto_threads = False
    return num_threads


def explicit_threads() -> int | None:
    """The thread count the user set in the environment (``COURSE_NUM_THREADS``, else
    ``OMP_NUM_THREADS``), or None. A value that is not a positive integer is an error."""
    for name in THREADS_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
            return int(value)
    return None


class ThreadTuner:
    """Keeps torch on the fastest thread count for the machine as it is right now.

    Call :meth:`record` with the seconds of each training step. The tuner probes every
    candidate count for ``probe_steps`` steps (after one warm-up step, since the first step
    on a new count pays for starting threads), keeps the one with the lowest median step
    time, and probes again after ``reprobe_seconds``: another program may have taken or
    freed a core meanwhile. ``choices`` lists ``(step, threads)`` for each decision.

    Args:
        candidates: thread counts to try, e.g. ``[1, 2]``; at least two, all positive.
    """

    def __init__(self, candidates: list[int], probe_steps: int = 3,
                 reprobe_seconds: float = 20.0) -> None:
        if len(candidates) < 2 or any(c < 1 for c in candidates):
            raise ValueError(f"candidates: expected two or more positive counts, got {candidates}")
        check_positive("probe_steps", probe_steps)
        self.candidates = sorted(set(candidates), reverse=True)
        self.probe_steps, self.reprobe_seconds = probe_steps, reprobe_seconds
        self.choices: list[tuple[int, int]] = []
        self._steps = 0
        self._start_probe()

    @property
    def probing(self) -> bool:
        """True while candidates are being timed."""
        return self._queue is not None

    def _start_probe(self) -> None:
        self._queue = list(self.candidates)
        self._timings: dict[int, list[float]] = {}
        self._switch(self._queue[0])

    def _switch(self, threads: int) -> None:
        torch.set_num_threads(threads)
        self._current, self._seen_on_current = threads, 0

    def record(self, seconds: float) -> None:
        """Account one step that took ``seconds`` on the current thread count."""
        self._steps += 1
        self._seen_on_current += 1
        if self._queue is None:
            if time.perf_counter() - self._decided_at >= self.reprobe_seconds:
                self._start_probe()
            return
        if self._seen_on_current == 1:
            return  # warm-up step on a new count: not representative
        times = self._timings.setdefault(self._current, [])
        times.append(seconds)
        if len(times) < self.probe_steps:
            return
        self._queue.pop(0)
        if self._queue:
            self._switch(self._queue[0])
            return
        best = min(self._timings, key=lambda c: statistics.median(self._timings[c]))
        self._switch(best)
        self.choices.append((self._steps, best))
        self._queue, self._decided_at = None, time.perf_counter()


def thread_candidates(cores: int) -> list[int]:
    """1, 2, 4, ... up to ``cores``, and ``cores`` itself."""
    counts, n = {cores}, 1
    while n < cores:
        counts.add(n)
        n *= 2
    return sorted(counts)


def fastest_thread_count(candidates: list[int], repeats: int = 3) -> int:
    """The count in ``candidates`` that runs a small training-like workload fastest now.

    The workload (a 128-512-128 MLP's forward and backward on 768 rows, a few milliseconds)
    has the many short parallel regions of a training step, where threads sharing a busy
    core wait for each other; one big matrix product would hide that. Takes about 0.1 s.
    """
    generator = torch.Generator().manual_seed(0)  # fixed data; the global RNG is untouched
    x = torch.randn(768, 128, generator=generator)
    w1 = torch.randn(128, 512, generator=generator).requires_grad_()
    w2 = torch.randn(512, 128, generator=generator).requires_grad_()

    def step() -> None:
        torch.nn.functional.gelu(x @ w1).matmul(w2).square().mean().backward()

    timings = {}
    for count in candidates:
        torch.set_num_threads(count)
        step()  # warm-up: the first call on a new count starts its threads
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        timings[count] = statistics.median(times)
    return min(timings, key=timings.get)


def thread_tuner() -> ThreadTuner | None:
    """A tuner for the next training loop when the thread count is left to the course
    (``setup_notebook()`` without ``num_threads`` and no thread variable set), else None."""
    if not _auto_threads or explicit_threads() is not None:
        return None
    candidates = thread_candidates(available_cores())
    return ThreadTuner(candidates) if len(candidates) > 1 else None


def environment_report() -> dict[str, str]:
    """The facts a learner or a TA needs when something behaves differently on their machine."""
    device = pick_device()
    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "device": str(device),
        "cuda available": str(torch.cuda.is_available()),
        "cpu cores": str(available_cores()),
        "torch threads": str(torch.get_num_threads()),
    }
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(0)
    try:
        import matplotlib

        report["matplotlib"] = matplotlib.__version__
    except ImportError:
        report["matplotlib"] = "not installed"
    return report


def format_report(report: dict[str, str]) -> str:
    """Render :func:`environment_report` as aligned ``key: value`` lines."""
    width = max(len(key) for key in report)
    return "\n".join(f"{key:<{width}} : {value}" for key, value in report.items())


def setup_notebook(seed: int = 0, num_threads: int | None = None) -> torch.Generator:
    """Call once at the top of every lesson: seeds, threads and a readable plot style.

    ``num_threads``: a fixed count for the lesson; None leaves it to the course (the
    environment's ``COURSE_NUM_THREADS``/``OMP_NUM_THREADS`` if set, else every core, tuned
    by :class:`ThreadTuner` during training). Returns the seeded torch generator so a
    lesson can pass it to data generators. Safe to run again.
    """
    global _auto_threads
    chosen = num_threads if num_threads is not None else explicit_threads()
    if chosen is None:  # left to the course: start on the count that is fastest right now
        candidates = thread_candidates(available_cores())
        chosen_now = fastest_thread_count(candidates) if len(candidates) > 1 else 1
        threads = set_threads(chosen_now)
    else:
        threads = set_threads(chosen)
    _auto_threads = chosen is None
    font = None
    try:
        import matplotlib.pyplot as plt

        from course_lib.notebook import fonts, plots

        plots.use_course_style()
        font = fonts.use_cjk_font(plt)
    except ImportError:
        pass
    language.use_notebook_language()   # feedback in the notebook's language (en, zh)
    _load_feedback()
    # Safe to run again: every setting is set, not appended. Say what the cell provides.
    print(f"course set up: seed {seed}, {threads} torch thread(s)"
          f"{' (tuned while training)' if _auto_threads else ''}, plot style, "
          f"Chinese plot labels {'in ' + font if font else 'as pinyin (no Chinese font)'}")
    return seed_everything(seed)


def _load_feedback() -> None:
    """In IPython, explain a cell run out of order (see :mod:`course_lib.notebook.feedback`)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        from course_lib.notebook import feedback

        feedback.load_ipython_extension(shell)


