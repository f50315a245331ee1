"""Masks: causal (with the KV-cache offset), padding, polarity, validation messages."""

import pytest
import torch

from course_lib.core.masks import causal_mask, check_mask, padding_mask, to_torch_polarity


def test_causal_mask_square_is_lower_triangular():
    expected = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    assert torch.equal(causal_mask(3), expected)


def test_causal_mask_with_cache_offset():
    # 2 new queries after 3 cached keys: they sit at absolute positions 3 and 4.
    mask = causal_mask(2, 5)
    assert mask.shape == (2, 5)
    assert torch.equal(mask, torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=torch.bool))
    for i in range(2):
        for j in range(5):
            assert bool(mask[i, j]) == (j <= i + 3)


def test_causal_mask_rejects_negative():
    with pytest.raises(ValueError, match=r"causal_mask: expected non-negative T and S, got T=-1"):
        causal_mask(-1)


def test_padding_mask():
    mask = padding_mask(torch.tensor([3, 1, 0]), max_len=4)
    expected = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(mask, expected)
    assert padding_mask([2, 5]).shape == (2, 5)


def test_padding_mask_errors():
    with pytest.raises(ValueError, match=r"max_len: expected >= the longest length 5, got 3"):
        padding_mask([2, 5], max_len=3)
    with pytest.raises(ValueError, match=r"lengths: expected shape \(B,\), got \(2, 1\)"):
        padding_mask(torch.tensor([[2], [3]]))
    with pytest.raises(ValueError, match=r"lengths: expected non-negative values, got \[-1, 2\]"):
        padding_mask([-1, 2])


def test_to_torch_polarity_flips():
    mask = padding_mask([1, 2])
    assert torch.equal(to_torch_polarity(mask), ~mask)
    assert to_torch_polarity(None) is None


def test_check_mask_messages():
    check_mask(torch.ones(7, 7, dtype=torch.bool), "mask", (2, 4, 7, 7))
    with pytest.raises(ValueError, match=r"mask: expected a bool mask, got torch.float32"):
        check_mask(torch.ones(7, 7), "mask", (2, 4, 7, 7))
    with pytest.raises(ValueError, match=r"mask: expected shape broadcastable to "
                                         r"\(2, 4, 7, 7\), got \(7, 6\)"):
        check_mask(torch.ones(7, 6, dtype=torch.bool), "mask", (2, 4, 7, 7))
