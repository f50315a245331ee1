import pytest
import torch

from course_lib.attention import (
    GroupedQueryAttention,
    LatentAttention,
    LatentCache,
    MultiHeadAttention,
    RollingKVCache,
    cache_bytes,
    kv_cache_bytes_per_token,
    latent_cache_bytes_per_token,
    mha_to_gqa,
    positions_seen,
)
from course_lib.attention.caches import KVCache, context_start
from course_lib.attention.local import sliding_window_mask
from course_lib.attention.positions import RotaryEmbedding


def test_gqa_with_all_heads_equals_mha():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4)
    gqa = GroupedQueryAttention(16, 4, num_kv_heads=4)
    gqa.load_state_dict(mha.state_dict())
    x = torch.randn(2, 7, 16)
    for kwargs in ({"is_causal": True}, {"need_weights": True}, {}):
        expected = mha(x, **kwargs)
        actual = gqa(x, **kwargs)
        torch.testing.assert_close(actual[0], expected[0])


def test_mean_pooled_gqa_equals_mha_whose_group_heads_are_equal():
    torch.manual_seed(1)
    mha = MultiHeadAttention(16, 4)
    with torch.no_grad():  # make heads 0,1 and heads 2,3 share keys and values
        for proj in (mha.k_proj, mha.v_proj):
            w = proj.weight.view(4, 4, 16)
            w[1], w[3] = w[0], w[2]
            b = proj.bias.view(4, 4)
            b[1], b[3] = b[0], b[2]
    gqa = mha_to_gqa(mha, 2)
    assert gqa.k_proj.weight.shape == (8, 16)
    x = torch.randn(1, 5, 16)
    torch.testing.assert_close(gqa(x, is_causal=True)[0], mha(x, is_causal=True)[0])


def test_mqa_readable_and_fast_paths_agree_and_cache_holds_one_head():
    torch.manual_seed(2)
    mqa = GroupedQueryAttention(16, 4, num_kv_heads=1)
    rope = RotaryEmbedding(4)
    x = torch.randn(2, 6, 16)
    full, weights = mqa(x, is_causal=True, need_weights=True, rotary=rope)
    torch.testing.assert_close(mqa(x, is_causal=True, rotary=rope)[0], full)
    assert weights.shape == (2, 4, 6, 6)
    cache = KVCache()
    steps = [mqa(x[:, t:t + 1], is_causal=True, cache=cache, rotary=rope)[0] for t in range(6)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full)
    assert cache.k.shape == (2, 1, 6, 4)
    assert cache_bytes([cache]) == 2 * 2 * 6 * 4 * 4


def test_rolling_cache_equals_sliding_window_attention():
    torch.manual_seed(3)
    layer = GroupedQueryAttention(8, 2, num_kv_heads=1)
    rope, window, T = RotaryEmbedding(4), 3, 9
    x = torch.randn(1, T, 8)
    mask = sliding_window_mask(T, window)
    full, _ = layer(x, attn_mask=mask, rotary=rope)
    cache = RollingKVCache(window)
    first, _ = layer(x[:, :4], attn_mask=sliding_window_mask(4, window), cache=cache, rotary=rope)
    steps = [first] + [layer(x[:, t:t + 1], cache=cache, rotary=rope)[0] for t in range(4, T)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full)
    assert cache.length == window - 1 and cache.seen == T and positions_seen(cache) == T


def test_rolling_cache_fills_up_one_token_at_a_time():
    cache = RollingKVCache(5)
    lengths = []
    for _ in range(8):
        k, _ = cache.append(torch.randn(1, 1, 1, 2), torch.randn(1, 1, 1, 2))
        lengths.append((k.shape[-2], cache.length))
    assert lengths == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 4), (5, 4), (5, 4), (5, 4)]


