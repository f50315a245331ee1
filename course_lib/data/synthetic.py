"""Synthetic sequence tasks, generated from a seed: copy, reversal, first-token recall, adding.

They isolate one ability each, so a model that fails tells us *what* it cannot do:

* **copy** and **reversal** (seq2seq): read a sequence of symbols, write it back (reversed).
  An encoder-decoder without attention must squeeze the whole input into one vector
  (lesson 02); with attention it can look back (lessons 04, 05).
* **first-token recall** (classification): the class symbol comes first, then ``T``
  distractors; predict the class at the end. The information must survive ``T`` steps of a
  recurrence (lesson 02).
* **adding problem** (regression; Hochreiter & Schmidhuber, 1997): add the two numbers that
  are marked in a long sequence of random numbers.
* **previous token** (language-model style, lesson 07): at every position name the token
  before it; needs positions, and tests whether they work past the trained length.
* **associative recall** (lesson 07): read key-value pairs, then a key; answer its value.

Token ids follow :mod:`course_lib.data.vocab`: 0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``,
3 ``<unk>``; symbols start at :data:`FIRST_SYMBOL` = 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.core.validation import check_positive
from course_lib.data.vocab import BOS, EOS, PAD, SPECIALS, UNK

__all__ = [
    "PAD_ID", "BOS_ID", "EOS_ID", "UNK_ID", "FIRST_SYMBOL", "Seq2SeqData", "copy_task",
    "reversal_task", "symbols_to_text", "first_token_recall", "recall_vocab_size",
    "adding_problem", "previous_token_task", "associative_recall",
]


# The special ids are the positions of the specials in every course vocabulary (one source).
PAD_ID, BOS_ID, EOS_ID, UNK_ID = (SPECIALS.index(token) for token in (PAD, BOS, EOS, UNK))
FIRST_SYMBOL = len(SPECIALS)


@dataclass
class Seq2SeqData:
    """A padded seq2seq data set; N examples, source length S, target length T (+1 for BOS/EOS).

    Attributes:
        src: (N, S) symbol ids, padded with ``PAD_ID`` after each example's length.
        src_lengths: (N,) true source lengths.
        tgt_in: (N, T + 1) decoder input: ``BOS`` then the target, padded.
        tgt_out: (N, T + 1) decoder target: the target then ``EOS``, padded.
        vocab_size: number of ids (specials + symbols).
    """

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    vocab_size: int

    def __len__(self) -> int:
        return self.src.shape[0]

    def __getitem__(self, index) -> Seq2SeqData:
        """A subset (slice, index tensor or boolean mask), same vocabulary."""
        return Seq2SeqData(self.src[index], self.src_lengths[index], self.tgt_in[index],
                           self.tgt_out[index], self.vocab_size)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(src, tgt_in, tgt_out)``, e.g. for ``train.random_batches``: models take padded
        ids and find the padding themselves."""
        return self.src, self.tgt_in, self.tgt_out


def _random_symbol_sequences(num_examples: int, min_len: int, max_len: int, num_symbols: int,
                             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, max_len) random symbols (padded with PAD_ID) and their (N,) lengths."""
    check_positive("num_examples", num_examples)
    check_positive("min_len", min_len)
    check_positive("num_symbols", num_symbols)
    if max_len < min_len:
        raise ValueError(f"max_len: expected >= min_len = {min_len}, got {max_len}")
    lengths = torch.randint(min_len, max_len + 1, (num_examples,), generator=generator)
    symbols = torch.randint(FIRST_SYMBOL, FIRST_SYMBOL + num_symbols, (num_examples, max_len),
                            generator=generator)
    positions = torch.arange(max_len)
    symbols[positions[None, :] >= lengths[:, None]] = PAD_ID
    return symbols, lengths


def _reverse_valid(seqs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths[i]`` entries, keep the padding at the end."""
    max_len = seqs.shape[1]
    positions = torch.arange(max_len)[None, :]
    source = (lengths[:, None] - 1 - positions).clamp(min=0)
    reversed_ = seqs.gather(1, source)
    return torch.where(positions < lengths[:, None], reversed_, torch.full_like(seqs, PAD_ID))


def _make_seq2seq(src: torch.Tensor, lengths: torch.Tensor, target: torch.Tensor,
                  num_symbols: int) -> Seq2SeqData:
    n = target.shape[0]
    bos = torch.full((n, 1), BOS_ID, dtype=torch.long)
    pad = torch.full((n, 1), PAD_ID, dtype=torch.long)
    tgt_in = torch.cat([bos, target], dim=1)
    tgt_out = torch.cat([target, pad], dim=1)
    tgt_out[torch.arange(n), lengths] = EOS_ID
    # target is already PAD after each length, so tgt_in is BOS + target + padding and
    # tgt_out is target + EOS + padding: both hold length + 1 real positions.
    return Seq2SeqData(src, lengths, tgt_in, tgt_out, FIRST_SYMBOL + num_symbols)


def copy_task(num_examples: int, min_len: int, max_len: int, num_symbols: int = 10, *,
              seed: int = 0) -> Seq2SeqData:
    """Copy: the target equals the source. Lengths are uniform in ``[min_len, max_len]``."""
    generator = torch.Generator().manual_seed(seed)
    src, lengths = _random_symbol_sequences(num_examples, min_len, max_len, num_symbols,
                                            generator)
    return _make_seq2seq(src, lengths, src.clone(), num_symbols)


def reversal_task(num_examples: int, min_len: int, max_len: int, num_symbols: int = 10, *,
                  seed: int = 0) -> Seq2SeqData:
    """Reversal: the target is the source backwards (``a b c`` -> ``c b a``)."""
    generator = torch.Generator().manual_seed(seed)
    src, lengths = _random_symbol_sequences(num_examples, min_len, max_len, num_symbols,
                                            generator)
    return _make_seq2seq(src, lengths, _reverse_valid(src, lengths), num_symbols)


