"""course_lib.scale.training_memory: training-memory arithmetic vs the tensors torch allocates."""

from __future__ import annotations

import pytest
import torch
from tiny_models import tiny_gpt

from course_lib.models.gpt import GPT
from course_lib.scale import training_memory as memory
from course_lib.training import language_model


def _trained_one_step(**sizes: int) -> tuple[GPT, torch.optim.Optimizer]:
    model = tiny_gpt(vocab_size=30, max_len=8, num_heads=2, **sizes).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randint(0, 30, (2, 8))
    language_model.lm_loss(model, (x, x)).backward()
    optimizer.step()
    return model, optimizer


@pytest.mark.parametrize("d_model, num_layers", [(16, 1), (32, 2)])
def test_adam_fp32_matches_real_tensors(d_model: int, num_layers: int) -> None:
    model, optimizer = _trained_one_step(d_model=d_model, num_layers=num_layers)
    measured = memory.measured_training_memory(model, optimizer)
    predicted = memory.training_memory(model.num_parameters())
    assert measured == predicted
    assert predicted.total == 16 * model.num_parameters()


def test_sgd_and_momentum_keep_fewer_states() -> None:
    model = tiny_gpt(vocab_size=30, max_len=8, d_model=16, num_heads=2, num_layers=1).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randint(0, 30, (2, 8))
    language_model.lm_loss(model, (x, x)).backward()
    optimizer.step()
    measured = memory.measured_training_memory(model, optimizer)
    assert measured == memory.training_memory(model.num_parameters(), optimizer="momentum")
    assert memory.training_memory(10, optimizer="sgd").optimizer_states == 0


def test_zero_stages_follow_rajbhandari_et_al() -> None:
    # ZeRO paper, mixed-precision Adam: 16 bytes per parameter; with N workers stage 1 keeps
    # 4 + 12/N, stage 2 2 + 14/N, stage 3 16/N bytes per parameter on each worker.
    psi, n = 7_500_000_000, 64
    full = memory.training_memory(psi, mixed_precision=True)
    assert full.total == 16 * psi
    for stage, per_param in [(1, 4 + 12 / n), (2, 2 + 14 / n), (3, 16 / n)]:
        m = memory.training_memory(psi, mixed_precision=True, world_size=n, zero_stage=stage)
        assert m.total == pytest.approx(per_param * psi, rel=1e-9)
    assert memory.training_memory(psi, world_size=n, zero_stage=0).total == 16 * psi


@pytest.mark.parametrize("d_model, num_layers, num_heads, batch, seq",
                         [(32, 2, 2, 8, 64), (64, 2, 4, 8, 64), (64, 4, 4, 4, 32),
                          (128, 2, 8, 4, 64)])
def test_activation_estimate_within_ten_percent_of_saved_tensors(
        d_model: int, num_layers: int, num_heads: int, batch: int, seq: int) -> None:
    vocab = 107
    model = tiny_gpt(vocab_size=vocab, max_len=seq, d_model=d_model, num_heads=num_heads,
                     num_layers=num_layers).train()
    x = torch.randint(0, vocab, (batch, seq))
    saved = memory.saved_activation_bytes(model, lambda: language_model.lm_loss(model, (x, x)))
    estimate = memory.gpt_activation_bytes(d_model, num_layers, num_heads, vocab, batch, seq)
    assert abs(estimate - saved) <= 0.10 * saved, (estimate, saved)


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        memory.training_memory(10, optimizer="lion")
    with pytest.raises(ValueError, match="zero_stage"):
        memory.training_memory(10, zero_stage=4)
    with pytest.raises(ValueError, match="num_params"):
        memory.training_memory(-1)
    with pytest.raises(ValueError, match="unit"):
        memory.training_memory(10).describe("TB")
