"""Data-parallel training with ``torch.distributed``: the engine large models are trained on.

Data parallelism (as in PyTorch's DistributedDataParallel, Li et al. 2020): every process
(worker, "rank") holds a full copy of the model, takes its own slice of each global batch,
computes the gradient of its slice, and the processes average their gradients with an
all-reduce before every optimiser step. Since the loss of a batch is the mean of its
examples' losses, the averaged gradient is the gradient of the whole global batch, so ``W``
workers take exactly the steps that one process would take on the global batch (up to
floating-point rounding, because the sums are added in a different order).

Here the workers are processes on one machine that talk over the loopback interface with
the ``gloo`` backend (CPU tensors). On a GPU cluster the same code runs with the ``nccl``
backend and one process per GPU, started by ``torchrun --nnodes=... --nproc-per-node=...``,
which sets the same ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK`` and ``WORLD_SIZE``
environment variables that :func:`train_data_parallel` sets for its processes.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from course_lib.models.gpt import GPT, GPTConfig
from course_lib.training.language_model import lm_loss
from course_lib.training.loop import seeded, train

__all__ = ["DataParallelResult", "gloo_unavailable_reason", "free_port", "global_batches",
           "shard", "train_single_process", "train_data_parallel"]

# What every worker process gets in its environment. One thread each, and threads that
# sleep instead of spinning when they wait: W processes share the machine's cores.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class DataParallelResult:
    """What a training run returns: rank 0's weights and per-step times of every rank."""

    state_dict: dict[str, torch.Tensor]
    world_size: int
    seconds_per_step: list[float]  # wall time of one step, mean over the steps, per rank
    cpu_seconds_per_step: list[float]  # process CPU time of one step, per rank
    ranks_identical: bool  # every rank ended with bit-identical weights


def gloo_unavailable_reason() -> str | None:
    """``None`` if this platform can run the gloo backend, else why not (for a test skip)."""
    if not dist.is_available():
        return "this PyTorch build has no torch.distributed"
    if not dist.is_gloo_available():
        return "this PyTorch build has no gloo backend"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def global_batches(ids: torch.Tensor, steps: int, batch_size: int, max_len: int,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` global batches of random windows, fixed in advance so that every run (one
    process or several) trains on the same data: ``(x, y)``, each ``(steps, B, T)``."""
    if ids.ndim != 1 or len(ids) <= max_len:
        raise ValueError(f"ids: expected a 1-D sequence longer than max_len="
                         f"{max_len}, got shape {tuple(ids.shape)}")
    generator = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, len(ids) - max_len, (steps, batch_size),
                           generator=generator)
    windows = ids[starts[..., None] + torch.arange(max_len + 1)]  # (steps, B, T+1)
    return windows[..., :-1], windows[..., 1:]


def shard(batch: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank ``rank``'s contiguous slice of a global batch ``(B, ...)``: ``(B / W, ...)``."""
    if batch.shape[0] % world_size:
        raise ValueError(f"batch: expected a batch size divisible by world_size={world_size}, "
                         f"got {batch.shape[0]}")
    size = batch.shape[0] // world_size
    return batch[rank * size:(rank + 1) * size]


def _build(config: GPTConfig, seed: int, dtype: torch.dtype = torch.float32) -> GPT:
    with seeded(seed):  # the same initial weights in every process
        return GPT(config).to(dtype)


def _train_steps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float
                 ) -> tuple[float, float]:
    """Adam steps on batches ``x[i], y[i]``; returns (wall, CPU) seconds per step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    wall, cpu = time.perf_counter(), time.process_time()
    train(model, lambda step: (x[step - 1], y[step - 1]), lm_loss, steps=len(x),
          optimizer=optimizer, progress=False)
    return ((time.perf_counter() - wall) / len(x), (time.process_time() - cpu) / len(x))


def train_single_process(config: GPTConfig, x: torch.Tensor, y: torch.Tensor, *, lr: float,
                         seed: int, dtype: torch.dtype = torch.float32) -> DataParallelResult:
    """The reference: one process trains ``GPT(config)`` (weights from ``seed``, in
    ``dtype``) with Adam on the global batches ``x, y`` ``(steps, B, T)``, in the calling
    process."""
    model = _build(config, seed, dtype)
    wall, cpu = _train_steps(model, x, y, lr)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    return DataParallelResult(state_dict=state, world_size=1, seconds_per_step=[wall],
                              cpu_seconds_per_step=[cpu], ranks_identical=True)


def _worker(rank: int, world_size: int, config: GPTConfig, x: torch.Tensor, y: torch.Tensor,
            lr: float, seed: int, dtype: torch.dtype, folder: str) -> None:
    """One process of :func:`train_data_parallel`: join the group, train, save, leave."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)  # reads MASTER_* env
    try:
        model = DistributedDataParallel(_build(config, seed, dtype))
        local_x = torch.stack([shard(batch, rank, world_size) for batch in x])
        local_y = torch.stack([shard(batch, rank, world_size) for batch in y])
        wall, cpu = _train_steps(model, local_x, local_y, lr)
        torch.save({"state_dict": model.module.state_dict(), "wall": wall, "cpu": cpu},
                   Path(folder) / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def train_data_parallel(config: GPTConfig, x: torch.Tensor, y: torch.Tensor, *, lr: float,
                        seed: int, world_size: int = 2, dtype: torch.dtype = torch.float32,
                        timeout: float = 300.0) -> DataParallelResult:
    """Train with DistributedDataParallel in ``world_size`` new processes (gloo, loopback).

    Each process builds the same ``GPT(config)`` from ``seed``, takes its slice of every
    global batch ``x, y (steps, B, T)`` (``B`` divisible by ``world_size``) and runs the same
    Adam steps as :func:`train_single_process` (in ``dtype``). The processes are started with
    ``torch.multiprocessing`` ("spawn": fresh interpreters, as ``torchrun`` would start
    them) and run one thread each. Raises ``RuntimeError`` if a process fails or
    ``timeout`` seconds pass.
    """
    reason = gloo_unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    if world_size < 1:
        raise ValueError(f"world_size: expected a positive integer, got {world_size}")
    env = {**WORKER_ENV, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # children copy the environment when they start
    try:
        with tempfile.TemporaryDirectory() as folder:
            context = torch.multiprocessing.start_processes(
                _worker, args=(world_size, config, x, y, lr, seed, dtype, folder),
                nprocs=world_size, join=False, start_method="spawn")
            deadline = time.monotonic() + timeout
            while not context.join(timeout=0.5):
                if time.monotonic() > deadline:
                    for process in context.processes:
                        process.kill()
                    raise RuntimeError(f"data-parallel training took more than {timeout} s")
            results = [torch.load(Path(folder) / f"rank{r}.pt", weights_only=True)
                       for r in range(world_size)]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    first = results[0]["state_dict"]
    identical = all(torch.equal(first[k], r["state_dict"][k]) for r in results for k in first)
    return DataParallelResult(state_dict=first, world_size=world_size,
                              seconds_per_step=[r["wall"] for r in results],
                              cpu_seconds_per_step=[r["cpu"] for r in results],
                              ranks_identical=identical)
