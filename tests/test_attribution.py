"""Attributions against closed forms and NumPy: gradient x input, integrated gradients, rollout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.analysis.attribution import (
    attention_rollout,
    gradient_x_input,
    integrated_gradients,
    rank_correlation,
)


def linear_model(seed=0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(6, 3)


def test_gradient_x_input_of_a_linear_model_is_weight_times_input():
    model = linear_model()
    x = torch.randn(4, 6)
    target = torch.tensor([0, 2, 1, 2])
    expected = model.weight[target].detach() * x
    torch.testing.assert_close(gradient_x_input(model, x, target), expected)


def test_gradient_x_input_matches_finite_differences():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    x = torch.randn(3, 5, dtype=torch.float64)
    target = torch.tensor([1, 0, 1])
    eps = 1e-6
    grad = torch.zeros_like(x)
    for j in range(5):
        step = torch.zeros_like(x)
        step[:, j] = eps
        up = model(x + step).gather(1, target[:, None]).squeeze(1)
        down = model(x - step).gather(1, target[:, None]).squeeze(1)
        grad[:, j] = (up - down) / (2 * eps)
    torch.testing.assert_close(gradient_x_input(model, x, target), x * grad, atol=1e-7,
                               rtol=1e-6)


def test_integrated_gradients_is_complete():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.GELU(), nn.Linear(16, 3)).double()
    x, baseline = torch.randn(4, 5).double(), torch.randn(1, 5).double()
    target = torch.tensor([0, 1, 2, 0])
    ig = integrated_gradients(model, x, target, baseline=baseline, steps=200)
    gap = (model(x) - model(baseline.expand_as(x))).gather(1, target[:, None]).squeeze(1)
    torch.testing.assert_close(ig.sum(1), gap.detach(), atol=1e-4, rtol=1e-4)


def test_integrated_gradients_of_a_linear_model_equals_gradient_x_input():
    model, x, target = linear_model(), torch.randn(4, 6), torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(integrated_gradients(model, x, target, steps=3),
                               gradient_x_input(model, x, target))


def test_attributions_leave_the_model_and_inputs_alone():
    model, x = linear_model(), torch.randn(2, 6)
    gradient_x_input(model, x, torch.tensor([0, 1]))
    assert not x.requires_grad and model.weight.grad is None


def test_attribution_errors():
    model, x = linear_model(), torch.randn(2, 6)
    with pytest.raises(ValueError, match=r"target: expected shape \(2,\)"):
        gradient_x_input(model, x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="steps: expected a positive integer"):
        integrated_gradients(model, x, torch.tensor([0, 1]), steps=0)
    with pytest.raises(ValueError, match="baseline: expected a shape broadcastable"):
        integrated_gradients(model, x, torch.tensor([0, 1]), baseline=torch.zeros(3, 6))
    with pytest.raises(ValueError, match=r"fn: expected logits of shape \(2, K\)"):
        gradient_x_input(lambda v: v.sum(1), x, torch.tensor([0, 1]))


def rollout_numpy(weights: list[np.ndarray], residual: bool) -> np.ndarray:
    """Abnar & Zuidema (2020), written out example by example with NumPy."""
    B, _, T, _ = weights[0].shape
    out = np.zeros((B, T, T))
    for b in range(B):
        r = np.eye(T)
        for w in weights:
            a = w[b].mean(0)
            if residual:
                a = 0.5 * a + 0.5 * np.eye(T)
                a = a / a.sum(-1, keepdims=True)
            r = a @ r
        out[b] = r
    return out


def random_weights(L=3, B=2, H=4, T=5, seed=0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.softmax(torch.randn(B, H, T, T, generator=g, dtype=torch.float64), -1)
            for _ in range(L)]


@pytest.mark.parametrize("residual", [True, False])
def test_rollout_equals_numpy(residual):
    weights = random_weights()
    ours = attention_rollout(weights, residual=residual)
    expected = rollout_numpy([w.numpy() for w in weights], residual)
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(ours.sum(-1).numpy(), 1.0, atol=1e-12)


def test_rollout_of_one_layer_without_residual_is_the_head_mean():
    (w,) = random_weights(L=1)
    torch.testing.assert_close(attention_rollout([w], residual=False), w.mean(1))


def test_rollout_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        attention_rollout([])
    with pytest.raises(ValueError, match=r"weights\[0\]: expected shape \(B, H, T, T\)"):
        attention_rollout([torch.rand(2, 4, 5, 6)])
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        attention_rollout([torch.rand(2, 4, 5, 5), torch.rand(2, 4, 6, 6)])


def test_rank_correlation_equals_scipy_with_and_without_ties():
    from scipy.stats import spearmanr

    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 16, generator=g)
    b = torch.randint(0, 4, (6, 16), generator=g).float()   # many ties, like blank patches
    a[:, :5] = 0.0                                           # ties on the other side too
    ours = rank_correlation(a, b)
    expected = [spearmanr(a[i].numpy(), b[i].numpy()).statistic for i in range(6)]
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-6)
    # without ties it is the Pearson correlation of the ranks
    c = torch.randn(3, 9, generator=g)
    d = c + 0.5 * torch.randn(3, 9, generator=g)
    expected = [spearmanr(c[i].numpy(), d[i].numpy()).statistic for i in range(3)]
    np.testing.assert_allclose(rank_correlation(c, d).numpy(), expected, atol=1e-6)
    assert torch.isnan(rank_correlation(torch.ones(1, 5), torch.randn(1, 5, generator=g))).all()
    with pytest.raises(ValueError, match=r"a, b: expected two maps of the same shape"):
        rank_correlation(torch.ones(2, 5), torch.ones(2, 4))
