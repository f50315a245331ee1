import pytest
import torch

from course_lib.models.variant_lm import POSITIONS, VariantLM, VariantLMConfig, convert_to_gqa
from course_lib.training.sampling import generate


def _model(**kwargs):
    torch.manual_seed(0)
    defaults = dict(vocab_size=11, max_len=40, d_model=16, num_heads=4, num_layers=2)
    return VariantLM(VariantLMConfig(**{**defaults, **kwargs})).eval()


@pytest.mark.parametrize("positions", POSITIONS)
def test_every_position_scheme_is_causal(positions):
    model = _model(positions=positions)
    x = torch.randint(0, 11, (2, 9))
    y = x.clone()
    y[:, 6:] = (y[:, 6:] + 1) % 11
    torch.testing.assert_close(model(x)[:, :6], model(y)[:, :6])
    logits, weights = model(x, need_weights=True)
    assert logits.shape == (2, 9, 11) and weights[0].shape == (2, 4, 9, 9)


def test_linear_attention_model_is_causal():
    model = _model(attention="linear", positions="learned")
    x = torch.randint(0, 11, (1, 8))
    y = torch.cat([x[:, :5], torch.randint(0, 11, (1, 3))], dim=1)
    torch.testing.assert_close(model(x)[:, :5], model(y)[:, :5])
    with pytest.raises(ValueError, match="caching"):
        model.make_caches()


@pytest.mark.parametrize("kwargs", [dict(positions="rope", num_kv_heads=1, window=4),
                                    dict(positions="alibi", num_kv_heads=2),
                                    dict(positions="learned", num_kv_heads=2, window=3),
                                    dict(positions="t5", window=5)])
def test_cached_generation_gives_the_same_tokens(kwargs):
    model = _model(**kwargs)
    prompt = torch.randint(0, 11, (2, 1))
    fast = generate(model, prompt, 20, use_cache=True, temperature=1e-4)
    slow = generate(model, prompt, 20, use_cache=False, temperature=1e-4)
    assert torch.equal(fast, slow)


def test_convert_to_gqa_keeps_the_model_when_heads_are_kept():
    model = _model(positions="rope")
    same = convert_to_gqa(model, 4)
    x = torch.randint(0, 11, (2, 7))
    torch.testing.assert_close(same(x), model(x))
    pooled = convert_to_gqa(model, 1)
    assert pooled.blocks[0].attn.k_proj.weight.shape == (4, 16)
    assert pooled.config.num_kv_heads == 1


def test_config_errors():
    with pytest.raises(ValueError, match="positions"):
        _model(positions="absolute")
    with pytest.raises(ValueError, match="positions: linear attention"):
        _model(attention="linear", positions="rope")
    with pytest.raises(ValueError, match="num_kv_heads"):
        _model(num_kv_heads=3)
    with pytest.raises(ValueError, match="window"):
        _model(window=0)
    with pytest.raises(ValueError, match="idx"):
        _model()(torch.zeros(2, 3))
