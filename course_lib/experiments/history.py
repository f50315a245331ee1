"""A short history of AI, run as code (lesson 01).

The dated milestones are data, in :mod:`course_lib.experiments.milestones`; the generated data sets
(reviews, spirals) are in :mod:`course_lib.data.toys`; finite differences in
:mod:`course_lib.analysis.gradcheck`.

* From scratch in NumPy: a McCulloch-Pitts unit (1943), Rosenblatt's perceptron (1958),
  and a two-layer network trained by backpropagation with hand-written gradients, checked
  against finite differences.
* Symbolic vs learned: a hand-written rule system against a learned classifier on generated
  review sentences.
* Data and model size as fuel: a small torch MLP on two interleaved spirals.

Shapes: N examples, F input features, H hidden units.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from course_lib.analysis.gradcheck import numerical_gradient, relative_error
from course_lib.data.toys import NEGATIVE_WORDS, POSITIVE_WORDS
from course_lib.training.loop import seeded, train

__all__ = [
    "mcculloch_pitts", "BINARY_INPUTS", "GATES", "perceptron_predict", "perceptron_update",
    "train_perceptron", "best_linear_accuracy", "MLPParams", "init_mlp", "sigmoid",
    "mlp_forward", "binary_cross_entropy", "mlp_backward", "mlp_gradient_check", "train_mlp",
    "mlp_accuracy", "collapse_linear_layers", "rule_based_sentiment", "make_mlp",
    "fit_classifier",
]


# --- the McCulloch-Pitts unit -------------------------------------------------------------


def mcculloch_pitts(x: np.ndarray, excitatory: np.ndarray, inhibitory: np.ndarray,
                    threshold: int) -> np.ndarray:
    """A McCulloch-Pitts (1943) unit on binary inputs x (N, F) -> binary output (N,).

    It fires (1) when no inhibitory input is active (any active one vetoes, as in the
    1943 paper) and the number of active excitatory inputs reaches ``threshold``. Nothing
    is learned: the wiring and threshold are chosen by hand. ``excitatory`` and
    ``inhibitory`` are boolean masks of shape (F,).
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != len(excitatory) or len(inhibitory) != len(excitatory):
        raise ValueError(f"x: expected shape (N, {len(excitatory)}) matching the masks, "
                         f"got {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError("x: expected binary inputs (0 or 1)")
    vetoed = (x[:, np.asarray(inhibitory, bool)] == 1).any(axis=1)
    excitation = x[:, np.asarray(excitatory, bool)].sum(axis=1)
    return ((excitation >= threshold) & ~vetoed).astype(int)


# --- Rosenblatt's perceptron --------------------------------------------------------------

BINARY_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
"""The four inputs (4, 2) of a two-input logic gate."""

GATES = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}
"""Targets (4,) for :data:`BINARY_INPUTS`."""


def perceptron_predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Step function of an affine score: X (N, F), w (F,) -> predictions (N,) in {0, 1}."""
    return (X @ w + b > 0).astype(int)


def perceptron_update(w: np.ndarray, b: float, x: np.ndarray, y: int,
                      lr: float = 1.0) -> tuple[np.ndarray, float]:
    """Rosenblatt's rule for one example x (F,), target y in {0, 1}.

    ``error = y - prediction`` is 0 when the prediction is right (no change), +1 or -1 when
    wrong; then ``w += lr * error * x`` and ``b += lr * error``.
    """
    error = y - int(x @ w + b > 0)
    return w + lr * error * x, b + lr * error


def train_perceptron(X: np.ndarray, y: np.ndarray, *, epochs: int = 20, lr: float = 1.0
                     ) -> tuple[np.ndarray, float, list[int]]:
    """Cycle through the examples in order ``epochs`` times, applying :func:`perceptron_update`.

    Returns ``(w, b, mistakes per epoch)``. On linearly separable data the mistakes reach 0
    (the perceptron convergence theorem; Novikoff, 1962); on XOR they never do.
    """
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"y: expected shape ({X.shape[0]},) for X of shape {X.shape}, "
                         f"got {y.shape}")
    w, b = np.zeros(X.shape[1]), 0.0
    mistakes = []
    for _ in range(epochs):
        wrong = 0
        for x_i, y_i in zip(X, y, strict=True):
            wrong += int(perceptron_predict(x_i[None], w, b)[0] != y_i)
            w, b = perceptron_update(w, b, x_i, int(y_i), lr)
        mistakes.append(wrong)
    return w, b, mistakes


def best_linear_accuracy(X: np.ndarray, y: np.ndarray, num_angles: int = 360) -> float:
    """The best accuracy any line ``w . x + b > 0`` reaches on (X, y), by brute force.

    Tries ``num_angles`` directions and every threshold between projected points: a sample
    of directions, so the result is a lower bound on the best line, not a proof. On XOR it
    is 0.75; that no line does better is elementary (the four inequalities a separating line
    would need contradict each other).
    """
    best = 0.0
    for angle in np.linspace(0, 2 * np.pi, num_angles, endpoint=False):
        w = np.array([np.cos(angle), np.sin(angle)])
        projected = X @ w
        cuts = np.concatenate([[projected.min() - 1], np.sort(projected) + 1e-9])
        for cut in cuts:
            best = max(best, float(np.mean((projected > cut).astype(int) == y)))
    return best


# --- a two-layer network and backpropagation ----------------------------------------------

MLPParams = dict[str, np.ndarray]


def init_mlp(num_inputs: int, num_hidden: int, *, seed: int = 0, scale: float = 1.0
             ) -> MLPParams:
    """``{"W1": (F, H), "b1": (H,), "W2": (H, 1), "b2": (1,)}``, Gaussian weights."""
    rng = np.random.default_rng(seed)
    return {"W1": scale * rng.standard_normal((num_inputs, num_hidden)),
            "b1": np.zeros(num_hidden),
            "W2": scale * rng.standard_normal((num_hidden, 1)) / math.sqrt(num_hidden),
            "b2": np.zeros(1)}


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    e = np.exp(-np.abs(z))  # never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def mlp_forward(X: np.ndarray, params: MLPParams, activation: str = "tanh"
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """X (N, F) -> probabilities p (N,) and a cache for :func:`mlp_backward`.

    ``h = act(X W1 + b1)`` (N, H); ``p = sigmoid(h W2 + b2)``. ``activation`` is ``"tanh"``
    or ``"identity"`` (two stacked linear maps: still one linear map).
    """
    if activation not in ("tanh", "identity"):
        raise ValueError(f"activation: expected 'tanh' or 'identity', got {activation!r}")
    if X.ndim != 2 or X.shape[1] != params["W1"].shape[0]:
        raise ValueError(f"X: expected shape (N, {params['W1'].shape[0]}), got {X.shape}")
    a = X @ params["W1"] + params["b1"]
    h = np.tanh(a) if activation == "tanh" else a
    p = sigmoid(h @ params["W2"] + params["b2"])[:, 0]
    return p, {"X": X, "h": h, "p": p, "activation": np.array(activation)}


def binary_cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    """Mean of ``-[y log p + (1 - y) log(1 - p)]``, clipped away from log(0)."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def mlp_backward(y: np.ndarray, params: MLPParams, cache: dict[str, np.ndarray]) -> MLPParams:
    """Gradients of the mean binary cross-entropy with respect to every parameter.

    Chain rule from the output back: for sigmoid + cross-entropy, dL/dz = (p - y) / N;
    then through W2, through the activation (tanh' = 1 - h^2), through W1.
    """
    X, h, p = cache["X"], cache["h"], cache["p"]
    n = X.shape[0]
    dz = ((p - y) / n)[:, None]  # (N, 1)
    dh = dz @ params["W2"].T  # (N, H)
    da = dh * (1.0 - h ** 2) if str(cache["activation"]) == "tanh" else dh
    return {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}


