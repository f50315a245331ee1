"""Lesson 10's data (repeated spans, few-shot prompts, addition) and induction-head analysis."""

from __future__ import annotations

import pytest
import torch

from course_lib.analysis import induction
from course_lib.data import arithmetic, incontext
from course_lib.models.llama import Llama, LlamaConfig


def test_repeated_spans_repeat_and_masks() -> None:
    data = incontext.repeated_spans(50, 32, 16, min_span=6, max_span=16, seed=0)
    assert data.x.shape == data.y.shape == (50, 32)
    assert torch.equal(data.x[:, 1:], data.y[:, :-1])
    for row in range(50):
        t_first = data.first[row].nonzero()[:, 0]
        t_repeat = data.repeat[row].nonzero()[:, 0]
        assert len(t_first) == len(t_repeat) >= 5
        assert torch.equal(data.y[row, t_first], data.y[row, t_repeat])  # the copy
        assert t_repeat.min() > t_first.max()
    with pytest.raises(ValueError, match="seq_len"):
        incontext.repeated_spans(1, 10, 16, min_span=6, max_span=8)


def test_span_batches_are_reproducible() -> None:
    a = incontext.span_batches(4, 32, 16, seed=3)(0)
    b = incontext.span_batches(4, 32, 16, seed=3)(0)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


def test_few_shot_prompts_answer_is_shown() -> None:
    shots = 4
    fs = incontext.few_shot_prompts(200, shots, num_keys=8, num_values=8, seed=1)
    assert fs.x.shape == (200, 2 * shots + 1)
    keys, values = fs.x[:, 0:-1:2], fs.x[:, 1::2]
    for row in range(200):
        where = (keys[row] == fs.x[row, -1]).nonzero()[:, 0]
        assert len(where) == 1 and values[row, where[0]] == fs.y[row]
    zero = incontext.few_shot_prompts(10, 0, num_keys=8, num_values=8, seed=1)
    assert zero.x.shape == (10, 1)


@pytest.mark.parametrize("scratchpad", [False, True])
def test_addition_texts(scratchpad: bool) -> None:
    text = arithmetic.addition_text(367, 485, 5, scratchpad)
    assert text == ("00367+00485=11000|000852$" if scratchpad else "00367+00485=000852$")
    data = arithmetic.addition_set(100, (1, 3), 5, scratchpad, seed=0)
    assert data.x.shape[1] == arithmetic.tokens_per_example(5, scratchpad) - 1
    assert (data.y[:, :11] == arithmetic.IGNORE).all() and (data.y[:, 11:] >= 0).all()
    for row, (a, b) in zip(data.x, data.operands.tolist(), strict=True):
        assert arithmetic.decode_ids(row).startswith(f"{a:05d}+{b:05d}=")
    assert arithmetic.carries(999, 1, 4) == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="only the characters"):
        arithmetic.encode_chars("1+x")


def test_scores_on_constructed_maps() -> None:
    T, span = 8, 4
    prev = torch.zeros(1, 1, T, T)
    prev[0, 0, 0, 0] = 1
    for t in range(1, T):
        prev[0, 0, t, t - 1] = 1
    ind = torch.zeros(1, 1, T, T)
    for t in range(T):
        ind[0, 0, t, t - span + 1 if t >= span else t] = 1
    maps = [torch.cat([prev, ind], dim=1)]
    assert induction.previous_token_scores(maps)[0].tolist() == [1.0, 0.0]
    assert induction.induction_scores(maps, span)[0].tolist() == [0.0, 1.0]
    assert induction.best_head(induction.induction_scores(maps, span)) == (0, 1)


def test_ablation_zeroes_heads_and_is_undone() -> None:
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=16, max_len=32, d_model=32, num_heads=4,
                              num_layers=2, attention_only=True)).eval()
    x = incontext.repeated_halves(4, 8, 16)
    with torch.no_grad():
        before = model(x)
        with induction.ablate_heads(model, [(1, 2)]):
            ablated = model(x)
        with induction.ablate_heads(model, {0: [0, 1, 2, 3], 1: [0, 1, 2, 3]}):
            everything = model(x)
        after = model(x)
        # with every head silenced, attention adds nothing: logits come from the embedding
        direct = model.lm_head(model.final_norm(model.token_embedding(x)))
    assert torch.equal(before, after) and not torch.allclose(before, ablated)
    assert torch.allclose(everything, direct, atol=1e-6)
    with pytest.raises(ValueError, match="head 4 out of range"):
        with induction.ablate_heads(model, [(0, 4)]):
            pass
    first, second = induction.loss_by_half(model, x, 8)
    assert first > 0 and second > 0
