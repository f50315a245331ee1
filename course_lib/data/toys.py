"""Small generated data sets of lesson 01: one-clause reviews (rules vs learning) and two
interleaved spirals (data and model size as fuel). Every generator takes a ``seed``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "POSITIVE_WORDS", "NEGATIVE_WORDS", "NEGATORS", "review_sentences", "review_vocabulary",
    "bag_of_words", "two_spirals", "two_spirals_posterior",
]

POSITIVE_WORDS = ("good", "great", "fun", "tasty", "friendly")
NEGATIVE_WORDS = ("bad", "boring", "awful", "cold", "rude")
NEGATORS = ("not", "never", "hardly")
_SUBJECTS = ("the film", "the food", "the service", "the book", "the hotel")
_INTENSIFIERS = ("", "very", "really")


def review_sentences(num_examples: int, *, seed: int = 0,
                     negators: tuple[str, ...] = NEGATORS) -> tuple[list[str], np.ndarray]:
    """Generated one-clause reviews such as "the food was not very tasty" and labels (N,).

    Label 1 (positive) when the adjective is positive and not negated, or negative and
    negated. About half the sentences are negated, evenly by each of ``negators``.
    """
    rng = np.random.default_rng(seed)
    sentences, labels = [], []
    for _ in range(num_examples):
        positive = bool(rng.integers(2))
        adjective = rng.choice(POSITIVE_WORDS if positive else NEGATIVE_WORDS)
        negated = bool(rng.integers(2))
        words = [str(rng.choice(_SUBJECTS)), "was"]
        if negated:
            words.append(str(rng.choice(negators)))
        words += [str(rng.choice(_INTENSIFIERS)), str(adjective)]
        sentences.append(" ".join(w for w in words if w))
        labels.append(int(positive != negated))
    return sentences, np.array(labels)


def bag_of_words(sentences: list[str], vocabulary: list[str]) -> np.ndarray:
    """Binary features (N, len(vocabulary)): 1 where the word occurs in the sentence."""
    index = {word: i for i, word in enumerate(vocabulary)}
    features = np.zeros((len(sentences), len(vocabulary)))
    for row, sentence in enumerate(sentences):
        for word in sentence.split():
            if word in index:
                features[row, index[word]] = 1.0
    return features


def review_vocabulary() -> list[str]:
    """Every word :func:`review_sentences` can produce, sorted."""
    words = {"was", *POSITIVE_WORDS, *NEGATIVE_WORDS, *NEGATORS, *_INTENSIFIERS}
    words.update(w for subject in _SUBJECTS for w in subject.split())
    return sorted(w for w in words if w)


def two_spirals(num_examples: int, *, noise: float = 0.3, turns: float = 1.5,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved spirals in the plane: x (N, 2) float, y (N,) labels in {0, 1}."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (num_examples,), generator=generator)
    radius = torch.rand(num_examples, generator=generator)
    angle = radius * turns * 2 * math.pi + math.pi * y
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1) * 3
    return x + noise * torch.randn(num_examples, 2, generator=generator) * radius[:, None], y


def two_spirals_posterior(x: torch.Tensor, *, noise: float = 0.3, turns: float = 1.5,
                          grid: int = 4000) -> torch.Tensor:
    """``P(y = 1 | x)`` for points ``x (N, 2)`` of :func:`two_spirals` with the same settings.

    Computed from the generator itself: both classes are equally likely, the radius ``r`` is
    uniform on [0, 1], and a point is its spiral's position at ``r`` plus Gaussian noise of
    standard deviation ``noise * r`` per coordinate, so ``p(x | y)`` is an integral over ``r``
    (midpoint rule on ``grid`` radii). Predicting the likelier class (the Bayes rule) is the
    best any classifier can do: where the noisy spirals overlap, no model gets every point.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"x: expected shape (N, 2), got {tuple(x.shape)}")
    r = (torch.arange(grid, dtype=torch.float64) + 0.5) / grid                 # (G,)
    variance = (noise * r) ** 2
    log_likelihood = []
    for label in (0, 1):
        angle = r * turns * 2 * math.pi + math.pi * label
        centre = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1) * 3  # (G, 2)
        squared = ((x[:, None, :] - centre[None]) ** 2).sum(-1)                        # (N, G)
        log_density = -squared / (2 * variance) - torch.log(2 * math.pi * variance)
        log_likelihood.append(torch.logsumexp(log_density, dim=1))
    return torch.sigmoid(log_likelihood[1] - log_likelihood[0])
