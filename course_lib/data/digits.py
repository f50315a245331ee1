"""The 8x8 handwritten digits that ship inside scikit-learn (no download): images for the ViT.

1 797 grey-scale images of the digits 0-9, 8x8 pixels with values 0..16, from the UCI
"Optical Recognition of Handwritten Digits" set (Alpaydin & Kaynak 1998) as bundled by
scikit-learn. :func:`digit_splits` scales them to [0, 1] and cuts a seeded (not stratified)
random train/test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DigitSplits", "digit_splits"]


@dataclass
class DigitSplits:
    """``train_images (N, 1, 8, 8)`` float in [0, 1], ``train_labels (N,)`` long, same for test."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def digit_splits(test_fraction: float = 0.25, *, seed: int = 0) -> DigitSplits:
    """Load the digits and split them at random with ``seed`` (the same seed, the same split)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction}")
    from sklearn.datasets import load_digits  # imported here: only this function needs it

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(labels)))
    test, train = order[:n_test], order[n_test:]
    return DigitSplits(images[train], labels[train], images[test], labels[test])
