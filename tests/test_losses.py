"""Label-smoothed cross-entropy against PyTorch's, and the sequence accuracy metrics."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.training import losses

PAD = 0


def batch(seed: int = 0, B: int = 4, T: int = 7, V: int = 11):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, T, V, generator=g, dtype=torch.float64) * 3
    targets = torch.randint(1, V, (B, T), generator=g)
    for row, length in enumerate([7, 5, 1, 3][:B]):
        targets[row, length:] = PAD
    return logits, targets


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_torch_cross_entropy(smoothing, reduction):
    logits, targets = batch()
    ours = losses.label_smoothed_cross_entropy(logits, targets, smoothing=smoothing,
                                               ignore_index=PAD, reduction=reduction)
    theirs = F.cross_entropy(logits.transpose(1, 2), targets, label_smoothing=smoothing,
                             ignore_index=PAD, reduction=reduction)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), rtol=1e-6, atol=1e-6)


def test_without_ignore_index_and_on_flat_inputs():
    logits, targets = batch(1)
    ours = losses.label_smoothed_cross_entropy(logits.reshape(-1, 11), targets.reshape(-1),
                                               smoothing=0.2)
    theirs = F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1), label_smoothing=0.2)
    torch.testing.assert_close(ours, theirs.to(ours.dtype))


def test_fast_path_equals_readable_path_and_gradients_agree():
    logits, targets = batch(2)
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    readable = losses.label_smoothed_cross_entropy(a, targets, smoothing=0.1, ignore_index=PAD)
    fast = losses.sequence_cross_entropy(b, targets, pad_id=PAD, smoothing=0.1)
    torch.testing.assert_close(readable, fast)
    readable.backward()
    fast.backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_padding_positions_contribute_nothing():
    logits, targets = batch(3)
    loss = losses.label_smoothed_cross_entropy(logits, targets, smoothing=0.1, ignore_index=PAD)
    changed = logits.clone()
    changed[targets == PAD] = 1000.0 * torch.randn_like(changed[targets == PAD])
    again = losses.label_smoothed_cross_entropy(changed, targets, smoothing=0.1,
                                                ignore_index=PAD)
    torch.testing.assert_close(loss, again)
    per_position = losses.label_smoothed_cross_entropy(logits, targets, smoothing=0.1,
                                                       ignore_index=PAD, reduction="none")
    assert torch.all(per_position[targets == PAD] == 0)


def test_smoothed_minimum_is_the_smoothed_distribution_not_a_one_hot():
    # with eps > 0 the best logits give p = (1 - eps) one_hot + eps / V, whose loss is its
    # entropy; a near one-hot prediction costs more. This is what smoothing "changes".
    V, eps = 5, 0.1
    target = torch.tensor([2])
    best = torch.full((1, V), eps / V)
    best[0, 2] += 1 - eps
    entropy = float(-(best * best.log()).sum())
    at_best = losses.label_smoothed_cross_entropy(best.log(), target, smoothing=eps)
    assert float(at_best) == pytest.approx(entropy, rel=1e-5)
    confident = torch.tensor([[0.0, 0.0, 20.0, 0.0, 0.0]])
    assert float(losses.label_smoothed_cross_entropy(confident, target, smoothing=eps)) > entropy
    assert float(losses.label_smoothed_cross_entropy(confident, target)) < 1e-6


def test_all_padding_gives_zero_not_nan():
    logits = torch.randn(2, 3, 6)
    targets = torch.zeros(2, 3, dtype=torch.long)
    loss = losses.label_smoothed_cross_entropy(logits, targets, smoothing=0.1, ignore_index=PAD)
    assert float(loss) == 0.0


def test_uniform_logits_give_log_v():
    V = 13
    loss = losses.label_smoothed_cross_entropy(torch.zeros(4, V), torch.arange(4), smoothing=0.3)
    assert float(loss) == pytest.approx(math.log(V))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"logits": torch.zeros(2, 3, 5), "targets": torch.zeros(2, 4, dtype=torch.long)},
         "targets: expected shape (2, 3) (logits without the class axis), got (2, 4)"),
        ({"logits": torch.zeros(2, 5), "targets": torch.zeros(2, dtype=torch.long),
          "smoothing": 1.0}, "smoothing: expected a value in [0, 1), got 1.0"),
        ({"logits": torch.zeros(2, 5), "targets": torch.zeros(2, dtype=torch.long),
          "reduction": "avg"}, "reduction: expected one of ('mean', 'sum', 'none'), got 'avg'"),
    ],
)
def test_clear_errors(kwargs, message):
    logits, targets = kwargs.pop("logits"), kwargs.pop("targets")
    with pytest.raises(ValueError) as error:
        losses.label_smoothed_cross_entropy(logits, targets, **kwargs)
    assert message in str(error.value)


def test_sequence_cross_entropy_shape_error():
    with pytest.raises(ValueError, match=r"expected \(B, T, V\) and \(B, T\), got \(2, 5\)"):
        losses.sequence_cross_entropy(torch.zeros(2, 5), torch.zeros(2, dtype=torch.long),
                                      pad_id=PAD)


EOS = 2
TARGETS = torch.tensor([[5, 6, 7, EOS],
                        [5, 6, EOS, PAD],
                        [8, EOS, PAD, PAD]])


def test_exact_match_and_token_accuracy_ignore_padding():
    predictions = torch.tensor([[5, 6, 7, EOS, 9, 9],     # right, junk after <eos> is fine
                                [5, 6, EOS, 4, 4, 4],     # right; position 3 is padding
                                [8, 8, EOS, PAD, PAD, PAD]])  # wrong at the <eos> position
    assert losses.sequence_exact_match(predictions, TARGETS, pad_id=PAD) == pytest.approx(2 / 3)
    # 9 real target tokens, one wrong
    assert losses.token_accuracy(predictions, TARGETS, pad_id=PAD) == pytest.approx(8 / 9)


def test_metrics_accept_ragged_lists_and_short_predictions():
    predictions = [[5, 6, 7, EOS], [5, 6], [8, EOS, 1, 1, 1]]  # the second stopped early
    assert losses.sequence_exact_match(predictions, TARGETS, pad_id=PAD) == pytest.approx(2 / 3)
    assert losses.token_accuracy(predictions, TARGETS, pad_id=PAD) == pytest.approx(8 / 9)


def test_metric_errors_and_string_exact_match():
    with pytest.raises(ValueError, match="predictions: expected 3 sequences"):
        losses.sequence_exact_match(torch.zeros(2, 4, dtype=torch.long), TARGETS, pad_id=PAD)
    with pytest.raises(ValueError, match=r"targets: expected a \(B, T\) tensor, got shape \(4,\)"):
        losses.token_accuracy([[1]], torch.zeros(4, dtype=torch.long), pad_id=PAD)
    assert losses.string_exact_match(["2024-01-02", "1999-12-31"],
                                     ["2024-01-02", "1999-12-30"]) == 0.5
    with pytest.raises(ValueError, match="predictions: expected 2 strings"):
        losses.string_exact_match(["a"], ["a", "b"])
    assert losses.string_matches(["a", "b"], ["a", "c"]).tolist() == [True, False]
