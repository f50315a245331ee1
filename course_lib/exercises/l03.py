"""Lesson 03's exercises: masked softmax, scaled dot-product attention, additive scores and
the bug hunt, in NumPy.

The cases cover what each task allows and where the classic mistakes part from the truth:
rectangular shapes (T, S, d_k and d_v all different), batched inputs (3-D and 4-D), masks of
every broadcastable shape ((B, T, S), (T, S), (B, 1, 1, S), (S,)), ``mask=None``, fully
masked rows, scores near 1000 with masked scores far above them, float32 and float64.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.attention import numpy_ref
from course_lib.attention.scores import AdditiveScore
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of

__all__ = ["EXERCISES"]

_softmax = numpy_ref.softmax


def _first_empty_row(scores, mask) -> dict:
    """``row``: the index of the first row of the (broadcast) mask that allows no key;
    ``S``: the number of keys."""
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), np.shape(scores))
    empty = np.argwhere(~mask.any(axis=-1))
    return {"row": tuple(int(i) for i in empty[0]), "S": np.shape(scores)[-1]}


# ---------------------------------------------------------------- exercise 1: masked softmax

def _masked_case(scores_shape, mask_shape, *, empty_row=None, dtype=np.float64,
                 offset=0.0, masked_high=False):
    """Scores of ``scores_shape`` (scale 3, plus ``offset``) and a random bool mask of
    ``mask_shape``; ``empty_row`` (an index into the mask) allows no key; ``masked_high``
    puts the masked scores 1000 above the allowed ones."""
    def make(rng: np.random.Generator):
        scores = rng.normal(scale=3.0, size=scores_shape) + offset
        mask = rng.random(mask_shape) > 0.4
        mask[..., 0] |= ~mask.any(axis=-1)  # no accidental empty rows
        if empty_row is not None:
            mask[empty_row] = False
        if masked_high:
            scores = np.where(np.broadcast_to(mask, scores_shape), scores, scores + 1000.0)
        return scores.astype(dtype), mask
    return make


MASKED_SOFTMAX_CASES = [
    _masked_case((3, 6), (3, 6), offset=1000.0),                    # scores near 1000
    _masked_case((3, 6), (3, 6), offset=1000.0, masked_high=True),  # masked ones far above
    _masked_case((2, 3, 5), (2, 3, 5), empty_row=(0, 1)),          # a fully masked row
    _masked_case((4, 6), (4, 6), dtype=np.float32),                # 2-D, float32
    _masked_case((2, 3, 5), (3, 5), empty_row=(2,)),               # (T, S) mask, batched
    _masked_case((2, 2, 3, 4), (2, 1, 1, 4)),                      # (B, 1, 1, S) key padding
    _masked_case((2, 3, 5), (5,), dtype=np.float32),               # (S,) mask
    _masked_case((2, 4, 3), (2, 4, 3), empty_row=(1, 3)),
]


def _fill_then_softmax(fill):
    def masked_softmax(scores, mask):
        return _softmax(np.where(mask, scores, fill), axis=-1)
    return masked_softmax


def _no_max(scores, mask):
    e = np.where(mask, np.exp(scores), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def _no_max_guarded(scores, mask):
    e = np.where(mask, np.exp(scores), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def _no_max_times_mask(scores, mask):
    e = np.exp(scores) * mask
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def _no_max_inf_fill(scores, mask):
    e = np.exp(np.where(mask, scores, -np.inf))
    return e / e.sum(axis=-1, keepdims=True)


def _max_of_all(scores, mask):
    e = np.where(mask, np.exp(scores - scores.max(axis=-1, keepdims=True)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def _max_of_all_unguarded(scores, mask):
    e = np.where(mask, np.exp(scores - scores.max(axis=-1, keepdims=True)), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def _index_fill(scores, mask):
    scores = np.array(scores, dtype=np.float64)
    scores[~mask] = -np.inf
    return numpy_ref.masked_softmax(scores, np.isfinite(scores))


def _index_fill_in_place(scores, mask):
    scores[~mask] = -np.inf
    return numpy_ref.masked_softmax(scores, np.isfinite(scores))


def _times_mask(scores, mask):
    return _softmax(scores, axis=-1) * mask


def _ignore_mask(scores, mask):
    return _softmax(scores, axis=-1)


def _inverted(scores, mask):
    return numpy_ref.masked_softmax(scores, ~np.asarray(mask, dtype=bool))


def _inverted_inf_fill(scores, mask):
    return _softmax(np.where(mask, -np.inf, scores), axis=-1)


def _masked_axis(axis):
    def masked_softmax(scores, mask):
        return numpy_ref.masked_softmax(scores, mask, axis=axis)
    return masked_softmax


_m = mistakes_of("l03_masked_softmax")
MASKED_SOFTMAX = Check(
    name="masked_softmax",
    reference=numpy_ref.masked_softmax,
    cases=MASKED_SOFTMAX_CASES,
    mistakes=[
        _m("inf_fill_nan", "filled masked scores with -inf and then took a stable softmax: "
           "row {row} of the mask allows no key, so every weight there should be 0; with -inf "
           "filled in, its max is -inf and exp(-inf - (-inf)) is NaN. Give a row with no "
           "allowed key zeros (guard the max and the division)", _fill_then_softmax(-np.inf),
           details=_first_empty_row),
        _m("big_negative_fill", "filled masked scores with a large negative number (like "
           "-1e9) instead of excluding them: row {row} of the mask allows no key, so all its "
           "scores are equal and the softmax gives each of its {S} keys 1/{S} instead of 0",
           _fill_then_softmax(-1e9), _fill_then_softmax(-1e30), details=_first_empty_row),
        _m("zero_fill", "set masked scores to 0 instead of excluding them: exp(0) = 1 still "
           "gives them weight", _fill_then_softmax(0.0)),
        _m("no_max", "did not subtract the row max before exp: scores near 1000 overflow "
           "(e^1000 is inf, and inf/inf is NaN)", _no_max, _no_max_guarded, _no_max_inf_fill,
           _no_max_times_mask),
        _m("max_of_all", "took the row max over every score, masked ones included: a masked "
           "score 1000 above the allowed ones makes every allowed exp underflow to 0. Take "
           "the max over the allowed scores only", _max_of_all, _max_of_all_unguarded),
        _m("index_fill", "wrote scores[~mask] = -np.inf: boolean indexing needs a mask of "
           "exactly the scores' shape, but a mask only has to broadcast to it (here {mask}); "
           "np.where(mask, scores, -np.inf) broadcasts",
           _index_fill, _index_fill_in_place,
           details=lambda scores, mask: {"mask": np.shape(mask)}),
        _m("times_mask", "multiplied the softmax by the mask without renormalising: the "
           "allowed weights of a row must sum to 1 again", _times_mask),
        _m("ignored_mask", "ignored the mask: masked keys got weight", _ignore_mask),
        _m("inverted_mask", "used the mask the wrong way round: True means 'may attend', so "
           "keep the scores where mask is True and exclude the others", _inverted,
           _inverted_inf_fill),
        _m("query_axis", "normalised over the queries (axis -2) instead of the keys (the last "
           "axis)", _masked_axis(-2)),
        _m("axis1", "normalised over axis=1, which is the keys' axis only for 2-D scores: "
           "use axis=-1 so that batched scores work too", _masked_axis(1)),
    ],
)


# ---------------------------------------------------------------- exercise 2: sdpa

def _sdpa_case(batch, T, S, dk, dv, mask_shape="full", *, dtype=np.float64, empty_row=None,
               keyword=False):
    """q (*batch, T, dk), k (*batch, S, dk), v (*batch, S, dv) and a mask: ``"full"``
    (*batch, T, S), ``"TS"`` (T, S), ``"keys"`` (*batch[:1], 1.., S), ``None`` (the argument
    left out) or ``"None"`` (passed as mask=None)."""
    def make(rng: np.random.Generator):
        q = rng.normal(size=(*batch, T, dk)).astype(dtype)
        k = rng.normal(size=(*batch, S, dk)).astype(dtype)
        v = rng.normal(size=(*batch, S, dv)).astype(dtype)
        if mask_shape is None:
            return q, k, v
        if mask_shape == "None":
            return (q, k, v), {"mask": None}
        shape = {"full": (*batch, T, S), "TS": (T, S),
                 "keys": (*batch[:1], *([1] * (len(batch) - 1)), 1, S)}[mask_shape]
        mask = rng.random(shape) > 0.3
        mask[..., 0] |= ~mask.any(axis=-1)
        if empty_row is not None:
            mask[empty_row] = False
        return ((q, k, v), {"mask": mask}) if keyword else (q, k, v, mask)
    return make


SDPA_CASES = [
    _sdpa_case((2,), 3, 7, 5, 4, "full", empty_row=(1, 2)),   # batched, fully masked row
    _sdpa_case((), 4, 6, 3, 5, None),                         # 2-D, mask left out
    _sdpa_case((2,), 4, 3, 6, 5, "TS", keyword=True),         # (T, S) mask for a batch
    _sdpa_case((2, 3), 3, 5, 4, 6, "keys"),                   # 4-D (B, H, T, d), key padding
    _sdpa_case((3,), 2, 5, 6, 4, "None", dtype=np.float32),   # mask=None passed, float32
    _sdpa_case((), 5, 3, 2, 6, "full"),
]


def _sdpa_from(scores, *, weights_axis=-1, order="ok", ignore_mask=False, invert=False):
    """An sdpa whose scores come from ``scores(q, k, v)`` (already scaled), with one
    optional slip in the weights or the return value."""
    def sdpa(q, k, v, mask=None):
        if ignore_mask:
            mask = None
        elif invert and mask is not None:
            mask = ~np.asarray(mask, dtype=bool)
        w = numpy_ref.masked_softmax(scores(q, k, v), mask, axis=weights_axis)
        return (w, w @ v) if order == "swapped" else (w @ v, w)
    return sdpa


def _swap(k):
    return np.swapaxes(k, -1, -2)


def _scaled_by(size):
    """Scores ``q k^T / sqrt(size(q, k, v))``."""
    return _sdpa_from(lambda q, k, v: q @ _swap(k) / np.sqrt(size(q, k, v)))


def _right(q, k, v):
    return q @ _swap(k) / np.sqrt(q.shape[-1])


def _where_none(q, k, v, mask=None):
    scores = q @ _swap(k) / np.sqrt(q.shape[-1])
    if mask is None:  # np.where(None, ...) reads None as False: every score becomes -inf
        w = _softmax(np.where(mask, scores, -np.inf), axis=-1)
    else:
        w = numpy_ref.masked_softmax(scores, mask)
    return w @ v, w


def _crashes_on_none(error, q, k, v, mask=None) -> bool:
    return mask is None and "NoneType" in str(error)


_m = mistakes_of("l03_sdpa")
SDPA = Check(
    name="sdpa",
    reference=numpy_ref.scaled_dot_product_attention,
    cases=SDPA_CASES,
    mistakes=[
        _m("k_dot_T", "used k.T: on a batched array .T reverses every axis ({shape} becomes "
           "{reversed}), so the shapes no longer meet. Swap only the last two axes: "
           "np.swapaxes(k, -1, -2)",
           _sdpa_from(lambda q, k, v: q @ k.T / np.sqrt(q.shape[-1])),
           _sdpa_from(lambda q, k, v: np.matmul(q, k.T) / np.sqrt(q.shape[-1])),
           _sdpa_from(lambda q, k, v: q @ k.transpose() / np.sqrt(q.shape[-1])),
           details=lambda q, k, v, mask=None: {"shape": np.shape(k),
                                                "reversed": np.shape(k)[::-1]}),
        _m("transpose_3d", "swapped axes with k.transpose(0, 2, 1), which fits 3-D arrays "
           "only: np.swapaxes(k, -1, -2) works for any number of batch axes",
           _sdpa_from(lambda q, k, v: q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1]))),
        _m("np_dot", "used np.dot, which on batched arrays pairs every batch with every other "
           "one: use @ (np.matmul), which pairs batch i with batch i",
           _sdpa_from(lambda q, k, v: np.dot(q, _swap(k)) / np.sqrt(q.shape[-1]))),
        _m("elementwise", "multiplied q * k element-wise: that pairs query i only with key i; "
           "every query needs a score with every key, q @ np.swapaxes(k, -1, -2)",
           _sdpa_from(lambda q, k, v: (q * k).sum(-1, keepdims=True) / np.sqrt(q.shape[-1])),
           _sdpa_from(lambda q, k, v: (q * k) / np.sqrt(q.shape[-1]))),
        _m("no_scale", "left out the 1/sqrt(d_k) scale", _sdpa_from(lambda q, k, v: q @ _swap(k))),
        _m("d_k_not_sqrt", "divided by d_k instead of sqrt(d_k)",
           _sdpa_from(lambda q, k, v: q @ _swap(k) / q.shape[-1])),
        _m("scale_d_v", "scaled by sqrt(d_v), v's last axis: the scale is 1/sqrt(d_k), with "
           "d_k = q.shape[-1] = k.shape[-1]", _scaled_by(lambda q, k, v: v.shape[-1])),
        _m("scale_T", "scaled by sqrt(T), the number of queries (q.shape[-2]): the scale is "
           "1/sqrt(d_k), with d_k = q.shape[-1]", _scaled_by(lambda q, k, v: q.shape[-2])),
        _m("scale_S", "scaled by sqrt(S), the number of keys (k.shape[-2]): the scale is "
           "1/sqrt(d_k), with d_k = q.shape[-1]", _scaled_by(lambda q, k, v: k.shape[-2])),
        _m("scale_first", "scaled by sqrt(q.shape[0]) (or len(q)): the first axis is the "
           "batch (or the queries), not d_k = q.shape[-1]",
           _scaled_by(lambda q, k, v: q.shape[0]), _scaled_by(lambda q, k, v: k.shape[0])),
        _m("query_axis", "took the softmax over the queries (axis -2) instead of the keys",
           _sdpa_from(_right, weights_axis=-2)),
        _m("ignored_mask", "ignored the mask: pass it on to numpy_ref.masked_softmax",
           _sdpa_from(_right, ignore_mask=True)),
        _m("inverted_mask", "used the mask the wrong way round: True means 'may attend'",
           _sdpa_from(_right, invert=True)),
        _m("none_masks_all", "treated mask=None as 'no key allowed': np.where(None, scores, "
           "-np.inf) masks everything. When mask is None every key is allowed",
           _where_none),
        _m("none_crash", "did not handle mask=None, the default: with no mask every key is "
           "allowed (numpy_ref.masked_softmax(scores, None) does that)",
           raised=_crashes_on_none),
        _m("swapped_return", "returned (weights, out); the task asks for (out, weights)",
           _sdpa_from(_right, order="swapped")),
    ],
)

# ---------------------------------------------------------------- exercise 3: additive

def _additive_case(T, S, dq, dk, h, dtype=np.float64):
    def make(rng: np.random.Generator):
        return tuple(rng.normal(size=shape).astype(dtype)
                     for shape in ((T, dq), (S, dk), (h, dq), (h, dk), (h,)))
    return make


ADDITIVE_CASES = [_additive_case(3, 5, 4, 6, 7), _additive_case(4, 2, 5, 3, 6),
                  _additive_case(2, 6, 3, 5, 4, np.float32), _additive_case(5, 3, 6, 2, 8)]


def _additive_reference(q, k, Wq, Wk, v):
    """The course_lib (torch) additive score with these weights: ``(T, S)``."""
    score = AdditiveScore(Wq.shape[1], Wk.shape[1], Wq.shape[0]).double()
    with torch.no_grad():
        score.query_proj.weight.copy_(torch.tensor(Wq))
        score.key_proj.weight.copy_(torch.tensor(Wk))
        score.v.weight.copy_(torch.tensor(v)[None])
        return score(torch.tensor(q, dtype=torch.float64)[None],
                     torch.tensor(k, dtype=torch.float64)[None])[0].numpy()


def _pairs(q, k, Wq, Wk):
    return (q @ Wq.T)[:, None, :] + (k @ Wk.T)[None, :, :]  # (T, S, h)


_m = mistakes_of("l03_additive")
ADDITIVE = Check(
    name="additive_scores",
    reference=_additive_reference,
    cases=ADDITIVE_CASES,
    mistakes=[
        _m("no_tanh", "forgot the tanh between the projections and v",
           lambda q, k, Wq, Wk, v: _pairs(q, k, Wq, Wk) @ v),
        _m("tanh_outside", "applied tanh after multiplying by v instead of before",
           lambda q, k, Wq, Wk, v: np.tanh(_pairs(q, k, Wq, Wk) @ v)),
        _m("no_transpose", "multiplied by Wq (or Wk) instead of its transpose: the weights are "
           "in torch.nn.Linear's (out, in) layout, so W_q q_i is q @ Wq.T",
           lambda q, k, Wq, Wk, v: np.tanh((q @ Wq)[:, None] + (k @ Wk)[None]) @ v,
           lambda q, k, Wq, Wk, v: np.tanh((q @ Wq)[:, None] + (k @ Wk.T)[None]) @ v,
           lambda q, k, Wq, Wk, v: np.tanh((q @ Wq.T)[:, None] + (k @ Wk)[None]) @ v),
        _m("swapped_weights", "projected the queries with Wk and the keys with Wq: W_q belongs "
           "to the queries",
           lambda q, k, Wq, Wk, v: np.tanh((q @ Wk.T)[:, None] + (k @ Wq.T)[None]) @ v),
        _m("no_broadcast", "added the projected queries (T, h) and keys (S, h) directly: give "
           "them different axes, (T, 1, h) + (1, S, h), so that every query meets every key",
           lambda q, k, Wq, Wk, v: np.tanh(q @ Wq.T + k @ Wk.T) @ v),
        _m("keys_first", "put the keys on the first axis: the scores are (T, S), one row per "
           "query, so the queries get the new axis after them: (q @ Wq.T)[:, None, :]",
           lambda q, k, Wq, Wk, v: np.tanh((k @ Wk.T)[:, None] + (q @ Wq.T)[None]) @ v),
        _m("sum_not_v", "summed the tanh features instead of weighting them by v: the score is "
           "v^T tanh(...), features @ v",
           lambda q, k, Wq, Wk, v: np.tanh(_pairs(q, k, Wq, Wk)).sum(-1)),
    ],
)


# ---------------------------------------------------------------- exercise 4: the bug hunt

def _bug_case(T, S, dk, dv, dtype=np.float64):
    def make(rng: np.random.Generator):
        return (rng.normal(size=(T, dk)).astype(dtype), rng.normal(size=(S, dk)).astype(dtype),
                rng.normal(size=(S, dv)).astype(dtype))
    return make


# The snippet's own square (8, 8) inputs first, where each half-fixed version still runs and
# is named by its values; then rectangular ones, where only the right sizes work.
BUG_CASES = [_bug_case(8, 8, 8, 8), _bug_case(3, 5, 4, 6), _bug_case(8, 8, 8, 8),
             _bug_case(6, 2, 3, 5, np.float32), _bug_case(4, 7, 5, 3)]


def _bug_reference(Q, K, V):
    """The attention output only: ``numpy_ref.scaled_dot_product_attention(Q, K, V)[0]``."""
    return numpy_ref.scaled_dot_product_attention(Q, K, V)[0]


def _fixed(scale=lambda Q, K, V: np.sqrt(K.shape[-1]), axis=-1, scores=None, combine=None,
           with_weights=False):
    def fixed_attention(Q, K, V):
        s = scores(Q, K, V) if scores else Q @ K.T
        weights = _softmax(s / scale(Q, K, V), axis)
        out = combine(weights, V) if combine else weights @ V
        return (out, weights) if with_weights else out
    return fixed_attention


_m = mistakes_of("l03_bug_hunt")
BUG_HUNT = Check(
    name="fixed_attention",
    reference=_bug_reference,
    cases=BUG_CASES,
    mistakes=[
        _m("kept_1_and_6", "kept mistakes (1) and (6), the element-wise pairing q_i * k_i and "
           "weights * V", _fixed(scores=lambda Q, K, V: Q * K, combine=lambda w, V: w * V)),
        _m("kept_1", "kept mistake (1), the element-wise Q * K: it pairs query i only with key "
           "i; every query needs a score with every key, Q @ K.T",
           _fixed(scores=lambda Q, K, V: Q * K)),
        _m("kept_2", "kept mistake (2), the missing 1/sqrt(d_k) scale",
           _fixed(scale=lambda Q, K, V: 1.0)),
        _m("kept_3", "kept mistake (3), multiplying the scores by V before the softmax",
           _fixed(scores=lambda Q, K, V: Q @ K.T * V)),
        _m("kept_5", "kept mistake (5), normalising over axis 0 (the queries) instead of the "
           "keys (axis=-1)", _fixed(axis=0)),
        _m("kept_6", "kept mistake (6), weights * V (element-wise) instead of weights @ V",
           _fixed(combine=lambda w, V: w * V)),
        _m("no_transpose", "left out the transpose while fixing (1): Q @ K instead of Q @ K.T",
           _fixed(scores=lambda Q, K, V: Q @ K)),
        _m("scale_T", "divided by sqrt(Q.shape[0]), the number of queries: the scale is "
           "1/sqrt(d_k), with d_k = Q.shape[-1] = K.shape[-1] (the square 8 x 8 inputs hid "
           "this)", _fixed(scale=lambda Q, K, V: np.sqrt(Q.shape[0]))),
        _m("scale_S", "divided by sqrt(len(K)), the number of keys: the scale is 1/sqrt(d_k), "
           "with d_k = K.shape[-1] (the square 8 x 8 inputs hid this)",
           _fixed(scale=lambda Q, K, V: np.sqrt(len(K)))),
        _m("scale_d_v", "divided by sqrt(V.shape[1]), the width of the values: the scale is "
           "1/sqrt(d_k), with d_k = K.shape[-1] (the square 8 x 8 inputs hid this)",
           _fixed(scale=lambda Q, K, V: np.sqrt(V.shape[1]))),
        _m("scale_8", "hard-coded sqrt(8): d_k is 8 only in the snippet's example; use "
           "np.sqrt(K.shape[-1])", _fixed(scale=lambda Q, K, V: np.sqrt(8.0))),
        _m("d_k_not_sqrt", "divided by d_k instead of sqrt(d_k)",
           _fixed(scale=lambda Q, K, V: K.shape[-1])),
        _m("kept_4", "kept mistake (4): NumPy has no np.softmax; use numpy_ref.softmax(scores, "
           "axis=-1) or write it from np.exp", lambda Q, K, V: np.softmax(Q @ K.T, axis=-1) @ V),
        _m("with_weights", "returned (output, weights): fixed_attention returns the attention "
           "output only", _fixed(with_weights=True)),
    ],
)


EXERCISES = catalogue(
    Exercise("l03_masked_softmax", (MASKED_SOFTMAX,), forbidden=(numpy_ref.masked_softmax,)),
    Exercise("l03_sdpa", (SDPA,), forbidden=(numpy_ref.scaled_dot_product_attention,)),
    Exercise("l03_additive", (ADDITIVE,),
             forbidden=(AdditiveScore.__init__, AdditiveScore.forward)),
    Exercise("l03_bug_hunt", (BUG_HUNT,), forbidden=(numpy_ref.scaled_dot_product_attention,)),
)