def mlp_gradient_check(X: np.ndarray, y: np.ndarray, params: MLPParams,
                       activation: str = "tanh") -> dict[str, float]:
    """Relative error between :func:`mlp_backward` and finite differences, per parameter."""
    def loss() -> float:
        return binary_cross_entropy(mlp_forward(X, params, activation)[0], y)

    _, cache = mlp_forward(X, params, activation)
    analytic = mlp_backward(y, params, cache)
    return {name: relative_error(analytic[name], numerical_gradient(loss, params[name]))
            for name in params}


def train_mlp(X: np.ndarray, y: np.ndarray, *, num_hidden: int = 4, epochs: int = 2000,
              lr: float = 1.0, activation: str = "tanh", seed: int = 0
              ) -> tuple[MLPParams, list[float]]:
    """Full-batch gradient descent with :func:`mlp_backward`; returns (params, losses)."""
    params = init_mlp(X.shape[1], num_hidden, seed=seed)
    losses = []
    for _ in range(epochs):
        p, cache = mlp_forward(X, params, activation)
        losses.append(binary_cross_entropy(p, y))
        grads = mlp_backward(y, params, cache)
        for name in params:
            params[name] -= lr * grads[name]
    return params, losses


def mlp_accuracy(X: np.ndarray, y: np.ndarray, params: MLPParams,
                 activation: str = "tanh") -> float:
    """Share of examples where ``p > 0.5`` matches ``y``."""
    return float(np.mean((mlp_forward(X, params, activation)[0] > 0.5) == y))


def collapse_linear_layers(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The single linear layer equal to two stacked ones: ``(x W1 + b1) W2 + b2 = x W + b``
    with ``W = W1 W2`` and ``b = b1 W2 + b2``."""
    return W1 @ W2, b1 @ W2 + b2


# --- symbolic rules vs a learned classifier -----------------------------------------------

def rule_based_sentiment(sentence: str) -> int:
    """An expert's hand-written rules, in the spirit of an expert system.

    Rule 1: a positive keyword votes +1, a negative keyword -1.
    Rule 2: "not" flips the vote (the expert thought of "not"; who thinks of everything?).
    Returns 1 (positive) when the vote is > 0, else 0.
    """
    words = sentence.split()
    vote = sum((w in POSITIVE_WORDS) - (w in NEGATIVE_WORDS) for w in words)
    if "not" in words:
        vote = -vote
    return int(vote > 0)


# --- data and model size as fuel ----------------------------------------------------------


def make_mlp(width: int, depth: int = 2, num_inputs: int = 2, num_classes: int = 2) -> nn.Module:
    """A ReLU MLP with ``depth`` hidden layers of ``width`` units."""
    layers: list[nn.Module] = []
    size = num_inputs
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, num_classes))


def fit_classifier(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                   y_test: torch.Tensor, *, width: int = 32, steps: int = 300, lr: float = 1e-2,
                   seed: int = 0, progress: bool = False) -> float:
    """Train :func:`make_mlp` full-batch with course_lib.training.loop; return test accuracy."""
    with seeded(seed):
        model = make_mlp(width)

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return nn.functional.cross_entropy(m(batch[0]), batch[1])

    train(model, [(x_train, y_train)], loss_fn, steps=steps, lr=lr,
          desc=f"n={len(x_train)}, width={width}", progress=progress)
    with torch.no_grad():
        return (model(x_test).argmax(-1) == y_test).float().mean().item()
