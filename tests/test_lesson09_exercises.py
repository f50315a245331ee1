"""Lesson 09's exercise checks: the solutions pass, and each classic wrong answer, written
as a learner would write it, gets the message that names its mistake. The visible part of
each test cell (hidden tests removed, as learners see it) runs on the wrong answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib.notebook import checks
from course_lib.notebook.checks import CheckFailed
from course_tools import notebooks

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "09_scale.ipynb"


def _cell(grade_id: str) -> str:
    for cell in notebooks.read(NOTEBOOK).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise LookupError(f"no cell with grade_id {grade_id!r} in {NOTEBOOK.name}")


def _run_visible_check(grade_id: str, name: str, answer: Callable) -> None:
    source = notebooks.strip_hidden_tests(_cell(f"{grade_id}_test"))
    exec(compile(source, f"{grade_id}_test", "exec"), {"checks": checks, name: answer})  # noqa: S102


@pytest.mark.parametrize("grade_id, name", [("l09_fit_exponent", "fit_exponent"),
                                            ("l09_training_bytes", "training_bytes"),
                                            ("l09_quantize_rows", "quantize_rows")])
def test_solutions_pass_every_check_hidden_included(grade_id: str, name: str) -> None:
    namespace: dict = {"np": np, "torch": torch, "checks": checks}
    exec(compile(_cell(grade_id), grade_id, "exec"), namespace)  # noqa: S102
    exec(compile(_cell(f"{grade_id}_test"), f"{grade_id}_test", "exec"), namespace)  # noqa: S102


# --- exercise 1: the scaling exponent ----------------------------------------------------
def _linear_axes(n, loss):
    return -np.polyfit(n, loss, 1)[0]


def _slope_not_exponent(n, loss):
    return np.polyfit(np.log(n), np.log(loss), 1)[0]


def _semilog(n, loss):
    return -np.polyfit(np.log(n), loss, 1)[0]


def _swapped(n, loss):
    return -np.polyfit(np.log(loss), np.log(n), 1)[0]


# --- exercise 2: training memory ---------------------------------------------------------
def _forgot_adam_states(num_params, world_size, sharded):
    total = (4 + 4) * num_params  # weights and gradients only
    return total / world_size if sharded else total


def _forgot_gradients(num_params, world_size, sharded):
    total = (4 + 4 + 4) * num_params
    return total / world_size if sharded else total


def _weights_only(num_params, world_size, sharded):
    total = 4 * num_params
    return total / world_size if sharded else total


def _never_divides(num_params, world_size, sharded):
    return 16 * num_params


def _always_divides(num_params, world_size, sharded):
    return 16 * num_params / world_size


# --- exercise 3: int8 rows ---------------------------------------------------------------
def _one_scale(w):
    scale = w.abs().max() / 127
    return torch.round(w / scale).clamp(-127, 127).to(torch.int8), scale


def _per_column(w):
    scale = w.abs().amax(dim=0, keepdim=True) / 127
    return torch.round(w / scale).clamp(-127, 127).to(torch.int8), scale


def _row_max(w):
    scale = w.amax(dim=1, keepdim=True) / 127
    return torch.round(w / scale).clamp(-127, 127).to(torch.int8), scale


def _truncates(w):
    scale = w.abs().amax(dim=1, keepdim=True) / 127
    return (w / scale).to(torch.int8), scale


WRONG = [
    ("l09_fit_exponent", "fit_exponent", _linear_axes, "on linear axes"),
    ("l09_fit_exponent", "fit_exponent", _slope_not_exponent, "minus the slope"),
    ("l09_fit_exponent", "fit_exponent", _semilog, "semi-log"),
    ("l09_fit_exponent", "fit_exponent", _swapped, "swapped the axes"),
    ("l09_training_bytes", "training_bytes", _forgot_adam_states, "forgot Adam's two states"),
    ("l09_training_bytes", "training_bytes", _forgot_gradients, "forgot the gradients"),
    ("l09_training_bytes", "training_bytes", _weights_only, "counted only the weights"),
    ("l09_training_bytes", "training_bytes", _never_divides,
     "did not divide by the number of workers when sharded"),
    ("l09_training_bytes", "training_bytes", _always_divides,
     "divided by the number of workers without sharding"),
    ("l09_quantize_rows", "quantize_rows", _one_scale, "one scale for the whole matrix"),
    ("l09_quantize_rows", "quantize_rows", _per_column, "per column instead of per row"),
    ("l09_quantize_rows", "quantize_rows", _row_max, "maximum instead of its largest absolute"),
    ("l09_quantize_rows", "quantize_rows", _truncates, "truncated"),
]


@pytest.mark.parametrize("grade_id, name, wrong, named", WRONG,
                         ids=[w[2].__name__.strip("_") for w in WRONG])
def test_named_mistake_gets_its_message(grade_id: str, name: str, wrong: Callable,
                                        named: str) -> None:
    with pytest.raises(CheckFailed) as failure:
        _run_visible_check(grade_id, name, wrong)
    assert "It looks like you" in str(failure.value)
    assert named in str(failure.value), str(failure.value)
