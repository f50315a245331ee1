"""Lesson 07's exercise checks recognise the classic wrong answers and name them.

Each wrong answer is written here the way a learner would write it, then run through the
*visible* part of the notebook's test cell (hidden tests removed); the check must fail
with the message that names that mistake. The solutions must pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib import checks

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07_attention_variants.ipynb"
CELLS = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def _cell(grade_id: str) -> str:
    for cell in CELLS:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(cell["source"])
    raise KeyError(grade_id)


def _visible_test(grade_id: str) -> str:
    return _cell(grade_id).split("### BEGIN HIDDEN TESTS")[0]


def _namespace() -> dict:
    from course_lib import local_attention as local
    from course_lib import positional
    from course_lib import tiled_attention as tiled
    return {"torch": torch, "np": np, "checks": checks, "local": local,
            "positional": positional, "tiled": tiled}


def _run(grade_id: str, name: str, function) -> None:
    namespace = _namespace()
    namespace[name] = function
    exec(_visible_test(grade_id), namespace)


# --------------------------------------------------------------------------- exercise 1
def window_off_by_one(T, window):
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    return (j <= i) & (i - j <= window)


def window_not_causal(T, window):
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    return (i - j).abs() < window


def window_transposed(T, window):
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    return (j >= i) & (j - i < window)


# --------------------------------------------------------------------------- exercise 2
def _rope(x, offset, sign=1.0, exponent=2.0, halves=False, use_offset=True):
    T, Dh = x.shape
    theta = 10000.0 ** (-exponent * torch.arange(0, Dh // 2, dtype=torch.float32) / Dh)
    start = offset if use_offset else 0
    angle = sign * torch.arange(start, start + T, dtype=torch.float32)[:, None] * theta
    if halves:
        a, b = x[:, : Dh // 2], x[:, Dh // 2:]
        return torch.cat([a * angle.cos() - b * angle.sin(), a * angle.sin() + b * angle.cos()], 1)
    out = torch.empty_like(x)
    out[:, 0::2] = x[:, 0::2] * angle.cos() - x[:, 1::2] * angle.sin()
    out[:, 1::2] = x[:, 0::2] * angle.sin() + x[:, 1::2] * angle.cos()
    return out


# --------------------------------------------------------------------------- exercise 3
def update_without_rescaling(m, total, acc, scores, v):
    m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))
    p = np.exp(scores - m_new)
    return m_new, total + p.sum(axis=-1, keepdims=True), acc + p @ v


def update_rescaling_only_the_sum(m, total, acc, scores, v):
    m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))
    p = np.exp(scores - m_new)
    return m_new, total * np.exp(m - m_new) + p.sum(axis=-1, keepdims=True), acc + p @ v


def update_with_tile_max(m, total, acc, scores, v):
    m_new = scores.max(axis=-1, keepdims=True)
    p = np.exp(scores - m_new)
    scale = np.exp(m - m_new)
    return m_new, total * scale + p.sum(axis=-1, keepdims=True), acc * scale + p @ v


CASES = [
    ("l07_window_mask_test", "window_mask", window_off_by_one, "window + 1 keys"),
    ("l07_window_mask_test", "window_mask", window_not_causal, "forgot causality"),
    ("l07_window_mask_test", "window_mask", window_transposed, "the mask is transposed"),
    ("l07_rope_test", "apply_rope", lambda x, o: _rope(x, o, use_offset=False), "ignored offset"),
    ("l07_rope_test", "apply_rope", lambda x, o: _rope(x, o, sign=-1.0), "rotated the wrong way"),
    ("l07_rope_test", "apply_rope", lambda x, o: _rope(x, o, halves=True), "rotate-half"),
    ("l07_rope_test", "apply_rope", lambda x, o: _rope(x, o, exponent=1.0),
     "10000 ** (-i / Dh)"),
    ("l07_online_softmax_test", "online_update", update_without_rescaling,
     "forgot the rescaling step"),
    ("l07_online_softmax_test", "online_update", update_rescaling_only_the_sum,
     "rescaled total but not acc"),
    ("l07_online_softmax_test", "online_update", update_with_tile_max,
     "maximum of this tile alone"),
]


@pytest.mark.parametrize("grade_id,name,wrong,message", CASES,
                         ids=[f"{c[1]}-{c[3][:20]}" for c in CASES])
def test_named_mistake_is_recognised(grade_id, name, wrong, message):
    with pytest.raises(checks.CheckFailed, match="It looks like you") as failure:
        _run(grade_id, name, wrong)
    assert message in str(failure.value)


@pytest.mark.parametrize("grade_id,name", [("l07_window_mask", "window_mask"),
                                           ("l07_rope", "apply_rope"),
                                           ("l07_online_softmax", "online_update")])
def test_solution_passes_every_check(grade_id, name, capsys):
    namespace = _namespace()
    exec(_cell(grade_id), namespace)
    exec(_cell(f"{grade_id}_test"), namespace)  # hidden tests included
    assert "✓" in capsys.readouterr().out
