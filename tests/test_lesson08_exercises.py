"""Lesson 08's exercise checks name the classic mistakes: each wrong answer below is run
through the notebook's own (visible) test cell and must get its specific message."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import torch

from course_lib.attention import scaled_dot_product_attention
from course_lib.models.vit import patchify
from course_lib.notebook import checks

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_beyond_text.ipynb"


def test_cell(grade_id: str) -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise LookupError(grade_id)


test_cell.__test__ = False  # a helper, not a test


def run_check(grade_id: str, **answer) -> None:
    namespace = {"torch": torch, "checks": checks, "patchify": patchify,
                 "scaled_dot_product_attention": scaled_dot_product_attention, **answer}
    exec(compile(test_cell(grade_id), grade_id, "exec"), namespace)


# ---- exercise 1: patchify
def grid_then_flatten(order):
    def wrong(images, p):
        B, C, H, W = images.shape
        grid = images.reshape(B, C, H // p, p, W // p, p).permute(*order)
        return grid.reshape(B, (H // p) * (W // p), C * p * p)
    return wrong


def flatten_at_once(images, p):
    B, C, H, W = images.shape
    return images.reshape(B, (H // p) * (W // p), C * p * p)


def test_correct_patchify_passes(capsys):
    run_check("l08_patchify_test", my_patchify=grid_then_flatten((0, 2, 4, 1, 3, 5)))
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,named", [
    (flatten_at_once, "the reshape-order mistake"),
    (grid_then_flatten((0, 2, 4, 3, 5, 1)), "put the channel last inside each patch"),
    (grid_then_flatten((0, 4, 2, 1, 3, 5)), "read the patches column by column"),
])
def test_patchify_mistakes_are_named(wrong, named):
    with pytest.raises(checks.CheckFailed, match=named):
        run_check("l08_patchify_test", my_patchify=wrong)


# ---- exercise 2: cross-attention from text to patches
def attend(q, k, v, *, dim=-1, scale=True):
    scores = q @ k.transpose(-2, -1) / (q.shape[-1] ** 0.5 if scale else 1.0)
    weights = torch.softmax(scores, dim=dim)
    return weights @ v, weights


def test_correct_cross_attention_passes(capsys):
    run_check("l08_cross_attention_test",
              cross_attend=lambda w, p, wq, wk, wv: attend(w @ wq, p @ wk, p @ wv))
    assert "passed" in capsys.readouterr().out


def patches_ask(w, p, wq, wk, wv):
    return attend(p @ wq, w @ wk, w @ wv)


def softmax_over_words(w, p, wq, wk, wv):
    return attend(w @ wq, p @ wk, p @ wv, dim=-2)


def no_scale(w, p, wq, wk, wv):
    return attend(w @ wq, p @ wk, p @ wv, scale=False)


@pytest.mark.parametrize("wrong,named", [
    (patches_ask, "let the patches attend to the words"),
    (softmax_over_words, "took the softmax over the words"),
    (no_scale, "forgot to divide the scores"),
])
def test_cross_attention_mistakes_are_named(wrong, named):
    with pytest.raises(checks.CheckFailed, match=named):
        run_check("l08_cross_attention_test", cross_attend=wrong)
