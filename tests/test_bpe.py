"""Byte-level BPE (course_lib.tokenizers.bpe): the rules of GPT-2's tokenizer, the two trainers
agree, encoding equals Hugging Face's ``tokenizers`` (Rust) on the same merges, round trips."""

from __future__ import annotations

import random

import pytest

from course_lib.data.text import pydoc_topics_text
from course_lib.tokenizers import bpe
from course_lib.tokenizers.bpe import BPETokenizer, train_bpe, train_bpe_naive

EOT = "<|endoftext|>"
MIXED = ("Hello, world! It's 2024; they'll pay $3.50.\n\n  def f(x):\n\treturn x ** 2  \n"
         "注意力机制是一种让模型关注重要部分的方法。🙂👍🏽 café naïve\u00a0Ωμέγα " + EOT + " end")


@pytest.fixture(scope="module")
def corpus() -> str:
    return pydoc_topics_text()[:60_000]


@pytest.fixture(scope="module")
def tokenizer(corpus: str) -> BPETokenizer:
    return BPETokenizer.train(corpus, 400, [EOT])


def test_pretokens_follow_gpt2_pattern() -> None:
    assert bpe.pretokenize("Hello world's 42 cats!!  ok") == [
        "Hello", " world", "'s", " 42", " cats", "!!", " ", " ok"]
    assert "".join(bpe.pretokenize(MIXED)) == MIXED  # nothing is lost


def test_special_tokens_split_longest_first() -> None:
    pieces = bpe.split_on_special("a<|x|><|x|>b<|x|>", ["<|x|>", "<|x|><|x|>"])
    assert pieces == ["a", "<|x|><|x|>", "b", "<|x|>"]


def test_tie_goes_to_the_lexicographically_greater_pair() -> None:
    counts = {(b"a", b"b"): 3, (b"b", b"c"): 3, (b"a", b"a"): 2}
    assert bpe.best_pair(counts) == (b"b", b"c")
    # The classic example (Sennrich et al. 2016): "low lower newest widest" with counts.
    text = "low " * 5 + "lower " * 2 + "widest " * 3 + "newest " * 6
    _, merges = train_bpe(text, 256 + 6)
    assert merges[:3] == [(b"s", b"t"), (b"e", b"st"), (b"o", b"w")]


def test_merges_never_cross_a_pretoken() -> None:
    # "a." occurs 50 times across the pre-tokens "a" and "."; inside one pre-token it never
    # occurs, so it is never merged however frequent.
    vocab, merges = train_bpe("a. " * 50 + "xy " * 3, 256 + 5)
    assert (b"a", b".") not in merges and all(b"a." not in t for t in vocab.values())


def test_special_tokens_are_never_merged(corpus: str) -> None:
    vocab, merges = train_bpe((corpus[:5000] + EOT) * 3, 300, [EOT])
    assert vocab[256] == EOT.encode()
    assert not any(b"<|" in a + b for a, b in merges)


def test_merge_step_is_one_merge() -> None:
    words = [[b"a", b"b"], [b"a", b"b", b"c"], [b"b", b"c"], [b"b", b"c"]]
    pair, merged = bpe.merge_step(words)
    assert pair == (b"b", b"c")  # 3 times inside pre-tokens; a b only twice
    assert merged == [[b"a", b"b"], [b"a", b"bc"], [b"bc"], [b"bc"]]
    assert bpe.merge_pair((b"a",) * 5, (b"a", b"a")) == (b"aa", b"aa", b"a")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_trainer_equals_the_naive_one(corpus: str, seed: int) -> None:
    rng = random.Random(seed)
    start = rng.randrange(0, len(corpus) - 20_000)
    text = corpus[start:start + 20_000] + MIXED
    fast = train_bpe(text, 420, [EOT])
    slow = train_bpe_naive(text, 420, [EOT])
    assert fast == slow
    assert len(fast[0]) == 420 and len(fast[1]) == 420 - 257


def test_training_stops_when_nothing_is_left() -> None:
    vocab, merges = train_bpe("aaaa", 400)
    assert merges == [(b"a", b"a"), (b"aa", b"aa")] and len(vocab) == 258


def test_vocab_size_too_small_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="vocab_size: expected an int >= 257"):
        train_bpe("abc", 256, [EOT])


@pytest.mark.parametrize("text", [MIXED, "", " ", "\n\n\n", "🙂" * 7, "数学 123+456=579"])
def test_round_trip(tokenizer: BPETokenizer, text: str) -> None:
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_encode_equals_huggingface_tokenizers(tokenizer: BPETokenizer, corpus: str,
                                              tmp_path) -> None:
    """The same vocabulary and merges in GPT-2's file format, read by the Rust library."""
    tokenizers = pytest.importorskip("tokenizers")
    tokenizer.save_gpt2_files(tmp_path / "encoder.json", tmp_path / "vocab.bpe")
    theirs = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(
        str(tmp_path / "encoder.json"), str(tmp_path / "vocab.bpe")))
    theirs.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    theirs.add_special_tokens([EOT])
    text = pydoc_topics_text()[100_000:130_000] + MIXED
    assert tokenizer.encode(text) == theirs.encode(text).ids
    reread = BPETokenizer.from_gpt2_files(tmp_path / "encoder.json", tmp_path / "vocab.bpe")
    assert reread.vocab == tokenizer.vocab and reread.merges == tokenizer.merges


def test_special_token_is_one_id(tokenizer: BPETokenizer) -> None:
    ids = tokenizer.encode(f"a{EOT}b")
    assert tokenizer.token_bytes(ids) == [b"a", EOT.encode(), b"b"]


@pytest.mark.parametrize("seed", range(6))
def test_encode_iterable_equals_encode_for_any_chunking(tokenizer: BPETokenizer,
                                                        seed: int) -> None:
    rng = random.Random(seed)
    text = MIXED + " it'll   be  " + EOT[:5] + "x" + EOT + "'ll 'l" + MIXED
    cuts = sorted(rng.sample(range(1, len(text)), 25))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert list(tokenizer.encode_iterable(chunks)) == tokenizer.encode(text)
    assert list(tokenizer.encode_iterable(iter(text.splitlines(keepends=True)))) == \
        tokenizer.encode(text)


def test_encode_iterable_is_lazy(tokenizer: BPETokenizer) -> None:
    def lines():
        yield "hello world\n"
        raise RuntimeError("read too far")

    stream = tokenizer.encode_iterable(lines())
    assert "hello".startswith(tokenizer.decode([next(stream)]))  # before the second chunk


def test_decode_shows_broken_utf8_and_rejects_unknown_ids(tokenizer: BPETokenizer) -> None:
    ids = tokenizer.encode("注")
    assert tokenizer.decode(ids[:1]) == "\ufffd" or len(ids) == 1
    with pytest.raises(ValueError, match="expected ids in the vocabulary"):
        tokenizer.decode([10 ** 6])


def test_gpt2_byte_map_is_a_bijection_onto_printable_characters() -> None:
    mapping = bpe.bytes_to_unicode()
    assert len(set(mapping.values())) == 256 and mapping[32] == "Ġ" and mapping[ord("a")] == "a"
    assert all(c.isprintable() for c in mapping.values())


def test_a_broken_vocab_is_rejected() -> None:
    with pytest.raises(ValueError, match="all 256 single bytes"):
        BPETokenizer({0: b"a"}, [])
    base = {i: bytes([i]) for i in range(256)}
    with pytest.raises(ValueError, match="not in vocab"):
        BPETokenizer(base, [(b"a", b"b")])
