"""The attention core against independent references: torch's own modules with copied
weights, NumPy, direct formulas, finite differences (gradcheck)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.attention import (
    AdditiveAttention,
    AdditiveScore,
    GeneralScore,
    KVCache,
    MultiHeadAttention,
    NadarayaWatson,
    copy_from_torch_mha,
    dot_product_scores,
    masked_softmax,
    merge_heads,
    nadaraya_watson,
    numpy_ref,
    scaled_dot_product_attention,
    scaled_dot_product_scores,
    split_heads,
)
from course_lib.core.masks import causal_mask, padding_mask

ATOL = 1e-5


def make_pair(d_model=16, num_heads=4, kdim=None, vdim=None, bias=True, seed=0):
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(d_model, num_heads, batch_first=True, kdim=kdim, vdim=vdim,
                                   bias=bias)
    ours = MultiHeadAttention(d_model, num_heads, kdim=kdim, vdim=vdim, bias=bias)
    copy_from_torch_mha(ours, theirs)
    return ours, theirs


# ----------------------------------------------------------------------------- masked softmax
def test_masked_softmax_without_mask_is_softmax():
    x = torch.randn(3, 4, 5)
    torch.testing.assert_close(masked_softmax(x), torch.softmax(x, -1))


def test_masked_softmax_zero_where_masked_and_rows_sum_to_one():
    x = torch.randn(2, 4, 5)
    mask = causal_mask(4, 5)
    w = masked_softmax(x, mask)
    assert torch.all(w[:, ~mask] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4))


def test_masked_softmax_fully_masked_row_gives_zeros_and_finite_grad():
    x = torch.randn(2, 3, 4, requires_grad=True)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[1, 2] = False
    w = masked_softmax(x, mask)
    assert torch.all(w[1, 2] == 0) and not torch.isnan(w).any()
    (w * torch.randn_like(w)).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.all(x.grad[1, 2] == 0)


def test_masked_softmax_errors():
    with pytest.raises(ValueError, match=r"mask: expected a bool mask, got torch.float32"):
        masked_softmax(torch.randn(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"mask: expected shape broadcastable to \(2, 3\), "
                                         r"got \(3, 2\)"):
        masked_softmax(torch.randn(2, 3), torch.ones(3, 2, dtype=torch.bool))


# ----------------------------------------------------------------------------- scores
def test_dot_and_scaled_scores():
    q, k = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    torch.testing.assert_close(dot_product_scores(q, k), torch.einsum("btd,bsd->bts", q, k))
    torch.testing.assert_close(scaled_dot_product_scores(q, k),
                               dot_product_scores(q, k) / math.sqrt(8))
    with pytest.raises(ValueError, match=r"k: expected last dim 8 \(the width of q\), "
                                         r"got shape \(2, 5, 7\)"):
        dot_product_scores(q, torch.randn(2, 5, 7))


def test_additive_score_matches_hand_computation():
    torch.manual_seed(0)
    score = AdditiveScore(query_dim=3, key_dim=2, hidden_dim=4)
    q, k = torch.randn(2, 3, 3), torch.randn(2, 5, 2)
    out = score(q, k)
    assert out.shape == (2, 3, 5)
    W_q, W_k = score.query_proj.weight, score.key_proj.weight
    v = score.v.weight[0]
    for b in range(2):
        for t in range(3):
            for s in range(5):
                expected = v @ torch.tanh(W_q @ q[b, t] + W_k @ k[b, s])
                torch.testing.assert_close(out[b, t, s], expected)


def test_additive_score_errors():
    score = AdditiveScore(3, 2, 4)
    with pytest.raises(ValueError, match=r"q: expected shape \(B, T, dq\), got \(2, 3\)"):
        score(torch.randn(2, 3), torch.randn(2, 5, 2))
    with pytest.raises(ValueError, match=r"k: expected batch size 2 \(that of q\), "
                                         r"got shape \(3, 5, 2\)"):
        score(torch.randn(2, 1, 3), torch.randn(3, 5, 2))


def test_general_score_is_q_W_k():
    torch.manual_seed(0)
    score = GeneralScore(query_dim=3, key_dim=2)
    q, k = torch.randn(2, 4, 3), torch.randn(2, 5, 2)
    W = score.key_proj.weight  # (dq, dk)
    torch.testing.assert_close(score(q, k), q @ W @ k.transpose(1, 2))


# ----------------------------------------------------------------------------- SDPA
def test_sdpa_matches_numpy_and_torch():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 5)
    mask = torch.rand(2, 1, 4, 6) > 0.3
    mask[..., 0] = True
    out, w = scaled_dot_product_attention(q, k, v, mask)
    ref_out, ref_w = numpy_ref.scaled_dot_product_attention(q.numpy(), k.numpy(), v.numpy(),
                                                            mask.numpy())
    np.testing.assert_allclose(out.numpy(), ref_out, atol=ATOL)
    np.testing.assert_allclose(w.numpy(), ref_w, atol=ATOL)
    torch.testing.assert_close(
        out, torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_sdpa_dropout_only_in_training():
    q, k, v = torch.randn(1, 4, 8), torch.randn(1, 6, 8), torch.randn(1, 6, 5)
    out_eval, _ = scaled_dot_product_attention(q, k, v, dropout=0.5, training=False)
    out_plain, _ = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out_eval, out_plain)
    torch.manual_seed(0)
    out_train, w = scaled_dot_product_attention(q, k, v, dropout=0.5, training=True)
    assert not torch.allclose(out_train, out_plain)
    torch.testing.assert_close(w.sum(-1), torch.ones(1, 4))  # returned weights: pre-dropout


def test_sdpa_value_length_error():
    with pytest.raises(ValueError, match=r"v: expected 6 rows \(the number of keys\), "
                                         r"got shape \(1, 5, 5\)"):
        scaled_dot_product_attention(torch.randn(1, 4, 8), torch.randn(1, 6, 8),
                                     torch.randn(1, 5, 5))


def test_sdpa_gradcheck_float64():
    torch.manual_seed(0)
    q = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, 2, 5, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, 2, 5, 3, dtype=torch.float64, requires_grad=True)
    mask = causal_mask(3, 5)
    assert torch.autograd.gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, mask)[0],
                                    (q, k, v))


# ----------------------------------------------------------------------------- additive / NW
def test_additive_attention_single_and_multi_query():
    torch.manual_seed(0)
    attn = AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=5)
    keys, values = torch.randn(2, 6, 4), torch.randn(2, 6, 7)
    mask = padding_mask([6, 2])
    query = torch.randn(2, 3)
    context, w = attn(query, keys, values, mask)
    assert context.shape == (2, 7) and w.shape == (2, 6)
    assert torch.all(w[1, 2:] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2))
    scores = attn.score(query[:, None], keys)[:, 0]
    expected = torch.softmax(scores.masked_fill(~mask, -math.inf), -1)
    torch.testing.assert_close(w, expected)
    torch.testing.assert_close(context, torch.einsum("bs,bsd->bd", expected, values))
    context3, w3 = attn(query[:, None].expand(2, 3, 3), keys, values, mask)
    assert context3.shape == (2, 3, 7) and w3.shape == (2, 3, 6)
    torch.testing.assert_close(context3[:, 1], context)


def test_additive_attention_errors():
    attn = AdditiveAttention(3, 4, 5)
    keys = torch.randn(2, 6, 4)
    with pytest.raises(ValueError, match=r"values: expected shape \(2, 6, dv\), got \(2, 5, 7\)"):
        attn(torch.randn(2, 3), keys, torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match=r"mask: expected a bool mask, got torch.int64"):
        attn(torch.randn(2, 3), keys, torch.randn(2, 6, 7), torch.ones(2, 6, dtype=torch.long))


def test_nadaraya_watson_matches_numpy_formula():
    rng = np.random.default_rng(0)
    xq, xk, yk = rng.uniform(0, 5, 7), rng.uniform(0, 5, 11), rng.normal(size=11)
    h = 0.7
    y_hat, w = nadaraya_watson(torch.tensor(xq), torch.tensor(xk), torch.tensor(yk), h)
    kernel = np.exp(-((xq[:, None] - xk[None, :]) ** 2) / (2 * h**2))
    expected_w = kernel / kernel.sum(1, keepdims=True)
    np.testing.assert_allclose(w.numpy(), expected_w, atol=1e-12)
    np.testing.assert_allclose(y_hat.numpy(), expected_w @ yk, atol=1e-12)


def test_nadaraya_watson_module_learns_bandwidth_and_errors():
    model = NadarayaWatson(init_bandwidth=2.0)
    assert math.isclose(float(model.bandwidth.detach()), 2.0, rel_tol=1e-6)
    x = torch.linspace(0, 5, 20)
    y_hat, _ = model(x, x, torch.sin(x))
    y_hat.sum().backward()
    assert model.log_bandwidth.grad is not None
    fixed = NadarayaWatson(1.0, learnable=False)
    assert not list(fixed.parameters())
    with pytest.raises(ValueError, match=r"init_bandwidth: expected > 0, got 0.0"):
        NadarayaWatson(0.0)
    with pytest.raises(ValueError, match=r"bandwidth: expected > 0, got -1.0"):
        nadaraya_watson(x, x, x, -1.0)
    with pytest.raises(ValueError, match=r"y_values: expected shape \(20,\) \(that of x_keys, "
                                         r"1-D\), got \(19,\)"):
        nadaraya_watson(x, x, x[:19], 1.0)


# ----------------------------------------------------------------------------- heads, cache
def test_split_merge_heads_roundtrip_and_layout():
    x = torch.randn(2, 5, 12)
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    torch.testing.assert_close(heads[:, 1], x[..., 4:8])  # head 1 sees features 4..7
    torch.testing.assert_close(merge_heads(heads), x)
    with pytest.raises(ValueError, match=r"x: expected a last dim divisible by num_heads=5, "
                                         r"got shape \(2, 5, 12\)"):
        split_heads(x, 5)
    with pytest.raises(ValueError, match=r"x: expected shape \(B, H, T, Dh\), got \(2, 5, 12\)"):
        merge_heads(x)


def test_kv_cache_append_and_errors():
    cache = KVCache()
    assert cache.length == 0 and cache.k is None
    k_all, v_all = cache.append(torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 6))
    assert cache.length == 4
    k_all, v_all = cache.append(torch.randn(2, 3, 1, 5), torch.randn(2, 3, 1, 6))
    assert k_all.shape == (2, 3, 5, 5) and v_all.shape == (2, 3, 5, 6) and cache.length == 5
    cache.reorder(torch.tensor([1, 1]))
    torch.testing.assert_close(cache.k[0], cache.k[1])
    with pytest.raises(ValueError, match=r"k_new: expected shape \(2, 3, T, 5\) like the cache, "
                                         r"got \(2, 4, 1, 5\)"):
        cache.append(torch.randn(2, 4, 1, 5), torch.randn(2, 4, 1, 6))
    with pytest.raises(ValueError, match=r"v_new: expected shape \(2, 3, 1\) \+ \(Dv,\), "
                                         r"got \(2, 3, 2, 6\)"):
        cache.append(torch.randn(2, 3, 1, 5), torch.randn(2, 3, 2, 6))


# ----------------------------------------------------------------------------- MHA vs torch
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("case", ["self", "padding", "causal", "padding+causal"])
def test_mha_self_attention_matches_torch(case, need_weights):
    ours, theirs = make_pair()
    x = torch.randn(3, 7, 16)
    kpm = padding_mask([7, 4, 1]) if "padding" in case else None
    causal = "causal" in case
    out, w = ours(x, key_padding_mask=kpm, is_causal=causal, need_weights=need_weights)
    ref, ref_w = theirs(x, x, x, key_padding_mask=None if kpm is None else ~kpm,  # True = ignore
                        attn_mask=~causal_mask(7) if causal else None,
                        need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    if need_weights:
        torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)
    else:
        assert w is None


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_cross_attention_kdim_vdim_matches_torch(need_weights):
    ours, theirs = make_pair(kdim=10, vdim=6)
    q, k, v = torch.randn(2, 5, 16), torch.randn(2, 9, 10), torch.randn(2, 9, 6)
    kpm = padding_mask([9, 3])
    out, _ = ours(q, k, v, key_padding_mask=kpm, need_weights=need_weights)
    ref, _ = theirs(q, k, v, key_padding_mask=~kpm)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)


def test_mha_cross_attention_same_dims_and_no_bias():
    ours, theirs = make_pair(bias=False)
    q, mem = torch.randn(2, 5, 16), torch.randn(2, 8, 16)
    mask = torch.rand(5, 8) > 0.3
    mask[:, 0] = True
    for need_weights in (False, True):
        out, _ = ours(q, mem, attn_mask=mask, need_weights=need_weights)
        ref, _ = theirs(q, mem, mem, attn_mask=~mask)
        torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)


def test_mha_per_batch_and_per_head_masks():
    ours, _ = make_pair()
    x = torch.randn(2, 5, 16)
    m3 = torch.rand(2, 5, 5) > 0.4
    m3[..., 0] = True
    m4 = m3[:, None].expand(2, 4, 5, 5)
    a, _ = ours(x, attn_mask=m3)
    b, wb = ours(x, attn_mask=m4, need_weights=True)
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)
    assert torch.all(wb[~m4] == 0)


def test_mha_readable_equals_fast_in_training_without_dropout():
    ours, _ = make_pair()
    ours.train()
    x = torch.randn(2, 6, 16, requires_grad=True)
    fast, _ = ours(x, is_causal=True)
    slow, _ = ours(x, is_causal=True, need_weights=True)
    torch.testing.assert_close(fast, slow, atol=ATOL, rtol=0)
    g_fast, = torch.autograd.grad(fast.square().sum(), x)
    g_slow, = torch.autograd.grad(slow.square().sum(), x)
    torch.testing.assert_close(g_fast, g_slow, atol=1e-4, rtol=0)


def test_mha_fully_masked_row_gives_zeros_in_both_paths_with_finite_grads():
    ours, _ = make_pair()
    x = torch.randn(2, 4, 16, requires_grad=True)
    mask = torch.ones(2, 4, 4, dtype=torch.bool)
    mask[0, 1] = False  # query 1 of example 0 may attend to nothing
    for need_weights in (False, True):
        out, w = ours(x, attn_mask=mask, need_weights=need_weights)
        # Its attention output is zero, so after out_proj only the bias remains.
        torch.testing.assert_close(out[0, 1], ours.out_proj.bias, atol=ATOL, rtol=0)
        assert not torch.isnan(out).any()
        if need_weights:
            assert torch.all(w[0, :, 1] == 0)
        g, = torch.autograd.grad(out.sum(), x)
        assert torch.isfinite(g).all()


def test_mha_fully_padded_sequence_gives_no_nan():
    ours, _ = make_pair()
    x = torch.randn(2, 3, 16)
    kpm = padding_mask([3, 0])
    fast, _ = ours(x, key_padding_mask=kpm)
    slow, _ = ours(x, key_padding_mask=kpm, need_weights=True)
    assert not torch.isnan(fast).any()
    torch.testing.assert_close(fast, slow, atol=ATOL, rtol=0)


def test_mha_dropout_only_in_training():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, dropout=0.5)
    x = torch.randn(2, 5, 16)
    mha.eval()
    a, _ = mha(x)
    b, _ = mha(x, need_weights=True)
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)
    mha.train()
    for need_weights in (False, True):
        c, _ = mha(x, need_weights=need_weights)
        assert not torch.allclose(a, c)


def test_self_attention_is_permutation_equivariant():
    ours, _ = make_pair()
    x = torch.randn(2, 6, 16)
    perm = torch.randperm(6)
    out, _ = ours(x)
    out_perm, _ = ours(x[:, perm])
    torch.testing.assert_close(out_perm, out[:, perm], atol=ATOL, rtol=0)


@pytest.mark.parametrize("need_weights", [False, True])
def test_causal_future_does_not_leak(need_weights):
    ours, _ = make_pair()
    x = torch.randn(1, 6, 16)
    t = 2
    y = x.clone()
    y[:, t + 1] = torch.randn(16) * 10
    a, _ = ours(x, is_causal=True, need_weights=need_weights)
    b, _ = ours(y, is_causal=True, need_weights=need_weights)
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], atol=ATOL, rtol=0)
    assert not torch.allclose(a[:, t + 1], b[:, t + 1])


@pytest.mark.parametrize("need_weights", [False, True])
def test_kv_cache_incremental_equals_full_causal(need_weights):
    ours, _ = make_pair()
    x = torch.randn(2, 7, 16)
    full, _ = ours(x, is_causal=True)
    cache = KVCache()
    prefix, _ = ours(x[:, :3], is_causal=True, cache=cache, need_weights=need_weights)
    steps = [prefix]
    for t in range(3, 7):  # one token at a time, attending to everything cached
        out, w = ours(x[:, t:t + 1], is_causal=True, cache=cache, need_weights=need_weights)
        steps.append(out)
        if need_weights:
            assert w.shape == (2, 4, 1, t + 1)
    assert cache.length == 7
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=ATOL, rtol=0)
    # Two new tokens at once after a cache: the causal mask must be offset by the cache.
    cache2 = KVCache()
    ours(x[:, :5], is_causal=True, cache=cache2)
    last2, _ = ours(x[:, 5:], is_causal=True, cache=cache2, need_weights=need_weights)
    torch.testing.assert_close(last2, full[:, 5:], atol=ATOL, rtol=0)


def test_mha_gradcheck_float64():
    torch.manual_seed(0)
    mha = MultiHeadAttention(6, 2).double()
    x = torch.randn(1, 3, 6, dtype=torch.float64, requires_grad=True)
    kpm = padding_mask([2], max_len=3)
    for need_weights in (False, True):
        assert torch.autograd.gradcheck(
            lambda x, nw=need_weights: mha(x, key_padding_mask=kpm, is_causal=True,
                                           need_weights=nw)[0], (x,))


# ----------------------------------------------------------------------------- validation
def test_mha_constructor_errors():
    with pytest.raises(ValueError, match=r"d_model: expected a multiple of num_heads=3, got 16"):
        MultiHeadAttention(16, 3)
    with pytest.raises(ValueError, match=r"dropout: expected a probability in \[0, 1\), got 1.5"):
        MultiHeadAttention(16, 4, dropout=1.5)


def test_mha_input_errors():
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(2, 5, 16)
    with pytest.raises(ValueError, match=r"query: expected shape \(B, T, 16\), got \(2, 5, 8\)"):
        mha(torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match=r"query: expected shape \(B, T, 16\), got \(5, 16\)"):
        mha(torch.randn(5, 16))
    with pytest.raises(ValueError, match=r"key: expected shape \(2, S, 16\), got \(3, 4, 16\)"):
        mha(x, torch.randn(3, 4, 16))
    with pytest.raises(ValueError, match=r"key: expected shape \(2, S, 16\), got \(2, 4, 8\)"):
        mha(x, torch.randn(2, 4, 8))
    with pytest.raises(ValueError, match=r"value: expected shape \(2, 4, 16\), got \(2, 3, 16\)"):
        mha(x, torch.randn(2, 4, 16), torch.randn(2, 3, 16))


def test_mha_mask_errors():
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(2, 5, 16)
    with pytest.raises(ValueError, match=r"key_padding_mask: expected a bool mask, "
                                         r"got torch.float32"):
        mha(x, key_padding_mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"key_padding_mask: expected shape \(2, 5\), "
                                         r"got \(2, 4\)"):
        mha(x, key_padding_mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"attn_mask: expected a bool mask, got torch.float32"):
        mha(x, attn_mask=torch.zeros(5, 5))
    with pytest.raises(ValueError, match=r"attn_mask: expected shape \(5, 5\) or \(2, 5, 5\) or "
                                         r"\(2, 4, 5, 5\), got \(5, 6\)"):
        mha(x, attn_mask=torch.ones(5, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"attn_bias: expected a float tensor, got torch.bool"):
        mha(x, attn_bias=torch.ones(5, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"attn_bias: expected shape broadcastable to "
                                         r"\(2, 4, 5, 5\), got \(3, 5, 5\)"):
        mha(x, attn_bias=torch.zeros(3, 5, 5))


def test_copy_from_torch_mha_errors():
    ours = MultiHeadAttention(16, 4)
    with pytest.raises(ValueError, match=r"theirs: expected embed_dim=16, num_heads=4, "
                                         r"got embed_dim=16, num_heads=2"):
        copy_from_torch_mha(ours, nn.MultiheadAttention(16, 2, batch_first=True))
    with pytest.raises(ValueError, match=r"theirs: expected kdim=16, vdim=16, got kdim=8, vdim=16"):
        copy_from_torch_mha(ours, nn.MultiheadAttention(16, 4, kdim=8, vdim=16))
    with pytest.raises(ValueError, match=r"theirs: expected bias=True, got bias=False"):
        copy_from_torch_mha(ours, nn.MultiheadAttention(16, 4, bias=False))
    with pytest.raises(ValueError, match=r"theirs: add_bias_kv and add_zero_attn"):
        copy_from_torch_mha(ours, nn.MultiheadAttention(16, 4, add_bias_kv=True))