def test_latent_attention_cache_equals_full_and_stores_the_latent():
    torch.manual_seed(4)
    layer = LatentAttention(16, 4, d_latent=6)
    x = torch.randn(2, 5, 16)
    full, _ = layer(x, is_causal=True)
    cache = LatentCache()
    steps = torch.cat([layer(x[:, :2], cache=cache, is_causal=True)[0]]
                      + [layer(x[:, t:t + 1], cache=cache, is_causal=True)[0]
                         for t in range(2, 5)], dim=1)
    torch.testing.assert_close(steps, full)
    per_token = latent_cache_bytes_per_token(1, 6, bytes_per_value=4)
    assert cache_bytes([cache]) == 2 * 5 * per_token


def test_bytes_formula_and_errors():
    assert kv_cache_bytes_per_token(32, 8, 128) == 2 * 32 * 8 * 128 * 2
    with pytest.raises(ValueError, match="num_kv_heads: expected a positive divisor"):
        GroupedQueryAttention(16, 4, num_kv_heads=3)
    with pytest.raises(ValueError, match="window"):
        RollingKVCache(0)
    with pytest.raises(ValueError, match="num_kv_heads"):
        kv_cache_bytes_per_token(1, 0, 4)
    with pytest.raises(ValueError, match="d_latent"):
        LatentAttention(8, 2, 0)
    with pytest.raises(ValueError, match="mha"):
        mha_to_gqa(MultiHeadAttention(8, 2, kdim=4), 1)
    x = torch.randn(1, 3, 8)
    with pytest.raises(ValueError, match=r"x: expected shape \(B, T, 16\), got \(1, 3, 8\)"):
        LatentAttention(16, 4, d_latent=6)(x)
    # a cache of the wrong kind is named, not a TypeError from deep inside append()
    with pytest.raises(TypeError, match="cache: expected a KVCache \\(or None\\), got LatentCache"):
        MultiHeadAttention(8, 2)(x, cache=LatentCache())
    with pytest.raises(TypeError, match="cache: expected a LatentCache \\(or None\\), got KVCache"):
        LatentAttention(8, 2, d_latent=4)(x, cache=KVCache())


def test_readable_path_adds_a_float32_bias_to_bfloat16_scores():
    """need_weights takes the readable path; a float32 ALiBi bias meets bfloat16 scores there
    as it does on the fused path."""
    from course_lib.attention.positions import alibi_bias

    layer = MultiHeadAttention(8, 2).to(torch.bfloat16)
    x = torch.randn(1, 5, 8, dtype=torch.bfloat16)
    bias = alibi_bias(2, 5)[None]                    # (1, H, T, S) float32
    fused, _ = layer(x, is_causal=True, attn_bias=bias)
    readable, weights = layer(x, is_causal=True, attn_bias=bias, need_weights=True)
    assert weights.shape == (1, 2, 5, 5)
    torch.testing.assert_close(readable, fused, atol=2e-2, rtol=2e-2)


def test_context_start_asks_the_caches_and_checks_the_call():
    idx = torch.zeros(2, 3, dtype=torch.long)
    assert context_start(idx, None, num_layers=2, max_len=8) == 0
    caches = [KVCache(), KVCache()]
    for cache in caches:
        cache.append(torch.zeros(2, 1, 4, 2), torch.zeros(2, 1, 4, 2))
    assert context_start(idx, caches, num_layers=2, max_len=8) == 4
    rolling = RollingKVCache(window=3)
    rolling.append(torch.zeros(1, 1, 6, 2), torch.zeros(1, 1, 6, 2))
    assert context_start(idx[:1, :1], [rolling], num_layers=1, max_len=8) == 6  # not length 2
    with pytest.raises(ValueError, match=r"length 7 \(4 cached \+ 3 new\) exceeds max_len 6"):
        context_start(idx, caches, num_layers=2, max_len=6)
    with pytest.raises(ValueError, match="caches: expected 3 KV caches"):
        context_start(idx, caches, num_layers=3, max_len=8)
    with pytest.raises(ValueError, match="idx"):
        context_start(torch.zeros(3), None, num_layers=1, max_len=8)
