"""GPT: shapes, causality, KV cache equals a full forward pass, tied embeddings, parameter
count by hand, clear errors."""

from __future__ import annotations

import pytest
import torch
from tiny_models import tiny_gpt
from torch import nn

from course_lib.models.gpt import GPT, GPTConfig


def tiny(max_len: int = 16, seed: int = 0, **kwargs) -> GPT:
    return tiny_gpt(vocab_size=17, max_len=max_len, seed=seed, **kwargs)


def ids(*shape: int, seed: int = 0, vocab: int = 17) -> torch.Tensor:
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))


def test_shapes_and_default_ffn_width():
    model = tiny()
    assert model(ids(3, 10)).shape == (3, 10, 17)
    assert model.config.d_ff == 128
    assert model.max_len == 16


def test_gpt_is_causal():
    """Changing token t+1 does not change the logits at positions <= t."""
    model = tiny()
    idx = ids(2, 12)
    base = model(idx)
    for t in range(11):
        changed = idx.clone()
        changed[:, t + 1] = (changed[:, t + 1] + 1) % 17
        out = model(changed)
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1])
        assert not torch.allclose(out[:, t + 1], base[:, t + 1])


@pytest.mark.parametrize("chunks", [[5, 1, 1, 1], [1] * 8, [3, 4, 2], [16]])
def test_cached_logits_equal_the_full_forward(chunks):
    model = tiny(dropout=0.1)   # eval mode: dropout off, but the path is exercised
    idx = ids(2, sum(chunks), seed=1)
    full = model(idx)
    caches, start, pieces = model.make_caches(), 0, []
    for size in chunks:
        pieces.append(model(idx[:, start:start + size], caches=caches))
        start += size
    assert caches[0].length == sum(chunks) == caches[-1].length
    torch.testing.assert_close(torch.cat(pieces, 1), full, atol=1e-5, rtol=1e-5)


def test_tied_embeddings_are_one_tensor():
    model = tiny()
    assert model.lm_head.weight is model.token_embedding.weight
    # a gradient step on the shared matrix moves the embedding and the output layer together
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.token_embedding.weight.detach().clone()
    model(ids(2, 6)).sum().backward()
    optimizer.step()
    assert not torch.equal(model.token_embedding.weight, before)
    assert torch.equal(model.lm_head.weight, model.token_embedding.weight)
    # the state dict has both names, as torch keeps tied weights under each
    state = model.state_dict()
    assert state["lm_head.weight"].data_ptr() == state["token_embedding.weight"].data_ptr()


def test_num_parameters_by_hand():
    V, C, D, L, F = 17, 16, 32, 2, 128
    attention = 4 * (D * D + D)
    ffn = D * F + F + F * D + D
    norms = 2 * 2 * D
    expected = V * D + C * D + L * (attention + ffn + norms) + 2 * D  # lm_head is tied
    model = tiny()
    assert model.num_parameters() == expected
    assert model.num_parameters(include_positions=False) == expected - C * D
    # listed under two names, but one tensor: counting both names would add V * D
    both_names = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    assert both_names == expected + V * D


def test_need_weights_gives_causal_distributions():
    model = tiny(num_layers=3)
    logits, maps = model(ids(2, 7), need_weights=True)
    torch.testing.assert_close(logits, model(ids(2, 7)), atol=1e-5, rtol=1e-5)
    assert [m.shape for m in maps] == [(2, 4, 7, 7)] * 3
    for weights in maps:
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 7))
        assert torch.all(weights.triu(diagonal=1) == 0)


def test_gpt_learns_a_repeating_pattern():
    """Training smoke test: next-token loss on a periodic sequence falls near zero."""
    model = tiny(num_layers=1).train()
    pattern = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6]).repeat(2)[None, :]   # (1, 16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        logits = model(pattern[:, :-1])
        loss = nn.functional.cross_entropy(logits.transpose(1, 2), pattern[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.3, f"loss after 60 steps: {loss.item():.3f}"


def test_max_len_errors():
    model = tiny(max_len=64)
    with pytest.raises(ValueError, match="sequence length 70 exceeds max_len 64"):
        model(ids(1, 70))
    caches = model.make_caches()
    model(ids(1, 60), caches=caches)
    with pytest.raises(ValueError, match=r"idx: sequence length 65 \(60 cached \+ 5 new\) "
                                         r"exceeds max_len 64"):
        model(ids(1, 5), caches=caches)
    with pytest.raises(ValueError, match="caches: expected 2 KV caches"):
        model(ids(1, 3), caches=model.make_caches()[:1])
    with pytest.raises(ValueError, match=r"idx: expected integer ids of shape \(B, T\), "
                                         r"got \(5,\) torch.int64"):
        model(ids(5))


def test_config_errors():
    with pytest.raises(ValueError, match="d_model: expected a multiple of num_heads=3, got 32"):
        GPTConfig(vocab_size=10, max_len=8, d_model=32, num_heads=3, num_layers=1)
    with pytest.raises(ValueError, match="max_len: expected a positive integer, got 0"):
        GPTConfig(vocab_size=10, max_len=0, d_model=32, num_heads=4, num_layers=1)
    with pytest.raises(TypeError):
        GPTConfig(10, 8, 32, 4, 1)  # keyword-only: sizes are named where they are set
    with pytest.raises(ValueError, match=r"dropout: expected a probability in \[0, 1\), got 1.0"):
        GPTConfig(vocab_size=10, max_len=8, d_model=32, num_heads=4, num_layers=1,
                  dropout=1.0)
