"""Instant feedback for exercises: compare a learner's function with a reference.

A test cell calls :func:`check_function` with the learner's function, the course_lib
reference and a recipe for random inputs. On success it prints one pass line; on failure
it raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader scores it as failed)
with a message that says *what* is wrong: the shapes, where the largest error is, NaNs,
a transposed result, a missing scale factor, or a known mistake the exercise names.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from course_lib.notebook.messages import say

__all__ = [
    "CheckFailed", "to_numpy", "describe", "compare", "check_function", "check_value",
    "check_true", "summary", "RESULTS",
]


InputMaker = Callable[[np.random.Generator], Any]
# Last outcome of check_function per checked name, in this session: "passed" or the first
# line of the failure. Read by summary().
RESULTS: dict[str, str] = {}


class CheckFailed(AssertionError):
    """Raised when a learner's answer does not match the reference.

    In IPython/Jupyter the learner sees only the message, in red, without the traceback
    through this module (``_render_traceback_``); the full traceback follows as a folded
    "full traceback" box, one click away.
    """

    def _render_traceback_(self) -> list[str]:
        _show_full_traceback_after_cell(self)
        lines = str(self).splitlines() or [type(self).__name__]
        return [f"\x1b[1;31m✗ {lines[0]}\x1b[0m", *lines[1:]]


def _show_full_traceback_after_cell(error: BaseException) -> None:
    """Display the folded full traceback of ``error`` once the cell has finished (after the
    short message), when running in IPython; do nothing elsewhere."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(error, "_course_shown", False):
        return  # ipykernel may render the same error twice; fold its traceback in once
    error._course_shown = True
    import html
    import traceback

    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))

    def show(*_args: Any) -> None:
        shell.events.unregister("post_execute", show)
        from IPython.display import display

        display({"text/html": "<details><summary style='color:#888;font-size:85%'>full "
                              "traceback</summary><pre style='font-size:85%'>"
                              f"{html.escape(text)}</pre></details>",
                 "text/plain": "full traceback:\n" + text}, raw=True)

    shell.events.register("post_execute", show)


def to_numpy(value: Any) -> np.ndarray:
    """Convert a tensor, array, scalar or nested list to a NumPy array (detached, on CPU)."""
    if hasattr(value, "detach"):  # torch.Tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def describe(value: Any) -> str:
    """Short description of a value for messages: type, shape and dtype."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = "tensor" if hasattr(value, "detach") else "array"
        return f"{kind} of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def compare(actual: Any, expected: Any, *, atol: float = 1e-5, rtol: float = 1e-5,
            what: str = "output") -> str | None:
    """Return ``None`` if ``actual`` matches ``expected``, else a message saying how it differs.

    Tuples and lists are compared item by item. Arrays are compared by shape, then for
    NaN/inf, then by value; the message names the largest error and where it is.
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return say("compare.expected_items", what=what, kind=type(expected).__name__,
                       count=len(expected), got=describe(actual))
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            problem = compare(a, e, atol=atol, rtol=rtol, what=f"{what}[{index}]")
            if problem:
                return problem
        return None
    if actual is None:
        return say("compare.got_none", what=what)
    try:
        a = to_numpy(actual).astype(np.float64) if _is_numeric(actual) else to_numpy(actual)
    except (TypeError, ValueError):
        return say("compare.type", what=what, expected=describe(expected), got=describe(actual))
    e = to_numpy(expected)
    if a.shape != e.shape:
        hint = ""
        if a.ndim >= 2 and a.shape[:-2] + a.shape[-2:][::-1] == e.shape:
            hint = say("compare.shape_transpose_hint")
        elif a.size == e.size:
            hint = say("compare.shape_reshape_hint")
        return say("compare.shape", what=what, expected=e.shape, got=a.shape) + hint
    if not _is_numeric(actual):
        return None if np.array_equal(a, e) else say("compare.value", what=what, expected=e,
                                                     got=a)
    if _kind(expected) == "b" and _kind(actual) not in (None, "b"):
        return say("compare.bool", what=what, dtype=_dtype_name(actual))
    e = e.astype(np.float64)
    bad = ~np.isfinite(a) & np.isfinite(e)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return say("compare.not_finite_hint", what=what, count=int(bad.sum()), size=a.size,
                   index=first, got=a[first], expected=e[first])
    if np.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True):
        return None
    message = _value_mismatch(a, e, what)
    if _kind(expected) == "f" and _kind(actual) in ("i", "u"):
        message += say("compare.integer_hint", dtype=_dtype_name(actual))
    return message