def symbols_to_text(ids: torch.Tensor) -> str:
    """Readable form of one sequence of ids: symbols as letters a, b, ...; specials as tags."""
    names = {PAD_ID: "_", BOS_ID: BOS, EOS_ID: EOS, UNK_ID: UNK}
    return " ".join(names.get(int(i), chr(ord("a") + int(i) - FIRST_SYMBOL)) for i in ids)


def first_token_recall(num_examples: int, num_distractors: int, num_classes: int = 4,
                       num_distractor_symbols: int = 8, *, shared_symbols: bool = False,
                       seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Recall the first token after ``T = num_distractors`` distractors.

    Each sequence is ``[class symbol, d_1, ..., d_T]``: the class symbol is one of
    ``num_classes`` ids, the distractors are drawn from ``num_distractor_symbols`` other ids.
    A model reads the whole sequence and predicts the class at the end, so the class must
    be carried over ``T`` steps. Chance accuracy is ``1 / num_classes``.

    With ``shared_symbols`` the distractors may also be class symbols, so only the
    *position* tells which token to recall: a model cannot just ignore distractor symbols.

    Returns:
        x: (N, T + 1) token ids; class ids are ``0 .. num_classes - 1``, distractor ids
            ``num_classes .. num_classes + num_distractor_symbols - 1`` (or any id, with
            ``shared_symbols``); vocabulary size :func:`recall_vocab_size`.
        y: (N,) class labels in ``0 .. num_classes - 1``.
    """
    check_positive("num_examples", num_examples)
    check_positive("num_classes", num_classes)
    check_positive("num_distractor_symbols", num_distractor_symbols)
    check_positive("num_distractors", num_distractors, minimum=0)
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (num_examples,), generator=generator)
    low = 0 if shared_symbols else num_classes
    distractors = torch.randint(low, num_classes + num_distractor_symbols,
                                (num_examples, num_distractors), generator=generator)
    x = torch.cat([y[:, None], distractors], dim=1)
    return x, y


def recall_vocab_size(num_classes: int = 4, num_distractor_symbols: int = 8) -> int:
    """Vocabulary size of :func:`first_token_recall` with these settings."""
    return num_classes + num_distractor_symbols


def adding_problem(num_examples: int, length: int, *,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber, 1997, experiment 4).

    Each step carries a random number in [0, 1) and a marker; exactly two markers are 1
    (one in the first half, one in the second half). The target is the sum of the two marked
    numbers. Predicting the mean, 1.0, gives a mean squared error of about 0.167.

    Returns:
        x: (N, T, 2) float; ``x[..., 0]`` the numbers, ``x[..., 1]`` the markers.
        y: (N,) float targets.
    """
    check_positive("num_examples", num_examples)
    check_positive("length", length, minimum=2)
    generator = torch.Generator().manual_seed(seed)
    values = torch.rand(num_examples, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (num_examples,), generator=generator)
    second = torch.randint(half, length, (num_examples,), generator=generator)
    markers = torch.zeros(num_examples, length)
    rows = torch.arange(num_examples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)
    y = (values * markers).sum(dim=1)
    return x, y


def previous_token_task(num_examples: int, length: int, num_symbols: int = 16, *,
                        seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """At every position, predict the token one step back.

    The answer is a fixed *offset* away, whatever the sequence length: a model that
    encodes relative positions can do it at any length, one that learned absolute
    positions only where it was trained (lesson 07's length-extrapolation test).

    Returns:
        x: ``(N, T)`` ids in ``0 .. num_symbols - 1``.
        y: ``(N, T)`` targets: ``y[:, t] = x[:, t - 1]``; ``y[:, 0] = -100`` (no answer;
            ``cross_entropy``'s default ``ignore_index``).
    """
    check_positive("num_examples", num_examples)
    check_positive("num_symbols", num_symbols)
    check_positive("length", length, minimum=2)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, num_symbols, (num_examples, length), generator=generator)
    y = torch.full_like(x, -100)
    y[:, 1:] = x[:, :-1]
    return x, y


def associative_recall(num_examples: int, num_pairs: int, num_keys: int = 16,
                       num_values: int = 16, *, seed: int = 0
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Key-value pairs, then a query key: predict the value stored with it.

    Each pair is one token (id ``key * num_values + value``), keys distinct within a
    sequence; the last token asks for a key (id ``num_keys * num_values + key``). Softmax
    attention looks the pair up; a fixed-size state (linear attention, an RNN) must hold
    all pairs at once. Vocabulary size ``num_keys * (num_values + 1)``.

    Returns:
        x: ``(N, num_pairs + 1)`` ids.   y: ``(N,)`` values in ``0 .. num_values - 1``.
    """
    for name, value in (("num_examples", num_examples), ("num_pairs", num_pairs),
                        ("num_keys", num_keys), ("num_values", num_values)):
        check_positive(name, value)
    if num_pairs > num_keys:
        raise ValueError(f"num_pairs: expected <= num_keys={num_keys} (distinct keys), "
                         f"got {num_pairs}")
    generator = torch.Generator().manual_seed(seed)
    keys = torch.rand(num_examples, num_keys, generator=generator).argsort(-1)[:, :num_pairs]
    values = torch.randint(0, num_values, (num_examples, num_pairs), generator=generator)
    asked = torch.randint(0, num_pairs, (num_examples,), generator=generator)
    rows = torch.arange(num_examples)
    query = num_keys * num_values + keys[rows, asked]
    x = torch.cat([keys * num_values + values, query[:, None]], dim=1)
    return x, values[rows, asked]
