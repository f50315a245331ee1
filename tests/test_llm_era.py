"""Lesson 10's measurements: bits per character, the masked loss, few-shot and addition
accuracy, the equal-time step timer."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.data import arithmetic
from course_lib.experiments import llm_era


class Uniform(torch.nn.Module):
    """Equal logits over ``vocab`` tokens at every position."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.zeros(*x.shape, self.vocab)


class Oracle(torch.nn.Module):
    """Writes the correct answer of every addition prompt (the format is read from ``=``),
    optionally off by one in the last digit of the sum."""

    def __init__(self, width: int, scratchpad: bool, wrong: bool = False) -> None:
        super().__init__()
        self.width, self.scratchpad, self.wrong = width, scratchpad, wrong

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.full((*x.shape, len(arithmetic.ADDITION_VOCAB) + 1), -10.0)
        for row, ids in enumerate(x.tolist()):
            text = arithmetic.decode_ids(ids)
            a, b = (int(n) for n in text[: 2 * self.width + 1].split("+"))
            total = a + b + (1 if self.wrong else 0)
            target = arithmetic.addition_text(a, b, self.width, self.scratchpad)
            target = target[: target.rindex("|") + 1 if self.scratchpad else 2 * self.width + 2]
            target += f"{total:0{self.width + 1}d}$"
            logits[row, -1, arithmetic.encode_chars(target[len(text)])[0]] = 10.0
        return logits


@pytest.mark.parametrize("chars_per_token", [1, 3])
def test_bits_per_character_of_a_uniform_model(chars_per_token: int) -> None:
    vocab, ids = 16, torch.randint(0, 16, (1 + 8 * 20,))
    bpc = llm_era.bits_per_character(Uniform(vocab), ids, 8, chars_per_token * len(ids))
    assert bpc == pytest.approx(math.log2(vocab) / chars_per_token, rel=1e-5)


def test_masked_loss_ignores_the_question() -> None:
    data = arithmetic.addition_set(4, 2, 3, scratchpad=False)
    vocab = len(arithmetic.ADDITION_VOCAB) + 1
    question = 2 * 3 + 1  # targets before "=" is read: the question's own characters

    class ConfidentlyWrongOnTheQuestion(Uniform):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            logits = super().forward(x)
            logits[:, :question, arithmetic.PAD] = 50.0  # never a target: a huge loss there
            return logits

    uniform = llm_era.masked_lm_loss(Uniform(vocab), (data.x, data.y))
    wrong = llm_era.masked_lm_loss(ConfidentlyWrongOnTheQuestion(vocab), (data.x, data.y))
    assert uniform.item() == pytest.approx(math.log(vocab))
    assert wrong.item() == pytest.approx(uniform.item())


@pytest.mark.parametrize("scratchpad", [False, True])
def test_addition_accuracy_of_an_oracle_and_of_an_off_by_one(scratchpad: bool) -> None:
    right = llm_era.addition_accuracy(Oracle(4, scratchpad), 3, 4, scratchpad, n=20)
    wrong = llm_era.addition_accuracy(Oracle(4, scratchpad, wrong=True), 3, 4, scratchpad, n=20)
    assert right == 1.0 and wrong == 0.0


def test_last_token_accuracy_counts_greedy_answers() -> None:
    x = torch.zeros(4, 3, dtype=torch.long)
    model = Uniform(5)  # equal logits: argmax is token 0
    assert llm_era.last_token_accuracy(model, x, torch.tensor([0, 0, 1, 2])) == 0.5


def test_seconds_per_step_leaves_the_model_untouched() -> None:
    model = torch.nn.Linear(4, 4)
    before = [p.clone() for p in model.parameters()]
    batch = (torch.randn(8, 4), torch.randn(8, 4))
    seconds = llm_era.seconds_per_step(
        model, batch, lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1]), steps=3)
    assert seconds > 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
