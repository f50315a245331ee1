"""The Transformer against torch.nn.Transformer with copied weights, causality, gradcheck,
the seq2seq wrapper's masks and attention maps, and clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.core.masks import causal_mask, padding_mask
from course_lib.models.transformer import (
    EncoderLayer,
    PositionwiseFFN,
    Seq2SeqTransformer,
    Seq2SeqTransformerConfig,
    Transformer,
    TransformerConfig,
    TransformerDecoder,
    TransformerEncoder,
    copy_from_torch_transformer,
    greedy_translate,
)

D, H, FF = 32, 4, 64


def tf(num_encoder_layers: int, num_decoder_layers: int, d_ff: int = FF, **kwargs) -> Transformer:
    return Transformer(TransformerConfig(d_model=D, num_heads=H, d_ff=d_ff,
                                         num_encoder_layers=num_encoder_layers,
                                         num_decoder_layers=num_decoder_layers, **kwargs))


def pair(norm_first: bool, seed: int = 0) -> tuple[Transformer, nn.Transformer]:
    torch.manual_seed(seed)
    theirs = nn.Transformer(d_model=D, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
                            dim_feedforward=FF, dropout=0.0, batch_first=True,
                            norm_first=norm_first)
    ours = Transformer(TransformerConfig(d_model=D, num_heads=H, num_encoder_layers=2,
                                         num_decoder_layers=2, d_ff=FF, norm_first=norm_first))
    copy_from_torch_transformer(ours, theirs)
    # train() keeps torch off its inference fast path (nested tensors zero the padded
    # positions there); with dropout 0 it computes the same function.
    return ours.train(), theirs.train()


@pytest.mark.parametrize("norm_first", [False, True])
def test_equals_torch_transformer_with_masks(norm_first):
    ours, theirs = pair(norm_first)
    gen = torch.Generator().manual_seed(1)
    src, tgt = torch.randn(3, 7, D, generator=gen), torch.randn(3, 5, D, generator=gen)
    src_real = padding_mask([7, 4, 2])            # (3, 7) True = real token
    tgt_real = padding_mask([5, 3, 1])
    causal = causal_mask(5)                       # (5, 5) True = may attend

    out = ours(src, tgt, tgt_mask=causal, src_key_padding_mask=src_real,
               tgt_key_padding_mask=tgt_real, memory_key_padding_mask=src_real)
    # torch's bool masks mean "ignore": flip every one
    ref = theirs(src, tgt, tgt_mask=~causal, src_key_padding_mask=~src_real,
                 tgt_key_padding_mask=~tgt_real, memory_key_padding_mask=~src_real)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)

    # tgt_is_causal builds the same mask for us
    out_flag = ours(src, tgt, src_key_padding_mask=src_real, tgt_key_padding_mask=tgt_real,
                    memory_key_padding_mask=src_real, tgt_is_causal=True)
    torch.testing.assert_close(out_flag, ref, atol=1e-5, rtol=1e-5)

    # and the gradients agree too
    out.square().sum().backward()
    ref.square().sum().backward()
    torch.testing.assert_close(ours.encoder.layers[0].self_attn.q_proj.weight.grad,
                               theirs.encoder.layers[0].self_attn.in_proj_weight.grad[:D],
                               atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.decoder.layers[1].ffn.linear1.weight.grad,
                               theirs.decoder.layers[1].linear1.weight.grad, atol=1e-4, rtol=1e-4)


def test_equals_torch_without_masks_and_with_src_and_memory_masks():
    ours, theirs = pair(False, seed=3)
    gen = torch.Generator().manual_seed(2)
    src, tgt = torch.randn(2, 6, D, generator=gen), torch.randn(2, 4, D, generator=gen)
    torch.testing.assert_close(ours(src, tgt), theirs(src, tgt), atol=1e-5, rtol=1e-5)
    src_mask = torch.rand(6, 6, generator=gen) > 0.3
    src_mask.fill_diagonal_(True)                 # every query keeps at least one key
    memory_mask = torch.rand(4, 6, generator=gen) > 0.3
    memory_mask[:, 0] = True
    torch.testing.assert_close(ours(src, tgt, src_mask=src_mask, memory_mask=memory_mask),
                               theirs(src, tgt, src_mask=~src_mask, memory_mask=~memory_mask),
                               atol=1e-5, rtol=1e-5)


def test_readable_path_with_weights_equals_fast_path():
    ours, _ = pair(True)
    gen = torch.Generator().manual_seed(4)
    src, tgt = torch.randn(2, 6, D, generator=gen), torch.randn(2, 4, D, generator=gen)
    real = padding_mask([6, 3])
    memory, enc_w = ours.encoder(src, key_padding_mask=real, need_weights=True)
    torch.testing.assert_close(memory, ours.encoder(src, key_padding_mask=real),
                               atol=1e-5, rtol=1e-5)
    out, dec_w = ours.decoder(tgt, memory, tgt_is_causal=True, memory_key_padding_mask=real,
                              need_weights=True)
    self_w, cross_w = dec_w["self"], dec_w["cross"]
    torch.testing.assert_close(out, ours.decoder(tgt, memory, tgt_is_causal=True,
                                                 memory_key_padding_mask=real),
                               atol=1e-5, rtol=1e-5)
    assert [w.shape for w in enc_w] == [(2, H, 6, 6)] * 2
    assert [w.shape for w in self_w] == [(2, H, 4, 4)] * 2
    assert [w.shape for w in cross_w] == [(2, H, 4, 6)] * 2
    assert torch.all(self_w[0].triu(diagonal=1) == 0)          # causal: nothing above diagonal
    assert torch.all(cross_w[1][1, :, :, 3:] == 0)             # padded source gets no weight


def test_decoder_is_causal():
    """Changing target token t+1 leaves the decoder's outputs at positions <= t unchanged."""
    torch.manual_seed(0)
    decoder = TransformerDecoder(D, H, FF, num_layers=2).eval()
    gen = torch.Generator().manual_seed(5)
    tgt, memory = torch.randn(2, 6, D, generator=gen), torch.randn(2, 5, D, generator=gen)
    base = decoder(tgt, memory, tgt_is_causal=True)
    for t in range(5):
        changed = tgt.clone()
        changed[:, t + 1] = torch.randn(2, D, generator=gen)
        out = decoder(changed, memory, tgt_is_causal=True)
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1])
        assert not torch.allclose(out[:, t + 1], base[:, t + 1])
    # without the mask the future leaks into the past
    leaky = decoder(changed, memory)
    assert not torch.allclose(leaky[:, 0], decoder(tgt, memory)[:, 0])


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradcheck(norm_first):
    torch.manual_seed(0)
    layer = EncoderLayer(4, 2, 8, norm_first=norm_first).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    real = padding_mask([3, 2])
    assert torch.autograd.gradcheck(lambda x: layer(x, key_padding_mask=real), (x,))
    assert torch.autograd.gradcheck(
        lambda x: layer(x, key_padding_mask=real, need_weights=True)[0], (x,))


