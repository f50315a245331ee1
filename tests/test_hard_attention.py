"""Hard attention: the REINFORCE estimate is unbiased, the baseline cuts its variance."""

import pytest
import torch

from course_lib.models import hard_attention as H
from course_lib.training.loop import train


def setup(seed=0, hard=True):
    g = torch.Generator().manual_seed(seed)
    data = H.make_pointer_task(64, seq_len=5, num_classes=3, noise_dim=2, generator=g)
    torch.manual_seed(seed)
    model = H.PointerClassifier(H.PointerClassifierConfig(
        key_dim=data.keys.shape[-1], num_classes=3, hard=hard))
    return model, data, g


def test_task_labels_are_the_flagged_items_label():
    model, data, _ = setup()
    rows = torch.arange(len(data))
    assert torch.equal(data.values[rows, data.flagged].argmax(-1), data.labels)
    assert torch.equal(data.keys[:, :, 0].argmax(-1), data.flagged)
    assert (data.keys[:, :, 0].sum(-1) == 1).all()


@pytest.mark.parametrize("use_baseline", [False, True])
def test_reinforce_is_unbiased(use_baseline):
    # Average the estimate over many samples of the same batch; compare with the exact
    # gradient of the expected loss (which enumerates every pick).
    model, data, g = setup()
    model.baseline.fill_(0.7)  # any baseline independent of the samples leaves the mean alone
    exact = H.score_gradient(model, H.expected_loss(model, data))
    repeats = 400
    big = data[torch.arange(len(data)).repeat(repeats)]
    estimate = H.score_gradient(model, H.reinforce_loss(model, big, use_baseline=use_baseline,
                                                        generator=g))
    # the surrogate's mean over all rows is the mean over repeats of per-batch estimates
    torch.testing.assert_close(estimate, exact, atol=0.02, rtol=0.05)


def test_baseline_reduces_variance():
    model, data, g = setup(1)
    model.baseline.fill_(H.expected_loss(model, data).item())
    without = H.gradient_statistics(model, data, 16, 300, use_baseline=False, generator=g)
    with_b = H.gradient_statistics(model, data, 16, 300, use_baseline=True, generator=g)
    assert with_b["variance"] < 0.5 * without["variance"]
    soft, _, _ = setup(1, hard=False)
    soft_stats = H.gradient_statistics(soft, data, 16, 300, generator=g)
    assert soft_stats["variance"] < with_b["variance"]


def test_both_learn_the_task():
    g = torch.Generator().manual_seed(0)
    data = H.make_pointer_task(2000, generator=g)
    test = H.make_pointer_task(500, generator=g)
    for hard, loss_fn in ((False, H.soft_loss), (True, H.reinforce_loss)):
        torch.manual_seed(0)
        model = H.PointerClassifier(H.PointerClassifierConfig(
        key_dim=data.keys.shape[-1], num_classes=4, hard=hard))
        batches = (data[torch.randint(len(data), (64,), generator=g)] for _ in iter(int, 1))
        train(model, batches, loss_fn, steps=300, lr=0.05, progress=False)
        assert H.pointer_accuracy(model, test) > 0.95


def test_soft_model_gradient_matches_finite_differences():
    model, data, _ = setup(hard=False)
    model = model.double()
    batch = H.PointerBatch(data.keys.double(), data.values.double(), data.labels, data.flagged)
    w = model.score.weight
    params = dict(model.named_parameters())

    def f(weight):
        logits, _, _ = torch.func.functional_call(model, {**params, "score.weight": weight},
                                                  (batch.keys, batch.values))
        return torch.nn.functional.cross_entropy(logits, batch.labels)

    assert torch.autograd.gradcheck(f, (w.detach().clone().requires_grad_(),))


def test_clear_errors():
    model, data, _ = setup(hard=False)
    with pytest.raises(ValueError, match="model: expected a hard-attention"):
        H.reinforce_loss(model, data)
    with pytest.raises(ValueError, match="seq_len"):
        H.make_pointer_task(4, seq_len=1)
