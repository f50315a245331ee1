"""Scaling laws in miniature: train GPTs of several sizes on one token budget, fit a power law.

Kaplan et al. (2020) found that a language model's test loss falls as a power of its number
of non-embedding parameters ``N``, ``L(N) = (N_c / N) ** alpha_N`` (``alpha_N`` about 0.076
for their models), when data and compute do not hold it back. Hoffmann et al. (2022)
re-measured the trade-off between ``N`` and the number of training tokens ``D`` at a fixed
compute budget ``C ~ 6 N D`` and found the loss-optimal ("compute-optimal") model is trained
on about 20 tokens per parameter; Kaplan's recipe put more of the budget into parameters.

:func:`run_sweep` trains each configuration with the same data, recipe and number of tokens
(one CPU thread is enough for such small models) and records its validation loss;
:func:`fit_power_law` fits ``L = a * N ** -alpha`` by least squares on log axes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib.data import text
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.training import language_model, schedules
from course_lib.training.loop import seeded, train

__all__ = ["SweepRun", "PowerLawFit", "non_embedding_parameters", "train_gpt", "run_sweep",
           "fit_power_law"]


@dataclass(frozen=True)
class SweepRun:
    """One trained size of a sweep."""

    d_model: int
    num_layers: int
    num_heads: int
    parameters: int  # every trainable parameter (the tied embedding once)
    non_embedding_parameters: int  # without token and position embeddings (Kaplan's N)
    tokens: int  # training tokens seen
    val_loss: float  # nats per token on the validation text
    cpu_seconds: float  # process CPU time of the training
    model: GPT | None = field(default=None, repr=False, compare=False)  # if kept

    @property
    def tokens_per_parameter(self) -> float:
        """Training tokens per parameter, counting every parameter as Hoffmann et al. (2022)
        do for their compute-optimal "about 20" (Kaplan's ``N`` leaves the embeddings out)."""
        return self.tokens / self.parameters


@dataclass(frozen=True)
class PowerLawFit:
    """``y = coefficient * x ** -exponent``, fitted on log axes."""

    coefficient: float
    exponent: float
    r_squared: float  # of the straight line on log-log axes

    def predict(self, x: float | np.ndarray) -> float | np.ndarray:
        """The fitted curve at ``x``."""
        return self.coefficient * np.asarray(x, dtype=np.float64) ** -self.exponent


def non_embedding_parameters(model: GPT) -> int:
    """Parameters outside the token and position embeddings (the tied output layer is the
    token embedding, so it is left out too)."""
    embeddings = (model.token_embedding.weight.numel()
                  + model.position_embedding.embedding.weight.numel())
    return model.num_parameters() - embeddings


def train_gpt(config: GPTConfig, train_ids: torch.Tensor, *, steps: int, batch_size: int,
              lr: float, warmup: int, seed: int, device: str | torch.device = "cpu",
              progress: bool = True, desc: str = "training") -> GPT:
    """Build ``GPT(config)`` from ``seed`` and train it on random windows of ``train_ids``.

    Lesson 06's optimiser and schedule (its step count, batch and learning rate are the
    caller's): AdamW (betas 0.9, 0.99; weight decay 0.01), linear warmup then cosine decay to
    10% of ``lr``, gradient norm clipped at 1. The weights come from
    ``seed`` and the batches from ``seed + 1``; the global random state is left as it was.
    The model trains on ``device``; the batches are drawn on the CPU and moved there.
    """
    with seeded(seed):
        model = GPT(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99),
                                  weight_decay=0.01)
    scheduler = schedules.warmup_cosine_schedule(optimizer, warmup, steps, min_lr_ratio=0.1)
    batches = text.window_batches(train_ids, batch_size, config.max_len,
                                  generator=torch.Generator().manual_seed(seed + 1))
    train(model, batches, language_model.lm_loss, steps=steps, optimizer=optimizer,
          scheduler=scheduler, clip_norm=1.0, desc=desc, progress=progress)
    return model


def run_sweep(configs: Sequence[GPTConfig], train_ids: torch.Tensor, val_ids: torch.Tensor,
              *, steps: int, batch_size: int, lr: float, warmup: int, seed: int = 0,
              eval_windows: int | None = None, keep_models: bool = False,
              progress: bool = True) -> list[SweepRun]:
    """Train every config for the same ``steps * batch_size * context`` tokens; return one
    :class:`SweepRun` per config, in order.

    Every run sees the same batches (same ``seed``), so the sizes differ only in the model.
    ``eval_windows`` limits the validation windows (None: the whole validation text);
    ``keep_models`` keeps each trained model in its run (memory grows with the sweep).
    """
    if not configs:
        raise ValueError("configs: expected at least one GPTConfig, got none")
    context = configs[0].max_len
    for config in configs:
        if config.max_len != context:
            raise ValueError(f"configs: expected one max_len (context) for a fair sweep, "
                             f"got {context} and {config.max_len}")
    runs = []
    for config in configs:
        start = time.process_time()
        model = train_gpt(config, train_ids, steps=steps, batch_size=batch_size, lr=lr,
                          warmup=warmup, seed=seed, progress=progress,
                          desc=f"d_model={config.d_model}, layers={config.num_layers}")
        cpu = time.process_time() - start
        loss = language_model.evaluate_loss(model, val_ids, context, max_windows=eval_windows)
        runs.append(SweepRun(d_model=config.d_model, num_layers=config.num_layers,
                             num_heads=config.num_heads, parameters=model.num_parameters(),
                             non_embedding_parameters=non_embedding_parameters(model),
                             tokens=steps * batch_size * context, val_loss=loss,
                             cpu_seconds=cpu, model=model if keep_models else None))
    return runs


def fit_power_law(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
                  ) -> PowerLawFit:
    """Fit ``y = a * x ** -alpha`` by least squares of ``log y`` on ``log x``.

    A power law is a straight line on log-log axes, ``log y = log a - alpha log x``; its
    slope is ``-alpha``. (A straight line through the raw numbers is a different model.)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x, y: expected two 1-D sequences of the same length >= 2, got "
                         f"shapes {x.shape} and {y.shape}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x, y: expected positive values (a power law is fitted on log axes)")
    log_x, log_y = np.log(x), np.log(y)
    slope, intercept = np.polyfit(log_x, log_y, 1)
    residual = log_y - (intercept + slope * log_x)
    spread = ((log_y - log_y.mean()) ** 2).sum()
    r_squared = 1.0 - (residual ** 2).sum() / spread if spread > 0 else 1.0
    return PowerLawFit(coefficient=float(np.exp(intercept)), exponent=float(-slope),
                       r_squared=float(r_squared))
