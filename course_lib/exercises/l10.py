"""Lesson 10's exercises: one BPE merge step, RMSNorm, an induction-head detector.

The BPE cases are built so that each classic slip gives another pair or other tokens:
three pairs tied for the top count (ties go to the greater pair), a run of one-letter
pre-tokens (pairs across pre-tokens would win), runs of one letter (``x x x`` merges left to
right into ``xx x``; a word holds the pair twice) and tokens of two bytes (``(a, bc)`` and
``(ab, c)`` tie and spell the same bytes). RMSNorm is tried on 1-, 2- and 3-D inputs, float32
and float64, with an ``eps`` large enough to matter; the induction score on causal maps of
several heads and batch sizes.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np
import torch

from course_lib.analysis import induction
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of
from course_lib.models import llama
from course_lib.tokenizers import bpe

__all__ = ["EXERCISES"]


# ---------------------------------------------------------------- exercise 1: a BPE merge

def _as_bytes(words: list[str]) -> tuple[list[list[bytes]]]:
    return ([[bytes([b]) for b in word.encode()] for word in words],)


def _ties(rng: np.random.Generator) -> tuple[list[list[bytes]]]:
    """Three two-letter words tie for the top pair, the middle one seen first; eight
    one-letter words "e" in a row add pairs only across pre-token boundaries."""
    tied: set[str] = set()
    while len(tied) < 3:
        a, b = rng.choice(list("abcd"), size=2, replace=False)
        tied.add(a + b)
    low, middle, high = sorted(tied)
    rest = [low] * 4 + [middle] * 3 + [high] * 4
    rest = [rest[i] for i in rng.permutation(len(rest))]
    at = int(rng.integers(0, len(rest)))
    return _as_bytes([middle] + rest[:at] + ["e"] * 8 + rest[at:])


def _runs(rng: np.random.Generator) -> tuple[list[list[bytes]]]:
    """``xxxx`` three times and ``xxx`` once make (x, x) the top pair (11 times) though
    only four pre-tokens hold it, against five ``yz``: ``xxx`` becomes ``xx x``."""
    x, y, z = (str(c) for c in rng.choice(list("abcd"), size=3, replace=False))
    words = [x * 4] * 3 + [x * 3] + [y + z] * 5
    return _as_bytes([words[i] for i in rng.permutation(len(words))])


def _two_byte_tokens(rng: np.random.Generator) -> tuple[list[list[bytes]]]:
    """After earlier merges: (a, bc) and (ab, c) tie, spell the same bytes, and the smaller
    pair (a, bc) comes first; the greater pair as tuples is (ab, c)."""
    a, b, c, d = (bytes([ord(ch)]) for ch in rng.permutation(list("abcd")))
    words = [[a, b + c]] * 2 + [[a + b, c]] * 2 + [[d, a]]
    return ([list(w) for w in words],)


def _merged(pretokens, pair, merge=bpe.merge_pair):
    return pair, [list(merge(tuple(word), pair)) for word in pretokens]


def _counted(pretokens, pairs_of=pairwise):
    counts: Counter = Counter()
    for word in pretokens:
        counts.update(pairs_of(word))
    return counts


def _greatest(counts):
    return max(counts, key=lambda pair: (counts[pair], pair))


def _across_pretokens(pretokens):
    flat = [token for word in pretokens for token in word]
    return _merged(pretokens, _greatest(Counter(pairwise(flat))))


def _smaller_pair_on_ties(pretokens):
    counts = _counted(pretokens)
    top = max(counts.values())
    return _merged(pretokens, min(p for p, n in counts.items() if n == top))


def _first_seen_on_ties(pretokens):
    counts = _counted(pretokens)
    return _merged(pretokens, max(counts, key=counts.get))


def _joined_bytes_on_ties(pretokens):
    counts = _counted(pretokens)
    return _merged(pretokens, max(counts, key=lambda p: (counts[p], p[0] + p[1])))


def _distinct_pairs(pretokens):
    return _merged(pretokens, _greatest(_counted(pretokens, lambda w: set(pairwise(w)))))


def _merged_token(pretokens):
    pair, merged = bpe.merge_step(pretokens)
    return pair[0] + pair[1], merged


def _first_occurrence_only(word, pair):
    for i in range(len(word) - 1):
        if (word[i], word[i + 1]) == pair:
            return (*word[:i], pair[0] + pair[1], *word[i + 2:])
    return word


def _right_to_left(word, pair):
    out, i = [], len(word) - 1
    while i >= 0:
        if i > 0 and (word[i - 1], word[i]) == pair:
            out.insert(0, pair[0] + pair[1])
            i -= 2
        else:
            out.insert(0, word[i])
            i -= 1
    return tuple(out)


def _merging(merge):
    def step(pretokens):
        return _merged(pretokens, _greatest(_counted(pretokens)), merge)
    return step


_m = mistakes_of("l10_bpe_merge")
MERGE = Check(
    name="bpe_merge_step",
    reference=bpe.merge_step,
    cases=[_ties, _runs, _two_byte_tokens],
    trials=6,
    mistakes=[
        _m("across_pretokens", "counted pairs across pre-tokens (as if the text had none): a "
           "merge never crosses a pre-token, so count the pairs inside each one",
           _across_pretokens),
        _m("smaller_on_ties", "broke a tie toward the smaller pair: among the pairs with the "
           "top count, take the greatest (first, second) tuple", _smaller_pair_on_ties),
        _m("first_seen_on_ties", "broke a tie by the pair counted first (max(counts, "
           "key=counts.get)): among the pairs with the top count, take the greatest "
           "(first, second) tuple", _first_seen_on_ties),
        _m("joined_on_ties", "broke a tie by the merged bytes first + second: (a, bc) and "
           "(ab, c) spell the same bytes; compare the (first, second) tuples",
           _joined_bytes_on_ties),
        _m("distinct_pairs", "counted each pair once per pre-token: count every occurrence "
           "(x x x x holds the pair (x, x) three times)", _distinct_pairs),
        _m("merged_token", "returned the merged token where the pair is asked: return the "
           "pair itself, a tuple (first, second), then the merged pre-tokens", _merged_token),
        _m("first_only", "merged only the first occurrence in each pre-token: merge every "
           "occurrence, left to right", _merging(_first_occurrence_only)),
        _m("right_to_left", "merged from the right: x x x becomes xx x when merged left to "
           "right, as BPE does", _merging(_right_to_left)),
    ],
)


# ---------------------------------------------------------------- exercise 2: RMSNorm

def _norm_inputs(shape: tuple[int, ...], dtype: torch.dtype = torch.float32):
    """``x`` of ``shape`` (mean square about 0.1, so that eps matters), a weight ``(D,)``
    and an eps of 0.05 or 0.2."""
    def make(rng: np.random.Generator):
        x = torch.tensor(rng.normal(size=shape) * 0.3, dtype=dtype)
        weight = torch.tensor(rng.normal(size=shape[-1]), dtype=dtype)
        return x, weight, float(rng.choice([0.05, 0.2]))
    return make


def _divided_by(denominator):
    def norm(x, weight, eps):
        return x / denominator(x, eps) * weight
    return norm


def _layer_norm(x, weight, eps):
    centred = x - x.mean(dim=-1, keepdim=True)
    return centred / torch.sqrt((centred ** 2).mean(dim=-1, keepdim=True) + eps) * weight


_m = mistakes_of("l10_rmsnorm")
RMS_NORM = Check(
    name="my_rms_norm",
    reference=llama.rms_norm,
    cases=[_norm_inputs((2, 5, 6)), _norm_inputs((4, 8)), _norm_inputs((6,)),
           _norm_inputs((2, 3, 4), torch.float64)],
    trials=8,
    atol=1e-4,
    mistakes=[
        _m("mean_not_rms", "divided by the mean instead of the root mean square "
           "sqrt(mean(x^2) + eps)", _divided_by(lambda x, eps: x.mean(-1, keepdim=True) + eps)),
        _m("no_eps", "forgot eps inside the square root",
           _divided_by(lambda x, eps: torch.sqrt((x ** 2).mean(-1, keepdim=True)))),
        _m("eps_outside", "added eps outside the square root: it goes inside, "
           "sqrt(mean(x^2) + eps)",
           _divided_by(lambda x, eps: torch.sqrt((x ** 2).mean(-1, keepdim=True)) + eps)),
        _m("no_sqrt", "forgot the square root (divided by the mean square)",
           _divided_by(lambda x, eps: (x ** 2).mean(-1, keepdim=True) + eps)),
        _m("sum_of_squares", "summed the squares instead of averaging them: the root MEAN "
           "square divides by D",
           _divided_by(lambda x, eps: torch.sqrt((x ** 2).sum(-1, keepdim=True) + eps))),
        _m("wrong_axis", "normalised over another axis than the last: the root mean square "
           "is over the features, dim=-1, whatever the number of axes",
           _divided_by(lambda x, eps: torch.sqrt((x ** 2).mean(1, keepdim=True) + eps)),
           _divided_by(lambda x, eps: torch.sqrt((x ** 2).mean(0, keepdim=True) + eps))),
        _m("whole_tensor", "took the mean over the whole tensor: each vector (the last axis) "
           "gets its own root mean square (mean(dim=-1, keepdim=True))",
           _divided_by(lambda x, eps: torch.sqrt((x ** 2).mean() + eps))),
        _m("layer_norm", "subtracted the mean: that is LayerNorm, not RMSNorm", _layer_norm),
        _m("std", "divided by the standard deviation (x.var or x.std subtract the mean): "
           "RMSNorm uses the mean of x^2 itself",
           _divided_by(lambda x, eps: torch.sqrt(x.var(-1, keepdim=True) + eps)),
           _divided_by(lambda x, eps: torch.sqrt(x.var(-1, keepdim=True, correction=0)
                                                 + eps))),
        _m("no_weight", "forgot to multiply by weight",
           lambda x, weight, eps: x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + eps)),
    ],
)


# ---------------------------------------------------------------- exercise 3: induction

def _maps(batch: int):
    """Causal attention weights ``(batch, H, 2 span, 2 span)``, H from 2 to 4, span 4 to 7."""
    def make(rng: np.random.Generator):
        span, heads = int(rng.integers(4, 8)), int(rng.integers(2, 5))
        T = 2 * span
        scores = torch.tensor(rng.normal(size=(batch, heads, T, T)) * 2, dtype=torch.float32)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        return scores.masked_fill(~causal, float("-inf")).softmax(-1), span
    return make


def _induction_reference(weights, span):
    """``induction.induction_scores([weights], span)[0]``: one score per head, ``(H,)``."""
    return induction.induction_scores([weights], span)[0]


def _on_diagonal(offset, start, reduce=lambda picked: picked.mean(dim=(0, 2))):
    """Each query ``t >= start(span)`` on key ``t - offset(span)``, reduced."""
    def score(weights, span):
        q = torch.arange(start(span), weights.shape[-1])
        return reduce(weights[:, :, q, q - offset(span)])
    return score


def _transposed(weights, span):
    q = torch.arange(span, weights.shape[-1])
    return weights[:, :, q - span + 1, q].mean(dim=(0, 2))


_m = mistakes_of("l10_induction")
INDUCTION = Check(
    name="my_induction_score",
    reference=_induction_reference,
    cases=[_maps(2), _maps(1), _maps(3)],
    mistakes=[
        _m("copy_token", "looked at the earlier copy of the current token (t - span), not the "
           "token after it (t - span + 1)", _on_diagonal(lambda s: s, lambda s: s)),
        _m("key_before", "looked at key t - span - 1, the token before the earlier copy: the "
           "induction head looks at the one after it, t - span + 1",
           _on_diagonal(lambda s: s + 1, lambda s: s)),
        _m("previous_token", "measured the previous token (t - 1): that is a previous-token "
           "head", _on_diagonal(lambda s: 1, lambda s: s)),
        _m("all_queries", "averaged over every query that has such a key (from t = span - 1), "
           "not only the second half (t >= span)",
           _on_diagonal(lambda s: s - 1, lambda s: s - 1)),
        _m("late_start", "started one query late (t > span): the second half starts at "
           "t = span", _on_diagonal(lambda s: s - 1, lambda s: s + 1)),
        _m("heads_averaged", "averaged over the heads too: give one score per head, shape (H,)",
           _on_diagonal(lambda s: s - 1, lambda s: s,
                        lambda w: w.mean().expand(w.shape[1]))),
        _m("batch_kept", "kept the batch axis: average over the batch and the queries, "
           "mean(dim=(0, 2)), for one score per head, shape (H,)",
           _on_diagonal(lambda s: s - 1, lambda s: s, lambda w: w.mean(dim=2))),
        _m("summed", "summed the weights instead of averaging them over the batch and the "
           "queries", _on_diagonal(lambda s: s - 1, lambda s: s, lambda w: w.sum(dim=(0, 2)))),
        _m("transposed", "indexed weights[..., key, query]: weights[..., t, s] is the weight "
           "query t puts on key s", _transposed),
    ],
)

EXERCISES = catalogue(
    Exercise("l10_bpe_merge", (MERGE,), forbidden=(bpe.merge_step,)),
    Exercise("l10_rmsnorm", (RMS_NORM,), forbidden=(llama.rms_norm,)),
    Exercise("l10_induction", (INDUCTION,), forbidden=(induction.induction_scores,)),
)