def test_positionwise_ffn_is_the_two_layer_mlp():
    torch.manual_seed(0)
    ffn = PositionwiseFFN(8, 16)
    x = torch.randn(2, 3, 8)
    manual = ffn.linear2(torch.relu(ffn.linear1(x)))
    torch.testing.assert_close(ffn(x), manual)
    # position-wise: each position is transformed on its own
    torch.testing.assert_close(ffn(x)[:, 1:2], ffn(x[:, 1:2]))
    gelu = PositionwiseFFN(8, 16, activation="gelu")
    torch.testing.assert_close(gelu(x), gelu.linear2(nn.functional.gelu(gelu.linear1(x))))
    with pytest.raises(ValueError, match=r"activation: expected one of \['gelu', 'relu'\], "
                                         r"got 'tanh'"):
        PositionwiseFFN(8, 16, activation="tanh")


def test_final_norm_only_for_pre_norm_by_default():
    assert TransformerEncoder(D, H, FF, 1).norm is None
    assert isinstance(TransformerEncoder(D, H, FF, 1, norm_first=True).norm, nn.LayerNorm)
    assert isinstance(TransformerDecoder(D, H, FF, 1, norm_first=True).norm, nn.LayerNorm)
    assert isinstance(tf(1, 1).encoder.norm, nn.LayerNorm)  # as torch


