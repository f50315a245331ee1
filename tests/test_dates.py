"""Date-translation data: formats, vocabularies, a split by date, clear errors."""

import datetime as dt

import pytest
import torch

from course_lib.data import dates as D


def test_every_format_renders_the_documented_example():
    day = dt.date(2026, 11, 21)  # a Saturday
    expected = {
        "d_month_y": "21 November 2026", "d_mon_y": "21 Nov 2026",
        "month_d_y": "November 21, 2026", "mon_d_y": "Nov 21, 2026",
        "weekday_month_d_y": "Saturday, November 21, 2026", "wkd_d_mon_y": "Sat 21 Nov 2026",
        "dd/mm/yyyy": "21/11/2026", "dd.mm.yyyy": "21.11.2026",
        "zh_digits": "2026年11月21日", "zh_numerals": "二〇二六年十一月二十一日",
        "zh_weekday": "2026年11月21日星期六",
    }
    assert {f: D.format_date(day, f) for f in D.FORMATS} == expected
    for fmt, text in expected.items():  # the docstring documents the same examples
        assert text in D.__doc__ and fmt in D.__doc__


@pytest.mark.parametrize("n, text", [(1, "一"), (10, "十"), (11, "十一"), (20, "二十"),
                                     (21, "二十一"), (30, "三十"), (31, "三十一")])
def test_chinese_numbers(n, text):
    assert D.zh_number(n) == text


def test_chinese_year_and_weekday():
    assert D.zh_year(1950) == "一九五〇"
    assert D.format_date(dt.date(2026, 11, 22), "zh_weekday").endswith("星期日")  # Sunday


def test_no_ambiguous_numeric_format():
    # 3 April 2026 must never be rendered "04/03/2026"-style month first.
    day = dt.date(2026, 4, 3)
    numeric = [D.format_date(day, f) for f in ("dd/mm/yyyy", "dd.mm.yyyy")]
    assert numeric == ["03/04/2026", "03.04.2026"]
    assert not any(text.startswith("04") for text in numeric)


def test_date_range_includes_leap_days():
    days = D.all_dates()
    assert days[0] == D.FIRST_DATE and days[-1] == D.LAST_DATE
    assert len(days) == 36525 and dt.date(2000, 2, 29) in days


def test_splits_have_disjoint_dates_and_matching_tensors():
    s = D.make_date_splits(seed=3, n_train=3000, n_val=200, n_test=300)
    train, val, test = (set(x.dates) for x in (s.train, s.val, s.test))
    assert not train & test and not train & val and not val & test
    assert len(test) == 300  # held-out dates are distinct
    for ds in (s.train, s.val, s.test):
        n = len(ds)
        assert ds.src.shape[0] == n and ds.tgt_in.shape == (n, 11) and ds.tgt_out.shape == (n, 11)
        assert (ds.tgt_in[:, 0] == s.tgt_vocab.bos_id).all()
        assert (ds.tgt_out[:, -1] == s.tgt_vocab.eos_id).all()
        assert torch.equal(ds.tgt_in[:, 1:], ds.tgt_out[:, :-1])
        for i in (0, n - 1):
            assert s.src_vocab.decode(ds.src[i].tolist()) == ds.sources[i]
            assert len(ds.sources[i]) == int(ds.src_lengths[i])
            assert s.tgt_vocab.decode(ds.tgt_out[i].tolist()) == ds.targets[i]
            assert ds.targets[i] == ds.dates[i].isoformat()
            assert D.format_date(ds.dates[i], ds.formats[i]) == ds.sources[i]
    assert set(s.train.formats) == set(D.FORMATS)


def test_splits_are_reproducible_and_seed_dependent():
    a = D.make_date_splits(seed=1, n_train=50, n_val=5, n_test=5)
    b = D.make_date_splits(seed=1, n_train=50, n_val=5, n_test=5)
    c = D.make_date_splits(seed=2, n_train=50, n_val=5, n_test=5)
    assert a.train.sources == b.train.sources and torch.equal(a.train.src, b.train.src)
    assert a.train.sources != c.train.sources


def test_source_vocab_covers_every_format_of_every_date():
    vocab = D.source_vocab()
    chars = {c for d in D.all_dates()[::7] for f in D.FORMATS for c in D.format_date(d, f)}
    assert chars <= set(vocab.itos)


def test_clear_errors():
    vocab = D.source_vocab()
    with pytest.raises(ValueError, match=r"text: .*outside the date vocabulary: \['Q', '!'\]"):
        D.encode_sources(["Q1 2026!"], vocab)
    with pytest.raises(ValueError, match="fmt: expected one of"):
        D.format_date(dt.date(2026, 1, 1), "mm/dd/yyyy")
    with pytest.raises(ValueError, match="n_test: expected a positive integer, got 0"):
        D.make_date_splits(n_test=0)
    with pytest.raises(ValueError, match="formats: expected names"):
        D.make_date_splits(formats=["nope"])
