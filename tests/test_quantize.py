"""course_lib.scale.quantize: int8 round trip, sizes, tied weights."""

from __future__ import annotations

import pytest
import torch
from tiny_models import tiny_gpt

from course_lib.scale import quantize


def test_round_trip_error_is_at_most_half_a_step_per_row() -> None:
    w = torch.randn(6, 50, generator=torch.Generator().manual_seed(0))
    w[2] *= 100  # an outlier row keeps its own scale
    q, scale = quantize.quantize_int8(w)
    assert q.dtype == torch.int8 and scale.shape == (6, 1)
    assert int(q.abs().max()) == 127
    error = (quantize.dequantize_int8(q, scale) - w).abs()
    assert (error <= scale / 2 + 1e-7).all()
    # the largest magnitude of each row is represented exactly (up to float rounding)
    torch.testing.assert_close(quantize.dequantize_int8(q, scale).abs().amax(1),
                               w.abs().amax(1))


def test_zero_row_and_bad_input() -> None:
    q, scale = quantize.quantize_int8(torch.zeros(2, 3))
    assert torch.equal(quantize.dequantize_int8(q, scale), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="weight"):
        quantize.quantize_int8(torch.zeros(3))
    with pytest.raises(ValueError, match="scale"):
        quantize.dequantize_int8(q, torch.ones(3, 1))
    with pytest.raises(ValueError, match="int8"):
        quantize.dequantize_int8(q.float(), scale)


def test_model_size_shrinks_and_tied_weights_stay_tied() -> None:
    model = tiny_gpt(vocab_size=100, max_len=16, d_model=64)
    state = quantize.quantize_state_dict(model)
    assert state["lm_head.weight"] is state["token_embedding.weight"]
    fp32 = quantize.serialized_bytes(model.state_dict())
    int8 = quantize.serialized_bytes(state)
    assert 0.24 < int8 / fp32 < 0.35, int8 / fp32  # ints are 1/4; scales, biases, norms add
    twin = quantize.dequantized_copy(model)
    assert twin.lm_head.weight is twin.token_embedding.weight
    x = torch.randint(0, 100, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(twin(x), model(x), atol=0.02, rtol=0.0)
    assert not torch.equal(twin.blocks[0].ffn.linear1.weight, model.blocks[0].ffn.linear1.weight)
