"""The Vision Transformer: patches against unfold and Conv2d, the class token, weights, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.models.vit import PatchEmbedding, VisionTransformer, ViTConfig, patchify, unpatchify


def images(B=2, C=3, H=8, W=12, seed=0):
    return torch.randn(B, C, H, W, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape,p", [((2, 3, 8, 12), 4), ((1, 1, 8, 8), 2), ((3, 2, 6, 6), 3)])
def test_patchify_equals_unfold(shape, p):
    x = images(*shape)
    reference = F.unfold(x, kernel_size=p, stride=p).transpose(1, 2)  # (B, N, C*p*p)
    assert torch.equal(patchify(x, p), reference)


def test_patchify_by_hand_first_and_last_patch():
    x = images(1, 2, 4, 6)
    patches = patchify(x, 2)                       # 2 rows x 3 columns of patches
    assert patches.shape == (1, 6, 8)
    assert torch.equal(patches[0, 0], x[0, :, 0:2, 0:2].reshape(-1))
    assert torch.equal(patches[0, 2], x[0, :, 0:2, 4:6].reshape(-1))  # row-major: top right
    assert torch.equal(patches[0, 5], x[0, :, 2:4, 4:6].reshape(-1))


def test_naive_reshape_is_not_patchify():
    x = images(1, 1, 4, 4)
    assert not torch.equal(x.reshape(1, 4, 4), patchify(x, 2))


def test_unpatchify_inverts_patchify():
    x = images()
    assert torch.equal(unpatchify(patchify(x, 4), 4, 3, 8, 12), x)
    with pytest.raises(ValueError, match="patches: expected shape"):
        unpatchify(torch.zeros(2, 5, 48), 4, 3, 8, 12)


def test_patch_embedding_equals_strided_conv():
    torch.manual_seed(0)
    ours, conv = PatchEmbedding(3, 4, 16), nn.Conv2d(3, 16, kernel_size=4, stride=4)
    with torch.no_grad():
        ours.proj.weight.copy_(conv.weight.reshape(16, -1))
        ours.proj.bias.copy_(conv.bias)
    x = images()
    reference = conv(x).flatten(2).transpose(1, 2)  # (B, N, D), patches row-major
    torch.testing.assert_close(ours(x), reference, atol=1e-5, rtol=1e-5)


def test_patchify_errors():
    with pytest.raises(ValueError, match=r"images: expected shape \(B, C, H, W\)"):
        patchify(torch.zeros(3, 8, 8), 2)
    with pytest.raises(ValueError, match="divisible by patch_size=3"):
        patchify(torch.zeros(1, 1, 8, 8), 3)
    with pytest.raises(ValueError, match="expected 3 channels"):
        PatchEmbedding(3, 2, 8)(torch.zeros(1, 1, 8, 8))


def small_vit(**kw) -> VisionTransformer:
    torch.manual_seed(0)
    config = dict(image_size=8, patch_size=2, num_classes=10, d_model=16, num_heads=2,
                  num_layers=2, d_ff=32)
    return VisionTransformer(ViTConfig(**{**config, **kw})).eval()


def test_vit_shapes_and_weights():
    model = small_vit()
    x = torch.rand(3, 1, 8, 8)
    logits = model(x)
    assert logits.shape == (3, 10)
    again, weights = model(x, need_weights=True)
    torch.testing.assert_close(again, logits, atol=1e-5, rtol=1e-5)
    assert len(weights) == 2 and weights[0].shape == (3, 2, 17, 17)
    torch.testing.assert_close(weights[0].sum(-1), torch.ones(3, 2, 17))


def test_vit_reads_the_class_token_and_positions_matter():
    model = small_vit()
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        base = model(x)
        # (a random change: a constant shift would vanish in the LayerNorms)
        model.cls_token.add_(torch.randn(model.cls_token.shape,
                                         generator=torch.Generator().manual_seed(1)))
        assert not torch.allclose(model(x), base)
    # swapping two patches changes the output: learned positions break permutation symmetry
    swapped = x.clone()
    swapped[:, :, 0:2, 0:2], swapped[:, :, 6:8, 6:8] = x[:, :, 6:8, 6:8], x[:, :, 0:2, 0:2]
    assert not torch.allclose(model(swapped), model(x))


def test_vit_trains_one_step():
    model = small_vit().train()
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("field,value,message", [
    ("patch_size", 3, "patch_size: expected a divisor of image_size=8"),
    ("num_heads", 3, "d_model: expected a multiple of num_heads=3"),
    ("num_classes", 0, "num_classes: expected a positive integer"),
    ("dropout", 1.0, "dropout: expected a probability"),
])
def test_config_errors(field, value, message):
    config = dict(image_size=8, patch_size=2, num_classes=10, d_model=16, num_heads=2)
    with pytest.raises(ValueError, match=message):
        ViTConfig(**{**config, field: value})


def test_config_is_keyword_only_and_counts_patches():
    with pytest.raises(TypeError):
        ViTConfig(8, 2)  # positional arguments are refused: keyword-only config
    assert ViTConfig(image_size=8, patch_size=2, num_classes=3).num_patches == 16


def test_vit_wrong_image_shape():
    with pytest.raises(ValueError, match=r"images: expected shape \(B, 1, 8, 8\)"):
        small_vit()(torch.zeros(2, 1, 6, 6))


def test_checkpoint_rebuilds_the_vit_from_its_config(tmp_path):
    from course_lib.training.checkpoint import load_checkpoint, save_checkpoint

    model = small_vit()
    x = torch.rand(2, 1, 8, 8)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "vit.pt", model)).model
    assert isinstance(loaded, VisionTransformer) and loaded.config == model.config
    torch.testing.assert_close(loaded(x), model(x))
