"""The modern decoder block (course_lib.models.llama) against transformers' LlamaForCausalLM with
copied weights, and its parts against their definitions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.attention import RotaryEmbedding
from course_lib.models.llama import (
    Llama,
    LlamaConfig,
    RMSNorm,
    SwiGLU,
    config_from_hf,
    llama_ffn_width,
    load_hf_llama_state_dict,
    rotate_half_to_interleaved,
)

transformers = pytest.importorskip("transformers")


def _hf_model(tie: bool, kv_heads: int = 2, seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=kv_heads, max_position_embeddings=64,
        rms_norm_eps=1e-6, tie_word_embeddings=tie)
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # norms start at 1: move them, so a skipped norm would show
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.2 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("tie, kv_heads", [(False, 2), (True, 1), (False, 4)])
def test_equals_huggingface_llama(tie: bool, kv_heads: int) -> None:
    hf = _hf_model(tie, kv_heads)
    ours = load_hf_llama_state_dict(hf.state_dict(), config_from_hf(hf.config)).eval()
    idx = torch.randint(0, 97, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = hf(idx).logits
        got = ours(idx)
        fast, maps = ours(idx, need_weights=True)
    assert (got - expected).abs().max().item() < 1e-5
    assert (fast - expected).abs().max().item() < 1e-5  # the readable attention path too
    assert len(maps) == 2 and maps[0].shape == (3, 4, 40, 40)
    assert ours.lm_head.weight is ours.token_embedding.weight if tie else True


def test_kv_cache_gives_the_same_logits() -> None:
    hf = _hf_model(False)
    ours = load_hf_llama_state_dict(hf.state_dict(), config_from_hf(hf.config)).eval()
    idx = torch.randint(0, 97, (2, 30), generator=torch.Generator().manual_seed(2))
    caches = ours.make_caches()
    with torch.no_grad():
        whole = ours(idx)
        parts = [ours(idx[:, :20], caches=caches)]
        parts += [ours(idx[:, t:t + 1], caches=caches) for t in range(20, 30)]
    assert torch.allclose(torch.cat(parts, dim=1), whole, atol=1e-5)
    assert caches[0].k.shape[1] == 2  # the cache stores the 2 key/value heads, not 4


def test_without_the_rope_conversion_the_logits_differ() -> None:
    """The loader's row permutation is needed: our RoPE pairs neighbours, Llama's halves."""
    hf = _hf_model(False)
    ours = load_hf_llama_state_dict(hf.state_dict(), config_from_hf(hf.config)).eval()
    idx = torch.randint(0, 97, (1, 20), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        converted = ours(idx)
        for block, layer in zip(ours.blocks, hf.model.layers, strict=True):
            block.attn.q_proj.weight.copy_(layer.self_attn.q_proj.weight)
            block.attn.k_proj.weight.copy_(layer.self_attn.k_proj.weight)
        assert (ours(idx) - converted).abs().max() > 1e-3


def test_rotate_half_conversion_matches_rotate_half_rope() -> None:
    torch.manual_seed(0)
    Dh, T = 8, 5
    x = torch.randn(T, Dh)
    angle = RotaryEmbedding(Dh).angles(T)  # (T, Dh/2)
    cos, sin = torch.cat([angle.cos()] * 2, -1), torch.cat([angle.sin()] * 2, -1)
    rotate_half = torch.cat([-x[:, Dh // 2:], x[:, : Dh // 2]], dim=-1)
    theirs = x * cos + rotate_half * sin  # Llama's convention, written out
    perm = rotate_half_to_interleaved(torch.arange(Dh, dtype=torch.float)[:, None], 1)[:, 0]
    ours = RotaryEmbedding(Dh)(x[:, perm.long()])
    assert torch.allclose(ours, theirs[:, perm.long()], atol=1e-6)


def test_rmsnorm_definition() -> None:
    torch.manual_seed(0)
    norm = RMSNorm(6, eps=1e-5)
    with torch.no_grad():
        norm.weight.normal_()
    x = torch.randn(2, 3, 6, dtype=torch.float64)
    expected = x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + 1e-5) * norm.weight.double()
    assert torch.allclose(norm(x), expected, atol=1e-6)
    assert norm(torch.zeros(1, 6)).abs().max() == 0  # eps keeps 0/0 away
    if hasattr(torch.nn, "RMSNorm"):
        reference = torch.nn.RMSNorm(6, eps=1e-5)
        with torch.no_grad():
            reference.weight.copy_(norm.weight)
        assert torch.allclose(norm(x.float()), reference(x.float()), atol=1e-6)
    with pytest.raises(ValueError, match="expected last dim 6"):
        norm(torch.zeros(2, 5))


def test_swiglu_definition() -> None:
    torch.manual_seed(0)
    ffn = SwiGLU(8, 12)
    x = torch.randn(4, 8)
    gate, up = x @ ffn.gate_proj.weight.T, x @ ffn.up_proj.weight.T
    expected = (gate * torch.sigmoid(gate) * up) @ ffn.down_proj.weight.T
    assert torch.allclose(ffn(x), expected, atol=1e-6)
    assert all(m.bias is None for m in (ffn.gate_proj, ffn.up_proj, ffn.down_proj))


def test_ffn_width_matches_gelu_parameters() -> None:
    assert llama_ffn_width(4096, multiple_of=256) == 11008  # LLaMA-7B's width
    d = 128
    assert abs(3 * d * llama_ffn_width(d) - 2 * d * 4 * d) / (8 * d * d) < 0.05


def test_causal_and_no_biases() -> None:
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=20, max_len=16, d_model=32, num_heads=4,
                              num_layers=2, num_kv_heads=2)).eval()
    assert not any(name.endswith("bias") for name, _ in model.named_parameters())
    idx = torch.randint(0, 20, (1, 10))
    changed = idx.clone()
    changed[0, 7] = (idx[0, 7] + 1) % 20
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6) and not torch.allclose(a[:, 7:], b[:, 7:])


def test_attention_only_model_has_no_feed_forward() -> None:
    model = Llama(LlamaConfig(vocab_size=16, max_len=32, d_model=32, num_heads=4,
                              num_layers=2, attention_only=True))
    assert not any("ffn" in name for name, _ in model.named_parameters())
    logits = model(torch.zeros(2, 5, dtype=torch.long))
    loss = F.cross_entropy(logits.reshape(-1, 16), torch.zeros(10, dtype=torch.long))
    loss.backward()


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match="num_kv_heads"):
        LlamaConfig(vocab_size=10, max_len=8, d_model=32, num_heads=4, num_layers=1,
                    num_kv_heads=3)
    with pytest.raises(ValueError, match="even head width"):
        LlamaConfig(vocab_size=10, max_len=8, d_model=12, num_heads=4, num_layers=1)
    model = Llama(LlamaConfig(vocab_size=10, max_len=8, d_model=16, num_heads=2, num_layers=1))
    with pytest.raises(ValueError, match="exceeds max_len 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    hf = _hf_model(False)
    state = dict(hf.state_dict())
    del state["model.norm.weight"]
    with pytest.raises(ValueError, match="model.norm.weight"):
        load_hf_llama_state_dict(state, config_from_hf(hf.config))
