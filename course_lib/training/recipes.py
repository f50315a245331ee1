"""Training recipes that more than one lesson, benchmark or GPU cell uses, written once.

:class:`LMRecipe` is lesson 06's recipe for a character-level language model (AdamW, linear
warmup then cosine decay, gradient clipping) and :func:`train_lm` runs it: lesson 06 trains
its GPT with it, its GPU cell a bigger one, lesson 09's scaling sweep every size
(:func:`course_lib.scale.scaling.train_gpt`), and ``benchmarks/gpt_recipe.py`` calibrates it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from course_lib.core.validation import check_fraction, check_number, check_positive
from course_lib.data import text
from course_lib.training.language_model import lm_loss
from course_lib.training.loop import EvalFn, TrainHistory, train
from course_lib.training.schedules import warmup_cosine_schedule

__all__ = ["LMRecipe", "train_lm"]


@dataclass(frozen=True, kw_only=True)
class LMRecipe:
    """How lesson 06 trains a language model, with its defaults.

    AdamW (``betas``, decoupled ``weight_decay``) at peak rate ``lr``, reached by a linear
    warmup over ``warmup`` steps and followed by a cosine decay to ``min_lr_ratio * lr``
    at ``steps``; random windows of ``batch_size`` x context characters; the gradient norm
    clipped at ``clip_norm``. Measured choices, lesson 06 explains why (BENCHMARKS.md has the
    table).
    """

    steps: int
    batch_size: int
    lr: float
    warmup: int
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    min_lr_ratio: float = 0.1
    clip_norm: float = 1.0

    def __post_init__(self) -> None:
        check_positive("steps", self.steps)
        check_positive("batch_size", self.batch_size)
        check_positive("warmup", self.warmup)
        if self.warmup >= self.steps:
            raise ValueError(f"warmup: expected fewer than steps={self.steps}, got "
                             f"{self.warmup}")
        check_number("lr", self.lr, strict=True)
        check_number("weight_decay", self.weight_decay)
        check_number("clip_norm", self.clip_norm, strict=True)
        check_fraction("min_lr_ratio", self.min_lr_ratio)

    def optimizer(self, model: nn.Module) -> torch.optim.AdamW:
        """AdamW over every parameter of ``model`` at the peak rate."""
        return torch.optim.AdamW(model.parameters(), lr=self.lr, betas=self.betas,
                                 weight_decay=self.weight_decay)

    def scheduler(self, optimizer: torch.optim.Optimizer) -> LambdaLR:
        """The learning-rate schedule: linear warmup, then cosine decay."""
        return warmup_cosine_schedule(optimizer, self.warmup, self.steps,
                                      min_lr_ratio=self.min_lr_ratio)


def train_lm(model: nn.Module, train_ids: torch.Tensor, recipe: LMRecipe, *,
             generator: torch.Generator, context: int | None = None,
             eval_fn: EvalFn | None = None, eval_every: int | None = None,
             desc: str = "training", progress: bool = True) -> TrainHistory:
    """Train a language model on random windows of ``train_ids (N,)`` following ``recipe``.

    ``model`` maps ids ``(B, T)`` to ``(logits (B, T, V), maps)`` (a
    :class:`~course_lib.models.gpt.GPT`, say) and is trained where it is (the batches are
    drawn on the CPU from ``generator`` and moved there). ``context``: window length,
    default the model's ``max_len``. ``eval_fn``/``eval_every`` as in
    :func:`course_lib.training.loop.train`, whose :class:`TrainHistory` is returned.
    """
    if context is None:
        context = int(model.config.max_len)
    optimizer = recipe.optimizer(model)
    batches = text.window_batches(train_ids, recipe.batch_size, context, generator=generator)
    return train(model, batches, lm_loss, steps=recipe.steps, optimizer=optimizer,
                 scheduler=recipe.scheduler(optimizer), clip_norm=recipe.clip_norm,
                 eval_fn=eval_fn, eval_every=eval_every, desc=desc, progress=progress)
