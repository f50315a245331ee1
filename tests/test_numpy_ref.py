"""NumPy references against torch and against first principles."""

import numpy as np
import pytest
import torch

from course_lib import attention
from course_lib.attention import numpy_ref
from course_lib.core.masks import causal_mask


def test_softmax_stable_and_normalised():
    x = np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]])
    p = numpy_ref.softmax(x)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(-1), 1.0)
    np.testing.assert_allclose(p[0], numpy_ref.softmax(x[0] - 1000.0))
    np.testing.assert_allclose(p, torch.softmax(torch.tensor(x), -1).numpy(), atol=1e-12)


def test_masked_softmax_matches_torch_and_zeroes_empty_rows():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(2, 4, 5))
    mask = rng.random((2, 4, 5)) > 0.4
    mask[0, 2] = False  # one fully masked row
    ours = numpy_ref.masked_softmax(scores, mask)
    theirs = attention.masked_softmax(torch.tensor(scores), torch.tensor(mask)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    np.testing.assert_array_equal(ours[0, 2], 0.0)
    assert np.all(ours[~mask] == 0.0)


def test_sdpa_matches_torch():
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 3, 4, 8)), rng.normal(size=(2, 3, 6, 8)), rng.normal(
        size=(2, 3, 6, 5))
    mask = causal_mask(4, 6).numpy()
    out, w = numpy_ref.scaled_dot_product_attention(q, k, v, mask)
    ref = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(out, ref.numpy(), atol=1e-10)
    np.testing.assert_allclose(w.sum(-1), 1.0)


def test_multi_head_attention_matches_torch_mha():
    torch.manual_seed(0)
    B, T, S, D, H = 2, 4, 6, 12, 3
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True, kdim=7, vdim=5).double()
    query, key, value = torch.randn(B, T, D).double(), torch.randn(B, S, 7).double(), \
        torch.randn(B, S, 5).double()
    b_q, b_k, b_v = mha.in_proj_bias.detach().chunk(3)
    out, weights = numpy_ref.multi_head_attention(
        query.numpy(), key.numpy(), value.numpy(), num_heads=H,
        w_q=mha.q_proj_weight.detach().numpy(), w_k=mha.k_proj_weight.detach().numpy(),
        w_v=mha.v_proj_weight.detach().numpy(), w_o=mha.out_proj.weight.detach().numpy(),
        b_q=b_q.numpy(), b_k=b_k.numpy(), b_v=b_v.numpy(), b_o=mha.out_proj.bias.detach().numpy())
    ref, ref_w = mha(query, key, value, need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(weights, ref_w.detach().numpy(), atol=1e-10)


def test_multi_head_attention_rejects_bad_heads():
    x = np.zeros((1, 2, 6))
    w = np.zeros((6, 6))
    with pytest.raises(ValueError, match=r"num_heads: expected a divisor of d_model=6, got 4"):
        numpy_ref.multi_head_attention(x, x, x, num_heads=4, w_q=w, w_k=w, w_v=w, w_o=w)
