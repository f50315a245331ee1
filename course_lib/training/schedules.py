"""Learning-rate schedules: the Transformer's warmup ("Noam") and warmup + cosine decay.

Each schedule comes twice:

* a plain function ``*_lr(step, ...)`` that gives the learning rate at optimiser step
  ``step`` (counted from 1, as in the paper). It also takes a NumPy array of steps, so a
  lesson can plot the curve without building an optimiser;
* a factory ``*_schedule(optimizer, ...)`` that returns a ``torch.optim.lr_scheduler.LambdaLR``
  following the same formula, to pass to :func:`course_lib.training.loop.train`.

Convention for the factories: ``LambdaLR`` multiplies each parameter group's initial
learning rate by the schedule. The optimizer's ``lr`` is therefore a scale factor:
``lr=1.0`` gives exactly the paper's formula for :func:`noam_schedule`, and the peak rate
for :func:`warmup_cosine_schedule`. The lr used by the k-th call of ``optimizer.step()``
equals ``*_lr(k, ...)`` times that scale (tests check it step by step).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = [
    "noam_lr", "inverse_sqrt_lr", "warmup_cosine_lr", "noam_schedule",
    "inverse_sqrt_schedule", "warmup_cosine_schedule", "trace_schedule",
]


Steps = int | np.ndarray


def _check_steps(step: Steps) -> np.ndarray:
    s = np.asarray(step, dtype=np.float64)
    if s.size and s.min() < 1:
        raise ValueError(f"step: expected optimiser steps counted from 1, got {s.min():g}")
    return s


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value}")


def _out(value: np.ndarray) -> float | np.ndarray:
    return float(value) if value.ndim == 0 else value


def noam_lr(step: Steps, d_model: int, warmup_steps: int,
            factor: float = 1.0) -> float | np.ndarray:
    """Learning rate of Vaswani et al. (2017), section 5.3, at optimiser step ``step``.

    ``lrate = factor * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)``:
    a linear increase for the first ``warmup_steps`` steps, then decay proportional to the
    inverse square root of the step. The peak, at ``step == warmup_steps``, is
    ``factor * (d_model * warmup_steps) ** -0.5``. The paper used d_model=512,
    warmup_steps=4000 and factor=1. (The name "noam" comes from tensor2tensor's
    learning-rate scheme of 2017, after Noam Shazeer; the Annotated Transformer reused it.)

    ``step`` may be an int or an array of ints (>= 1); the result has the same shape.
    """
    _check_positive("d_model", d_model)
    _check_positive("warmup_steps", warmup_steps)
    s = _check_steps(step)
    return _out(factor * d_model ** -0.5 * np.minimum(s ** -0.5, s * warmup_steps ** -1.5))


def inverse_sqrt_lr(step: Steps, peak_lr: float, warmup_steps: int) -> float | np.ndarray:
    """The Noam shape written with its peak: ``peak_lr * min(step / warmup, sqrt(warmup / step))``.

    Equals :func:`noam_lr` with ``factor = peak_lr * sqrt(d_model * warmup_steps)``; this form
    is easier to tune, because the number one chooses is the largest rate the model will see.
    """
    _check_positive("peak_lr", peak_lr)
    _check_positive("warmup_steps", warmup_steps)
    s = _check_steps(step)
    return _out(peak_lr * np.minimum(s / warmup_steps, np.sqrt(warmup_steps / s)))


def warmup_cosine_lr(step: Steps, peak_lr: float, warmup_steps: int, total_steps: int,
                     min_lr: float = 0.0) -> float | np.ndarray:
    """Linear warmup to ``peak_lr`` over ``warmup_steps``, then a half cosine down to ``min_lr``.

    The cosine part is Loshchilov and Hutter's (2017) annealing without restarts; with a
    linear warmup in front it is the schedule most language models are trained with today.
    After ``total_steps`` the rate stays at ``min_lr``.
    """
    _check_positive("peak_lr", peak_lr)
    _check_positive("warmup_steps", warmup_steps)
    if total_steps <= warmup_steps:
        raise ValueError(f"total_steps: expected more than warmup_steps ({warmup_steps}), "
                         f"got {total_steps}")
    if not 0 <= min_lr <= peak_lr:
        raise ValueError(f"min_lr: expected a value in [0, peak_lr={peak_lr}], got {min_lr}")
    s = _check_steps(step)
    warm = peak_lr * s / warmup_steps
    progress = np.clip((s - warmup_steps) / (total_steps - warmup_steps), 0.0, 1.0)
    cosine = min_lr + 0.5 * (peak_lr - min_lr) * (1.0 + np.cos(math.pi * progress))
    return _out(np.where(s <= warmup_steps, warm, cosine))


def _lambda_from(lr_at: Callable[[int], float]) -> Callable[[int], float]:
    # LambdaLR calls the function with 0 when it is built and with k after the k-th
    # scheduler.step(); the lr in force for optimiser step k is therefore lambda(k - 1).
    return lambda last_epoch: float(lr_at(last_epoch + 1))


def noam_schedule(optimizer: torch.optim.Optimizer, d_model: int, warmup_steps: int
                  ) -> LambdaLR:
    """``LambdaLR`` following :func:`noam_lr`; the optimizer's lr plays the role of ``factor``.

    As in the paper: ``Adam(params, lr=1.0, betas=(0.9, 0.98), eps=1e-9)`` and
    ``noam_schedule(opt, d_model, warmup_steps)``; call ``scheduler.step()`` after every
    ``optimizer.step()`` (:func:`course_lib.training.loop.train` does).
    """
    _check_positive("d_model", d_model)
    _check_positive("warmup_steps", warmup_steps)
    return LambdaLR(optimizer, _lambda_from(lambda k: noam_lr(k, d_model, warmup_steps)))


def inverse_sqrt_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int) -> LambdaLR:
    """``LambdaLR`` following :func:`inverse_sqrt_lr`; the optimizer's lr is the peak rate."""
    _check_positive("warmup_steps", warmup_steps)
    return LambdaLR(optimizer, _lambda_from(lambda k: inverse_sqrt_lr(k, 1.0, warmup_steps)))


def warmup_cosine_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int,
                           total_steps: int, min_lr_ratio: float = 0.0) -> LambdaLR:
    """``LambdaLR`` following :func:`warmup_cosine_lr`; the optimizer's lr is the peak rate
    and the rate ends at ``min_lr_ratio`` times it."""
    # Validate once here so a bad argument fails when the scheduler is built.
    warmup_cosine_lr(1, 1.0, warmup_steps, total_steps, min_lr_ratio)
    return LambdaLR(optimizer, _lambda_from(
        lambda k: warmup_cosine_lr(k, 1.0, warmup_steps, total_steps, min_lr_ratio)))


def trace_schedule(make_scheduler: Callable[[torch.optim.Optimizer], LambdaLR], steps: int,
                   base_lr: float = 1.0) -> np.ndarray:
    """The lr each of the first ``steps`` optimiser steps would use, read from a real scheduler.

    ``make_scheduler(optimizer) -> scheduler``; a one-parameter SGD optimizer with learning
    rate ``base_lr`` stands in for the model's. Returns a ``(steps,)`` array. Lessons use it
    to plot what :func:`course_lib.training.loop.train` will actually do.
    """
    if steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps}")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    rates = np.empty(steps)
    for k in range(steps):
        rates[k] = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
    return rates
