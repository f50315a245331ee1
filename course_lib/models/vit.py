"""A Vision Transformer (Dosovitskiy et al. 2021): an image becomes a sequence of patch tokens.

The image ``(B, C, H, W)`` is cut into non-overlapping ``p x p`` patches, read row by row
(left to right, top to bottom). Each patch is flattened to a vector of ``C * p * p`` numbers,
*channel first, then the rows and columns inside the patch* (the order of
``torch.nn.functional.unfold`` and of a ``Conv2d`` kernel), and a linear layer maps it to
``D``. A learned class token ``[CLS]`` is put in front, learned positions are added, a
pre-norm Transformer encoder (course_lib.models.transformer) mixes the ``N + 1`` tokens, and the
class token's final state goes through a linear layer to the class logits.

Shapes: ``B`` batch, ``C`` channels, ``H``/``W`` image height/width, ``p`` patch size,
``N = (H / p) * (W / p)`` patches, ``D`` model width, ``L`` layers, ``K`` classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.attention.positions import LearnedPositionalEmbedding
from course_lib.core.validation import check_divisible, check_positive_ints, check_probability
from course_lib.models.transformer import TransformerEncoder

__all__ = ["patchify", "unpatchify", "PatchEmbedding", "ViTConfig", "VisionTransformer"]


def _check_images(images: torch.Tensor, patch_size: int) -> None:
    if images.dim() != 4:
        raise ValueError(f"images: expected shape (B, C, H, W), got {tuple(images.shape)}")
    H, W = images.shape[-2:]
    if patch_size < 1 or H % patch_size or W % patch_size:
        raise ValueError(f"images: expected height and width divisible by patch_size="
                         f"{patch_size}, got {tuple(images.shape)}")


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``images (B, C, H, W) -> patches (B, N, C * p * p)``, patches in row-major order.

    The reshape splits H into (rows of patches, p) and W into (columns of patches, p), then
    the permute brings the two patch-grid axes to the front *before* flattening. Flattening
    straight away (``images.reshape(B, N, -1)``) gives vectors of the right size that mix
    pixels of different patches: the classic mistake.
    """
    _check_images(images, patch_size)
    B, C, H, W = images.shape
    p = patch_size
    grid = images.reshape(B, C, H // p, p, W // p, p)      # (B, C, rows, p, cols, p)
    grid = grid.permute(0, 2, 4, 1, 3, 5)                  # (B, rows, cols, C, p, p)
    return grid.reshape(B, (H // p) * (W // p), C * p * p)


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int, height: int,
               width: int) -> torch.Tensor:
    """The inverse of :func:`patchify`: ``(B, N, C * p * p) -> (B, C, H, W)``."""
    p = patch_size
    expected = ((height // p) * (width // p), channels * p * p)
    if patches.dim() != 3 or tuple(patches.shape[1:]) != expected:
        raise ValueError(f"patches: expected shape (B, {expected[0]}, {expected[1]}), "
                         f"got {tuple(patches.shape)}")
    grid = patches.reshape(patches.shape[0], height // p, width // p, channels, p, p)
    return grid.permute(0, 3, 1, 4, 2, 5).reshape(patches.shape[0], channels, height, width)


class PatchEmbedding(nn.Module):
    """Linear embedding of flattened patches: ``images (B, C, H, W) -> (B, N, D)``.

    Equal to ``nn.Conv2d(C, D, kernel_size=p, stride=p)`` followed by flattening the
    output grid (the tests check it with copied weights): a convolution whose stride equals
    its kernel sees each patch exactly once.
    """

    def __init__(self, in_channels: int, patch_size: int, d_model: int) -> None:
        super().__init__()
        self.in_channels, self.patch_size = in_channels, patch_size
        self.proj = nn.Linear(in_channels * patch_size * patch_size, d_model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images (B, C, H, W) -> (B, N, D)``."""
        if images.dim() == 4 and images.shape[1] != self.in_channels:
            raise ValueError(f"images: expected {self.in_channels} channels, "
                             f"got shape {tuple(images.shape)}")
        return self.proj(patchify(images, self.patch_size))


@dataclass(kw_only=True)
class ViTConfig:
    """Sizes of a :class:`VisionTransformer`; checked when built."""

    image_size: int
    patch_size: int
    in_channels: int = 1
    num_classes: int
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    d_ff: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_ints(self, "image_size", "patch_size", "in_channels", "num_classes",
                            "d_model", "num_heads", "num_layers", "d_ff")
        check_divisible(self, "d_model", "num_heads")
        check_probability(self, "dropout")
        if self.image_size % self.patch_size:
            raise ValueError(f"patch_size: expected a divisor of image_size={self.image_size}, "
                             f"got {self.patch_size}")

    @property
    def num_patches(self) -> int:
        """``N = (image_size / patch_size) ** 2``."""
        return (self.image_size // self.patch_size) ** 2


class VisionTransformer(nn.Module):
    """ViT classifier: patches -> [CLS] + patch tokens + positions -> pre-norm encoder -> head.

    ``forward(images (B, C, H, W), *, need_weights=False) -> logits (B, K)``, or with
    ``need_weights=True`` ``(logits, [L x weights (B, heads, N + 1, N + 1)])``; token 0 is
    [CLS], tokens ``1..N`` the patches in row-major order.
    """

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.patch_embedding = PatchEmbedding(c.in_channels, c.patch_size, c.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.d_model))
        nn.init.normal_(self.cls_token, std=0.02)
        self.positions = LearnedPositionalEmbedding(c.num_patches + 1, c.d_model)
        self.encoder = TransformerEncoder(c.d_model, c.num_heads, c.d_ff, c.num_layers, c.dropout,
                               norm_first=True, activation="gelu")
        self.head = nn.Linear(c.d_model, c.num_classes)

    def tokens(self, images: torch.Tensor) -> torch.Tensor:
        """``images (B, C, H, W) -> (B, N + 1, D)``: [CLS] and patch embeddings plus positions."""
        size = self.config.image_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (self.config.in_channels, size, size):
            raise ValueError(f"images: expected shape (B, {self.config.in_channels}, {size}, "
                             f"{size}), got {tuple(images.shape)}")
        patches = self.patch_embedding(images)
        cls = self.cls_token.expand(images.shape[0], -1, -1)
        return self.positions(torch.cat([cls, patches], dim=1))

    def forward(self, images: torch.Tensor, *, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """``images (B, C, H, W) -> logits (B, K)`` (and the weights, see the class)."""
        if not need_weights:
            return self.head(self.encoder(self.tokens(images))[:, 0])
        hidden, weights = self.encoder(self.tokens(images), need_weights=True)
        return self.head(hidden[:, 0]), weights