def _kind(value: Any) -> str | None:
    """NumPy-style dtype kind ('b', 'i', 'u', 'f', ...) of an array or tensor; None otherwise."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    kind = getattr(dtype, "kind", None)
    if kind is not None:
        return kind
    if str(dtype) == "torch.bool":
        return "b"
    if dtype.is_floating_point:
        return "f"
    return "c" if dtype.is_complex else "i"


def _dtype_name(value: Any) -> str:
    return str(getattr(value, "dtype", type(value).__name__)).replace("torch.", "")


def _is_numeric(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return isinstance(value, (int, float, np.number)) or (
            isinstance(value, (list, tuple)) and np.asarray(value).dtype.kind in "biuf")
    kind = getattr(dtype, "kind", None)
    if kind is not None:
        return kind in "biuf"
    return dtype.is_floating_point or not dtype.is_complex  # torch.dtype


def _value_mismatch(a: np.ndarray, e: np.ndarray, what: str) -> str:
    # NaN on one side only counts as the largest error (both NaN: equal), so nanargmax
    # never meets an all-NaN array.
    with np.errstate(invalid="ignore"):
        error = np.where(np.isnan(a) & np.isnan(e), 0.0, np.abs(a - e))
    error = np.nan_to_num(error, nan=np.inf)
    where = np.unravel_index(int(np.nanargmax(error)), error.shape) if error.ndim else ()
    index = tuple(int(i) for i in where)
    message = say("compare.largest_error", what=what, error=float(error[where]), index=index,
                  got=float(a[where]), expected=float(e[where]))
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.allclose(
            np.swapaxes(a, -1, -2), e, atol=1e-6, rtol=1e-5):
        return message + say("compare.transposed_sentence")
    nonzero = np.abs(e) > 1e-8
    if nonzero.sum() >= 2:
        ratio = a[nonzero] / e[nonzero]
        if np.allclose(ratio, ratio.flat[0], rtol=1e-4) and not np.isclose(ratio.flat[0], 1.0):
            return message + say("compare.scale_hint", ratio=ratio.flat[0])
    return message


def check_function(
    candidate: Callable[..., Any],
    reference: Callable[..., Any],
    make_inputs: InputMaker,
    *,
    name: str | None = None,
    trials: int = 5,
    seed: int = 0,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    mistakes: Mapping[str, Callable[..., Any]] | None = None,
) -> None:
    """Check ``candidate`` against ``reference`` on ``trials`` random inputs.

    Args:
        candidate: the learner's function.
        reference: the course_lib function it should equal.
        make_inputs: ``rng -> args``; returns a tuple of positional arguments, a dict of
            keyword arguments, or a ``(args, kwargs)`` pair. Called once per trial.
        name: what to call the function in messages (default: its ``__name__``).
        mistakes: known wrong answers, ``{"description": wrong_function}``; when the
            learner's output equals one of them the message says "it looks like you ...".

    Prints a pass line, or raises :class:`CheckFailed`. Returns nothing, so a test cell
    shows only the verdict.
    """
    name = name or getattr(candidate, "__name__", "your function")
    try:
        _run_trials(candidate, reference, make_inputs, name, trials, seed, atol, rtol, mistakes)
    except CheckFailed as failure:
        RESULTS[name] = str(failure).splitlines()[0] if str(failure) else "failed"
        raise
    RESULTS[name] = "passed"
    print(say("check.passed", name=name, trials=trials))


def _run_trials(candidate: Callable[..., Any], reference: Callable[..., Any],
                make_inputs: InputMaker, name: str, trials: int, seed: int, atol: float,
                rtol: float, mistakes: Mapping[str, Callable[..., Any]] | None) -> None:
    if not callable(candidate):
        raise CheckFailed(say("check.not_callable", got=describe(candidate)))
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        args, kwargs = _split_inputs(make_inputs(rng))
        expected = reference(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        actual = _call_learner(candidate, name, args, kwargs, mistakes)
        problem = compare(actual, expected, atol=atol, rtol=rtol)
        if problem is None:
            continue
        known = _match_mistake(actual, args, kwargs, mistakes or {}, atol, rtol)
        shapes = ", ".join(describe(a) for a in args)
        message = (say("check.failed_on", name=name, trial=trial + 1, trials=trials,
                       inputs=shapes) + f"\n{problem}")
        if known:
            message += "\n" + say("check.looks_like", mistake=known)
        raise CheckFailed(message)


def summary(names: Sequence[str]) -> None:
    """Print where the learner stands on the functions ``names`` (the lesson's exercises):
    the outcome of each one's last :func:`check_function` in this session."""
    print(say("summary.title"))
    for name in names:
        outcome = RESULTS.get(name, say("summary.not_checked"))
        mark = "✓" if outcome == "passed" else "✗" if name in RESULTS else "·"
        print(f"  {mark} {name}: {outcome}")
    done = sum(RESULTS.get(n) == "passed" for n in names)
    print(say("summary.total", done=done, total=len(names)))


def check_value(actual: Any, expected: Any, *, name: str = "value", atol: float = 1e-5,
                rtol: float = 1e-5) -> None:
    """Check one value (array, tensor, number or tuple of them) against the expected one."""
    problem = compare(actual, expected, atol=atol, rtol=rtol, what=name)
    if problem:
        raise CheckFailed(problem)
    print(say("check.value_correct", name=name))


def check_true(condition: bool, message: str, *, name: str = "check") -> None:
    """Fail with ``message`` unless ``condition`` holds; used for property checks."""
    if not condition:
        raise CheckFailed(say("check.true_failed", name=name, message=message))
    print(say("check.true_passed", name=name))


def _split_inputs(inputs: Any) -> tuple[Sequence[Any], dict[str, Any]]:
    if isinstance(inputs, dict):
        return (), dict(inputs)
    if (isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[1], dict)
            and isinstance(inputs[0], (tuple, list))):
        return tuple(inputs[0]), dict(inputs[1])
    if isinstance(inputs, tuple):
        return inputs, {}
    return (inputs,), {}


