"""Lesson 02's exercises: one RNN step, powers of a recurrent matrix, gradient clipping."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.models import rnn

__all__ = ["EXERCISES"]


# ---------------------------------------------------------------- exercise 1: one step

def _step(B, n_in, D, dtype=np.float64):
    """x_t (B, I), h_prev (B, D), W_xh (I, D), W_hh (D, D), b_h (D,); I != D so that the
    two weight matrices cannot be mixed up unnoticed."""
    def make(rng: np.random.Generator):
        return tuple(rng.normal(size=s).astype(dtype)
                     for s in ((B, n_in), (B, D), (n_in, D), (D, D), (D,)))
    return make


def _random_step(rng: np.random.Generator):
    B, n_in, D = (int(v) for v in rng.integers(2, 6, size=3))
    return _step(B, n_in, D)(rng)


_m = mistakes_of("l02_rnn_step")
RNN_STEP = Check(
    name="rnn_step",
    reference=rnn.rnn_step_numpy,
    cases=[_step(3, 4, 5), _step(2, 6, 3), _random_step, _step(4, 2, 5, np.float32),
           _random_step],
    trials=10,
    mistakes=[
        _m("no_tanh", "forgot the tanh", lambda x, h, wx, wh, b: x @ wx + h @ wh + b),
        _m("w_hh_transposed", "multiplied by W_hh transposed (use h_prev @ W_hh)",
           lambda x, h, wx, wh, b: np.tanh(x @ wx + h @ wh.T + b)),
        _m("no_bias", "left out the bias", lambda x, h, wx, wh, b: np.tanh(x @ wx + h @ wh)),
        _m("sigmoid", "used a sigmoid instead of tanh",
           lambda x, h, wx, wh, b: 1 / (1 + np.exp(-(x @ wx + h @ wh + b)))),
        _m("weights_swapped", "multiplied x_t by W_hh and h_prev by W_xh: x_t (B, I) goes with "
           "W_xh (I, D), h_prev (B, D) with W_hh (D, D)",
           lambda x, h, wx, wh, b: np.tanh(x @ wh + h @ wx + b)),
    ],
)


# ---------------------------------------------------------------- exercise 2: powers

def _matrix(rng: np.random.Generator):
    D, K = int(rng.integers(2, 7)), int(rng.integers(3, 12))
    rho = float(rng.uniform(0.5, 1.5))
    return rnn.matrix_with_spectral_radius(D, rho, seed=int(rng.integers(1000))), K


def _power_norms_reference(W, K):
    """``rnn.gradient_norms_vs_distance`` of a linear RNN: ``||W^k||_2``, k = 0 .. K-1."""
    return rnn.gradient_norms_vs_distance(W, K, nonlinearity="linear")


_m = mistakes_of("l02_power_norms")
POWER_NORMS = Check(
    name="power_norms",
    reference=_power_norms_reference,
    cases=[_matrix],
    trials=10,
    rtol=1e-6,
    mistakes=[
        _m("frobenius", "used the Frobenius norm (np.linalg.norm(M) without ord=2)",
           lambda W, K: np.array([np.linalg.norm(np.linalg.matrix_power(W, k))
                                  for k in range(K)])),
        _m("starts_at_one", "started at W^1 instead of W^0 = I",
           lambda W, K: np.array([np.linalg.norm(np.linalg.matrix_power(W, k), 2)
                                  for k in range(1, K + 1)])),
        _m("elementwise_power", "raised the entries to the k-th power (W ** k) instead of the "
           "matrix power", lambda W, K: np.array([np.linalg.norm(W ** k, 2) for k in range(K)])),
        _m("spectral_radius", "used the spectral radius (largest |eigenvalue|) of W^k instead "
           "of its spectral norm (largest singular value, np.linalg.norm(M, 2))",
           lambda W, K: np.array([np.abs(np.linalg.eigvals(np.linalg.matrix_power(W, k))).max()
                                  for k in range(K)])),
    ],
)


# ---------------------------------------------------------------- exercise 3: clipping

def _grads(scale: float | None = None):
    def make(rng: np.random.Generator):
        shapes = [tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 3)))
                  for _ in range(3)]
        size = scale if scale is not None else float(rng.choice([0.01, 1.0, 100.0]))
        return [torch.tensor(rng.normal(scale=size, size=s)) for s in shapes], 1.0
    return make


def _norm(grads):
    return float(torch.sqrt(sum((g ** 2).sum() for g in grads)))


def _per_tensor(grads, max_norm):
    return [g * min(1.0, max_norm / float(g.norm())) for g in grads], _norm(grads)


def _always_rescale(grads, max_norm):
    total = _norm(grads)
    return [g * max_norm / total for g in grads], total


def _no_sqrt(grads, max_norm):
    total = float(sum((g ** 2).sum() for g in grads))
    return [g * min(1.0, max_norm / total) for g in grads], total


def _clipped_norm(grads, max_norm):
    total = _norm(grads)
    scale = min(1.0, max_norm / total)
    return [g * scale for g in grads], total * scale


_m = mistakes_of("l02_clip")
CLIP = Check(
    name="clip_by_global_norm",
    reference=rnn.clip_by_global_norm,
    cases=[_grads(100.0), _grads(0.01), _grads()],   # above and below the threshold
    trials=12,
    mistakes=[
        _m("per_tensor", "clipped each tensor separately instead of by the global norm",
           _per_tensor),
        _m("always_rescale", "rescaled even when the norm was already below max_norm",
           _always_rescale),
        _m("no_sqrt", "used the squared norm (forgot the square root)", _no_sqrt),
        _m("clipped_norm", "returned the norm after clipping: return the total norm from "
           "before clipping (what was measured)", _clipped_norm),
    ],
)

EXERCISES = catalogue(
    Exercise("l02_rnn_step", (RNN_STEP,), forbidden=(rnn.rnn_step_numpy,)),
    Exercise("l02_power_norms", (POWER_NORMS,), forbidden=(rnn.gradient_norms_vs_distance,)),
    Exercise("l02_clip", (CLIP,), forbidden=(rnn.clip_by_global_norm,)),
)
