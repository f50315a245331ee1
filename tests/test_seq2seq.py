"""GRU encoder-decoder with and without Bahdanau attention."""

import pytest
import torch

from course_lib.data.dates import (
    encode_sources,
    make_date_splits,
    source_vocab,
    target_vocab,
)
from course_lib.experiments.dates import translate
from course_lib.models import seq2seq as S
from course_lib.training import decoding, losses


def model_and_batch(attention=True, seed=0):
    torch.manual_seed(seed)
    src_vocab, tgt_vocab = source_vocab(), target_vocab()
    model = S.Seq2Seq(S.Seq2SeqConfig(src_vocab_size=len(src_vocab),
                                      tgt_vocab_size=len(tgt_vocab), embed_dim=8, hidden_size=12,
                                      attention=attention, attn_dim=10)).double()
    src, lengths = encode_sources(["21 Nov 2026", "2026年11月21日", "Saturday, November 21, 2026"],
                                  src_vocab)
    tgt_in = torch.randint(4, len(tgt_vocab), (3, 5))
    return model, src, lengths, tgt_in


def test_encoder_ignores_padding():
    # Each sequence run alone, unpadded, through the same GRU gives the same states.
    model, src, lengths, _ = model_and_batch()
    out, summary = model.encoder(src, src != model.pad_id)
    for b in range(3):
        n = int(lengths[b])
        alone, alone_summary = model.encoder(src[b:b + 1, :n], src[b:b + 1, :n] != model.pad_id)
        torch.testing.assert_close(out[b, :n], alone[0])
        torch.testing.assert_close(summary[b], alone_summary[0])
        assert (out[b, n:] == 0).all()


def test_encoder_matches_torch_gru_run_by_hand():
    model, src, lengths, _ = model_and_batch()
    gru, emb = model.encoder.gru, model.encoder.embed
    n = int(lengths[0])
    x = emb(src[:1, :n])
    fwd = torch.nn.GRU(8, 12, batch_first=True).double()
    bwd = torch.nn.GRU(8, 12, batch_first=True).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(fwd, f"{name}_l0").data.copy_(getattr(gru, f"{name}_l0"))
        getattr(bwd, f"{name}_l0").data.copy_(getattr(gru, f"{name}_l0_reverse"))
    f_out, _ = fwd(x)
    b_out, _ = bwd(x.flip(1))
    out, summary = model.encoder(src[:1], src[:1] != model.pad_id)
    torch.testing.assert_close(out[0, :n], torch.cat([f_out[0], b_out[0].flip(0)], -1))
    torch.testing.assert_close(summary[0], torch.cat([f_out[0, -1], b_out[0, -1]]))


def test_fast_step_equals_readable_step_with_additive_attention():
    model, src, lengths, tgt_in = model_and_batch()
    h, enc, mask, summary, keys = model.encode(src)
    for t in range(tgt_in.shape[1]):
        slow = model.decoder.step(tgt_in[:, t], h, enc, mask, summary)
        fast = model.decoder.fast_step(tgt_in[:, t], h, enc, mask, summary, keys)
        for a, b in zip(slow, fast, strict=True):
            torch.testing.assert_close(a, b)
        h = slow[1]


def test_attention_weights_are_a_distribution_over_real_tokens():
    model, src, lengths, tgt_in = model_and_batch()
    _, weights = model(src, tgt_in, need_weights=True)
    assert weights.shape == (3, tgt_in.shape[1], src.shape[1])
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, tgt_in.shape[1], dtype=torch.double))
    for b in range(3):
        assert (weights[b, :, int(lengths[b]):] == 0).all()


def test_forward_equals_stepping_with_teacher_forcing():
    for attention in (True, False):
        model, src, lengths, tgt_in = model_and_batch(attention)
        logits = model(src, tgt_in)
        state = model.encode(src)
        for t in range(tgt_in.shape[1]):
            log_probs, state = model.step(tgt_in[:, :t + 1], state)
            torch.testing.assert_close(log_probs, torch.log_softmax(logits[:, t], -1))