def _call_learner(candidate: Callable[..., Any], name: str, args: Sequence[Any],
                  kwargs: dict[str, Any],
                  mistakes: Mapping[str, Callable[..., Any]] | None = None) -> Any:
    try:
        # nbgrader scores a test cell that writes anything to stderr 0, so a correct answer
        # that warns (a 0/0 it then repairs, say) would lose its points: warnings are silenced
        # here and the values alone decide.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return candidate(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    except NotImplementedError:
        raise CheckFailed(say("check.not_written", name=name)) from None
    except Exception as error:  # any learner error becomes feedback, never a crash
        shapes = ", ".join(describe(a) for a in args)
        message = say("check.raised_with", name=name, error=f"{type(error).__name__}: {error}",
                      inputs=shapes)
        known = _match_raised(error, args, kwargs, mistakes or {})
        if known:
            message += "\n" + say("check.looks_like", mistake=known)
        raise CheckFailed(message) from error


def _match_raised(error: Exception, args: Sequence[Any], kwargs: dict[str, Any],
                  mistakes: Mapping[str, Callable[..., Any]]) -> str | None:
    """The known mistake that raises the same error (type and message) on these inputs."""
    for description, wrong in mistakes.items():
        try:
            wrong(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except Exception as expected:
            if type(expected) is type(error) and str(expected) == str(error):
                return description
    return None


def _match_mistake(actual: Any, args: Sequence[Any], kwargs: dict[str, Any],
                   mistakes: Mapping[str, Callable[..., Any]], atol: float,
                   rtol: float) -> str | None:
    for description, wrong in mistakes.items():
        try:
            wrong_output = wrong(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except Exception:  # a diagnosis that cannot run says nothing
            continue
        if compare(actual, wrong_output, atol=atol, rtol=rtol) is None:
            return description
    return None
