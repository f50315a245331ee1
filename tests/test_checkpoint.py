"""Checkpoints: one file with weights, config, vocabulary and extras; clear errors."""

from __future__ import annotations

import pytest
import torch
from tiny_models import tiny_gpt

from course_lib.data.vocab import Vocab
from course_lib.models.gpt import GPT
from course_lib.training import sampling
from course_lib.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def _gpt(seed: int = 0, **overrides) -> GPT:
    return tiny_gpt(vocab_size=11, seed=seed, **overrides).train()


def test_round_trip_rebuilds_the_same_model(tmp_path):
    model = _gpt()
    vocab = Vocab("abcdefg")
    path = save_checkpoint(tmp_path / "sub" / "gpt.pt", model, vocab=vocab,
                           extra={"step": 7, "val_loss": 1.25, "note": "test"})
    loaded = load_checkpoint(path)
    assert isinstance(loaded, Checkpoint)
    assert isinstance(loaded.model, GPT) and loaded.model is not model
    assert loaded.config == model.config
    assert loaded.vocab.itos == vocab.itos and loaded.vocab.stoi == vocab.stoi
    assert loaded.extra == {"step": 7, "val_loss": 1.25, "note": "test"}
    assert not loaded.model.training  # ready to generate
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.model.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name


def test_loaded_model_generates_the_same_tokens(tmp_path):
    model = _gpt(seed=3)
    prompt = torch.tensor([[1, 2, 3]])
    before = sampling.generate(model, prompt, 20, temperature=1.0,
                               generator=torch.Generator().manual_seed(0))
    loaded = load_checkpoint(save_checkpoint(tmp_path / "m.pt", model)).model
    after = sampling.generate(loaded, prompt, 20, temperature=1.0,
                              generator=torch.Generator().manual_seed(0))
    assert torch.equal(before, after)


def test_file_loads_with_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _gpt(), vocab=Vocab("xy"))
    payload = torch.load(path, weights_only=True)  # no pickled classes inside
    assert payload["model_class"] == "course_lib.models.gpt.GPT"


def test_load_into_a_given_model(tmp_path):
    source, target = _gpt(seed=0), _gpt(seed=1)
    path = save_checkpoint(tmp_path / "m.pt", source)
    result = load_checkpoint(path, model=target)
    assert result.model is target
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name


def test_plain_module_without_config(tmp_path):
    linear = torch.nn.Linear(3, 2)
    path = save_checkpoint(tmp_path / "lin.pt", linear)
    other = torch.nn.Linear(3, 2)
    load_checkpoint(path, model=other)
    assert torch.equal(other.weight, linear.weight)
    with pytest.raises(ValueError, match="only course_lib classes can be rebuilt"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path: no checkpoint at .*nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a torch file")
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="is not a course checkpoint"):
        load_checkpoint(other)


def test_mismatched_model_names_the_difference(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _gpt(d_model=32))
    with pytest.raises(ValueError, match=r"does not fit this model \(different shapes: .*"
                                         r"checkpoint \(.*32.*\), model \(.*64.*\)"):
        load_checkpoint(path, model=_gpt(d_model=64))
    with pytest.raises(ValueError, match="missing from the checkpoint"):
        load_checkpoint(path, model=_gpt(d_model=32, num_layers=3))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="model: expected a torch.nn.Module, got dict"):
        save_checkpoint(tmp_path / "x.pt", {"a": 1})
    with pytest.raises(ValueError, match="config: expected a dataclass instance .* got dict"):
        save_checkpoint(tmp_path / "x.pt", torch.nn.Linear(2, 2), config={"a": 1})


def test_pickled_objects_are_refused(tmp_path):
    # a whole pickled module (the unsafe way to save) is not read: loading could run code
    path = tmp_path / "pickled.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(ValueError, match="weights_only=True refuses to unpickle"):
        load_checkpoint(path)


def _families():
    """One small model of every family, each built from its config."""
    from course_lib.models import hard_attention, rnn, seq2seq, story_reader, transformer

    return {
        "gpt": lambda: _gpt(),
        "transformer": lambda: transformer.Transformer(transformer.TransformerConfig(
            d_model=16, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, d_ff=32)),
        "seq2seq_transformer": lambda: transformer.Seq2SeqTransformer(
            transformer.Seq2SeqTransformerConfig(src_vocab_size=9, tgt_vocab_size=7, d_model=16,
                                                 num_heads=2, num_encoder_layers=1,
                                                 num_decoder_layers=1, d_ff=32, max_len=12)),
        "seq2seq_gru": lambda: seq2seq.Seq2Seq(seq2seq.Seq2SeqConfig(
            src_vocab_size=9, tgt_vocab_size=7, embed_dim=8, hidden_size=12, attention=True)),
        "seq2seq_gru_no_attention": lambda: seq2seq.Seq2Seq(seq2seq.Seq2SeqConfig(
            src_vocab_size=9, tgt_vocab_size=7, embed_dim=8, hidden_size=12, attention=False)),
        "recurrent_classifier": lambda: rnn.RecurrentClassifier(rnn.RecurrentClassifierConfig(
            kind="lstm", vocab_size=9, num_classes=3, hidden_size=8, gate_bias=3.0)),
        "attention_classifier": lambda: rnn.AttentionClassifier(rnn.AttentionClassifierConfig(
            vocab_size=9, num_classes=3, d_model=8, num_heads=2, max_len=16)),
        "adding_regressor": lambda: rnn.AddingRegressor(rnn.AddingRegressorConfig(
            hidden_size=8, spectral_radius=1.5)),
        "pointer_classifier": lambda: hard_attention.PointerClassifier(
            hard_attention.PointerClassifierConfig(key_dim=6, num_classes=3, hard=True)),
        "story_reader": lambda: story_reader.StoryReader(story_reader.StoryReaderConfig(
            vocab_size=9, num_classes=3, d_model=8, d_ff=8)),
    }


@pytest.mark.parametrize("family", sorted(_families()))
def test_every_model_family_rebuilds_from_its_checkpoint(tmp_path, family):
    torch.manual_seed(0)
    model = _families()[family]()
    loaded = load_checkpoint(save_checkpoint(tmp_path / f"{family}.pt", model))
    assert type(loaded.model) is type(model) and loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.model.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("family", sorted(_families()))
def test_every_config_is_keyword_only(family):
    import dataclasses

    config = _families()[family]().config
    fields = dataclasses.fields(config)
    assert fields and all(f.kw_only for f in fields), f"{type(config).__name__}: use kw_only=True"
