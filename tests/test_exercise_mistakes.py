"""The exercise-mistake audit: no classic wrong answer passes a visible check, and each one
fails with its own message.

Two halves:

- the catalogues (:mod:`course_lib.exercises`, one module per lesson): every mistake's every
  variant, run *as the learner's answer* through its exercise's check, must fail with
  "It looks like you <that mistake>" as the first line, with the notebook's seed and with
  other seeds (the grader picks its own), so the cases expose it whatever the random values;
  no two mistakes of an exercise share a message;
- the notebooks (new lessons are picked up from ``notebooks/``): each exercise's cells run
  in this process, each test cell with its hidden tests removed, as in the learner's copy.
  The source solution must pass; a blank answer must say "not written yet"; each wrong
  answer a learner writes, listed in :data:`WRITTEN` (every classic mistake of issues 22 and
  27 among them), must fail the visible test cell with the words given, and an answer that
  calls the function it is asked to write must fail as ``course grade`` fails it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from course_lib import exercises
from course_lib.notebook import checks
from course_tools import notebooks, progress

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
LESSONS = notebooks.lesson_paths(REPO / "notebooks")
SEEDS = [0, 1, 2024]  # the notebook's seed, and two the grader might pick
USES_REFERENCE = "the course_lib function this exercise asks you to write"

# Wrong answers written as a learner writes them, with the words the first line of the
# message must contain. grade_id -> [(answer cell, words)].
WRITTEN: dict[str, list[tuple[str, str]]] = {
    "l00_softmax": [
        ("def stable_softmax(x):\n    exps = np.exp(x)\n"
         "    return exps / exps.sum(axis=-1, keepdims=True)\n",
         "It looks like you forgot to subtract the max"),
        ("def stable_softmax(x):\n    e = np.exp(x - x.min(axis=-1, keepdims=True))\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n",
         "It looks like you subtracted the row minimum"),
        ("def stable_softmax(x):\n    e = np.exp(x - np.mean(x, axis=-1, keepdims=True))\n"
         "    return e / np.sum(e, axis=-1, keepdims=True)\n",
         "It looks like you subtracted the row mean"),
        ("def stable_softmax(x):\n    e = np.exp(x - x[..., 0:1])\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n",
         "It looks like you subtracted the row's first element"),
        ("def stable_softmax(x):\n    shifted = x - x.max(axis=-1)\n"
         "    exps = np.exp(shifted)\n    return exps / exps.sum(axis=-1)\n",
         "It looks like you forgot keepdims=True"),
        ("def stable_softmax(x):\n    exps = np.exp(x - x.max(axis=-1, keepdims=True))\n"
         "    return exps / exps.sum(axis=-1)\n",
         "It looks like you forgot keepdims=True"),
        ("def stable_softmax(x):\n    e_x = np.exp(x - np.max(x))\n    return e_x / e_x.sum()\n",
         "It looks like you wrote the 1-D textbook softmax"),
        ("def stable_softmax(x):\n    e = np.exp(x - x.max(axis=-1, keepdims=True))\n"
         "    return e / e.sum()\n",
         "It looks like you divided by the sum of the whole array"),
        ("def stable_softmax(x):\n    e = np.exp(x - np.max(x))\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n",
         "It looks like you subtracted the max of the whole array"),
        ("def stable_softmax(x):\n    e = np.exp(x - x.max(axis=0, keepdims=True))\n"
         "    return e / e.sum(axis=0, keepdims=True)\n",
         "It looks like you normalised over the first axis"),
        ("def stable_softmax(x):\n    e = np.exp(x - x.max(axis=1, keepdims=True))\n"
         "    return e / e.sum(axis=1, keepdims=True)\n",
         "It looks like you used axis=1"),
        ("def stable_softmax(x):\n    return numpy_ref.softmax(x)\n", USES_REFERENCE),
    ],
    "l03_masked_softmax": [
        ("def masked_softmax(scores, mask):\n"
         "    s = np.where(mask, scores, -np.inf)\n"
         "    e = np.exp(s - s.max(axis=-1, keepdims=True))\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n",
         "every weight there should be 0; with -inf filled in"),
        ("def masked_softmax(scores, mask):\n"
         "    s = np.where(mask, scores, -1e9)\n"
         "    e = np.exp(s - s.max(axis=-1, keepdims=True))\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n",
         "It looks like you filled masked scores with a large negative number"),
        ("def masked_softmax(scores, mask):\n"
         "    scores = scores.copy()\n    scores[~mask] = -np.inf\n"
         "    m = scores.max(axis=-1, keepdims=True)\n    m[~np.isfinite(m)] = 0\n"
         "    e = np.exp(scores - m)\n    t = e.sum(axis=-1, keepdims=True)\n"
         "    return np.divide(e, t, out=np.zeros_like(e), where=t > 0)\n",
         "It looks like you wrote scores[~mask] = -np.inf"),
        ("def masked_softmax(scores, mask):\n"
         "    e = np.exp(scores) * mask\n    t = e.sum(axis=-1, keepdims=True)\n"
         "    return np.divide(e, t, out=np.zeros_like(e), where=t > 0)\n",
         "It looks like you did not subtract the row max"),
        ("def masked_softmax(scores, mask):\n"
         "    e = np.exp(scores - scores.max(axis=-1, keepdims=True)) * mask\n"
         "    t = e.sum(axis=-1, keepdims=True)\n"
         "    return np.divide(e, t, out=np.zeros_like(e), where=t > 0)\n",
         "It looks like you took the row max over every score"),
        ("def masked_softmax(scores, mask):\n"
         "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
         "    return e / e.sum(axis=-1, keepdims=True) * mask\n",
         "It looks like you multiplied the softmax by the mask without renormalising"),
        ("def masked_softmax(scores, mask):\n"
         "    s = np.where(mask, -np.inf, scores)\n"
         "    m = s.max(axis=-1, keepdims=True)\n    m[~np.isfinite(m)] = 0\n"
         "    e = np.exp(s - m)\n    t = e.sum(axis=-1, keepdims=True)\n"
         "    return np.divide(e, t, out=np.zeros_like(e), where=t > 0)\n",
         "It looks like you used the mask the wrong way round"),
        ("def masked_softmax(scores, mask):\n"
         "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n",
         "It looks like you ignored the mask"),
        ("def masked_softmax(scores, mask):\n    return numpy_ref.masked_softmax(scores, mask)\n",
         USES_REFERENCE),
    ],
    "l03_sdpa": [
        ("def sdpa(q, k, v, mask=None):\n    scores = q @ np.swapaxes(k, -1, -2)\n"
         "    weights = numpy_ref.masked_softmax(scores, mask)\n    return weights @ v, weights\n",
         "It looks like you left out the 1/sqrt(d_k) scale"),
        ("def sdpa(q, k, v, mask=None):\n    scores = q @ k.T / np.sqrt(q.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, mask)\n    return weights @ v, weights\n",
         "It looks like you used k.T: on a batched array .T reverses every axis"),
        ("def sdpa(q, k, v, mask=None):\n    d_k = q.shape[-1]\n"
         "    scores = q @ np.swapaxes(k, -1, -2) / d_k\n"
         "    weights = numpy_ref.masked_softmax(scores, mask)\n    return weights @ v, weights\n",
         "It looks like you divided by d_k instead of sqrt(d_k)"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, None)\n    return weights @ v, weights\n",
         "It looks like you ignored the mask"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, ~mask)\n    return weights @ v, weights\n",
         "It looks like you used the mask the wrong way round"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, mask.astype(bool))\n"
         "    return weights @ v, weights\n",
         "It looks like you did not handle mask=None"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, mask, axis=-2)\n"
         "    return weights @ v, weights\n",
         "It looks like you took the softmax over the queries"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    scores = (q * k).sum(-1, keepdims=True) / np.sqrt(q.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, mask)\n    return weights @ v, weights\n",
         "It looks like you multiplied q * k element-wise"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(v.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, mask)\n    return weights @ v, weights\n",
         "It looks like you scaled by sqrt(d_v)"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
         "    weights = numpy_ref.masked_softmax(scores, mask)\n    return weights @ v\n",
         "expected a tuple of 2 items"),
        ("def sdpa(q, k, v, mask=None):\n"
         "    return numpy_ref.scaled_dot_product_attention(q, k, v, mask)\n", USES_REFERENCE),
    ],
    "l03_additive": [
        ("def additive_scores(q, k, Wq, Wk, v):\n"
         "    return np.tanh((q @ Wq)[:, None, :] + (k @ Wk)[None, :, :]) @ v\n",
         "It looks like you multiplied by Wq (or Wk) instead of its transpose"),
        ("def additive_scores(q, k, Wq, Wk, v):\n"
         "    return np.tanh(q @ Wq.T + k @ Wk.T) @ v\n",
         "It looks like you added the projected queries (T, h) and keys (S, h) directly"),
        ("def additive_scores(q, k, Wq, Wk, v):\n"
         "    return ((q @ Wq.T)[:, None, :] + (k @ Wk.T)[None, :, :]) @ v\n",
         "It looks like you forgot the tanh"),
    ],
    "l03_bug_hunt": [  # the circulating snippet, fixed one bug at a time (CONTENT.md)
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you kept mistake (2), the missing 1/sqrt(d_k) scale"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T / np.sqrt(K.shape[-1])\n"
         "    return numpy_ref.softmax(scores, axis=0) @ V\n",
         "It looks like you kept mistake (5), normalising over axis 0"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K / np.sqrt(K.shape[-1])\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you left out the transpose"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T / np.sqrt(Q.shape[0])\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you divided by sqrt(Q.shape[0])"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T / np.sqrt(len(K))\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you divided by sqrt(len(K))"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T / np.sqrt(V.shape[1])\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you divided by sqrt(V.shape[1])"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T / np.sqrt(8)\n"
         "    return numpy_ref.softmax(scores, axis=-1) @ V\n",
         "It looks like you hard-coded sqrt(8)"),
        ("def fixed_attention(Q, K, V):\n    scores = Q @ K.T / np.sqrt(K.shape[-1])\n"
         "    weights = numpy_ref.softmax(scores, axis=-1)\n    return weights @ V, weights\n",
         "It looks like you returned (output, weights)"),
        ("def fixed_attention(Q, K, V):\n"
         "    return numpy_ref.scaled_dot_product_attention(Q, K, V)[0]\n", USES_REFERENCE),
    ],
    "l07_window_mask": [
        ("def window_mask(T, window):\n"
         "    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]\n"
         "    return (j <= i) & (i - j <= window)\n",
         "It looks like you let each query see window + 1 keys"),
        ("def window_mask(T, window):\n"
         "    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]\n"
         "    return (i - j).abs() < window\n",
         "It looks like you forgot causality"),
        ("def window_mask(T, window):\n"
         "    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]\n"
         "    return (j >= i) & (j - i < window)\n",
         "It looks like you put the window after the query"),
    ],
    "l07_rope": [  # the solution with one line changed each time
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(T, dtype=torch.float32)[:, None] * theta\n"
         "    even, odd = x[:, 0::2], x[:, 1::2]\n    out = torch.empty_like(x)\n"
         "    out[:, 0::2] = even * angle.cos() - odd * angle.sin()\n"
         "    out[:, 1::2] = even * angle.sin() + odd * angle.cos()\n    return out\n",
         "It looks like you ignored offset"),
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(offset, offset + T, dtype=torch.float32)[:, None] * theta\n"
         "    even, odd = x[:, 0::2], x[:, 1::2]\n    out = torch.empty_like(x)\n"
         "    out[:, 0::2] = even * angle.cos() + odd * angle.sin()\n"
         "    out[:, 1::2] = -even * angle.sin() + odd * angle.cos()\n    return out\n",
         "It looks like you rotated the wrong way"),
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(offset, offset + T, dtype=torch.float32)[:, None] * theta\n"
         "    a, b = x[:, : Dh // 2], x[:, Dh // 2:]\n"
         "    return torch.cat([a * angle.cos() - b * angle.sin(),\n"
         "                      a * angle.sin() + b * angle.cos()], dim=1)\n",
         "It looks like you paired dimension i with i + Dh/2"),
        ("def apply_rope(x, offset):\n    T, Dh = x.shape\n"
         "    theta = 10000.0 ** (-torch.arange(Dh // 2, dtype=torch.float32) / Dh)\n"
         "    angle = torch.arange(offset, offset + T, dtype=torch.float32)[:, None] * theta\n"
         "    even, odd = x[:, 0::2], x[:, 1::2]\n    out = torch.empty_like(x)\n"
         "    out[:, 0::2] = even * angle.cos() - odd * angle.sin()\n"
         "    out[:, 1::2] = even * angle.sin() + odd * angle.cos()\n    return out\n",
         "It looks like you used the frequencies 10000 ** (-i / Dh)"),
    ],
    "l10_bpe_merge": [
        ("def bpe_merge_step(pretokens):\n    from course_lib.tokenizers import bpe\n"
         "    counts = {}\n    for word in pretokens:\n"
         "        for pair in zip(word, word[1:]):\n"
         "            counts[pair] = counts.get(pair, 0) + 1\n"
         "    best = max(counts, key=counts.get)\n"
         "    return best, [list(bpe.merge_pair(tuple(w), best)) for w in pretokens]\n",
         "It looks like you broke a tie by the pair counted first"),
        ("def bpe_merge_step(pretokens):\n    from course_lib.tokenizers import bpe\n"
         "    flat = [t for word in pretokens for t in word]\n    counts = {}\n"
         "    for pair in zip(flat, flat[1:]):\n"
         "        counts[pair] = counts.get(pair, 0) + 1\n"
         "    best = max(counts, key=lambda p: (counts[p], p))\n"
         "    return best, [list(bpe.merge_pair(tuple(w), best)) for w in pretokens]\n",
         "It looks like you counted pairs across pre-tokens"),
        ("def bpe_merge_step(pretokens):\n    from course_lib.tokenizers import bpe\n"
         "    counts = {}\n    for word in pretokens:\n"
         "        for pair in zip(word, word[1:]):\n"
         "            counts[pair] = counts.get(pair, 0) + 1\n"
         "    best = max(counts, key=lambda p: (counts[p], p))\n    merged = []\n"
         "    for word in pretokens:\n        out = list(word)\n"
         "        for i in range(len(out) - 1):\n"
         "            if (out[i], out[i + 1]) == best:\n"
         "                out[i:i + 2] = [best[0] + best[1]]\n                break\n"
         "        merged.append(out)\n    return best, merged\n",
         "It looks like you merged only the first occurrence"),
        ("def bpe_merge_step(pretokens):\n    from course_lib.tokenizers import bpe\n"
         "    counts = {}\n    for word in pretokens:\n"
         "        for pair in zip(word, word[1:]):\n"
         "            counts[pair] = counts.get(pair, 0) + 1\n"
         "    best = max(counts, key=lambda p: (counts[p], p))\n"
         "    merged = [list(bpe.merge_pair(tuple(w), best)) for w in pretokens]\n"
         "    return best[0] + best[1], merged\n",
         "It looks like you returned the merged token"),
        ("def bpe_merge_step(pretokens):\n    from course_lib.tokenizers import bpe\n"
         "    return bpe.merge_step(pretokens)\n", USES_REFERENCE),
    ],
    "l10_rmsnorm": [
        ("def my_rms_norm(x, weight, eps):\n"
         "    return x / torch.sqrt((x ** 2).mean(dim=1, keepdim=True) + eps) * weight\n",
         "It looks like you normalised over another axis than the last"),
        ("def my_rms_norm(x, weight, eps):\n"
         "    return x / (torch.sqrt((x * x).mean(-1, keepdim=True)) + eps) * weight\n",
         "It looks like you added eps outside the square root"),
        ("def my_rms_norm(x, weight, eps):\n"
         "    return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True,"
         " unbiased=False) + eps) * weight\n",
         "It looks like you subtracted the mean"),
        ("def my_rms_norm(x, weight, eps):\n"
         "    return x / torch.sqrt(x.pow(2).mean() + eps) * weight\n",
         "It looks like you took the mean over the whole tensor"),
        ("def my_rms_norm(x, weight, eps):\n"
         "    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)\n",
         "It looks like you forgot to multiply by weight"),
        ("def my_rms_norm(x, weight, eps):\n    from course_lib.models.llama import rms_norm\n"
         "    return rms_norm(x, weight, eps)\n",
         USES_REFERENCE),
    ],
    "l10_induction": [
        ("def my_induction_score(weights, span):\n    T = weights.shape[-1]\n"
         "    q = torch.arange(span, T)\n"
         "    return weights[:, :, q, q - span].mean(dim=(0, 2))\n",
         "It looks like you looked at the earlier copy of the current token"),
        ("def my_induction_score(weights, span):\n    T = weights.shape[-1]\n"
         "    q = torch.arange(span, T)\n"
         "    return weights[:, :, q, q - span + 1].mean(dim=2)\n",
         "It looks like you kept the batch axis"),
        ("def my_induction_score(weights, span):\n    T = weights.shape[-1]\n"
         "    q = torch.arange(span + 1, T)\n"
         "    return weights[:, :, q, q - span + 1].mean(dim=(0, 2))\n",
         "It looks like you started one query late"),
        ("def my_induction_score(weights, span):\n    T = weights.shape[-1]\n"
         "    q = torch.arange(span, T)\n"
         "    return weights[:, :, q - span + 1, q].mean(dim=(0, 2))\n",
         "It looks like you indexed weights[..., key, query]"),
        ("def my_induction_score(weights, span):\n"
         "    return induction.induction_scores([weights], span)[0]\n", USES_REFERENCE),
    ],
    "l07_online_softmax": [
        ("def online_update(m, total, acc, scores, v):\n"
         "    m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))\n"
         "    p = np.exp(scores - m_new)\n"
         "    return m_new, total + p.sum(axis=-1, keepdims=True), acc + p @ v\n",
         "It looks like you forgot the rescaling step"),
        ("def online_update(m, total, acc, scores, v):\n"
         "    m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))\n"
         "    p = np.exp(scores - m_new)\n"
         "    total = total * np.exp(m - m_new) + p.sum(axis=-1, keepdims=True)\n"
         "    return m_new, total, acc + p @ v\n",
         "It looks like you rescaled total but not acc"),
        ("def online_update(m, total, acc, scores, v):\n"
         "    m_new = scores.max(axis=-1, keepdims=True)\n"
         "    scale, p = np.exp(m - m_new), np.exp(scores - m_new)\n"
         "    return m_new, total * scale + p.sum(axis=-1, keepdims=True), acc * scale + p @ v\n",
         "It looks like you took the maximum of this tile alone"),
    ],
}


# ---------------------------------------------------------------- the catalogues

def _all_checks() -> list[tuple[str, object]]:
    return [(exercise_id, check) for exercise_id in exercises.known()
            for check in exercises.get(exercise_id).checks]


CHECKS = _all_checks()


def _expected_start(mistake: checks.Mistake) -> str:
    return checks.say("check.looks_like", mistake="").removesuffix(".") + \
        mistake.text.split("{")[0]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("exercise_id", "check"), CHECKS,
                         ids=[f"{e}-{c.name}" for e, c in CHECKS])
def test_every_variant_of_every_mistake_fails_with_its_own_message(exercise_id, check,
                                                                   seed) -> None:
    problems = []
    spec = exercises.get(exercise_id)
    assert check.mistakes, f"{exercise_id}: {check.name} names no mistake"
    for mistake in check.wrapped_mistakes():
        for number, variant in enumerate(mistake.variants):
            where = f"{mistake.key} (variant {number})"
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    checks.check_function(variant, check.reference, check.cases,
                                          name=check.name, trials=check.trials, seed=seed,
                                          atol=check.atol, rtol=check.rtol,
                                          mistakes=check.wrapped_mistakes(),
                                          forbidden=spec.forbidden)
            except checks.CheckFailed as failure:
                first = str(failure).splitlines()[0]
                if not first.startswith(_expected_start(mistake)):
                    problems.append(f"{where} got another message:\n{failure}")
            else:
                problems.append(f"{where} passes the visible check")
    checks.RESULTS.pop(check.name, None)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize(("exercise_id", "check"), CHECKS,
                         ids=[f"{e}-{c.name}" for e, c in CHECKS])
def test_mistakes_have_distinct_ids_and_messages(exercise_id, check) -> None:
    keys = [m.key for m in check.mistakes]
    texts = [m.text for m in check.mistakes]
    assert len(set(keys)) == len(keys) and len(set(texts)) == len(texts)
    assert all(key.startswith(exercise_id + ".") for key in keys)


# ---------------------------------------------------------------- the notebooks

def _python(source: str) -> str:
    return progress._python(source)


@contextlib.contextmanager
def _in_notebooks_folder():
    before, threads = os.getcwd(), torch.get_num_threads()
    os.chdir(REPO / "notebooks")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        os.chdir(before)
        torch.set_num_threads(threads)
        import matplotlib.pyplot as plt

        plt.close("all")


def _run(source: str, namespace: dict) -> None:
    exec(compile(_python(source), "<cell>", "exec"), namespace)


def _expect_failure(source: str, namespace: dict) -> str:
    """Run a test cell; return the CheckFailed message ("" if it passed)."""
    try:
        with np.errstate(all="ignore"):
            _run(source, namespace)
    except checks.CheckFailed as failure:
        return str(failure)
    return ""


def audit_lesson(path: Path) -> tuple[list[str], int]:
    """Problems found in one lesson's notebook, and the number of written answers tested."""
    nb = notebooks.read(path)
    learner = notebooks.student_version(nb)
    answers = {c.metadata.nbgrader.grade_id: (c, learner.cells[i])
               for i, c in enumerate(nb.cells) if notebooks.is_answer_cell(c)}
    problems: list[str] = []
    tested = 0
    namespace: dict = {"__name__": "__main__"}
    answer_id = None
    known = set(exercises.known())
    with _in_notebooks_folder():
        for index in progress.exercise_cells(nb):
            cell = nb.cells[index]
            if notebooks.is_answer_cell(cell):
                answer_id = cell.metadata.nbgrader.grade_id
            if not notebooks.is_test_cell(cell):
                _run(cell.source, namespace)
                continue
            visible = notebooks.strip_hidden_tests(cell.source)
            where = f"{path.name} {answer_id}"
            if answer_id not in known:
                problems.append(f"{where}: no catalogue entry in course_lib.exercises")
            if f'checks.exercise("{answer_id}"' not in visible:
                problems.append(f"{where}: the test cell should call "
                                f'checks.exercise("{answer_id}", ...)')
            solution, blank = answers[answer_id]
            checks.RESULTS.clear()
            message = _expect_failure(cell.source, namespace)
            if message:
                problems.append(f"{where}: the source solution fails its test cell: {message}")
            for name in re.findall(r"^def (\w+)", solution.source, re.MULTILINE):
                if checks.RESULTS.get(name) != "passed":  # the learner copy's summary reads it
                    problems.append(f"{where}: no check named {name!r} passed; name the "
                                    f"check after the answer's function")
            _run(blank.source, namespace)
            message = _expect_failure(visible, namespace)
            if "not written yet" not in message.splitlines()[0] if message else True:
                problems.append(f"{where}: a blank answer should say 'not written yet', "
                                f"got {message!r}")
            for code, words in WRITTEN.get(answer_id, []):
                _run(code, namespace)
                message = _expect_failure(visible, namespace)
                tested += 1
                first = message.splitlines()[0] if message else ""
                if words not in first:
                    problems.append(f"{where}: the wrong answer\n{code}should fail with "
                                    f"{words!r} in its first line, got {message!r}")
            _run(solution.source, namespace)
    return problems, tested


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_each_lesson_checks_its_answers_through_the_catalogue(path: Path) -> None:
    problems, tested = audit_lesson(path)
    assert not problems, "\n\n".join(problems)
    print(f"{path.stem}: {tested} written mistakes tested")


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_the_notebook_forbids_what_the_grader_forbids(path: Path) -> None:
    """An answer that calls the function it is asked to write fails in the notebook (and in
    `make progress`) exactly when `course grade` gives it 'uses-reference': the catalogue's
    ``forbidden`` equals what the grader finds by tracing the reference and the solution."""
    from course_tools.grading import lesson as graded

    original = checks.check_function
    try:
        graded.install_seed(0)  # the grader's checks, which trace the references
        lesson = graded.Lesson(path)
    finally:
        checks.check_function = original
    assert lesson.error is None, lesson.error
    for exercise in lesson.exercises:
        answer_id = exercise.answers[0].grade_id
        declared = set(checks._forbidden_keys(exercises.get(answer_id).forbidden))
        assert exercise.problem is None, exercise.problem
        assert declared == exercise.forbidden, (answer_id, sorted(exercise.forbidden))


def test_every_catalogue_entry_and_written_mistake_belongs_to_an_exercise() -> None:
    ids = {c.metadata.nbgrader.grade_id for p in LESSONS for c in notebooks.read(p).cells
           if notebooks.is_answer_cell(c)}
    assert set(WRITTEN) <= ids, f"no exercise for {sorted(set(WRITTEN) - ids)}"
    assert set(exercises.known()) == ids, (
        f"catalogue without exercise: {sorted(set(exercises.known()) - ids)}; "
        f"exercise without catalogue: {sorted(ids - set(exercises.known()))}")
