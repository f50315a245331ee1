"""Lesson 06's recipe, written once: ``train_lm`` is exactly the hand-written loop it replaced
(AdamW, warmup + cosine to 10%, clipping at 1, random windows from the generator)."""

from __future__ import annotations

import pytest
import torch
from tiny_models import tiny_gpt

from course_lib.data import text
from course_lib.training import language_model, schedules
from course_lib.training.recipes import LMRecipe, train_lm

IDS = torch.arange(600) % 17  # a periodic "text" of 17 symbols


def _by_hand(model: torch.nn.Module, recipe: LMRecipe, seed: int) -> None:
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, betas=(0.9, 0.99),
                                  weight_decay=0.01)
    scheduler = schedules.warmup_cosine_schedule(optimizer, recipe.warmup, recipe.steps,
                                                 min_lr_ratio=0.1)
    batches = text.window_batches(IDS, recipe.batch_size, model.config.max_len,
                                  generator=torch.Generator().manual_seed(seed))
    for step in range(1, recipe.steps + 1):
        loss = language_model.lm_loss(model, batches(step))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()


def test_train_lm_is_lesson_06s_loop():
    recipe = LMRecipe(steps=12, batch_size=4, lr=3e-3, warmup=3)
    ours, theirs = tiny_gpt(max_len=8, seed=0).train(), tiny_gpt(max_len=8, seed=0).train()
    history = train_lm(ours, IDS, recipe, generator=torch.Generator().manual_seed(5),
                       progress=False)
    _by_hand(theirs, recipe, seed=5)
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    assert len(history.losses) == 12 and history.losses[-1] < history.losses[0]
    assert max(history.learning_rates) == pytest.approx(3e-3)  # the peak, after the warmup


def test_recipe_checks_its_fields():
    with pytest.raises(ValueError, match="warmup: expected a positive integer"):
        LMRecipe(steps=10, batch_size=4, lr=1e-3, warmup=0)
    with pytest.raises(ValueError, match="lr: expected a positive number"):
        LMRecipe(steps=10, batch_size=4, lr=0.0, warmup=1)
    with pytest.raises(ValueError, match="warmup: expected fewer than steps=10, got 10"):
        LMRecipe(steps=10, batch_size=4, lr=1e-3, warmup=10)  # not left to the schedule
    with pytest.raises(TypeError):
        LMRecipe(10, 4, 1e-3, 1)  # keyword-only
