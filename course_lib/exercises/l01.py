"""Lesson 01's exercises: the perceptron update, an MLP's backward pass, eras of AI."""

from __future__ import annotations

import numpy as np

from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.experiments import history, milestones

__all__ = ["EXERCISES"]


# ---------------------------------------------------------------- exercise 1: perceptron

def _example(rng: np.random.Generator):
    F = int(rng.integers(2, 6))
    return (rng.normal(size=F), float(rng.normal()), rng.normal(size=F),
            int(rng.integers(0, 2)), float(rng.choice([0.1, 0.5, 1.0])))


def _missed(rng: np.random.Generator):
    """An example the current weights get wrong, so that the update must happen, with a
    learning rate other than 1."""
    w, b, x, _, _ = _example(rng)
    return w, b, x, 1 - int(x @ w + b > 0), float(rng.choice([0.1, 0.5]))


def _on_the_boundary(rng: np.random.Generator):
    """w = 0 and b = 0: w . x + b is exactly 0, which predicts 0 (the rule is "> 0")."""
    F = int(rng.integers(2, 6))
    return np.zeros(F), 0.0, rng.normal(size=F), 0, 0.5


def _rule(predict=lambda s: int(s > 0), sign=1, bias=True, lr_used=True, always=False):
    def update(w, b, x, y, lr=1.0):
        step = lr if lr_used else 1.0
        error = y if always else sign * (y - predict(x @ w + b))
        return w + step * error * x, (b + step * error) if bias else b
    return update


_m = mistakes_of("l01_perceptron_update")
PERCEPTRON = Check(
    name="perceptron_update",
    reference=history.perceptron_update,
    cases=[_example, _missed, _on_the_boundary, _missed, _example],
    trials=20,
    mistakes=[
        _m("always_update", "updated even when the prediction is right (use the error "
           "y - prediction)", _rule(always=True)),
        _m("flipped_sign", "used prediction - y: the step goes the wrong way", _rule(sign=-1)),
        _m("forgot_bias", "forgot to update the bias", _rule(bias=False)),
        _m("no_lr", "forgot the learning rate lr (the step is lr * error * x)",
           _rule(lr_used=False)),
        _m("at_least_zero", "predicted 1 when w . x + b = 0: the perceptron fires only when "
           "w . x + b > 0", _rule(predict=lambda s: int(s >= 0))),
    ],
)


# ---------------------------------------------------------------- exercise 2: backprop

def _batch(rng: np.random.Generator):
    N, F, H = (int(v) for v in rng.integers(2, 7, size=3))
    params = history.init_mlp(F, H, seed=int(rng.integers(1000)))
    X = rng.normal(size=(N, F))
    y = rng.integers(0, 2, size=N).astype(float)
    _, cache = history.mlp_forward(X, params)
    return y, params, cache


def _as_tuple(function):
    """A gradient dict as the tuple (W1, b1, W2, b2), so each is compared by name."""
    def gradients(*args):
        grads = function(*args)
        if not isinstance(grads, dict):
            return grads
        return tuple(grads.get(k) for k in ("W1", "b1", "W2", "b2"))
    return gradients


def _backward(dz_of=lambda p, y: (p - y) / len(y), tanh_grad=True):
    def mlp_backward(y, params, cache):
        X, h, p = cache["X"], cache["h"], cache["p"]
        dz = dz_of(p, y)[:, None]
        da = dz @ params["W2"].T
        if tanh_grad:
            da = da * (1 - h ** 2)
        return {"W1": X.T @ da, "b1": da.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}
    return mlp_backward


_m = mistakes_of("l01_mlp_backward")
MLP_BACKWARD = Check(
    name="mlp_backward",
    reference=_as_tuple(history.mlp_backward),
    cases=[_batch],
    trials=10,
    adapt=_as_tuple,
    mistakes=[
        _m("no_tanh_derivative", "left out the tanh derivative (1 - h**2)",
           _backward(tanh_grad=False)),
        _m("not_averaged", "summed instead of averaging over the N examples",
           _backward(dz_of=lambda p, y: p - y)),
        _m("y_minus_p", "used y - p: that is the negative gradient",
           _backward(dz_of=lambda p, y: (y - p) / len(y))),
    ],
)


# ---------------------------------------------------------------- exercise 3: eras

def _year(rng: np.random.Generator):
    return (int(rng.integers(1940, 2026)),)


def _boundary(rng: np.random.Generator):
    """A first or last year of an era, where off-by-one mistakes show."""
    return (int(rng.choice([1979, 1980, 2009, 2010, 2019, 2020])),)


def _shifted(year):
    return milestones.era_of(year - 1) if year > 1940 else milestones.era_of(year)


def _shifted_late(year):
    return milestones.era_of(year + 1) if year < 2025 else milestones.era_of(year)


_m = mistakes_of("l01_era_of")
ERA_OF = Check(
    name="era_of",
    reference=milestones.era_of,
    cases=[_boundary, _year],
    trials=40,
    mistakes=[
        _m("first_year_before", "put the first year of an era (1980, 2010, 2020) in the era "
           "before it: check < against <=", _shifted),
        _m("last_year_after", "put the last year of an era (1979, 2009, 2019) in the era after "
           "it: check < against <=", _shifted_late),
    ],
)

EXERCISES = catalogue(
    Exercise("l01_perceptron_update", (PERCEPTRON,), forbidden=(history.perceptron_update,)),
    Exercise("l01_mlp_backward", (MLP_BACKWARD,), forbidden=(history.mlp_backward,)),
    Exercise("l01_era_of", (ERA_OF,), forbidden=(milestones.era_of,)),
)
