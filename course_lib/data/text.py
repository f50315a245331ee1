"""Character corpora for the language-model lesson (06): text, vocabulary, split, batches.

The default corpus needs no download: it is the documentation that ships *inside* Python,
``pydoc_data.topics.topics`` (the texts ``help("with")`` and friends print: the language
reference's sections on statements, operators, types...). It is about 0.46 million
characters of English prose with Python code in between; the exact size depends on the
Python version (3.11.7: 79 topics, 465,048 characters, 103 distinct characters).

The split is *contiguous*: the first 90% of the characters train, the last 10% validate, so
no validation window overlaps a training window (a random split of overlapping windows
would leak text into the validation set).

An optional, larger public-domain corpus (Tiny Shakespeare) can be downloaded when the
network is there; :func:`download_text` verifies its SHA-256, caches it under
``$COURSE_CACHE`` (default ``~/.cache/attention-course``) and, offline, raises
:class:`CorpusUnavailable` with a clear message so a lesson can fall back to the default
corpus. Nothing in the tests or the lessons' asserted results needs the network.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from course_lib.data.vocab import Vocab

__all__ = [
    "PYDOC_TOPICS", "pydoc_topics_text", "RemoteText", "TINY_SHAKESPEARE", "REMOTE_TEXTS",
    "CorpusUnavailable", "cache_dir", "sha256_of", "download_text", "load_remote_text",
    "CharCorpus", "split_contiguous", "char_corpus", "load_corpus", "random_windows",
    "window_batches", "sequential_windows",
]


PYDOC_TOPICS = "pydoc_topics"


def pydoc_topics_text() -> str:
    """Python's built-in help texts, topics in sorted order, separated by blank lines.

    Sorting the keys makes the text (and so the split) independent of dict order.
    """
    from pydoc_data.topics import topics  # ships with CPython; imported lazily (~0.5 MB)

    return "\n\n".join(topics[key].strip("\n") for key in sorted(topics)) + "\n"


# --- an optional download --------------------------------------------------------------


@dataclass(frozen=True)
class RemoteText:
    """A text file on the web, pinned by its SHA-256 checksum."""

    name: str
    urls: tuple[str, ...]  # mirrors of the same bytes, tried in order
    sha256: str
    filename: str
    size_bytes: int
    credit: str


TINY_SHAKESPEARE = RemoteText(
    name="tiny_shakespeare",
    urls=(
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt",
    ),
    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    filename="tiny_shakespeare.txt",
    size_bytes=1_115_394,
    credit="William Shakespeare's plays (public domain), excerpted by Karpathy (2015) for char-rnn",
)

REMOTE_TEXTS: dict[str, RemoteText] = {TINY_SHAKESPEARE.name: TINY_SHAKESPEARE}


class CorpusUnavailable(RuntimeError):
    """The optional corpus could not be fetched (offline, or the download was corrupt)."""


def cache_dir() -> Path:
    """Where downloads are kept: ``$COURSE_CACHE`` if set, else ``~/.cache/attention-course``."""
    root = os.environ.get("COURSE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "attention-course"


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_text(remote: RemoteText = TINY_SHAKESPEARE, *, directory: str | Path | None = None,
                  timeout: float = 20.0) -> Path:
    """Return the path of ``remote``'s verified local copy, downloading it if needed.

    A cached file is reused only if its checksum matches. A download is written to a
    temporary file, checked, then renamed, so a broken or partial download never poses as
    the corpus. Raises :class:`CorpusUnavailable` when no mirror gives the right bytes.
    """
    folder = Path(directory) if directory is not None else cache_dir()
    target = folder / remote.filename
    if target.exists():
        if sha256_of(target) == remote.sha256:
            return target
        target.unlink()  # a stale or corrupt copy: fetch again
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    problems: list[str] = []
    for url in remote.urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                partial.write_bytes(response.read())
        except (urllib.error.URLError, OSError, ValueError) as error:
            problems.append(f"{url}: {error}")
            continue
        digest = sha256_of(partial)
        if digest != remote.sha256:
            partial.unlink()
            problems.append(f"{url}: checksum {digest[:12]}..., expected {remote.sha256[:12]}...")
            continue
        partial.replace(target)
        return target
    raise CorpusUnavailable(
        f"could not get {remote.name!r} (no network, or every mirror failed):\n  "
        + "\n  ".join(problems)
        + f"\nUse the built-in corpus {PYDOC_TOPICS!r} instead; it needs no download.")


def load_remote_text(remote: RemoteText = TINY_SHAKESPEARE, **kwargs) -> str:
    """The text of ``remote`` (downloaded and verified by :func:`download_text`)."""
    return download_text(remote, **kwargs).read_text(encoding="utf-8")


# --- corpus, vocabulary and split --------------------------------------------------------


@dataclass(frozen=True)
class CharCorpus:
    """A text, its character vocabulary and its contiguous train/validation split (ids)."""

    name: str
    text: str
    vocab: Vocab
    train: torch.Tensor  # (N_train,) long ids: the first characters
    val: torch.Tensor  # (N_val,) long ids: the last characters

    def summary(self) -> dict[str, int | str]:
        """Sizes a lesson states: characters, vocabulary, split."""
        return {"corpus": self.name, "characters": len(self.text),
                "vocabulary": len(self.vocab), "train characters": int(self.train.numel()),
                "validation characters": int(self.val.numel())}

    def describe(self) -> str:
        """The summary as one line per fact."""
        return "\n".join(f"{k:<22}: {v:,}" if isinstance(v, int) else f"{k:<22}: {v}"
                         for k, v in self.summary().items())


def split_contiguous(ids: torch.Tensor, val_fraction: float = 0.1
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a 1-D id sequence into its first ``1 - val_fraction`` and its last part."""
    if ids.ndim != 1:
        raise ValueError(f"ids: expected a 1-D sequence, got shape {tuple(ids.shape)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction}")
    cut = int(round(len(ids) * (1.0 - val_fraction)))
    return ids[:cut], ids[cut:]


