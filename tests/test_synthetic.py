"""Synthetic tasks: shapes, seeding, the rule each task encodes, clear errors."""

import pytest
import torch

from course_lib.data import synthetic as syn


def test_copy_task_targets_equal_sources_with_bos_and_eos():
    data = syn.copy_task(50, 2, 7, num_symbols=5, seed=3)
    assert data.src.shape == (50, 7) and data.tgt_in.shape == data.tgt_out.shape == (50, 8)
    assert data.vocab_size == syn.FIRST_SYMBOL + 5
    for i in range(50):
        n = int(data.src_lengths[i])
        assert 2 <= n <= 7
        assert (data.src[i, n:] == syn.PAD_ID).all()
        assert torch.equal(data.tgt_out[i, :n], data.src[i, :n])
        assert data.tgt_out[i, n] == syn.EOS_ID and (data.tgt_out[i, n + 1:] == syn.PAD_ID).all()
        assert data.tgt_in[i, 0] == syn.BOS_ID
        assert torch.equal(data.tgt_in[i, 1:n + 1], data.src[i, :n])
        assert (data.tgt_in[i, n + 1:] == syn.PAD_ID).all()


def test_reversal_task_reverses_each_valid_prefix():
    data = syn.reversal_task(40, 1, 9, seed=1)
    for i in range(40):
        n = int(data.src_lengths[i])
        assert data.tgt_out[i, :n].tolist() == data.src[i, :n].flip(0).tolist()
        assert data.tgt_out[i, n] == syn.EOS_ID
    assert syn.symbols_to_text(torch.tensor([4, 5, syn.EOS_ID, 0])) == "a b <eos> _"


def test_tasks_are_reproducible_from_the_seed_and_differ_across_seeds():
    a, b = syn.reversal_task(20, 3, 6, seed=7), syn.reversal_task(20, 3, 6, seed=7)
    assert torch.equal(a.src, b.src) and torch.equal(a.tgt_out, b.tgt_out)
    assert not torch.equal(a.src, syn.reversal_task(20, 3, 6, seed=8).src)
    x1, _ = syn.first_token_recall(10, 5, seed=2)
    x2, _ = syn.first_token_recall(10, 5, seed=2)
    assert torch.equal(x1, x2)


def test_subset_keeps_vocabulary_and_rows():
    data = syn.copy_task(10, 2, 4, seed=0)
    part = data[:3]
    assert len(part) == 3 and part.vocab_size == data.vocab_size
    assert torch.equal(part.src, data.src[:3])
    assert len(data.tensors()) == 3


def test_first_token_recall_label_is_the_first_token():
    x, y = syn.first_token_recall(200, 12, num_classes=4, num_distractor_symbols=6, seed=0)
    assert x.shape == (200, 13) and y.shape == (200,)
    assert torch.equal(x[:, 0], y)
    assert (x[:, 1:] >= 4).all() and (x < syn.recall_vocab_size(4, 6)).all()
    # shared symbols: distractors may repeat class symbols, so only the position tells
    xs, ys = syn.first_token_recall(200, 12, num_classes=4, num_distractor_symbols=6,
                                    shared_symbols=True, seed=0)
    assert torch.equal(xs[:, 0], ys) and (xs[:, 1:] < 4).any()
    assert set(y.tolist()) == {0, 1, 2, 3}


def test_adding_problem_sums_the_two_marked_numbers():
    x, y = syn.adding_problem(100, 20, seed=4)
    assert x.shape == (100, 20, 2)
    assert (x[..., 1].sum(dim=1) == 2).all()
    assert (x[:, :10, 1].sum(dim=1) == 1).all()  # one marker in each half
    torch.testing.assert_close(y, (x[..., 0] * x[..., 1]).sum(dim=1))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: syn.copy_task(0, 1, 3), "num_examples: expected a positive integer, got 0"),
        (lambda: syn.copy_task(5, 4, 3), "max_len: expected >= min_len = 4, got 3"),
        (lambda: syn.first_token_recall(5, -1), "num_distractors: expected an integer >= 0"),
        (lambda: syn.adding_problem(5, 1), "length: expected an integer >= 2, got 1"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_previous_token_task_targets_are_the_shifted_inputs():
    x, y = syn.previous_token_task(5, 9, num_symbols=7, seed=3)
    assert x.shape == y.shape == (5, 9) and int(x.max()) < 7
    assert (y[:, 0] == -100).all() and torch.equal(y[:, 1:], x[:, :-1])
    assert torch.equal(syn.previous_token_task(5, 9, 7, seed=3)[0], x)
    with pytest.raises(ValueError, match="length"):
        syn.previous_token_task(5, 1)


def test_associative_recall_answer_is_the_value_stored_with_the_query_key():
    x, y = syn.associative_recall(50, 6, num_keys=8, num_values=5, seed=1)
    assert x.shape == (50, 7) and int(x.max()) < 8 * (5 + 1)
    keys, values = x[:, :-1] // 5, x[:, :-1] % 5
    asked = x[:, -1] - 8 * 5
    assert all(len(set(row.tolist())) == 6 for row in keys)  # distinct keys
    position = (keys == asked[:, None]).float().argmax(1)
    assert torch.equal(values[torch.arange(50), position], y)
    with pytest.raises(ValueError, match="num_pairs"):
        syn.associative_recall(3, 9, num_keys=8)
