"""Byte-level byte-pair encoding (BPE), trained and applied as GPT-2's tokenizer works.

BPE (Gage 1994, for compression; Sennrich et al. 2016, for translation) starts from a
vocabulary of symbols and repeatedly adds the concatenation of the most frequent adjacent
pair as a new symbol. GPT-2 (Radford et al. 2019) starts from the 256 *bytes*, so every
Unicode text can be encoded with no unknown token; what this module does, in order:

1. the text is split on the special tokens (e.g. ``<|endoftext|>``), which are never merged
   and become one id each;
2. each piece is cut into *pre-tokens* by GPT-2's regular expression (:data:`GPT2_PATTERN`:
   contractions, words with their leading space, numbers, punctuation runs, whitespace);
3. merges happen inside a pre-token, never across two (so ``"dog."`` can never become one
   token), and the most frequent pair wins; ties go to the lexicographically greater pair
   of byte strings, so training is deterministic;
4. the vocabulary is the 256 single bytes (ids 0-255), then the special tokens, then one id
   per merge, in the order learned.

Two trainers compute the same merges: :func:`train_bpe_naive` recounts every pair after
each merge (short and readable), :func:`train_bpe` updates only the counts a merge changes
(the one to use; ``benchmarks/bench_tokenizer.py`` measures the ratio).
:class:`BPETokenizer` encodes and decodes with any ``(vocab, merges, special_tokens)``,
also GPT-2's published ``encoder.json`` / ``vocab.bpe`` files
(:meth:`BPETokenizer.from_gpt2_files`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path

import regex

__all__ = [
    "GPT2_PATTERN", "Vocab", "Merges", "split_on_special", "pretokenize", "pretoken_counts",
    "pair_counts", "best_pair", "merge_pair", "merge_step", "train_bpe_naive", "train_bpe",
    "BPETokenizer", "bytes_to_unicode",
]

# GPT-2's pre-tokenizer (its encoder.py): English contractions, then an optional space and
# a run of letters, of digits, or of other symbols; then whitespace. `\s+(?!\S)` leaves the
# last space of a run to the word after it, so " dog" stays one pre-token.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_PRETOKEN = regex.compile(GPT2_PATTERN)

Vocab = dict[int, bytes]
Merges = list[tuple[bytes, bytes]]
Word = tuple[bytes, ...]  # a pre-token as its current sequence of tokens


# --------------------------------------------------------------------------- pre-tokens
def split_on_special(text: str, special_tokens: Sequence[str]) -> list[str]:
    """``text`` cut at every special token, the special tokens kept as their own pieces.

    Longer special tokens are tried first, so one that contains another (``<|a|><|a|>`` and
    ``<|a|>``) is matched whole. Empty pieces are dropped.
    """
    if not special_tokens:
        return [text] if text else []
    alternatives = "|".join(regex.escape(s) for s in sorted(special_tokens, key=len,
                                                                reverse=True))
    return [piece for piece in regex.split(f"({alternatives})", text) if piece]


def pretokenize(text: str) -> list[str]:
    """GPT-2's pre-tokens of ``text`` (no special-token handling): joined, they give ``text``."""
    return _PRETOKEN.findall(text)


def pretoken_counts(text: str, special_tokens: Sequence[str] = ()) -> Counter[Word]:
    """How often each pre-token occurs, as a tuple of single bytes: ``{(b"t", b"h", b"e"): 9}``.
    Special tokens are removed first (they take part in no merge)."""
    specials = set(special_tokens)
    counts: Counter[str] = Counter()
    for piece in split_on_special(text, special_tokens):
        if piece not in specials:
            counts.update(pretokenize(piece))
    return Counter({tuple(bytes([b]) for b in word.encode("utf-8")): n
                    for word, n in counts.items()})


# --------------------------------------------------------------------------- one merge
def pair_counts(words: dict[Word, int]) -> Counter[tuple[bytes, bytes]]:
    """Adjacent pairs inside each pre-token, weighted by the pre-token's count."""
    counts: Counter[tuple[bytes, bytes]] = Counter()
    for word, n in words.items():
        for pair in pairwise(word):
            counts[pair] += n
    return counts


