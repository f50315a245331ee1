"""The foundation: the attention-map container, argument checks, tensor helpers, core count."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

from course_lib.core import machine, tensors, validation
from course_lib.core.maps import KINDS, NO_MAPS, AttentionMaps


# --------------------------------------------------------------------------- maps
def test_maps_join_layers_in_order_and_keep_kinds_apart():
    a, b, c = (torch.full((1, 2, 3, 3), float(i)) for i in range(3))
    layer0 = AttentionMaps.of("decoder_self", a) + AttentionMaps.of("cross", b)
    layer1 = AttentionMaps(decoder_self=[c], cross=[c])
    stacked = AttentionMaps.stack([layer0, layer1])
    assert list(stacked) == ["decoder_self", "cross"] and len(stacked) == 2
    assert [w[0, 0, 0, 0].item() for w in stacked["decoder_self"]] == [0.0, 2.0]
    assert [w[0, 0, 0, 0].item() for w in stacked["cross"]] == [1.0, 2.0]
    encoder = AttentionMaps(encoder_self=[a])
    assert list(encoder + stacked) == ["encoder_self", "decoder_self", "cross"]
    assert "2 x (1, 2, 3, 3)" in repr(stacked)


def test_no_maps_when_no_weights_and_a_clear_key_error():
    assert AttentionMaps.of("cross", None) is NO_MAPS and len(NO_MAPS) == 0
    assert AttentionMaps.stack([NO_MAPS, NO_MAPS]) is NO_MAPS
    with pytest.raises(KeyError, match="need_weights=True"):
        NO_MAPS["cross"]
    with pytest.raises(KeyError, match=r"no 'cross' attention maps here; maps held: "
                                       r"\['encoder_self'\]"):
        AttentionMaps(encoder_self=[torch.ones(1)])["cross"]


def test_maps_refuse_unknown_kinds_and_bare_tensors():
    with pytest.raises(ValueError, match=re.escape(f"expected keys among {KINDS}")):
        AttentionMaps(self=[torch.ones(1)])
    with pytest.raises(ValueError, match=r"maps\['cross'\]: expected a list of tensors"):
        AttentionMaps(cross=torch.ones(2, 2))


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3", None])
def test_check_positive_refuses_what_is_not_a_positive_int(value):
    with pytest.raises(ValueError, match=f"window: expected a positive integer, got {value!r}"):
        validation.check_positive("window", value)


def test_check_positive_accepts_ints_of_any_kind_and_a_minimum():
    validation.check_positive("n", 3)
    validation.check_positive("n", np.int64(3))
    validation.check_positive("n", 0, minimum=0)
    with pytest.raises(ValueError, match="n: expected an integer >= 0, got -1"):
        validation.check_positive("n", -1, minimum=0)


def test_check_number_choice_fraction_heads():
    validation.check_number("lr", np.float32(0.1), strict=True)
    with pytest.raises(ValueError, match="lr: expected a positive number, got 0"):
        validation.check_number("lr", 0, strict=True)
    with pytest.raises(ValueError, match="t: expected a number >= 0, got -0.5"):
        validation.check_number("t", -0.5)
    with pytest.raises(ValueError, match="t: expected a number >= 0, got True"):
        validation.check_number("t", True)
    with pytest.raises(ValueError, match=r"kind: expected one of \('a', 'b'\), got 'c'"):
        validation.check_choice("kind", "c", ["a", "b"])
    with pytest.raises(ValueError, match=r"dropout: expected a probability in \[0, 1\)"):
        validation.check_fraction("dropout", 1.0)
    validation.check_heads(16, 4)
    with pytest.raises(ValueError, match="d_model: expected a multiple of num_heads=3, got 16"):
        validation.check_heads(16, 3)
    with pytest.raises(ValueError, match="num_heads: expected a positive integer, got 0"):
        validation.check_heads(16, 0)
    validation.check_kv_heads(8, 2)
    with pytest.raises(ValueError, match="num_kv_heads: expected a positive divisor of "
                                         "num_heads=8, got 3"):
        validation.check_kv_heads(8, 3)
    with pytest.raises(ValueError, match="num_kv_heads: expected a positive integer"):
        validation.check_kv_heads(8, 0)


# --------------------------------------------------------------------------- tensors, cores
def test_to_numpy_detaches_and_converts():
    x = torch.ones(2, 3, requires_grad=True) * 2
    array = tensors.to_numpy(x, dtype=np.float64)
    assert isinstance(array, np.ndarray) and array.dtype == np.float64 and array.sum() == 12
    assert tensors.to_numpy([[1, 2]]).shape == (1, 2)
    assert tensors.tensor_bytes(torch.zeros(4, dtype=torch.float16), None) == 8


def test_available_cores_follows_the_affinity_mask():
    if hasattr(os, "sched_getaffinity"):
        assert machine.available_cores() == len(os.sched_getaffinity(0))
    assert machine.available_cores() >= 1


def test_one_owner_for_to_numpy_and_the_core_count():
    from course_lib.notebook import checks, environment, plots
    from course_tools.grading import batch

    assert checks.to_numpy is plots.to_numpy is tensors.to_numpy
    assert environment.available_cores is batch.available_cores is machine.available_cores
