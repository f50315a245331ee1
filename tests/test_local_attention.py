import pytest
import torch

from course_lib.attention import scaled_dot_product_attention
from course_lib.attention.local import (
    banded_attention,
    fixed_masks,
    mask_density,
    sliding_window_mask,
    strided_masks,
    window_reach,
)


def test_causal_window_mask_rows():
    mask = sliding_window_mask(6, 3)
    assert mask[5].tolist() == [False, False, False, True, True, True]
    assert mask[0].tolist() == [True] + [False] * 5
    assert mask.sum(-1).max() == 3


def test_bidirectional_window_and_globals():
    mask = sliding_window_mask(7, 3, causal=False, num_global=1)
    assert mask[3].tolist() == [True, False, True, True, True, False, False]
    assert mask[0].all()  # a global token sees every key
    assert mask[:, 0].all()  # and every query sees it


def test_window_mask_aligned_to_last_keys():
    full = sliding_window_mask(8, 3)
    assert torch.equal(sliding_window_mask(2, 3, S=8), full[-2:])


def test_child_patterns_are_causal_and_connect_in_two_steps():
    T, stride = 16, 4
    local, strided = strided_masks(T, stride)
    union = local | strided
    assert not torch.triu(union, 1).any()
    reach2 = (union.float() @ union.float()) > 0  # paths of two hops
    assert torch.equal(reach2, torch.ones(T, T, dtype=torch.bool).tril())
    block, summary = fixed_masks(T, 4)
    assert block[5].nonzero().flatten().tolist() == [4, 5]
    assert summary[9].nonzero().flatten().tolist() == [3, 7]
    assert mask_density(torch.ones(3, 3, dtype=torch.bool)) == 1.0


@pytest.mark.parametrize("T,window,causal", [(17, 4, True), (16, 1, True), (5, 9, True),
                                             (23, 5, False), (12, 3, False)])
def test_banded_equals_full_attention_under_the_window_mask(T, window, causal):
    g = torch.Generator().manual_seed(T + window)
    q, k, v = (torch.randn(2, 3, T, 8, generator=g, dtype=torch.float64) for _ in range(3))
    expected, _ = scaled_dot_product_attention(
        q, k, v, sliding_window_mask(T, window, causal=causal))
    torch.testing.assert_close(banded_attention(q, k, v, window, causal=causal), expected)


def test_bad_window_and_shapes():
    with pytest.raises(ValueError, match="window: expected a positive integer"):
        window_reach(0)
    with pytest.raises(ValueError, match="window: expected an odd number"):
        sliding_window_mask(4, 2, causal=False)
    with pytest.raises(ValueError, match="stride"):
        strided_masks(4, 0)
    with pytest.raises(ValueError, match="summary"):
        fixed_masks(4, 2, summary=3)
    q = torch.randn(1, 1, 4, 2)
    with pytest.raises(ValueError, match="k, v: expected shapes"):
        banded_attention(q, torch.randn(1, 1, 5, 2), torch.randn(1, 1, 5, 2), 2)
