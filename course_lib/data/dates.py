"""Date translation: human-written dates, in English and Chinese, to ISO 8601 ("2026-11-21").

The task of lesson 04 (and of the Transformer in lesson 05). A character-level model reads
a date written the way people write it and must output ``YYYY-MM-DD``. It has to *find* the
year, the month and the day in the input, wherever the format puts them, and translate
month names and Chinese numerals into digits: a small, exactly checkable alignment problem.

Date range
    Every calendar day from 1950-01-01 to 2049-12-31 (36 525 dates, leap days included).

Formats (one is drawn uniformly at random for every example; examples for 2026-11-21)
    ===================  ===============================
    name                 example
    ===================  ===============================
    ``d_month_y``        ``21 November 2026``
    ``d_mon_y``          ``21 Nov 2026``
    ``month_d_y``        ``November 21, 2026``
    ``mon_d_y``          ``Nov 21, 2026``
    ``weekday_month_d_y`` ``Saturday, November 21, 2026``
    ``wkd_d_mon_y``      ``Sat 21 Nov 2026``
    ``dd/mm/yyyy``       ``21/11/2026``
    ``dd.mm.yyyy``       ``21.11.2026``
    ``zh_digits``        ``2026年11月21日``
    ``zh_numerals``      ``二〇二六年十一月二十一日``
    ``zh_weekday``       ``2026年11月21日星期六``
    ===================  ===============================

Ambiguity
    Numeric formats are *day first* only (``dd/mm/yyyy``, ``dd.mm.yyyy``). The US order
    ``mm/dd/yyyy`` is deliberately absent: with both, "03/04/2026" would mean 3 April in
    one example and 4 March in another, and no model could be right on both. Within this
    data set every input has exactly one meaning. English day numbers are not zero-padded
    ("1 May 2026"); numeric ones are ("01/05/2026").

Split
    The dates themselves are split: the shuffled 36 525 days are cut into disjoint train,
    validation and test pools (80 / 10 / 10 %), so a test example's date never occurs in
    training, in any format. The model must generalise, not remember.

Typical use::

    splits = make_date_splits(seed=0, n_train=20000, n_val=1000, n_test=2000)
    splits.train.src            # (N, S) long, right-padded with <pad>
    splits.train.tgt_in         # (N, 11) <bos> + 10 characters (teacher-forcing input)
    splits.train.tgt_out        # (N, 11) 10 characters + <eos> (what to predict)
    splits.test.sources[0], splits.test.targets[0]   # the raw strings
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from course_lib.data.vocab import Vocab

__all__ = [
    "FIRST_DATE", "LAST_DATE", "TARGET_LENGTH", "MONTHS", "WEEKDAYS", "ZH_DIGITS",
    "ZH_WEEKDAYS", "zh_number", "zh_year", "FORMATS", "format_date", "iso", "all_dates",
    "source_vocab", "target_vocab", "DateSet", "DateSplits", "encode_sources", "make_dataset",
    "split_dates", "make_date_splits",
]


FIRST_DATE = dt.date(1950, 1, 1)
LAST_DATE = dt.date(2049, 12, 31)
TARGET_LENGTH = 10  # "YYYY-MM-DD"

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ZH_DIGITS = "〇一二三四五六七八九"
ZH_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def zh_number(n: int) -> str:
    """A day or month number (1-31) in Chinese numerals: 1 -> 一, 10 -> 十, 21 -> 二十一."""
    if not 1 <= n <= 99:
        raise ValueError(f"n: expected an integer in 1..99, got {n}")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else ZH_DIGITS[tens] + "十")
    return head + (ZH_DIGITS[ones] if ones else "")


def zh_year(year: int) -> str:
    """A year read digit by digit, the way it is written: 2026 -> 二〇二六."""
    return "".join(ZH_DIGITS[int(c)] for c in str(year))


FORMATS: dict[str, Callable[[dt.date], str]] = {
    "d_month_y": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "d_mon_y": lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "month_d_y": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "mon_d_y": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    "weekday_month_d_y":
        lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    "wkd_d_mon_y":
        lambda d: f"{WEEKDAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "dd/mm/yyyy": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "zh_digits": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "zh_numerals": lambda d: f"{zh_year(d.year)}年{zh_number(d.month)}月{zh_number(d.day)}日",
    "zh_weekday": lambda d: f"{d.year}年{d.month}月{d.day}日{ZH_WEEKDAYS[d.weekday()]}",
}
"""Format name -> function rendering a :class:`datetime.date` as text."""


def format_date(date: dt.date, fmt: str) -> str:
    """Render ``date`` in the named format (a key of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {sorted(FORMATS)}, got {fmt!r}")
    return FORMATS[fmt](date)


def iso(date: dt.date) -> str:
    """The target string, ``YYYY-MM-DD``."""
    return date.isoformat()


def all_dates() -> list[dt.date]:
    """Every date of the range, in calendar order."""
    n = (LAST_DATE - FIRST_DATE).days + 1
    return [FIRST_DATE + dt.timedelta(days=i) for i in range(n)]


def source_vocab() -> Vocab:
    """Characters any format can produce (sorted; ids 0-3 are the special tokens).

    Built from every format of every day of 2000, a leap year whose Chinese year 二〇〇〇
    contains 〇; the days and months supply all other digits and numerals.
    """
    year = [d for d in all_dates() if d.year == 2000]
    return Vocab.from_texts(FORMATS[f](d) for d in year for f in FORMATS)


def target_vocab() -> Vocab:
    """Digits and ``-``: the ten characters of ``YYYY-MM-DD`` plus the special tokens."""
    return Vocab(list("0123456789-"))


@dataclass
class DateSet:
    """One split: the raw strings and their tensors.

    Attributes:
        sources, targets, formats, dates: N raw inputs, ISO targets, format names, dates.
        src: (N, S) long, source ids right-padded with ``<pad>``; S = longest source.
        src_lengths: (N,) long, true source lengths.
        tgt_in: (N, 11) long, ``<bos>`` followed by the 10 target characters.
        tgt_out: (N, 11) long, the 10 target characters followed by ``<eos>``.
    """

    sources: list[str]
    targets: list[str]
    formats: list[str]
    dates: list[dt.date]
    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor

    def __len__(self) -> int:
        return len(self.sources)


@dataclass
class DateSplits:
    """Train, validation and test :class:`DateSet` with disjoint dates, and the vocabularies."""

    train: DateSet
    val: DateSet
    test: DateSet
    src_vocab: Vocab
    tgt_vocab: Vocab


def encode_sources(texts: Sequence[str], src_vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids ``(N, S)`` and lengths ``(N,)`` of source strings.

    Raises ``ValueError`` listing the characters the vocabulary does not have, so a learner
    who types "21 Nov 2026 🎂" learns which character is the problem.
    """
    ids = []
    for text in texts:
        missing = src_vocab.unknown(text)
        if missing:
            raise ValueError(f"text: {text!r} contains characters outside the date vocabulary: "
                             f"{missing}. Supported: digits, the letters of English month and "
                             f"weekday names, ' ,./', and 年月日星期〇一二三四五六七八九十")
        if not text:
            raise ValueError("text: expected a non-empty string, got ''")
        ids.append(src_vocab.encode(text))
    return src_vocab.pad_batch(ids)


def make_dataset(dates: Sequence[dt.date], formats: Sequence[str], src_vocab: Vocab,
                 tgt_vocab: Vocab) -> DateSet:
    """Tensors for the given (date, format) pairs."""
    if len(dates) != len(formats):
        raise ValueError(f"formats: expected {len(dates)} format names (one per date), "
                         f"got {len(formats)}")
    sources = [format_date(d, f) for d, f in zip(dates, formats, strict=True)]
    targets = [iso(d) for d in dates]
    src, lengths = encode_sources(sources, src_vocab)
    body = torch.tensor([tgt_vocab.encode(t) for t in targets], dtype=torch.long).reshape(
        len(targets), TARGET_LENGTH)
    n = len(targets)
    bos = torch.full((n, 1), tgt_vocab.bos_id, dtype=torch.long)
    eos = torch.full((n, 1), tgt_vocab.eos_id, dtype=torch.long)
    return DateSet(sources=sources, targets=targets, formats=list(formats), dates=list(dates),
                   src=src, src_lengths=lengths, tgt_in=torch.cat([bos, body], dim=1),
                   tgt_out=torch.cat([body, eos], dim=1))


def split_dates(seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
                ) -> tuple[list[dt.date], list[dt.date], list[dt.date]]:
    """Shuffle the whole date range with ``seed`` and cut it into disjoint train/val/test pools."""
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions: expected three positive numbers summing to 1, "
                         f"got {fractions}")
    dates = all_dates()
    random.Random(seed).shuffle(dates)
    n_train = int(round(fractions[0] * len(dates)))
    n_val = int(round(fractions[1] * len(dates)))
    return dates[:n_train], dates[n_train:n_train + n_val], dates[n_train + n_val:]


def _sample(pool: Sequence[dt.date], n: int, rng: random.Random,
            formats: Sequence[str]) -> tuple[list[dt.date], list[str]]:
    # Distinct dates when the pool is large enough (each held-out date counted once),
    # otherwise with replacement (the training set may be larger than its pool).
    dates = rng.sample(list(pool), n) if n <= len(pool) else rng.choices(list(pool), k=n)
    return dates, [rng.choice(list(formats)) for _ in range(n)]


def make_date_splits(seed: int = 0, n_train: int = 20000, n_val: int = 1000,
                     n_test: int = 2000, formats: Sequence[str] | None = None) -> DateSplits:
    """Train / validation / test sets whose dates are disjoint (see the module docstring).

    Args:
        seed: seeds both the date split and the sampling of examples.
        n_train, n_val, n_test: examples per split. Each example draws a date from its
            split's pool and a format uniformly from ``formats`` (default: all of them).

    Returns a :class:`DateSplits`; the vocabularies cover every format, not only those used.
    """
    for name, n in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if n < 1:
            raise ValueError(f"{name}: expected a positive integer, got {n}")
    formats = list(FORMATS) if formats is None else list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats: expected names from {sorted(FORMATS)}, got {formats}")
    train_pool, val_pool, test_pool = split_dates(seed)
    rng = random.Random(seed + 1)
    src_vocab, tgt_vocab = source_vocab(), target_vocab()
    sets = []
    for pool, n in ((train_pool, n_train), (val_pool, n_val), (test_pool, n_test)):
        dates, fmts = _sample(pool, n, rng, formats)
        sets.append(make_dataset(dates, fmts, src_vocab, tgt_vocab))
    return DateSplits(train=sets[0], val=sets[1], test=sets[2], src_vocab=src_vocab,
                      tgt_vocab=tgt_vocab)
