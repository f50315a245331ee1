"""The instant-feedback checks say what is wrong, and never pass a wrong answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.notebook import checks
from course_lib.notebook.checks import CheckFailed


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def matrix(rng: np.random.Generator) -> tuple[np.ndarray]:
    return (rng.normal(size=(3, 4)),)


def square(rng: np.random.Generator) -> tuple[np.ndarray]:
    return (rng.normal(size=(4, 4)),)


def test_correct_answer_passes(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_function(softmax, softmax, matrix, name="softmax")
    assert "✓ softmax: passed 5 random tests" in capsys.readouterr().out


def test_torch_answer_is_compared_with_numpy_reference() -> None:
    def torch_softmax(x: np.ndarray) -> torch.Tensor:
        return torch.softmax(torch.as_tensor(x), dim=-1)

    checks.check_function(torch_softmax, softmax, matrix)


def test_wrong_shape_names_both_shapes() -> None:
    with pytest.raises(CheckFailed, match=r"expected shape \(3, 4\), got \(3, 1\)"):
        checks.check_function(lambda x: x.sum(axis=-1, keepdims=True), softmax, matrix)


def test_transposed_shape_is_diagnosed() -> None:
    with pytest.raises(CheckFailed, match="last two axes look swapped"):
        checks.check_function(lambda x: softmax(x).T, softmax, matrix)


def test_transposed_square_values_are_diagnosed() -> None:
    with pytest.raises(CheckFailed, match="transpose of the expected"):
        checks.check_function(lambda x: softmax(x).T, softmax, square)


def test_scale_factor_is_diagnosed() -> None:
    with pytest.raises(CheckFailed, match="2 times the expected one"):
        checks.check_function(lambda x: 2 * softmax(x), softmax, matrix)


def test_largest_error_and_location_are_reported() -> None:
    def off_by_one_place(x: np.ndarray) -> np.ndarray:
        out = softmax(x)
        out[1, 2] += 0.5
        return out

    with pytest.raises(CheckFailed, match=r"largest error 0.5 at index \(1, 2\)"):
        checks.check_function(off_by_one_place, softmax, matrix)


def test_nan_is_reported() -> None:
    def overflowing(x: np.ndarray) -> np.ndarray:
        return np.exp(1000 * x) / np.exp(1000 * x).sum(axis=-1, keepdims=True)

    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match="NaN or inf"):
        checks.check_function(overflowing, softmax, matrix)


def test_not_implemented_and_learner_errors_become_feedback() -> None:
    def todo(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_function(todo, softmax, matrix)
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        checks.check_function(lambda x: 1 / 0, softmax, matrix)
    with pytest.raises(CheckFailed, match="forget a `return`"):
        checks.check_function(lambda x: None, softmax, matrix)
    with pytest.raises(CheckFailed, match="expected a function"):
        checks.check_function(3, softmax, matrix)


def test_known_mistakes_are_named() -> None:
    def wrong_axis(x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    with pytest.raises(CheckFailed, match="It looks like you normalised over the wrong axis"):
        checks.check_function(wrong_axis, softmax, matrix,
                              mistakes={"normalised over the wrong axis": wrong_axis})


def test_tuple_outputs_and_kwargs() -> None:
    def both(x: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        return softmax(scale * x), scale * x

    def make(rng: np.random.Generator):
        return (rng.normal(size=(2, 3)),), {"scale": 2.0}

    checks.check_function(both, both, make)
    with pytest.raises(CheckFailed, match=r"output\[1\]"):
        checks.check_function(lambda x, scale: (softmax(scale * x), x), both, make)


def test_learner_cannot_change_the_reference_inputs() -> None:
    def in_place(x: np.ndarray) -> np.ndarray:
        x *= 0
        return softmax(x)

    with pytest.raises(CheckFailed):
        checks.check_function(in_place, softmax, matrix)


def test_check_value_and_check_true() -> None:
    checks.check_value(np.ones(3), np.ones(3), name="ones")
    with pytest.raises(CheckFailed, match="ones: expected shape"):
        checks.check_value(np.ones(2), np.ones(3), name="ones")
    with pytest.raises(CheckFailed, match="rows: must sum to one"):
        checks.check_true(False, "must sum to one", name="rows")


def test_wrong_dtype_is_named() -> None:
    def causal(n: int) -> np.ndarray:
        return np.tril(np.ones((n, n), dtype=bool))

    def float_mask(n: int) -> torch.Tensor:
        return torch.tril(torch.ones(n, n))

    with pytest.raises(CheckFailed, match="expected a bool array .* got dtype float32"):
        checks.check_function(float_mask, causal, lambda rng: (int(rng.integers(2, 6)),))
    with pytest.raises(CheckFailed, match=r"values are integers \(dtype int64\)"):
        checks.check_function(lambda x: (x * 10).astype(np.int64), lambda x: x * 10.0,
                              lambda rng: (rng.random(4),))
    checks.check_function(lambda n: torch.tril(torch.ones(n, n, dtype=torch.bool)), causal,
                          lambda rng: (int(rng.integers(2, 6)),))
