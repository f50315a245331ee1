"""Benchmark: how much slower the course gets when another program keeps one core busy.

    .venv/bin/python benchmarks/bench_under_load.py                  # loops + lesson 05
    .venv/bin/python benchmarks/bench_under_load.py --notebook none  # loops only (~1 min)
    .venv/bin/python benchmarks/bench_under_load.py --quick          # smoke run

Each case runs in a fresh interpreter (OpenMP reads its wait policy once, when torch
loads), first on the quiet machine, then while a busy-loop process spins on one core, in
the same run; the table prints both wall times and ``ratio = loaded / quiet``.

Loop cases, a lesson-sized training loop (a small ``nn.TransformerEncoder``, 60 steps):
* ``spin, all cores``: torch's defaults (threads = cores, OpenMP spin-waits): the old way;
* ``passive, all cores``: ``OMP_WAIT_POLICY=PASSIVE`` only;
* ``1 thread``: what lessons with tiny models fix;
* ``course (tuned)``: the course's policy, ``course_lib.training.loop.train`` with
  :class:`course_lib.notebook.environment.ThreadTuner` choosing the count as it goes.
Notebook case: one lesson executed headless the way ``make course`` does.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOOP = r"""
import json, os, sys, time
sys.path.insert(0, {root!r})
policy = {policy!r}
import torch
from torch import nn
steps = {steps}
torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True)
model = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
x = torch.randn(32, 64, 128)
if policy == "course":
    from course_lib.notebook import environment as env
    from course_lib.training import loop as train
    env.setup_notebook(seed=0)             # threads left to the course: tuned in train()
    start = time.perf_counter()
    train.train(model, lambda step: x, lambda m, b: m(b).pow(2).mean(), steps=steps,
                progress=False)
else:
    torch.set_num_threads({threads})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
print(json.dumps(time.perf_counter() - start))
"""

NOTEBOOK = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from course_tools import notebooks
from course_tools.execute import execute
path = Path({path!r})
start = time.perf_counter()
execute(notebooks.read(path), path.parent)
print(json.dumps(time.perf_counter() - start))
"""


def busy_loop() -> None:
    """Spin forever on the core this process is pinned to (a stand-in for any program)."""
    while True:
        pass


def run_case(code: str, env_changes: dict[str, str | None]) -> float:
    """Run ``code`` in a fresh interpreter with ``env_changes`` applied; its printed seconds."""
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return float(json.loads(out.strip().splitlines()[-1]))


def with_busy_core(fn):
    """Call ``fn()`` while a busy loop holds the last core; return its result."""
    busy = multiprocessing.Process(target=busy_loop, daemon=True)
    busy.start()
    try:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(busy.pid, {max(os.sched_getaffinity(0))})
        time.sleep(0.5)
        return fn()
    finally:
        busy.terminate()
        busy.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 steps, no notebook")
    parser.add_argument("--notebook", default="notebooks/05_transformer.ipynb",
                        help="lesson to run quiet and loaded ('none' to skip)")
    args = parser.parse_args(argv)
    steps = 10 if args.quick else 60
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cases = {
        "spin, all cores": ({"OMP_WAIT_POLICY": None}, "spin", cores),
        "passive, all cores": ({"OMP_WAIT_POLICY": "PASSIVE"}, "passive", cores),
        "1 thread": ({"OMP_WAIT_POLICY": None}, "one", 1),
        "course (tuned)": ({"OMP_WAIT_POLICY": None}, "course", cores),
    }
    clear = {"OMP_NUM_THREADS": None, "COURSE_NUM_THREADS": None}
    print(f"{cores} cores; busy loop pinned to core {cores - 1}; "
          f"training loop: TransformerEncoder 3x128, batch 32x64, {steps} steps")
    print(f"{'case':<28}{'quiet s':>10}{'loaded s':>10}{'ratio':>8}")
    for name, (env_changes, policy, threads) in cases.items():
        code = LOOP.format(root=str(ROOT), policy=policy, steps=steps, threads=threads)
        changes = {**clear, **env_changes}
        quiet = run_case(code, changes)
        loaded = with_busy_core(lambda code=code, changes=changes: run_case(code, changes))
        print(f"{name:<28}{quiet:>10.2f}{loaded:>10.2f}{loaded / quiet:>8.2f}", flush=True)
    if args.quick or args.notebook == "none":
        return
    code = NOTEBOOK.format(root=str(ROOT), path=str(ROOT / args.notebook))
    quiet = run_case(code, clear)
    loaded = with_busy_core(lambda: run_case(code, clear))
    name = Path(args.notebook).stem
    print(f"{name:<28}{quiet:>10.1f}{loaded:>10.1f}{loaded / quiet:>8.2f}")


if __name__ == "__main__":
    main()
