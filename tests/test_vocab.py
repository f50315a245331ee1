from __future__ import annotations

import pytest
import torch

from course_lib.data.vocab import Vocab


def test_round_trip_and_specials() -> None:
    vocab = Vocab.from_texts(["hello", "world"])
    assert vocab.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    ids = vocab.encode("hello", add_bos=True, add_eos=True)
    assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
    assert vocab.decode(ids) == "hello"
    assert vocab.decode(vocab.encode("hex")) == "he"  # <unk> is a special: dropped
    assert vocab.unknown("hex!x") == ["x", "!"]


def test_strict_encoding_names_unknown_characters() -> None:
    vocab = Vocab.from_texts(["abc"])
    with pytest.raises(ValueError, match=r"characters \['z'\] are not in the vocabulary"):
        vocab.encode("abz", strict=True)


def test_pad_batch() -> None:
    vocab = Vocab.from_texts(["abc"])
    batch, lengths = vocab.pad_batch([[4, 5], [4, 5, 6]])
    assert batch.tolist() == [[4, 5, 0], [4, 5, 6]]
    assert torch.equal(lengths, torch.tensor([2, 3]))
    with pytest.raises(ValueError, match="expected >= the longest sequence"):
        vocab.pad_batch([[4, 5, 6]], length=2)