def best_pair(counts: dict[tuple[bytes, bytes], int]) -> tuple[bytes, bytes]:
    """The most frequent pair; among equally frequent ones the lexicographically greatest
    (compared as byte strings: ``(b"e", b"s") > (b"e", b"r")``), so the choice never
    depends on the order in which pairs were counted."""
    if not counts:
        raise ValueError("counts: expected at least one pair, got none (nothing left to merge)")
    return max(counts, key=lambda pair: (counts[pair], pair))


def merge_pair(word: Word, pair: tuple[bytes, bytes]) -> Word:
    """``word`` with every non-overlapping occurrence of ``pair``, left to right, joined into
    one token: ``merge_pair((a, a, a), (a, a)) == (aa, a)``."""
    first, second = pair
    out: list[bytes] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
            out.append(first + second)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def merge_step(pretokens: Sequence[Sequence[bytes]]
               ) -> tuple[tuple[bytes, bytes], list[list[bytes]]]:
    """One BPE merge on a text's pre-tokens, in order (each a list of its current tokens).

    Counts the adjacent pairs *inside* each pre-token, picks :func:`best_pair` and merges it
    everywhere. Returns ``(pair, merged pre-tokens)``; the lesson's exercise.
    """
    counts: Counter[tuple[bytes, bytes]] = Counter()
    for word in pretokens:
        counts.update(pairwise(word))
    pair = best_pair(counts)
    return pair, [list(merge_pair(tuple(word), pair)) for word in pretokens]


# --------------------------------------------------------------------------- training
def _check_vocab_size(vocab_size: int, special_tokens: Sequence[str]) -> int:
    """The number of merges to learn; raises if ``vocab_size`` cannot hold the base."""
    base = 256 + len(set(special_tokens))
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < base:
        raise ValueError(f"vocab_size: expected an int >= {base} (256 bytes + "
                         f"{len(set(special_tokens))} special tokens), got {vocab_size!r}")
    return vocab_size - base


def _base_vocab(special_tokens: Sequence[str]) -> Vocab:
    vocab: Vocab = {i: bytes([i]) for i in range(256)}
    for token in dict.fromkeys(special_tokens):  # unique, in the order given
        vocab[len(vocab)] = token.encode("utf-8")
    return vocab


def _finish(vocab: Vocab, merges: Merges) -> tuple[Vocab, Merges]:
    for first, second in merges:
        vocab[len(vocab)] = first + second
    return vocab, merges


def train_bpe_naive(text: str, vocab_size: int, special_tokens: Sequence[str] = ()
                    ) -> tuple[Vocab, Merges]:
    """BPE training, the readable way: after every merge, count every pair again.

    Returns ``(vocab {id: bytes}, merges [(first, second)] in the order learned)``. Stops
    early if no pair is left (a text with fewer distinct pairs than merges asked for).
    """
    num_merges = _check_vocab_size(vocab_size, special_tokens)
    words = dict(pretoken_counts(text, special_tokens))
    merges: Merges = []
    for _ in range(num_merges):
        counts = pair_counts(words)
        if not counts:
            break
        pair = best_pair(counts)
        merges.append(pair)
        words = {merge_pair(word, pair): n for word, n in words.items()}
    return _finish(_base_vocab(special_tokens), merges)


def train_bpe(text: str, vocab_size: int, special_tokens: Sequence[str] = ()
              ) -> tuple[Vocab, Merges]:
    """BPE training with incremental pair counts: the same merges as :func:`train_bpe_naive`.

    A merge changes only the pre-tokens that contain its pair, so an index from each pair to
    the pre-tokens holding it lets every merge update those pre-tokens' pair counts (remove
    their old pairs, add their new ones) instead of recounting the whole corpus.
    Returns ``(vocab, merges)`` as :func:`train_bpe_naive`.
    """
    num_merges = _check_vocab_size(vocab_size, special_tokens)
    counted = pretoken_counts(text, special_tokens)
    words: list[Word] = list(counted)
    freqs: list[int] = [counted[w] for w in words]
    counts: dict[tuple[bytes, bytes], int] = defaultdict(int)
    where: dict[tuple[bytes, bytes], set[int]] = defaultdict(set)  # pair -> pre-token indices
    for index, (word, n) in enumerate(zip(words, freqs, strict=True)):
        for pair in pairwise(word):
            counts[pair] += n
            where[pair].add(index)
    merges: Merges = []
    for _ in range(num_merges):
        if not counts:
            break
        pair = best_pair(counts)
        merges.append(pair)
        for index in where.pop(pair):
            old = words[index]
            new = merge_pair(old, pair)
            if new == old:
                continue  # the index may hold a pre-token that an earlier merge changed
            n = freqs[index]
            for p in pairwise(old):
                counts[p] -= n
                if counts[p] == 0:
                    del counts[p]
            for p in pairwise(new):
                counts[p] += n
                where[p].add(index)
            words[index] = new
        counts.pop(pair, None)
    return _finish(_base_vocab(special_tokens), merges)


