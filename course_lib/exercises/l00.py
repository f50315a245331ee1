"""Lesson 00's exercise: a numerically stable softmax along the last axis.

The cases cover what "any shape" allows: 1-, 2-, 3- and 4-D arrays, float64 and float32,
rows far apart (a shift by the whole array's maximum underflows) and rows whose values are
spread over more than 710 (where ``exp`` overflows unless the row *maximum* is subtracted:
a shift by the row's minimum, mean or first element is not enough).
"""

from __future__ import annotations

import numpy as np

from course_lib.attention import numpy_ref
from course_lib.exercises.catalogue import Check, Exercise, catalogue, mistakes_of

__all__ = ["EXERCISES"]


def _far_rows(shape: tuple[int, ...], dtype: type = np.float64):
    """Rows 2000 apart (+1000 and -1000), each spread about 100: plain exp overflows, and a
    shift by the whole array's maximum underflows the low rows to 0/0."""
    def make(rng: np.random.Generator) -> tuple[np.ndarray]:
        rows = int(np.prod(shape[:-1]))
        offsets = np.where(np.arange(rows) % 2 == 0, 1000.0, -1000.0).reshape(shape[:-1] + (1,))
        return ((rng.normal(scale=30.0, size=shape) + offsets).astype(dtype),)
    return make


def _wide_rows(rng: np.random.Generator) -> tuple[np.ndarray]:
    """Three rows spread over 800-1000 (more than exp's 709 limit), so that subtracting the
    row minimum, mean or first element overflows each on different rows:
    row 0 starts at its maximum (only the minimum shift overflows), row 1 starts at its
    minimum (minimum and first-element shifts overflow), row 2 has one high value (all three
    overflow, the mean being 800 below the maximum)."""
    noise = rng.normal(scale=3.0, size=(3, 5))
    rows = np.array([[800.0, 0, 0, 0, 0], [0, 1000, 1000, 1000, 1000], [0, 0, 0, 0, 1000]])
    return (rows + noise,)


def _small_rows(rng: np.random.Generator) -> tuple[np.ndarray]:
    """A 1-D row of ordinary scores: nothing overflows (here axis=0 is the last axis)."""
    return (rng.normal(scale=2.0, size=6),)


def _naive(x):
    return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)


def _shift(by):
    """Two ways to write a softmax shifted by ``by(x)``: in x's own dtype, and in float64 (a
    float32 row overflows exp sooner, past 88)."""
    def same_dtype(x):
        e = np.exp(x - by(x))
        return e / e.sum(axis=-1, keepdims=True)

    def as_float64(x):
        return same_dtype(np.asarray(x, dtype=np.float64))
    return same_dtype, as_float64


def _axis(axis):
    def softmax(x):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    return softmax


def _row_max_sum_axis0(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _textbook_1d(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _whole_sum(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum()


def _no_keepdims_max(x):
    e = np.exp(x - x.max(axis=-1))
    return e / e.sum(axis=-1, keepdims=True)


def _no_keepdims_sum(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1)


def _no_keepdims_both(x):
    e = np.exp(x - x.max(axis=-1))
    return e / e.sum(axis=-1)


_m = mistakes_of("l00_softmax")
SOFTMAX = Check(
    name="stable_softmax",
    reference=numpy_ref.softmax,
    cases=[_small_rows, _far_rows((3, 4)), _far_rows((2, 3, 4)), _wide_rows,
           _far_rows((4, 3), np.float32), _far_rows((2, 2, 2, 5)), _far_rows((5,)),
           _wide_rows],
    mistakes=[
        _m("naive", "forgot to subtract the max, so exp overflowed (e^1000 is inf) and "
           "inf/inf gave NaN", _naive),
        _m("min_shift", "subtracted the row minimum: on a row spread more than 709 the "
           "largest value still overflows exp. Subtract the row maximum, so the largest "
           "exponent is e^0 = 1", *_shift(lambda x: x.min(axis=-1, keepdims=True))),
        _m("mean_shift", "subtracted the row mean: a value more than 709 above the mean still "
           "overflows exp. Subtract the row maximum, so the largest exponent is e^0 = 1",
           *_shift(lambda x: x.mean(axis=-1, keepdims=True))),
        _m("first_shift", "subtracted the row's first element: a value more than 709 above it "
           "still overflows exp. Subtract the row maximum, so the largest exponent is e^0 = 1",
           *_shift(lambda x: x[..., :1])),
        _m("global_max", "subtracted the max of the whole array, so a row far below it "
           "underflows to 0/0: take the max of each row (axis=-1, keepdims=True)",
           *_shift(lambda x: x.max())),
        _m("textbook_1d", "wrote the 1-D textbook softmax: np.max(x) and np.sum(...) over the "
           "whole array, not along the last axis (axis=-1, keepdims=True)", _textbook_1d),
        _m("whole_sum", "divided by the sum of the whole array (e.sum()): sum along the last "
           "axis, e.sum(axis=-1, keepdims=True), so that each row sums to one", _whole_sum),
        _m("axis0", "normalised over the first axis (axis=0) instead of the last (axis=-1)",
           _axis(0), _row_max_sum_axis0),
        _m("axis1", "used axis=1, which is the last axis only of a 2-D array: axis=-1 works "
           "for any shape", _axis(1)),
        _m("no_keepdims", "forgot keepdims=True: x.max(axis=-1) or .sum(axis=-1) drops the "
           "last axis, so it no longer lines up with x's rows", _no_keepdims_max,
           _no_keepdims_sum, _no_keepdims_both),
    ],
)

EXERCISES = catalogue(Exercise("l00_softmax", (SOFTMAX,), forbidden=(numpy_ref.softmax,)))