def test_copy_errors_and_shape_errors():
    theirs = nn.Transformer(d_model=D, nhead=H, num_encoder_layers=1, num_decoder_layers=2,
                            dim_feedforward=FF, batch_first=True)
    with pytest.raises(ValueError, match="theirs: expected 2 encoder layers, got 1"):
        copy_from_torch_transformer(tf(2, 2), theirs)
    with pytest.raises(ValueError, match=r"theirs: expected linear1 of shape \(128, 32\), "
                                         r"got \(64, 32\)"):
        copy_from_torch_transformer(tf(1, 2, d_ff=128), theirs)
    with pytest.raises(ValueError, match="theirs: expected norm_first=True in the encoder, "
                                         "got norm_first=False"):
        copy_from_torch_transformer(tf(1, 2, norm_first=True), theirs)
    ours = tf(1, 1)
    with pytest.raises(ValueError, match=r"src, tgt: expected shapes \(B, S, 32\) and "
                                         r"\(B, T, 32\) with the same B, got \(2, 5, 32\) "
                                         r"and \(3, 4, 32\)"):
        ours(torch.zeros(2, 5, D), torch.zeros(3, 4, D))
    with pytest.raises(ValueError, match=r"x: expected shape \(B, S, 32\), got \(2, 5, 16\)"):
        ours.encoder.layers[0](torch.zeros(2, 5, 16))


# ---------------------------------------------------------------- Seq2SeqTransformer


def tiny_seq2seq(seed: int = 0, **kwargs) -> Seq2SeqTransformer:
    torch.manual_seed(seed)
    options = dict(d_model=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=2,
                   d_ff=64, max_len=16, pad_id=0)
    options.update(kwargs)
    return Seq2SeqTransformer(Seq2SeqTransformerConfig(src_vocab_size=11, tgt_vocab_size=13,
                                                       **options)).eval()


def test_seq2seq_shapes_and_forward_equals_encode_decode():
    model = tiny_seq2seq()
    src = torch.tensor([[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 2, 3]])
    tgt_in = torch.tensor([[1, 5, 6], [1, 2, 0]])
    logits = model(src, tgt_in)
    assert logits.shape == (2, 3, 13)
    memory = model.encode(src)
    assert memory.shape == (2, 6, 32)
    torch.testing.assert_close(logits, model.decode(tgt_in, memory, src != 0))


def test_seq2seq_padding_does_not_change_the_result():
    model = tiny_seq2seq()
    src = torch.tensor([[3, 4, 5]])
    tgt_in = torch.tensor([[1, 7, 8]])
    padded_src = torch.tensor([[3, 4, 5, 0, 0, 0]])
    padded_tgt = torch.tensor([[1, 7, 8, 0]])
    torch.testing.assert_close(model(padded_src, padded_tgt)[:, :3], model(src, tgt_in),
                               atol=1e-5, rtol=1e-5)


def test_seq2seq_need_weights_returns_every_attention_map():
    model = tiny_seq2seq(num_encoder_layers=3)
    src = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9]])
    tgt_in = torch.tensor([[1, 5, 6], [1, 2, 4]])
    logits, maps = model(src, tgt_in, need_weights=True)
    torch.testing.assert_close(logits, model(src, tgt_in), atol=1e-5, rtol=1e-5)
    assert [m.shape for m in maps["encoder_self"]] == [(2, 4, 4, 4)] * 3
    assert [m.shape for m in maps["decoder_self"]] == [(2, 4, 3, 3)] * 2
    assert [m.shape for m in maps["cross"]] == [(2, 4, 3, 4)] * 2
    for weights in maps["encoder_self"] + maps["decoder_self"] + maps["cross"]:
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
    assert torch.all(maps["cross"][0][0, :, :, 3] == 0)        # the pad of source 0
    assert torch.all(maps["decoder_self"][1].triu(diagonal=1) == 0)


