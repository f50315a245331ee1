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
    with pytest.raises(CheckFailed, match="the last two axes are swapped"):
        checks.check_function(lambda x: softmax(x).T, softmax, matrix)


def test_transposed_square_values_are_diagnosed() -> None:
    with pytest.raises(CheckFailed, match="transpose of the expected"):
        checks.check_function(lambda x: softmax(x).T, softmax, square)


def test_scale_factor_is_diagnosed() -> None:
    with pytest.raises(CheckFailed, match="2 times the expected one"):
        checks.check_function(lambda x: 2 * softmax(x), softmax, matrix)


def test_first_differing_value_and_its_index_are_reported() -> None:
    def off_by_one_place(x: np.ndarray) -> np.ndarray:
        out = softmax(x)
        out[1, 2] += 0.5
        return out

    with pytest.raises(CheckFailed, match=r"1 of 12 values differ, the first at index \(1, 2\)"):
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


# --- recognising mistakes, facts when unsure, calls of the reference ---------------------

def _shift_by(by):
    def softmax_shifted(x: np.ndarray) -> np.ndarray:
        e = np.exp(x - by(x))
        return e / e.sum(axis=-1, keepdims=True)
    return softmax_shifted


def test_a_mistake_is_named_only_if_it_explains_every_test_so_far() -> None:
    # Two mistakes give the same output (NaN) on the failing test; the earlier test, which
    # the answer passed and the other mistake would not, tells them apart.
    ordinary = lambda rng: (rng.normal(size=(2, 3)) + 1000.0,)  # noqa: E731
    wide = lambda rng: (np.array([[0.0, 800.0, 0.0], [900.0, 0.0, 0.0]]),)  # noqa: E731
    by_min = _shift_by(lambda x: x.min(axis=-1, keepdims=True))
    never = checks.Mistake("t.never", "never shifted", (lambda x: np.exp(x) / np.exp(x).sum(
        axis=-1, keepdims=True),))
    shifted_min = checks.Mistake("t.min", "shifted by the minimum", (by_min,))
    with np.errstate(all="ignore"), pytest.raises(CheckFailed) as failure:
        checks.check_function(by_min, softmax, [ordinary, wide],
                              mistakes=[never, shifted_min])
    assert str(failure.value).splitlines()[0] == "It looks like you shifted by the minimum."


def test_a_tie_between_mistakes_is_never_guessed() -> None:
    doubled = lambda x: 2 * softmax(x)  # noqa: E731
    same = lambda x: softmax(x) * 2.0  # noqa: E731
    mistakes = [checks.Mistake("t.a", "did a", (doubled,)),
                checks.Mistake("t.b", "did b", (same,))]
    with pytest.raises(CheckFailed) as failure:
        checks.check_function(doubled, softmax, matrix, mistakes=mistakes, name="doubled")
    message = str(failure.value)
    assert "It looks like" not in message
    assert message.splitlines()[0].startswith("doubled failed random test 1 of 5: output: 12 "
                                              "of 12 values differ, the first at index (0, 0)")


def test_later_tests_break_a_tie() -> None:
    # Both mistakes double a square input's softmax; only the later, wide input tells them
    # apart, so the learner's function is run on it too before a mistake is named.
    square = lambda rng: (rng.normal(size=(3, 3)),)  # noqa: E731
    wide = lambda rng: (rng.normal(size=(2, 5)),)  # noqa: E731
    by_rows = lambda x: 2 * softmax(x) * x.shape[0] / 3  # noqa: E731
    by_columns = lambda x: 2 * softmax(x) * x.shape[1] / 3  # noqa: E731
    mistakes = [checks.Mistake("t.c", "scaled by the columns", (by_columns,)),
                checks.Mistake("t.r", "scaled by the rows", (by_rows,))]
    with pytest.raises(CheckFailed) as failure:
        checks.check_function(by_rows, softmax, [square, wide], mistakes=mistakes)
    assert "failed random test 1 of 2" in str(failure.value)
    assert str(failure.value).startswith("It looks like you scaled by the rows.")


def test_a_mistake_that_raises_is_named_by_its_error() -> None:
    def no_keepdims(x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(axis=-1))
        return e / e.sum(axis=-1)

    def written_otherwise(x: np.ndarray) -> np.ndarray:
        shifted = x - np.max(x, axis=-1)
        return np.exp(shifted) / np.exp(shifted).sum(axis=-1)

    with pytest.raises(CheckFailed, match="It looks like you forgot keepdims"):
        checks.check_function(written_otherwise, softmax, matrix,
                              mistakes={"forgot keepdims": no_keepdims})


def test_a_raised_predicate_names_errors_too_varied_to_reproduce() -> None:
    def reference(x, mask=None):
        return x if mask is None else x * mask

    def crashes(x, mask=None):
        return x * mask.astype(float)

    none_crash = checks.Mistake("t.none", "did not handle mask=None",
                                raised=lambda error, x, mask=None: mask is None)
    with pytest.raises(CheckFailed, match="It looks like you did not handle mask=None"):
        checks.check_function(crashes, reference, [lambda rng: (np.ones(3),)],
                              mistakes=[none_crash])


def test_details_fill_the_message_from_the_failing_inputs() -> None:
    mistake = checks.Mistake("t.d", "broke row {row}", (lambda x: x * 0,),
                             details=lambda x: {"row": int(np.argmax(x.sum(axis=-1)))})
    with pytest.raises(CheckFailed) as failure:
        checks.check_function(lambda x: x * 0, lambda x: x, matrix, mistakes=[mistake])
    assert str(failure.value).startswith("It looks like you broke row ")