def test_no_attention_decoder_sees_only_the_summary():
    model, src, lengths, tgt_in = model_and_batch(attention=False)
    h, enc, mask, summary, keys = model.encode(src)
    a = model.decoder.step(tgt_in[:, 0], h, enc, mask, summary)
    b = model.decoder.step(tgt_in[:, 0], h, torch.randn_like(enc), mask, summary)
    torch.testing.assert_close(a[0], b[0])
    assert a[2] is None and model(src, tgt_in, need_weights=True)[1] is None


def test_decoding_paths_agree():
    model, src, lengths, _ = model_and_batch()
    tv = target_vocab()
    tokens_w, weights = S.greedy_with_attention(model, src, tv.bos_id, tv.eos_id, 6)
    tokens, _ = decoding.greedy_decode(model.step, tv.bos_id, tv.eos_id, 3, 6,
                                       model.encode(src))
    n = tokens.shape[1]
    for b in range(3):  # identical until a sequence ends
        seq = tokens[b].tolist()
        end = seq.index(tv.eos_id) + 1 if tv.eos_id in seq else n
        assert seq[:end] == tokens_w[b, :end].tolist()
    assert tokens_w.shape == (3, 6) and weights.shape == (3, 6, src.shape[1])  # every step
    beam1 = S.predict_ids(model, src, tv.bos_id, tv.eos_id, 6, beam_size=1)
    assert beam1.shape == (3, 6)
    wide = S.predict_ids(model, src, tv.bos_id, tv.eos_id, 6, beam_size=3)
    assert wide.shape == (3, 6)


def test_learns_a_small_date_set():
    torch.manual_seed(0)
    splits = make_date_splits(seed=0, n_train=256, n_val=8, n_test=8,
                              formats=["dd/mm/yyyy", "zh_digits"])
    tr, tv = splits.train, splits.tgt_vocab
    model = S.Seq2Seq(S.Seq2SeqConfig(src_vocab_size=len(splits.src_vocab), tgt_vocab_size=len(tv),
                                      embed_dim=16, hidden_size=32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    batch = (tr.src, tr.tgt_in, tr.tgt_out)
    for _ in range(100):
        loss = S.sequence_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3
    ids = S.predict_ids(model, tr.src, tv.bos_id, tv.eos_id, 11)
    pred = [tv.decode(r.tolist()) for r in ids]
    assert losses.string_matches(pred, tr.targets).float().mean() > 0.5


def test_translate_rejects_unknown_characters_and_tidies_spaces():
    model, _, _, _ = model_and_batch()
    model = model.float()
    out = translate(model, "  21  Nov 2026 ", source_vocab(), target_vocab())
    assert isinstance(out, str) and len(out) <= 11
    with pytest.raises(ValueError, match=r"outside the date vocabulary: \['@'\]"):
        translate(model, "21 Nov @ 2026", source_vocab(), target_vocab())


def test_clear_errors():
    model, src, lengths, _ = model_and_batch()
    with pytest.raises(ValueError, match=r"src: expected integer ids of shape \(B, S\)"):
        model.encoder(src[0], src[0] != 0)
    with pytest.raises(ValueError, match=r"key_padding_mask: expected shape \(3, "):
        model.encoder(src, (src != 0)[:2])
    with pytest.raises(ValueError, match="a row of padding only"):
        model(torch.zeros_like(src), src[:, :3])
    with pytest.raises(ValueError, match="hidden_size: expected a positive integer, got 0"):
        S.Seq2SeqConfig(src_vocab_size=5, tgt_vocab_size=5, hidden_size=0)


def test_lesson_plots_crop_check_and_romanise():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from course_lib.notebook import plots as viz

    ax = viz.alignment_heatmap(np.random.rand(11, 14), "2026年11月21日", "2026-11-21")
    assert ax.images[0].get_array().shape == (10, 11)  # cut to the strings' lengths
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 11 and (viz.has_cjk_font() or "nian" in labels)
    with pytest.raises(ValueError, match=r"weights: expected shape \(>= 10, >= 11\)"):
        viz.alignment_heatmap(np.random.rand(5, 5), "2026年11月21日", "2026-11-21")
    ax = viz.accuracy_by_length([9, 10, 20, 21], {"m": [True, False, True, True]},
                                bins=[8, 12, 30])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.5, 1.0])
    with pytest.raises(ValueError, match="weights: expected shape \\(2,\\)"):
        viz.word_weights(["a", "b"], [1.0, 2.0, 3.0])
    plt.close("all")
