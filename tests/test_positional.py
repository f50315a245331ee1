"""Positional schemes against their published formulas and direct loop implementations,
and their use inside MultiHeadAttention (attn_bias, rotary) against torch."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.attention import (
    KVCache,
    MultiHeadAttention,
    copy_from_torch_mha,
    relative_attention,
)
from course_lib.attention.positions import (
    LearnedPositionalEmbedding,
    RelativePositionRepresentations,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    T5RelativeBias,
    alibi_bias,
    alibi_slopes,
    relative_positions,
    sinusoidal_encoding,
    t5_relative_position_bucket,
)
from course_lib.core.masks import causal_mask

ATOL = 1e-5


# ----------------------------------------------------------------------------- sinusoidal
@pytest.mark.parametrize("d_model", [8, 7])
def test_sinusoidal_matches_formula(d_model):
    pe = sinusoidal_encoding(50, d_model)
    assert pe.shape == (50, d_model)
    for pos in (0, 1, 13, 49):
        for dim in range(d_model):
            i = dim // 2
            angle = pos / 10000 ** (2 * i / d_model)
            expected = math.sin(angle) if dim % 2 == 0 else math.cos(angle)
            assert abs(float(pe[pos, dim]) - expected) < 1e-6, (pos, dim)


def test_sinusoidal_module_adds_with_offset_and_errors():
    enc = SinusoidalPositionalEncoding(8, max_len=64)
    x = torch.zeros(2, 5, 8)
    torch.testing.assert_close(enc(x)[0], sinusoidal_encoding(64, 8)[:5])
    torch.testing.assert_close(enc(x, offset=3)[1], sinusoidal_encoding(64, 8)[3:8])
    with pytest.raises(ValueError, match=r"sequence length 70 exceeds max_len 64"):
        enc(torch.zeros(1, 70, 8))
    with pytest.raises(ValueError, match=r"x: expected shape \(B, T, 8\), got \(1, 3, 6\)"):
        enc(torch.zeros(1, 3, 6))


def test_learned_positional_embedding():
    emb = LearnedPositionalEmbedding(64, 8)
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(emb(x) - x, emb.embedding.weight[:5].expand(2, 5, 8))
    torch.testing.assert_close(emb(x, offset=2)[0] - x[0], emb.embedding.weight[2:7])
    with pytest.raises(ValueError, match=r"sequence length 70 exceeds max_len 64"):
        emb(torch.zeros(1, 70, 8))


# ----------------------------------------------------------------------------- Shaw
def test_relative_positions():
    assert torch.equal(relative_positions(2, 3), torch.tensor([[-1, 0, 1], [-2, -1, 0]]))
    assert torch.equal(relative_positions(2, 3, offset=0), torch.tensor([[0, 1, 2], [-1, 0, 1]]))


def test_shaw_indices_are_clipped():
    rel = RelativePositionRepresentations(head_dim=4, max_relative_position=2)
    idx = rel.indices(5)
    assert idx.min() == 0 and idx.max() == 4
    assert idx[4, 0] == 0 and idx[0, 4] == 4 and idx[2, 2] == 2 and idx[2, 1] == 1


def test_shaw_relative_attention_matches_loop():
    torch.manual_seed(0)
    B, H, T, Dh, k = 2, 2, 5, 4, 2
    rel = RelativePositionRepresentations(Dh, k)
    q, kk, v = (torch.randn(B, H, T, Dh) for _ in range(3))
    mask = causal_mask(T)
    out, w = relative_attention(q, kk, v, rel, mask)
    a_k, a_v = rel.key_embeddings.weight, rel.value_embeddings.weight
    for b in range(B):
        for h in range(H):
            for i in range(T):
                e = []
                for j in range(i + 1):  # causal: keys 0..i
                    r = max(-k, min(k, j - i)) + k
                    e.append(q[b, h, i] @ (kk[b, h, j] + a_k[r]) / math.sqrt(Dh))
                alpha = torch.softmax(torch.stack(e), 0)
                z = sum(alpha[j] * (v[b, h, j] + a_v[max(-k, min(k, j - i)) + k])
                        for j in range(i + 1))
                torch.testing.assert_close(out[b, h, i], z, atol=ATOL, rtol=0)
                torch.testing.assert_close(w[b, h, i, : i + 1], alpha, atol=ATOL, rtol=0)


def test_shaw_errors():
    with pytest.raises(ValueError, match=r"max_relative_position: expected >= 1, got 0"):
        RelativePositionRepresentations(4, 0)


# ----------------------------------------------------------------------------- T5
def reference_bucket(rel: int, bidirectional: bool, num_buckets: int, max_distance: int) -> int:
    """The published T5 bucketing, written out for one integer."""
    bucket = 0
    n = -rel  # T5 works with query - key
    if bidirectional:
        num_buckets //= 2
        if n < 0:
            bucket += num_buckets
        n = abs(n)
    else:
        n = max(n, 0)
    max_exact = num_buckets // 2
    if n < max_exact:
        return bucket + n
    val = max_exact + int(np.float32(np.log(np.float32(n) / np.float32(max_exact)))
                          / np.float32(math.log(max_distance / max_exact))
                          * np.float32(num_buckets - max_exact))
    return bucket + min(val, num_buckets - 1)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_t5_bucket_matches_reference(bidirectional):
    rel = torch.arange(-300, 301)
    ours = t5_relative_position_bucket(rel, bidirectional, 32, 128)
    expected = [reference_bucket(int(r), bidirectional, 32, 128) for r in rel]
    assert ours.tolist() == expected


def test_t5_bucket_known_values():
    b = lambda r, bi=True: int(t5_relative_position_bucket(torch.tensor(r), bi, 32, 128))  # noqa: E731
    # bidirectional: 16 buckets per side, 8 exact; keys after the query use 16..31
    assert [b(0), b(-1), b(-7), b(1), b(7)] == [0, 1, 7, 17, 23]
    assert b(-12) == 8 + int(math.log(12 / 8) / math.log(16) * 8)  # = 9, log-spaced
    assert b(-127) == 15 and b(-1000) == 15 and b(1000) == 31
    # unidirectional: 32 buckets for the past, 16 exact; the future all goes to bucket 0
    assert [b(5, False), b(-1, False), b(-15, False), b(-1000, False)] == [0, 1, 15, 31]


def test_t5_relative_bias_shape_and_values():
    bias_module = T5RelativeBias(num_heads=3, num_buckets=8, max_distance=16)
    bias = bias_module(4, 6)
    assert bias.shape == (1, 3, 4, 6)
    bucket = t5_relative_position_bucket(relative_positions(4, 6), True, 8, 16)
    torch.testing.assert_close(bias[0, 2], bias_module.embedding.weight[bucket, 2])


# ----------------------------------------------------------------------------- ALiBi
def test_alibi_slopes():
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0 ** -i for i in range(1, 9)]))
    four = [2.0 ** -(2 * i) for i in range(1, 5)]
    torch.testing.assert_close(alibi_slopes(4), torch.tensor(four))
    # 12 heads (paper's recipe): the 8-head slopes, then every other 16-head slope
    sixteen = [2.0 ** -(i / 2) for i in range(1, 17)]
    expected = [2.0 ** -i for i in range(1, 9)] + sixteen[0::2][:4]
    torch.testing.assert_close(alibi_slopes(12), torch.tensor(expected))
    with pytest.raises(ValueError, match=r"num_heads: expected >= 1, got 0"):
        alibi_slopes(0)


def test_alibi_bias_is_minus_slope_times_distance():
    bias = alibi_bias(8, 4, 6)  # 4 queries after 2 cached keys
    assert bias.shape == (8, 4, 6)
    slopes = alibi_slopes(8)
    for h in range(8):
        for i in range(4):
            for j in range(6):
                if j <= i + 2:  # the keys a causal query sees
                    assert math.isclose(float(bias[h, i, j]), -float(slopes[h]) * (i + 2 - j),
                                        abs_tol=1e-6)
    assert torch.all(bias[:, torch.arange(4), torch.arange(4) + 2] == 0)


# ----------------------------------------------------------------------------- RoPE
def test_rope_preserves_norm_and_depends_only_on_offset():
    torch.manual_seed(0)
    rope = RotaryEmbedding(8)
    q, k = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    rope = rope.double()

    def at(x, pos):  # rotate x as if it sat at position pos
        return rope(x[None], offset=pos)[0]

    assert math.isclose(at(q, 17).norm().item(), q.norm().item(), rel_tol=1e-12)
    for delta in (0, 1, 5, -3):
        dots = [at(q, m) @ at(k, m + delta) for m in (3, 10, 40)]
        torch.testing.assert_close(torch.stack(dots), dots[0].expand(3))
    assert not torch.isclose(at(q, 3) @ at(k, 4), at(q, 3) @ at(k, 9))
    torch.testing.assert_close(at(q, 0), q)  # position 0: no rotation


def test_rope_rotates_pairs_by_the_published_angles():
    rope = RotaryEmbedding(4, base=100.0)
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0]]).expand(3, 4)
    out = rope(x)
    for m in range(3):
        for i, theta in enumerate((1.0, 100.0 ** (-2 / 4))):
            torch.testing.assert_close(out[m, 2 * i: 2 * i + 2],
                                       torch.tensor([math.cos(m * theta), math.sin(m * theta)]))


def test_rope_errors():
    with pytest.raises(ValueError, match=r"head_dim: expected an even number, got 5"):
        RotaryEmbedding(5)
    with pytest.raises(ValueError, match=r"x: expected last dim 8 \(head_dim\), "
                                         r"got shape \(2, 3, 6\)"):
        RotaryEmbedding(8)(torch.randn(2, 3, 6))


# ----------------------------------------------------------------------------- inside MHA
def torch_pair(d_model=16, num_heads=4):
    torch.manual_seed(0)
    theirs = nn.MultiheadAttention(d_model, num_heads, batch_first=True)
    ours = MultiHeadAttention(d_model, num_heads)
    copy_from_torch_mha(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_alibi_bias_matches_torch_float_mask(need_weights):
    ours, theirs = torch_pair()
    B, T, H = 2, 6, 4
    x = torch.randn(B, T, 16)
    bias = alibi_bias(H, T)
    out, _ = ours(x, attn_bias=bias, is_causal=True, need_weights=need_weights)
    # torch adds a float attn_mask of shape (B*H, T, S) to the scores
    float_mask = bias.masked_fill(~causal_mask(T), float("-inf"))
    ref, _ = theirs(x, x, x, attn_mask=float_mask.repeat(B, 1, 1), need_weights=False)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)


def test_mha_t5_bias_both_paths_equal_and_cached():
    ours, theirs = torch_pair()
    t5 = T5RelativeBias(num_heads=4, num_buckets=8, max_distance=16, bidirectional=False)
    x = torch.randn(2, 7, 16)
    fast, _ = ours(x, attn_bias=t5(7), is_causal=True)
    slow, w = ours(x, attn_bias=t5(7), is_causal=True, need_weights=True)
    torch.testing.assert_close(fast, slow, atol=ATOL, rtol=0)
    assert torch.all(w[..., ~causal_mask(7)] == 0)
    cache = KVCache()
    ours(x[:, :4], attn_bias=t5(4), is_causal=True, cache=cache)
    rest, _ = ours(x[:, 4:], attn_bias=t5(3, 7), is_causal=True, cache=cache)
    torch.testing.assert_close(rest, fast[:, 4:], atol=ATOL, rtol=0)


def test_mha_bias_with_fully_masked_row_gives_zeros():
    ours, _ = torch_pair()
    x = torch.randn(1, 4, 16)
    mask = torch.ones(4, 4, dtype=torch.bool)
    mask[2] = False
    for need_weights in (False, True):
        out, _ = ours(x, attn_mask=mask, attn_bias=alibi_bias(4, 4), need_weights=need_weights)
        assert not torch.isnan(out).any()
        torch.testing.assert_close(out[0, 2], ours.out_proj.bias, atol=ATOL, rtol=0)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_rotary_matches_manual_and_cache(need_weights):
    ours, _ = torch_pair()
    rope = RotaryEmbedding(4)
    x = torch.randn(2, 6, 16)
    out, _ = ours(x, is_causal=True, rotary=rope, need_weights=need_weights)
    # manual: project, split heads, rotate q and k, attend, merge, project
    q, k, v = (p(x).view(2, 6, 4, 4).transpose(1, 2)
               for p in (ours.q_proj, ours.k_proj, ours.v_proj))
    att = torch.nn.functional.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True)
    expected = ours.out_proj(att.transpose(1, 2).reshape(2, 6, 16))
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)
    cache = KVCache()
    steps = [ours(x[:, t:t + 1], is_causal=True, rotary=rope, cache=cache,
                  need_weights=need_weights)[0] for t in range(6)]
    torch.testing.assert_close(torch.cat(steps, 1), out, atol=ATOL, rtol=0)


def test_rotary_breaks_permutation_equivariance():
    ours, _ = torch_pair()
    x = torch.randn(1, 5, 16)
    perm = torch.tensor([4, 2, 0, 1, 3])
    plain, _ = ours(x)
    torch.testing.assert_close(ours(x[:, perm])[0], plain[:, perm], atol=ATOL, rtol=0)
    rotated, _ = ours(x, rotary=RotaryEmbedding(4))
    assert not torch.allclose(ours(x[:, perm], rotary=RotaryEmbedding(4))[0], rotated[:, perm],
                              atol=1e-3)
