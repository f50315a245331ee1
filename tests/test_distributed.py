"""course_lib.scale.distributed: two gloo processes train exactly like one process on the same
global batch (the averaged gradient of two half batches is the gradient of the batch)."""

from __future__ import annotations

import pytest
import torch

from course_lib.models.gpt import GPTConfig
from course_lib.scale import distributed

# In float64 the two runs differ only by rounding in the 16th digit (the half-batch sums are
# added in another order), so after 10 Adam steps the weights agree far below this tolerance
# (measured: about 4e-13). In float32 the same rounding, magnified by Adam's division by the
# root of tiny second moments, leaves differences around 1e-5 to 1e-4 (lesson 09 shows both).
WEIGHT_ATOL = 1e-9


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_shard_and_global_batches() -> None:
    ids = torch.arange(100)
    x, y = distributed.global_batches(ids, steps=3, batch_size=4, max_len=5, seed=0)
    assert x.shape == y.shape == (3, 4, 5)
    assert torch.equal(y[..., :-1], x[..., 1:])
    halves = [distributed.shard(x[0], r, 2) for r in range(2)]
    assert torch.equal(torch.cat(halves), x[0])
    with pytest.raises(ValueError, match="divisible"):
        distributed.shard(x[0], 0, 3)


def test_two_gloo_processes_equal_one_process() -> None:
    reason = distributed.gloo_unavailable_reason()
    if reason:
        pytest.skip(f"cannot start gloo processes here: {reason}")
    config = GPTConfig(vocab_size=20, max_len=16, d_model=32, num_heads=2, num_layers=2)
    ids = torch.randint(0, 20, (2000,), generator=torch.Generator().manual_seed(0))
    x, y = distributed.global_batches(ids, steps=10, batch_size=8, max_len=16, seed=1)
    single = distributed.train_single_process(config, x, y, lr=3e-3, seed=0,
                                              dtype=torch.float64)
    parallel = distributed.train_data_parallel(config, x, y, lr=3e-3, seed=0, world_size=2,
                                               dtype=torch.float64, timeout=240)
    assert parallel.world_size == 2 and len(parallel.seconds_per_step) == 2
    assert parallel.ranks_identical, "DDP replicas diverged"
    difference = _max_difference(single.state_dict, parallel.state_dict)
    assert difference <= WEIGHT_ATOL, f"max weight difference {difference:.3g}"
    # and training did move the weights far more than that
    from course_lib.scale.distributed import _build

    start = _build(config, 0, torch.float64).state_dict()
    assert _max_difference(start, single.state_dict) > 1e-3