def char_corpus(text: str, name: str = "text", val_fraction: float = 0.1) -> CharCorpus:
    """Build a :class:`CharCorpus` from any text.

    The vocabulary holds every character of the whole text (plus the four specials of
    :class:`~course_lib.data.vocab.Vocab`), so a rare character that happens to occur only
    in the validation part still has an id; the model simply never saw it in training.
    """
    if len(text) < 2:
        raise ValueError(f"text: expected at least 2 characters, got {len(text)}")
    vocab = Vocab.from_texts([text])
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)
    train, val = split_contiguous(ids, val_fraction)
    return CharCorpus(name=name, text=text, vocab=vocab, train=train, val=val)


def load_corpus(name: str = PYDOC_TOPICS, val_fraction: float = 0.1) -> CharCorpus:
    """Load a named corpus: ``"pydoc_topics"`` (built in) or a key of :data:`REMOTE_TEXTS`
    (downloaded; raises :class:`CorpusUnavailable` offline)."""
    if name == PYDOC_TOPICS:
        return char_corpus(pydoc_topics_text(), name, val_fraction)
    if name in REMOTE_TEXTS:
        return char_corpus(load_remote_text(REMOTE_TEXTS[name]), name, val_fraction)
    known = [PYDOC_TOPICS, *REMOTE_TEXTS]
    raise ValueError(f"name: expected one of {known}, got {name!r}")


# --- batches ------------------------------------------------------------------------------


def _check_windows(ids: torch.Tensor, max_len: int) -> None:
    if ids.ndim != 1:
        raise ValueError(f"ids: expected a 1-D sequence, got shape {tuple(ids.shape)}")
    if max_len < 1:
        raise ValueError(f"max_len: expected a positive integer, got {max_len}")
    if len(ids) < max_len + 1:
        raise ValueError(f"ids: expected at least max_len + 1 = {max_len + 1} "
                         f"tokens, got {len(ids)}")


def random_windows(ids: torch.Tensor, batch_size: int, max_len: int,
                   generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``max_len + 1`` consecutive ids.

    Returns ``(x, y)``, both ``(B, T)``: ``x`` is each window without its last id and ``y``
    the same window shifted by one, so ``y[b, t]`` is the character that follows
    ``x[b, :t+1]``: one window gives ``T`` next-character examples at once.
    """
    _check_windows(ids, max_len)
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size}")
    starts = torch.randint(0, len(ids) - max_len, (batch_size,), generator=generator)
    offsets = torch.arange(max_len + 1)
    windows = ids[starts[:, None] + offsets]  # (B, T+1) by one gather, no Python loop
    return windows[:, :-1], windows[:, 1:]


def window_batches(ids: torch.Tensor, batch_size: int, max_len: int,
                   generator: torch.Generator | None = None
                   ) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """A ``step -> (x, y)`` batch source for :func:`course_lib.training.loop.train` (seeded by
    ``generator``, so the same seed gives the same batches)."""
    _check_windows(ids, max_len)
    return lambda step: random_windows(ids, batch_size, max_len, generator)


def sequential_windows(ids: torch.Tensor, max_len: int,
                       max_windows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping ``(x, y)`` windows, ``(N, T)`` each, that cover ``ids`` from the start.

    Deterministic, for evaluation; a tail shorter than a window is dropped.
    """
    _check_windows(ids, max_len)
    count = (len(ids) - 1) // max_len
    if max_windows is not None:
        count = min(count, max_windows)
    used = ids[:count * max_len + 1]
    x = used[:-1].reshape(count, max_len)
    y = used[1:].reshape(count, max_len)
    return x, y
