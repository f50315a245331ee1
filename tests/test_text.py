"""Character corpora: the built-in text, vocabulary, contiguous split, windows, losses,
and the optional download's checksum / cache / offline fallback (never the real network)."""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
import torch

from course_lib.data import text
from course_lib.training import language_model
from course_lib.training.loop import train


@pytest.fixture(scope="module")
def corpus() -> text.CharCorpus:
    return text.load_corpus()


def test_pydoc_text_is_large_deterministic_and_sorted_by_topic():
    from pydoc_data.topics import topics

    first, second = text.pydoc_topics_text(), text.pydoc_topics_text()
    assert first == second
    assert len(first) > 200_000
    # topics appear in sorted key order, so the split does not depend on dict order
    keys = sorted(topics)
    positions = [first.index(topics[k].strip("\n")) for k in keys[:5]]
    assert positions == sorted(positions)


def test_corpus_split_is_contiguous_last_ten_percent(corpus):
    ids = torch.tensor(corpus.vocab.encode(corpus.text))
    assert torch.equal(torch.cat([corpus.train, corpus.val]), ids)
    assert len(corpus.val) == len(ids) - round(0.9 * len(ids))
    summary = corpus.summary()
    assert summary["characters"] == len(corpus.text)
    assert summary["train characters"] + summary["validation characters"] == len(corpus.text)
    assert summary["vocabulary"] == len(corpus.vocab) == len(set(corpus.text)) + 4
    assert "validation characters" in corpus.describe()


def test_vocab_round_trips_the_whole_text(corpus):
    ids = corpus.vocab.encode(corpus.text)
    assert corpus.vocab.unk_id not in ids  # every character has its own id
    assert corpus.vocab.decode(ids) == corpus.text


def test_split_contiguous_errors():
    with pytest.raises(ValueError, match=r"val_fraction: expected a number in \(0, 1\), got 1.5"):
        text.split_contiguous(torch.arange(10), 1.5)
    with pytest.raises(ValueError, match=r"ids: expected a 1-D sequence, got shape \(2, 5\)"):
        text.split_contiguous(torch.zeros(2, 5), 0.1)


def test_unknown_corpus_name():
    with pytest.raises(ValueError, match=r"name: expected one of .*pydoc_topics.*, got 'nope'"):
        text.load_corpus("nope")


def test_random_windows_are_real_shifted_windows():
    ids = torch.arange(100) * 3
    gen = torch.Generator().manual_seed(0)
    x, y = text.random_windows(ids, batch_size=16, max_len=8, generator=gen)
    assert x.shape == y.shape == (16, 8)
    assert torch.equal(x[:, 1:], y[:, :-1])  # y is x shifted by one
    for row_x, row_y in zip(x, y, strict=True):
        start = int(row_x[0]) // 3
        assert torch.equal(row_x, ids[start:start + 8])
        assert torch.equal(row_y, ids[start + 1:start + 9])


def test_random_windows_reach_both_ends_and_no_further():
    ids = torch.arange(12)
    gen = torch.Generator().manual_seed(1)
    x, y = text.random_windows(ids, batch_size=2000, max_len=4, generator=gen)
    starts = set(x[:, 0].tolist())
    assert starts == set(range(0, 12 - 4))  # the last window ends on the last id
    assert int(y.max()) == 11


def test_random_windows_are_reproducible_from_the_seed():
    ids = torch.arange(1000)
    a = text.random_windows(ids, 4, 16, torch.Generator().manual_seed(5))
    b = text.random_windows(ids, 4, 16, torch.Generator().manual_seed(5))
    c = text.random_windows(ids, 4, 16, torch.Generator().manual_seed(6))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


def test_window_errors():
    ids = torch.arange(10)
    with pytest.raises(ValueError, match=r"ids: expected at least max_len \+ 1 = 11 "
                                         r"tokens, got 10"):
        text.random_windows(ids, 2, 10)
    with pytest.raises(ValueError, match="max_len: expected a positive integer, got 0"):
        text.window_batches(ids, 2, 0)
    with pytest.raises(ValueError, match="batch_size: expected a positive integer, got 0"):
        text.random_windows(ids, 0, 4)
    with pytest.raises(ValueError, match=r"ids: expected a 1-D sequence, got shape \(2, 5\)"):
        text.sequential_windows(torch.zeros(2, 5, dtype=torch.long), 2)


def test_sequential_windows_cover_the_text_in_order():
    ids = torch.arange(23)
    x, y = text.sequential_windows(ids, 5)
    assert x.shape == (4, 5)
    assert torch.equal(x.reshape(-1), ids[:20]) and torch.equal(y.reshape(-1), ids[1:21])
    x2, _ = text.sequential_windows(ids, 5, max_windows=2)
    assert torch.equal(x2, x[:2])