# --------------------------------------------------------------------------- the tokenizer
class BPETokenizer:
    """Encode text to ids and back with a byte-level BPE ``(vocab, merges, special_tokens)``.

    ``encode(text) -> list[int]``, ``decode(ids) -> str`` (invalid UTF-8, e.g. half of a
    Chinese character, is shown as U+FFFD), ``encode_iterable(lines)`` yields ids lazily with
    exactly the ids of ``encode("".join(lines))``. A pre-token is encoded by applying, again
    and again, the merge of lowest rank (earliest learned) among its adjacent pairs, as
    GPT-2 does; results are cached per pre-token.
    """

    def __init__(self, vocab: Vocab, merges: Merges, special_tokens: Sequence[str] = ()
                 ) -> None:
        self.vocab = dict(vocab)
        self.merges = list(merges)
        self.ids = {token: i for i, token in self.vocab.items()}
        if len(self.ids) != len(self.vocab):
            raise ValueError("vocab: expected each byte string once, got duplicates")
        missing = [bytes([b]) for b in range(256) if bytes([b]) not in self.ids]
        if missing:
            raise ValueError(f"vocab: expected all 256 single bytes, {len(missing)} missing "
                             f"(e.g. {missing[0]!r})")
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        for first, second in self.merges:
            if first + second not in self.ids:
                raise ValueError(f"merges: {(first, second)!r} makes {first + second!r}, "
                                 "which is not in vocab")
        self.special_tokens = list(dict.fromkeys(special_tokens))
        for token in self.special_tokens:  # a special token missing from vocab gets an id
            if token.encode("utf-8") not in self.ids:
                new_id = max(self.vocab) + 1
                self.vocab[new_id] = token.encode("utf-8")
                self.ids[token.encode("utf-8")] = new_id
        self._special = set(self.special_tokens)
        self._cache: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.vocab)

    @classmethod
    def train(cls, text: str, vocab_size: int, special_tokens: Sequence[str] = ()
              ) -> BPETokenizer:
        """Train with :func:`train_bpe` and wrap the result."""
        vocab, merges = train_bpe(text, vocab_size, special_tokens)
        return cls(vocab, merges, special_tokens)

    # ---- encoding
    def _encode_pretoken(self, pretoken: str) -> list[int]:
        cached = self._cache.get(pretoken)
        if cached is not None:
            return cached
        word = [bytes([b]) for b in pretoken.encode("utf-8")]
        while len(word) > 1:
            ranked = [(self.ranks.get(pair, len(self.ranks)), i)
                      for i, pair in enumerate(pairwise(word))]
            rank, _ = min(ranked)
            if rank == len(self.ranks):
                break  # no adjacent pair was ever merged
            word = list(merge_pair(tuple(word), self.merges[rank]))
        ids = [self.ids[token] for token in word]
        self._cache[pretoken] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; special tokens become their single ids."""
        ids: list[int] = []
        for piece in split_on_special(text, self.special_tokens):
            if piece in self._special:
                ids.append(self.ids[piece.encode("utf-8")])
            else:
                for pretoken in pretokenize(piece):
                    ids.extend(self._encode_pretoken(pretoken))
        return ids

    def encode_iterable(self, chunks: Iterable[str]) -> Iterator[int]:
        """Ids of the concatenated ``chunks`` (e.g. the lines of an open file), produced lazily.

        A pre-token or a special token may continue in the next chunk, so the tail of each
        chunk waits: the last two pre-tokens (a contraction such as ``'ll`` can be cut after
        its ``'``) and any start of a special token. Memory stays that of a few chunks.
        """
        pending = ""
        for chunk in chunks:
            pending += chunk
            ready, pending = self._safe_prefix(pending)
            if ready:
                yield from self.encode(ready)
        if pending:
            yield from self.encode(pending)

    def _safe_prefix(self, text: str) -> tuple[str, str]:
        """Split ``text`` into a prefix whose encoding cannot change whatever follows, and
        the rest."""
        pieces = split_on_special(text, self.special_tokens)
        if not pieces:
            return "", ""
        last = pieces[-1]
        if last in self._special:
            # complete, unless a longer special token starts with it and may be arriving
            longer = any(t != last and t.startswith(last) for t in self.special_tokens)
            return (text[: len(text) - len(last)], last) if longer else (text, "")
        head = text[: len(text) - len(last)]
        spans = [m.span() for m in _PRETOKEN.finditer(last)]
        cut = spans[-2][0] if len(spans) >= 2 else 0
        for token in self.special_tokens:  # a special token may be starting at the end
            for k in range(min(len(token) - 1, len(last)), 0, -1):
                if last.endswith(token[:k]):
                    start = len(last) - k
                    # back to the start of the pre-token holding that position
                    cut = min(cut, next(s for s, e in spans if s <= start < e))
                    break
        return head + last[:cut], last[cut:]

    # ---- decoding
    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``; bytes that are not valid UTF-8 become U+FFFD."""
        try:
            data = b"".join(self.vocab[i] for i in ids)
        except KeyError as error:
            raise ValueError(f"ids: expected ids in the vocabulary (0..{max(self.vocab)}), "
                             f"got {error.args[0]!r}") from None
        return data.decode("utf-8", errors="replace")

    def token_bytes(self, ids: Iterable[int]) -> list[bytes]:
        """The bytes of each id: how the tokenizer cut a text."""
        return [self.vocab[i] for i in ids]

    # ---- GPT-2's file format
    @classmethod
    def from_gpt2_files(cls, encoder_json: str | Path, vocab_bpe: str | Path,
                        special_tokens: Sequence[str] = ("<|endoftext|>",)) -> BPETokenizer:
        """Read GPT-2's published ``encoder.json`` (token string -> id) and ``vocab.bpe`` (one
        merge per line, after a ``#version`` line). Both write bytes as printable characters
        (:func:`bytes_to_unicode`: a space is ``Ġ``)."""
        to_byte = {char: byte for byte, char in bytes_to_unicode().items()}

        def unmap(token: str) -> bytes:
            return bytes(to_byte[c] for c in token)

        encoder = json.loads(Path(encoder_json).read_text(encoding="utf-8"))
        vocab = {}
        for token, i in encoder.items():
            vocab[i] = token.encode("utf-8") if token in special_tokens else unmap(token)
        merges = []
        for line in Path(vocab_bpe).read_text(encoding="utf-8").splitlines():
            if line.startswith("#version") or not line.strip():
                continue
            first, second = line.split(" ")
            merges.append((unmap(first), unmap(second)))
        return cls(vocab, merges, special_tokens)

    def save_gpt2_files(self, encoder_json: str | Path, vocab_bpe: str | Path) -> None:
        """Write this tokenizer in GPT-2's format (readable by :meth:`from_gpt2_files` and by
        Hugging Face's ``GPT2Tokenizer``)."""
        to_char = bytes_to_unicode()

        def mapped(token: bytes) -> str:
            return "".join(to_char[b] for b in token)

        specials = {t.encode("utf-8") for t in self.special_tokens}
        encoder = {(t.decode("utf-8") if t in specials else mapped(t)): i
                   for i, t in self.vocab.items()}
        Path(encoder_json).write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
        lines = ["#version: 0.2"] + [f"{mapped(a)} {mapped(b)}" for a, b in self.merges]
        Path(vocab_bpe).write_text("\n".join(lines) + "\n", encoding="utf-8")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from the 256 bytes to printable characters, for its files: printable
    Latin-1 bytes map to themselves, the others (space, control bytes...) to characters from
    U+0100 on, in byte order (so a space, byte 32, becomes ``Ġ`` U+0120)."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return dict(sorted(mapping.items()))