def test_greedy_translate_equals_a_hand_written_loop():
    model = tiny_seq2seq(seed=2)
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    tokens = greedy_translate(model, src, bos_id=1, eos_id=2, max_len=6)
    prefix = torch.ones(2, 1, dtype=torch.long)
    for _ in range(tokens.shape[1]):
        next_token = model(src, prefix)[:, -1].argmax(-1)
        prefix = torch.cat([prefix, next_token[:, None]], 1)
    ended = torch.cumsum(prefix[:, 1:] == 2, 1) > 0                 # at or after <eos>
    first_eos = ended & (torch.cumsum(ended, 1) == 1)
    expected = torch.where(ended & ~first_eos, torch.full_like(prefix[:, 1:], 2), prefix[:, 1:])
    assert torch.equal(tokens, expected)


def test_seq2seq_learns_to_copy_a_batch():
    """A training smoke test: the model can fit a tiny copy task in a few steps."""
    model = tiny_seq2seq(seed=0, num_encoder_layers=1, num_decoder_layers=1).train()
    gen = torch.Generator().manual_seed(0)
    src = torch.randint(3, 11, (8, 4), generator=gen)
    tgt_in = torch.cat([torch.ones(8, 1, dtype=torch.long), src], 1)      # <bos> + copy
    tgt_out = torch.cat([src, torch.full((8, 1), 2)], 1)                  # copy + <eos>
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(src, tgt_in).transpose(1, 2), tgt_out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1, f"copy loss after 60 steps: {loss.item():.3f}"
    tokens = greedy_translate(model, src, bos_id=1, eos_id=2, max_len=5)
    assert torch.equal(tokens, tgt_out)
    assert model.training                                    # mode restored


def test_seq2seq_errors():
    model = tiny_seq2seq()
    with pytest.raises(ValueError, match="src: length 20 exceeds max_len 16"):
        model(torch.ones(1, 20, dtype=torch.long), torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tgt_in: expected integer ids of shape \(B, T\), "
                                         r"got \(3,\) torch.int64"):
        model(torch.ones(1, 4, dtype=torch.long), torch.ones(3, dtype=torch.long))


def test_transformer_need_weights_and_config_errors():
    ours, _ = pair(False)
    src, tgt = torch.randn(2, 5, D), torch.randn(2, 3, D)
    out, maps = ours(src, tgt, tgt_is_causal=True, need_weights=True)
    torch.testing.assert_close(out, ours(src, tgt, tgt_is_causal=True), atol=1e-5, rtol=1e-5)
    assert [m.shape for m in maps["cross"]] == [(2, H, 3, 5)] * 2
    with pytest.raises(ValueError, match="d_model: expected a multiple of num_heads=3, got 32"):
        TransformerConfig(d_model=32, num_heads=3)
    with pytest.raises(ValueError, match="dropout: expected a probability in"):
        TransformerConfig(dropout=1.5)
    with pytest.raises(ValueError, match="max_len: expected a positive integer, got 0"):
        Seq2SeqTransformerConfig(src_vocab_size=5, tgt_vocab_size=5, max_len=0)
    with pytest.raises(TypeError):
        TransformerConfig(32)  # keyword-only


def test_recipe_trains_and_trim_padding_keeps_the_result():
    from course_lib.data import synthetic
    from course_lib.models.transformer import (
        exact_match,
        fit_seq2seq,
        teacher_forcing_loss,
        trim_padding,
    )

    data = synthetic.copy_task(512, 1, 4, num_symbols=4, seed=0)
    model = tiny_seq2seq(num_encoder_layers=1, num_decoder_layers=1)
    model.train()
    batch = tuple(t[:8] for t in data.tensors())
    before = teacher_forcing_loss(model, batch).item()
    assert trim_padding(torch.tensor([[3, 4, 0, 0], [5, 0, 0, 0]]), 0).shape == (2, 2)
    torch.testing.assert_close(teacher_forcing_loss(model, batch, trim_source=True),
                               teacher_forcing_loss(model, batch), atol=1e-5, rtol=1e-5)
    history = fit_seq2seq(model, data.tensors(), steps=120, peak_lr=3e-3, warmup=10,
                          eval_fn=lambda m: {"exact": exact_match(
                              m, data.src[:64], data.tgt_out[:64], synthetic.BOS_ID,
                              synthetic.EOS_ID)}, eval_every=120, desc="copy")
    assert history.losses[-1] < before / 2
    assert history.final_eval["exact"] > 0.5, history.final_eval