def test_cases_are_each_tried_whatever_the_seed() -> None:
    seen = []

    def only_2d(x: np.ndarray) -> np.ndarray:
        seen.append(x.ndim)
        return softmax(x)

    cases = [lambda rng: (rng.normal(size=3),), lambda rng: (rng.normal(size=(2, 3)),),
             lambda rng: (rng.normal(size=(2, 2, 3)),)]
    for seed in (0, 5):
        seen.clear()
        checks.check_function(only_2d, softmax, cases, seed=seed)
        assert seen == [1, 2, 3]


def test_a_tuple_where_one_array_is_expected_is_said_so() -> None:
    with pytest.raises(CheckFailed, match=r"got a tuple of 2 items \(array \(3, 4\) float64, "
                                          r"array \(3, 4\) float64\) where one array"):
        checks.check_function(lambda x: (softmax(x), x), softmax, matrix)


def test_no_constant_ratio_is_claimed_for_zeros() -> None:
    with pytest.raises(CheckFailed) as failure:
        checks.check_function(lambda x: softmax(x) * 0, softmax, matrix)
    assert "times the expected" not in str(failure.value)


def test_calling_the_reference_fails_as_the_grader_fails_it() -> None:
    from course_lib.attention import numpy_ref

    def direct(x):
        return numpy_ref.softmax(x)

    def hidden(x):
        return getattr(numpy_ref, "soft" + "max")(x)

    def through_numpy(x):
        return np.apply_along_axis(numpy_ref.softmax, -1, x)

    for answer in (direct, hidden, through_numpy):
        with pytest.raises(CheckFailed, match="calls attention.numpy_ref.softmax, the "
                                              "course_lib function this exercise asks you"):
            checks.check_function(answer, numpy_ref.softmax, matrix,
                                  forbidden=[numpy_ref.softmax])

    def allowed(scores, mask):  # another course_lib function may use the forbidden one
        return numpy_ref.masked_softmax(scores, mask)

    checks.check_function(allowed, numpy_ref.masked_softmax,
                          lambda rng: (rng.normal(size=(2, 3)), rng.random((2, 3)) > 0.3),
                          forbidden=[numpy_ref.softmax])


def test_exercise_runs_the_catalogue_and_names_unknown_ids(capsys) -> None:
    def stable_softmax(x):
        x = np.asarray(x, dtype=float)
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    checks.exercise("l00_softmax", stable_softmax)
    assert "✓ stable_softmax: passed 8 random tests." in capsys.readouterr().out
    with pytest.raises(KeyError, match="no exercise named 'l00_nothing'"):
        checks.exercise("l00_nothing", stable_softmax)
    with pytest.raises(TypeError, match="checks 2 function"):
        checks.exercise("l05_split_heads", stable_softmax)


def test_messages_can_be_translated() -> None:
    from course_lib.notebook import messages

    messages.add_translations("xx", {"check.looks_like": "XX {mistake}",
                                     "l00_softmax.naive": "naive in xx"})
    try:
        checks.set_language("xx")
        with np.errstate(all="ignore"), pytest.raises(CheckFailed) as failure:
            checks.exercise("l00_softmax", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True))
        assert str(failure.value).startswith("XX naive in xx")
    finally:
        checks.set_language("en")


# --- tokens: bytes and strings inside tuples and lists are compared exactly ---------------

MERGE = ((b"l", b"o"), [[b"lo", b"w"], [b" ", b"lo"]])


@pytest.mark.parametrize(("actual", "message"), [
    (((b"l", b"o"), [[b"lo", b"w"], [b" ", b"lo"]]), None),
    ([[b"l", b"o"], ([b"lo", b"w"], [b" ", b"lo"])], None),   # lists for tuples: same values
    (((b"o", b"w"), [[b"lo", b"w"], [b" ", b"lo"]]), "output[0][0]: expected b'l', got b'o'"),
    (((b"l", b"o"), [[b"lo", b"w"], [b" ", b"l", b"o"]]),
     "output[1][1][1]: expected b'lo', got b'l'"),
    (((b"l", b"o"), [[b"lo", b"w"], [b" "]]),
     "output[1][1]: expected a list of 2 items, got 1; output[1][1][1] is missing "
     "(expected b'lo')"),
    (((b"l", b"o"), [[b"lo", b"w", b"!"], [b" ", b"lo"]]),
     "output[1][0]: expected a list of 2 items, got 3; output[1][0][2] is one too many "
     "(got b'!')"),
    ((("l", "o"), [["lo", "w"], [" ", "lo"]]), "output[0][0]: expected bytes b'l', got str 'l'"),
    ((b"lo", [[b"lo", b"w"], [b" ", b"lo"]]),
     "output[0]: expected a tuple of 2 items, got bytes b'lo'"),
    (((np.array(b"l"), b"o"), MERGE[1]), "output[0][0]: expected bytes b'l', got array () |S1"),
])
def test_tokens_are_compared_exactly_and_the_first_difference_is_named(actual, message) -> None:
    assert checks.compare(actual, MERGE) == message


def test_a_check_of_byte_tokens_names_the_element(capsys: pytest.CaptureFixture[str]) -> None:
    def merge(words):
        return (b"a", b"b"), [[b"ab"] if w == [b"a", b"b"] else list(w) for w in words]

    def wrong(words):
        return (b"a", b"b"), [list(w) for w in words]

    def inputs(rng):
        return ([[b"a", b"b"], [b"c"]],)

    checks.check_function(merge, lambda words: ((b"a", b"b"), [[b"ab"], [b"c"]]), inputs,
                          name="merge")
    with pytest.raises(CheckFailed, match=r"output\[1\]\[0\]\[0\]: expected b'ab', got b'a'"):
        checks.check_function(wrong, merge, inputs, name="wrong")
