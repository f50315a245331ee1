"""Replacing a trained layer's attention weights: exact replacement, restored model, errors."""

from __future__ import annotations

import pytest
import torch

from course_lib.analysis.interventions import (
    capture_attention,
    permute_keys,
    run_with_attention,
    uniform_like,
)
from course_lib.attention import GroupedQueryAttention, KVCache, MultiHeadAttention
from course_lib.models.transformer import TransformerEncoder


def setup(seed=0):
    torch.manual_seed(seed)
    mha = MultiHeadAttention(16, 4).eval()
    g = torch.Generator().manual_seed(seed + 1)
    q, kv = torch.randn(2, 3, 16, generator=g), torch.randn(2, 5, 16, generator=g)
    return mha, q, kv


def test_capture_returns_the_weights_and_what_the_caller_asked_for():
    mha, q, kv = setup()
    (out, none), weights = capture_attention(mha, lambda: mha(q, kv, kv))
    assert none is None  # the caller did not ask for weights: it gets none
    expected_out, expected_weights = mha(q, kv, kv, need_weights=True)
    torch.testing.assert_close(out, expected_out, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(weights, expected_weights)


@pytest.mark.parametrize("transform", [uniform_like, permute_keys,
                                       lambda w: torch.softmax(3 * w.flip(-1), -1)])
def test_run_with_attention_uses_exactly_the_new_weights(transform):
    mha, q, kv = setup()
    (out, weights), original, replaced = run_with_attention(
        mha, lambda: mha(q, kv, kv, need_weights=True), transform)
    torch.testing.assert_close(weights, replaced, atol=1e-6, rtol=1e-5)
    # the output is what attending with the new weights gives, computed by hand
    v = mha.v_proj(kv).view(2, 5, 4, 4).transpose(1, 2)
    by_hand = mha.out_proj((replaced @ v).transpose(1, 2).reshape(2, 3, 16))
    torch.testing.assert_close(out, by_hand, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(replaced, original)


def peaked_setup(seed=0):
    """A layer whose trained-looking weights underflow: most keys get exactly 0 in float32."""
    mha, q, kv = setup(seed)
    with torch.no_grad():
        mha.q_proj.weight.mul_(500.0)
    return mha, q, kv


def by_hand(mha, kv, weights):
    B, S, _ = kv.shape
    v = mha.v_proj(kv).view(B, S, mha.num_heads, mha.head_dim).transpose(1, 2)
    return mha.out_proj((weights @ v).transpose(1, 2).reshape(B, weights.shape[2], -1))


def test_peaked_weights_are_replaced_exactly():
    mha, q, kv = peaked_setup()
    with torch.no_grad():
        (out, _), original, replaced = run_with_attention(
            mha, lambda: mha(q, kv, kv), permute_keys)
        expected = by_hand(mha, kv, replaced)
    assert (original == 0).float().mean() > 0.3  # the case that needs care: underflow
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    # The old way, a bias log P - log W on the scores with W clamped at 1e-12, misses P
    # here: this is the failure the replacement above avoids.
    bias = replaced.clamp_min(1e-12).log() - original.clamp_min(1e-12).log()
    with torch.no_grad():
        _, realised = mha(q, kv, kv, attn_bias=bias, need_weights=True)
    assert (realised - replaced).abs().max() > 0.1


def test_grouped_query_attention_and_self_attention_calls():
    torch.manual_seed(0)
    gqa = GroupedQueryAttention(16, 4, num_kv_heads=2).eval()
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        out, _, replaced = run_with_attention(gqa, lambda: gqa(x, is_causal=True)[0],
                                              uniform_like)
        v = gqa.v_proj(x).view(2, 5, 2, 4).transpose(1, 2).repeat_interleave(2, dim=1)
        expected = gqa.out_proj((replaced @ v).transpose(1, 2).reshape(2, 5, 16))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    mha, q, _ = setup()
    with torch.no_grad():  # self-attention called with the query alone, or with keywords
        for call in (lambda: mha(q)[0], lambda: mha(query=q, key=q, value=q)[0]):
            out, _, replaced = run_with_attention(mha, call, uniform_like)
            torch.testing.assert_close(out, by_hand(mha, q, replaced), atol=1e-5, rtol=1e-5)


def test_identity_transform_changes_nothing_and_hooks_are_removed():
    torch.manual_seed(0)
    encoder = TransformerEncoder(16, 4, 32, 2, norm_first=True).eval()
    x = torch.randn(2, 6, 16)
    before = encoder(x)
    during, _, _ = run_with_attention(encoder.layers[1].self_attn, lambda: encoder(x),
                                      lambda w: w)
    torch.testing.assert_close(during, before, atol=1e-5, rtol=1e-5)
    assert not encoder.layers[1].self_attn._forward_pre_hooks
    assert not encoder.layers[1].self_attn._forward_hooks
    torch.testing.assert_close(encoder(x), before)


def test_permute_keys_keeps_each_rows_weights():
    w = torch.softmax(torch.randn(2, 3, 4, 6), -1)
    p = permute_keys(w, seed=1)
    torch.testing.assert_close(p.sort(-1).values, w.sort(-1).values)
    assert not torch.allclose(p, w)
    torch.testing.assert_close(uniform_like(w).sum(-1), torch.ones(2, 3, 4))


def test_errors():
    mha, q, kv = setup()
    with pytest.raises(ValueError, match="it was not called by fn"):
        capture_attention(mha, lambda: None)
    with pytest.raises(ValueError, match=r"transform: expected weights of shape \(2, 4, 3, 5\)"):
        run_with_attention(mha, lambda: mha(q, kv, kv), lambda w: w[..., :2])
    with pytest.raises(ValueError, match="without a KV cache"):
        run_with_attention(mha, lambda: mha(q, cache=KVCache()), uniform_like)
    noisy = MultiHeadAttention(16, 4, dropout=0.1).train()
    with pytest.raises(ValueError, match="expected eval mode or dropout 0"):
        run_with_attention(noisy, lambda: noisy(q), uniform_like)
