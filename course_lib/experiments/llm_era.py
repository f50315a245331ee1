"""Measurements of lesson 10 that combine its data and its models: equal-time training, bits
per character across tokenizers, few-shot accuracy, addition accuracy by number of digits.

Shapes: ``B`` batch, ``T`` tokens, ``V`` vocabulary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_lib.core.modules import evaluating
from course_lib.data import arithmetic
from course_lib.training.language_model import evaluate_loss

__all__ = ["bits_per_character", "seconds_per_step", "masked_lm_loss", "last_token_accuracy",
           "addition_accuracy"]


def bits_per_character(model: torch.nn.Module, ids: torch.Tensor, max_len: int,
                       num_characters: int) -> float:
    """Validation loss in bits per character of text, whatever the tokenizer.

    ``ids`` are the tokens of a text of ``num_characters`` characters. The loss (nats per
    token, over non-overlapping windows) times the number of tokens is the cost of the whole
    text; divided by its characters and by ``ln 2`` it is comparable between a character
    model and a BPE model. (The windows cover all but the tail of ``ids``; the characters
    are counted in the same proportion.)
    """
    loss = evaluate_loss(model, ids, max_len)
    covered = (len(ids) - 1) // max_len * max_len
    characters = num_characters * covered / len(ids)
    return loss * covered / characters / math.log(2)


def seconds_per_step(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor],
                     loss_fn: Callable, *, steps: int = 6, warmup: int = 2) -> float:
    """CPU seconds of one training step (forward, backward, Adam update) of ``model`` on
    ``batch``: the fastest of ``steps`` timed steps on a copy, so ``model`` is untouched.
    CPU time, not wall time, and the minimum, not the mean: other programs on a busy machine
    only ever slow a step down (cache and memory contention), so the fastest step is the
    closest to a quiet machine's time for single-threaded work."""
    import copy

    clone = copy.deepcopy(model).train()
    optimizer = torch.optim.AdamW(clone.parameters(), lr=1e-4)
    times = []
    for i in range(warmup + steps):
        start = time.process_time()
        loss = loss_fn(clone, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= warmup:
            times.append(time.process_time() - start)
    return min(times)


def masked_lm_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]
                   ) -> torch.Tensor:
    """Next-token cross-entropy over the targets that are not ``arithmetic.IGNORE``."""
    x, y = batch
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                           ignore_index=arithmetic.IGNORE)


@torch.no_grad()
def last_token_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of prompts ``x (N, T)`` whose greedy next token equals ``y (N,)``."""
    with evaluating(model):
        return (model(x)[:, -1].argmax(-1) == y).float().mean().item()


@torch.no_grad()
def addition_accuracy(model: torch.nn.Module, digits: int, width: int, scratchpad: bool, *,
                      n: int = 300, seed: int = 0) -> float:
    """Exact-match accuracy of greedy answers on ``n`` fresh sums of two ``digits``-digit
    numbers: the model writes everything after ``=`` (the carries too, with a scratchpad),
    and only the final sum is compared."""
    test = arithmetic.addition_set(n, digits, width, scratchpad, seed=seed)
    length = arithmetic.tokens_per_example(width, scratchpad)
    x = test.prompts
    with evaluating(model):
        while x.shape[1] < length - 1:  # the final "$" need not be generated
            x = torch.cat([x, model(x)[:, -1].argmax(-1, keepdim=True)], dim=1)
    written = [arithmetic.decode_ids(row).split("=", 1)[1].split("|")[-1] for row in x.tolist()]
    return sum(w == a for w, a in zip(written, test.answers, strict=True)) / n