class _TableModel(torch.nn.Module):
    """Logits that depend only on the current token (a bigram table): a tiny LM to test with."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.table = torch.nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.table(idx)


def test_uniform_model_scores_log_vocabulary_size():
    model = _TableModel(7)
    torch.nn.init.zeros_(model.table.weight)
    ids = torch.randint(0, 7, (300,), generator=torch.Generator().manual_seed(0))
    assert language_model.evaluate_loss(model, ids, 10) == pytest.approx(math.log(7), rel=1e-6)


def test_evaluate_loss_matches_lm_loss_and_restores_mode():
    torch.manual_seed(0)
    model = _TableModel(5)
    ids = torch.randint(0, 5, (201,), generator=torch.Generator().manual_seed(1))
    x, y = text.sequential_windows(ids, 20)
    expected = language_model.lm_loss(model, (x, y)).item()
    model.train()
    got = language_model.evaluate_loss(model, ids, 20, batch_size=3)  # batches of unequal size
    assert got == pytest.approx(expected, rel=1e-6)
    assert model.training


def test_loss_by_position_matches_a_per_window_computation():
    torch.manual_seed(2)
    model = _TableModel(6)
    ids = torch.randint(0, 6, (97,), generator=torch.Generator().manual_seed(3))
    per_position = language_model.loss_by_position(model, ids, 8, batch_size=5)
    x, y = text.sequential_windows(ids, 8)
    with torch.no_grad():
        expected = torch.stack([torch.nn.functional.cross_entropy(model(x)[:, t], y[:, t])
                                for t in range(8)])
    assert per_position.shape == (8,)
    assert torch.allclose(per_position, expected, atol=1e-6)
    mean = float(expected.mean())
    assert language_model.evaluate_loss(model, ids, 8) == pytest.approx(mean, rel=1e-6)


def test_training_a_bigram_model_learns_a_deterministic_cycle():
    # text "abcabc..." : after training, the next character is certain, loss near 0
    corpus = text.char_corpus("abc" * 400, "cycle")
    model = _TableModel(len(corpus.vocab))
    gen = torch.Generator().manual_seed(0)
    history = train(model, text.window_batches(corpus.train, 8, 16, gen), language_model.lm_loss,
                    steps=150, lr=0.1, progress=False)
    assert history.losses[-1] < 0.05
    assert language_model.evaluate_loss(model, corpus.val, 16) < 0.05


# --- optional download: local files and mocked urllib only --------------------------------


def _remote_for(tmp_path, content: bytes) -> text.RemoteText:
    source = tmp_path / "source.txt"
    source.write_bytes(content)
    digest = text.sha256_of(source)
    return text.RemoteText(name="local", urls=(source.as_uri(),), sha256=digest,
                           filename="local.txt", size_bytes=len(content), credit="test")


def test_download_verifies_and_caches(tmp_path, monkeypatch):
    remote = _remote_for(tmp_path, b"To be, or not to be\n")
    cache = tmp_path / "cache"
    path = text.download_text(remote, directory=cache)
    assert path == cache / "local.txt"
    assert path.read_text() == "To be, or not to be\n"
    assert not list(cache.glob("*.part"))

    def no_network(*args, **kwargs):
        raise AssertionError("a verified cached file must not be downloaded again")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert text.download_text(remote, directory=cache) == path


def test_download_uses_course_cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "env-cache"))
    assert text.cache_dir() == tmp_path / "env-cache"
    remote = _remote_for(tmp_path, b"hello")
    assert text.load_remote_text(remote) == "hello"
    assert (tmp_path / "env-cache" / "local.txt").exists()


def test_download_rejects_a_wrong_checksum_and_leaves_nothing(tmp_path):
    remote = replace(_remote_for(tmp_path, b"hello"), sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(text.CorpusUnavailable, match="checksum .*expected 000000000000"):
        text.download_text(remote, directory=cache)
    assert not list(cache.iterdir())


def test_download_tries_the_next_mirror(tmp_path):
    good = _remote_for(tmp_path, b"mirror two")
    remote = replace(good, urls=((tmp_path / "missing.txt").as_uri(), *good.urls))
    assert text.download_text(remote, directory=tmp_path / "c").read_bytes() == b"mirror two"


def test_offline_gives_a_clear_message(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(text.CorpusUnavailable) as info:
        text.download_text(text.TINY_SHAKESPEARE, directory=tmp_path)
    message = str(info.value)
    assert "no network" in message and "no route to host" in message
    assert "'pydoc_topics'" in message  # says what to use instead
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    with pytest.raises(text.CorpusUnavailable):
        text.load_corpus("tiny_shakespeare")


def test_corrupt_cached_file_is_fetched_again(tmp_path):
    remote = _remote_for(tmp_path, b"the real text")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "local.txt").write_bytes(b"truncated")
    assert text.download_text(remote, directory=cache).read_bytes() == b"the real text"


def test_tiny_shakespeare_is_pinned():
    remote = text.REMOTE_TEXTS["tiny_shakespeare"]
    assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0
    assert all(url.startswith("https://") for url in remote.urls)
