import pytest
import torch

from course_lib.attention.linear import (
    LinearAttention,
    causal_linear_attention,
    causal_linear_attention_recurrent,
    elu_feature_map,
    linear_attention,
    linear_attention_quadratic,
)


def _qkv(T=13, d=4, dv=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 3, T, d, generator=g, dtype=torch.float64),
            torch.randn(2, 3, T, d, generator=g, dtype=torch.float64),
            torch.randn(2, 3, T, dv, generator=g, dtype=torch.float64))


def test_feature_map_is_positive():
    assert (elu_feature_map(torch.linspace(-10, 5, 50)) > 0).all()


def test_noncausal_equals_quadratic_form():
    q, k, v = _qkv()
    torch.testing.assert_close(linear_attention(q, k, v), linear_attention_quadratic(q, k, v)[0])


@pytest.mark.parametrize("chunk", [1, 4, 64])
def test_causal_forms_agree(chunk):
    q, k, v = _qkv(seed=chunk)
    reference, weights = linear_attention_quadratic(q, k, v, causal=True)
    assert torch.allclose(weights.sum(-1), torch.ones(()).double())
    assert not torch.triu(weights[0, 0], 1).any()
    torch.testing.assert_close(causal_linear_attention_recurrent(q, k, v), reference)
    torch.testing.assert_close(causal_linear_attention(q, k, v, chunk=chunk), reference)


def test_layer_is_causal_and_checks_arguments():
    layer = LinearAttention(8, 2)
    x = torch.randn(1, 6, 8)
    y = torch.cat([x[:, :4], torch.randn(1, 2, 8)], dim=1)
    torch.testing.assert_close(layer(x, is_causal=True)[:, :4], layer(y, is_causal=True)[:, :4])
    assert layer(x).shape == (1, 6, 8)
    with pytest.raises(ValueError, match="d_model"):
        LinearAttention(7, 2)
    with pytest.raises(ValueError, match="chunk"):
        causal_linear_attention(*_qkv(), chunk=0)
    with pytest.raises(ValueError, match="q, k, v"):
        linear_attention(torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 3))
