"""Lesson 09's exercises: fit a scaling exponent, memory of training with Adam, int8 rows."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.notebook.checks import CheckFailed, describe
from course_lib.notebook.messages import say
from course_lib.scale import quantize, scaling, training_memory

__all__ = ["EXERCISES"]


# ---------------------------------------------------------------- exercise 1: exponent

def _sweep(rng: np.random.Generator):
    n = np.sort(10 ** rng.uniform(3, 7, size=int(rng.integers(5, 9))))
    loss = rng.uniform(3, 8) * n ** -rng.uniform(0.05, 0.3) * np.exp(rng.normal(0, 0.02, n.size))
    return n, loss


def _exponent_reference(n, loss):
    """``scaling.fit_power_law(n, loss).exponent``."""
    return scaling.fit_power_law(n, loss).exponent


_m = mistakes_of("l09_fit_exponent")
FIT = Check(
    name="fit_exponent",
    reference=_exponent_reference,
    cases=[_sweep],
    atol=1e-6,
    mistakes=[
        _m("linear_axes", "fitted a straight line on linear axes: a power law is a straight "
           "line only on log-log axes (take the log of both n and loss)",
           lambda n, loss: -np.polyfit(n, loss, 1)[0]),
        _m("slope", "returned the slope itself: the slope of log L against log N is -alpha, so "
           "the exponent is minus the slope",
           lambda n, loss: np.polyfit(np.log(n), np.log(loss), 1)[0]),
        _m("semi_log", "took the log of n only (a semi-log fit): take the log of the loss too",
           lambda n, loss: -np.polyfit(np.log(n), loss, 1)[0]),
        _m("swapped_axes", "swapped the axes (fitted log n against log loss): regress log loss "
           "on log n", lambda n, loss: -np.polyfit(np.log(loss), np.log(n), 1)[0]),
        _m("intercept", "returned the intercept: np.polyfit(x, y, 1) gives [slope, intercept], "
           "and the exponent is minus the slope",
           lambda n, loss: -np.polyfit(np.log(n), np.log(loss), 1)[1]),
    ],
)


# ---------------------------------------------------------------- exercise 2: memory

def _workers(sharded: bool | None = None):
    # 2 and 4 workers are left out: 16/2 and 16/4 bytes per parameter would look like
    # other mistakes (8 or 4 bytes per parameter) and blur the feedback
    def make(rng: np.random.Generator):
        shard = bool(rng.integers(0, 2)) if sharded is None else sharded
        return int(rng.integers(1, 1000)) * 1_000_000, int(rng.choice([3, 5, 6, 8])), shard
    return make


def _bytes_reference(num_params, world_size, sharded):
    """``training_memory.training_memory`` with ZeRO stage 3 when sharded, else 0."""
    return training_memory.training_memory(num_params, world_size=world_size,
                                           zero_stage=3 if sharded else 0).total


def _per_param(bytes_per_param):
    def wrong(num_params, world_size, sharded):
        return bytes_per_param * num_params / (world_size if sharded else 1)
    return wrong


_m = mistakes_of("l09_training_bytes")
BYTES = Check(
    name="training_bytes",
    reference=_bytes_reference,
    cases=[_workers(True), _workers(False), _workers()],
    trials=6,
    rtol=1e-6,
    mistakes=[
        _m("no_adam", "forgot Adam's two states (its running mean and mean square): 16 bytes "
           "per parameter, not 8", _per_param(8)),
        _m("no_gradients", "forgot the gradients (4 bytes per parameter)", _per_param(12)),
        _m("weights_only", "counted only the weights: training also keeps gradients and Adam's "
           "two states", _per_param(4)),
        _m("not_divided", "did not divide by the number of workers when sharded: FSDP / ZeRO-3 "
           "keeps 1/W of everything on each worker", lambda n, w, sharded: 16 * n),
        _m("divided_always", "divided by the number of workers without sharding: plain data "
           "parallelism keeps a full copy on every worker", lambda n, w, sharded: 16 * n / w),
        _m("bits", "counted 32 per float32 value: that is bits; a float32 takes 4 bytes",
           _per_param(128)),
    ],
)


# ---------------------------------------------------------------- exercise 3: int8 rows

def _weights(rng: np.random.Generator):
    w = torch.tensor(rng.standard_normal((int(rng.integers(3, 7)), 16)), dtype=torch.float32)
    return (w * torch.logspace(-2, 1, w.shape[0])[:, None],)   # rows of different sizes


def _dequantized(function):
    """Compare ``q * scale``, the weights the model would use; q must be int8."""
    def weights(w):
        result = function(w)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise CheckFailed(say("l09_quantize_rows.not_pair", "quantize_rows: expected a "
                                  "pair (q, scale), got {got}", got=describe(result)))
        q, scale = result
        if not (torch.is_tensor(q) and q.dtype == torch.int8):
            raise CheckFailed(say("l09_quantize_rows.not_int8", "q: expected a torch.int8 "
                                  "tensor, got {got}", got=describe(q)))
        return q.float() * scale
    return weights


def _with_scale(scale_of):
    def quantize_rows(w):
        scale = scale_of(w)
        return torch.round(w / scale).clamp(-127, 127).to(torch.int8), scale
    return quantize_rows


def _truncated(w):
    scale = w.abs().amax(dim=1, keepdim=True) / 127
    return (w / scale).to(torch.int8), scale


_m = mistakes_of("l09_quantize_rows")
QUANTIZE = Check(
    name="quantize_rows",
    reference=lambda w: quantize.dequantize_int8(*quantize.quantize_int8(w)),
    cases=[_weights],
    adapt=_dequantized,
    mistakes=[
        _m("one_scale", "used one scale for the whole matrix: a row of small weights then "
           "rounds to zero; use one scale per row", _with_scale(lambda w: w.abs().max() / 127)),
        _m("per_column", "took one scale per column instead of per row (amax over dim=0)",
           _with_scale(lambda w: w.abs().amax(dim=0, keepdim=True) / 127)),
        _m("max_not_abs", "used each row's maximum instead of its largest absolute value, so "
           "large negative weights are clipped",
           _with_scale(lambda w: w.amax(dim=1, keepdim=True) / 127)),
        _m("truncated", "truncated w / scale towards zero instead of rounding to the nearest "
           "integer", _truncated),
        _m("scale_255", "divided the largest absolute value by 255 (or 128): int8 holds "
           "-127 .. 127 here, so the scale is max|w| / 127",
           _with_scale(lambda w: w.abs().amax(dim=1, keepdim=True) / 255),
           _with_scale(lambda w: w.abs().amax(dim=1, keepdim=True) / 128)),
    ],
)

EXERCISES = catalogue(
    Exercise("l09_fit_exponent", (FIT,), forbidden=(scaling.fit_power_law,)),
    Exercise("l09_training_bytes", (BYTES,), forbidden=(training_memory.training_memory,
                                                        training_memory.TrainingMemory.total.fget)),
    Exercise("l09_quantize_rows", (QUANTIZE,),
             forbidden=(quantize.quantize_int8, quantize.dequantize_int8)),
)
