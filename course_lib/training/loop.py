"""One training loop for every lesson: progress bar, periodic evaluation, early stop at target.

Lessons differ in their data and loss, not in how they train, so they pass those in::

    history = train(model, batches, loss_fn, steps=2000, lr=3e-3,
                    eval_fn=lambda m: {"acc": accuracy(m)}, eval_every=200,
                    stop_when=lambda metrics: metrics["acc"] >= 0.99)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from course_lib.core.modules import count_parameters, evaluating, seeded
from course_lib.notebook import environment as env

__all__ = [
    "TrainHistory", "random_batches", "train", "evaluating", "evaluate", "seeded",
    "count_parameters",
]


Batch = Any
LossFn = Callable[[torch.nn.Module, Batch], torch.Tensor]
EvalFn = Callable[[torch.nn.Module], dict[str, float]]


@dataclass
class TrainHistory:
    """What happened during :func:`train`: per-step losses, evaluations, wall time."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)  # each has a "step" key
    seconds: float = 0.0
    stopped_early: bool = False
    # (step, threads) for each thread count train() settled on (one entry when fixed)
    thread_choices: list[tuple[int, int]] = field(default_factory=list)

    @property
    def average_loss(self) -> float:
        """The running average of the loss at the last step, as the progress bar shows it
        ("avg loss": each step weighs 5%, the older ones decay by 0.95 per step)."""
        average = None
        for value in self.losses:
            average = value if average is None else 0.95 * average + 0.05 * value
        return float("nan") if average is None else average

    @property
    def final_eval(self) -> dict[str, float]:
        """The last evaluation's metrics (empty if none ran)."""
        return self.evals[-1] if self.evals else {}

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """``(steps, values)`` of one evaluation metric, for plotting."""
        pairs = [(int(e["step"]), e[name]) for e in self.evals if name in e]
        return [s for s, _ in pairs], [v for _, v in pairs]


def random_batches(*tensors: torch.Tensor, batch_size: int,
                   generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, ...]]:
    """Endless random mini-batches drawn (without replacement within an epoch) from tensors
    that share their first dimension N. Yields tuples of shape-(batch_size, ...) slices."""
    if not tensors:
        raise ValueError("random_batches: expected at least one tensor, got none")
    n = tensors[0].shape[0]
    for t in tensors:
        if t.shape[0] != n:
            raise ValueError(f"random_batches: every tensor needs first dimension {n}, "
                             f"got shape {tuple(t.shape)}")
    if not 0 < batch_size:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size}")
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            index = order[start:start + batch_size]
            yield tuple(t[index] for t in tensors)


def train(
    model: torch.nn.Module,
    batches: Iterable[Batch] | Callable[[int], Batch],
    loss_fn: LossFn,
    *,
    steps: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    clip_norm: float | None = None,
    eval_fn: EvalFn | None = None,
    eval_every: int | None = None,
    stop_when: Callable[[dict[str, float]], bool] | None = None,
    desc: str = "training",
    progress: bool = True,
) -> TrainHistory:
    """Train ``model`` for at most ``steps`` optimiser steps.

    Args:
        batches: an iterable of batches (cycled if it runs out) or a function ``step -> batch``.
        loss_fn: ``(model, batch) -> scalar loss``; the model is in training mode.
        optimizer: defaults to ``Adam(model.parameters(), lr)``.
        scheduler: stepped once after every optimiser step.
        clip_norm: clip the global gradient norm to this value (None: no clipping).
        eval_fn: ``model -> {metric: value}``, run in eval mode under ``torch.no_grad`` every
            ``eval_every`` steps and after the last step.
        stop_when: ``metrics -> bool``; training stops after the evaluation that satisfies it.

    Returns a :class:`TrainHistory`.
    """
    if steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps}")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every: expected a positive integer or None, got {eval_every}")
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    next_batch = _batch_source(batches)
    history = TrainHistory()
    smoothed: float | None = None
    # None when the lesson fixed its thread count; else picks the fastest count as it goes.
    tuner = env.thread_tuner()
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, leave=True,
               mininterval=0.5)
    for step in bar:
        step_start = time.perf_counter()
        model.train()
        loss = loss_fn(model, next_batch(step))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; "
                                     "try a smaller learning rate or gradient clipping")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        value = loss.item()  # waits for the step to finish, so the timing below is whole
        if tuner is not None:
            tuner.record(time.perf_counter() - step_start)
        smoothed = value if smoothed is None else 0.95 * smoothed + 0.05 * value
        history.steps.append(step)
        history.losses.append(value)
        history.learning_rates.append(optimizer.param_groups[0]["lr"])
        postfix = {"avg loss": f"{smoothed:.4f}"}  # TrainHistory.average_loss
        due = eval_fn is not None and (step == steps or (eval_every and step % eval_every == 0))
        if due:
            metrics = evaluate(model, eval_fn)
            history.evals.append({"step": step, **metrics})
            postfix.update({k: f"{v:.4g}" for k, v in metrics.items()})
            if stop_when is not None and stop_when(metrics):
                history.stopped_early = step < steps
                bar.set_postfix(postfix)
                break
        if step % 10 == 0 or due:
            bar.set_postfix(postfix)
    bar.close()
    history.seconds = time.perf_counter() - start
    history.thread_choices = list(tuner.choices) if tuner else [(1, torch.get_num_threads())]
    return history


def evaluate(model: torch.nn.Module, eval_fn: EvalFn) -> dict[str, float]:
    """Run ``eval_fn`` in eval mode without gradients, then restore the model's mode."""
    with evaluating(model), torch.no_grad():
        metrics = eval_fn(model)
    return {k: float(v) for k, v in metrics.items()}


def _batch_source(batches: Iterable[Batch] | Callable[[int], Batch]) -> Callable[[int], Batch]:
    if callable(batches) and not hasattr(batches, "__iter__"):
        return batches
    source = batches

    def cycle() -> Iterator[Batch]:
        while True:
            empty = True
            for batch in source:
                empty = False
                yield batch
            if empty:
                raise ValueError("batches: the iterable yielded no batch")

    iterator = iter(source) if isinstance(source, Iterator) else cycle()
    return lambda step: next(iterator)
