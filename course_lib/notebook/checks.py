"""Instant feedback for exercises: compare a learner's function with a reference.

A lesson's test cell is one line, ``checks.exercise("l03_sdpa", sdpa)``: the exercise's
inputs, reference and catalogue of classic mistakes live in :mod:`course_lib.exercises`
(one module per lesson), so the cell shows what is tested, not how it can go wrong.
:func:`exercise` runs :func:`check_function`, which compares the learner's function with
the reference on every input case. On success it prints one pass line; on failure it raises
:class:`CheckFailed` (an ``AssertionError``, so nbgrader scores it as failed) whose first
line is the diagnosis:

- a classic mistake, recognised by running its mistaken variant on the same inputs as the
  learner's answer and finding the same outputs (or the same error): "It looks like you ...";
- otherwise the facts, never a guess: the shapes, or how many values differ and the first
  differing one with its index (got, expected);
- an answer that calls the course_lib function it is asked to write fails the same way
  ``course grade`` does ("uses-reference").

Every sentence is a keyed message (:mod:`course_lib.notebook.messages`) so that each can be
translated; :func:`set_language` picks the notebook's language.
"""

from __future__ import annotations

import copy
import importlib
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.notebook.messages import say, set_language

__all__ = [
    "CheckFailed", "Mistake", "to_numpy", "describe", "compare", "check_function", "exercise",
    "check_value", "check_true", "summary", "set_language", "RESULTS",
]

InputMaker = Callable[[np.random.Generator], Any]
# Last outcome of check_function per checked name, in this session: "passed" or the first
# line of the failure. Read by summary().
RESULTS: dict[str, str] = {}
# Where the exercise catalogues live: one module per lesson (``l03`` for ``l03_sdpa``),
# looked up by name at run time so that this module depends on none of them.
CATALOGUE_PACKAGE = "course_lib.exercises"
# Modules that call the learner's function (the checker itself): a course_lib function
# reached from them directly is the checker's own call, not the learner's.
_CHECKER_MODULES = (__name__, CATALOGUE_PACKAGE)


class CheckFailed(AssertionError):
    """Raised when a learner's answer does not match the reference.

    In IPython/Jupyter the learner sees only the message, its first line (the diagnosis)
    in red, without the traceback through this module (``_render_traceback_``); the full
    traceback follows as a folded "full traceback" box, one click away.
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


# ---------------------------------------------------------------- describing values

_TEXT = (str, bytes, bytearray)  # compared exactly, shown with repr

def to_numpy(value: Any) -> np.ndarray:
    """Convert a tensor, array, scalar or nested list to a NumPy array (detached, on CPU)."""
    if hasattr(value, "detach"):  # torch.Tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def describe(value: Any) -> str:
    """Short description of a value for messages: type, shape and dtype (or the value of a
    number, a bool or None)."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = "tensor" if hasattr(value, "detach") else "array"
        dtype = str(value.dtype).replace("torch.", "")
        return f"{kind} {tuple(value.shape)} {dtype}"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, _TEXT):
        text = repr(value)
        return f"{type(value).__name__} {text if len(text) <= 40 else text[:36] + '...'}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def _describe_inputs(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


# ---------------------------------------------------------------- comparing values

def compare(actual: Any, expected: Any, *, atol: float = 1e-5, rtol: float = 1e-5,
            what: str = "output") -> str | None:
    """Return ``None`` if ``actual`` matches ``expected``, else one line saying how it differs.

    Tuples and lists are compared item by item (the message names the first item that
    differs, e.g. ``output[1][0]``); strings and bytes exactly. Arrays by shape, then for
    NaN/inf, then by value; the message gives facts only: how many values differ and the
    first that does, with its index (and, where true, that the result is the transpose of
    the expected one or a constant multiple of it).
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)):
            return say("compare.expected_items", what=what, kind=type(expected).__name__,
                       count=len(expected), got=describe(actual))
        for index, (a, e) in enumerate(zip(actual, expected, strict=False)):
            problem = compare(a, e, atol=atol, rtol=rtol, what=f"{what}[{index}]")
            if problem:
                return problem
        if len(actual) != len(expected):
            return _count_mismatch(actual, expected, what)
        return None
    if actual is None:
        return say("compare.got_none", what=what)
    if isinstance(expected, _TEXT) or isinstance(actual, _TEXT):
        # tokens and names are compared exactly, never as NumPy arrays of bytes or objects
        if not (isinstance(expected, _TEXT) and isinstance(actual, _TEXT)) or (
                isinstance(expected, str) != isinstance(actual, str)):
            return say("compare.type", what=what, expected=describe(expected),
                       got=describe(actual))
        return None if actual == expected else say("compare.value", what=what,
                                                   expected=expected, got=actual)
    if isinstance(actual, (tuple, list)) and hasattr(expected, "shape") and not (
            _is_numeric(actual) and np.asarray(actual).shape == tuple(expected.shape)):
        items = ", ".join(describe(item) for item in actual[:4])
        return say("compare.got_sequence", what=what, kind=type(actual).__name__,
                   count=len(actual), items=items, expected=describe(expected))
    try:
        a = to_numpy(actual).astype(np.float64) if _is_numeric(actual) else to_numpy(actual)
    except (TypeError, ValueError):
        return say("compare.type", what=what, expected=describe(expected), got=describe(actual))
    e = to_numpy(expected)
    if a.shape != e.shape:
        hint = ""
        if a.ndim >= 2 and a.shape[:-2] + a.shape[-2:][::-1] == e.shape:
            hint = say("compare.shape_swapped")
        elif a.size == e.size:
            hint = say("compare.shape_same_size")
        return say("compare.shape", what=what, expected=e.shape, got=a.shape) + hint
    if not _is_numeric(actual) or not _is_numeric(expected):
        return None if np.array_equal(a, e) else say("compare.value", what=what, expected=e,
                                                     got=a)
    if _kind(expected) == "b" and _kind(actual) not in (None, "b"):
        return say("compare.bool", what=what, dtype=_dtype_name(actual))
    e = e.astype(np.float64)
    bad = ~np.isfinite(a) & np.isfinite(e)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return say("compare.not_finite", what=what, count=int(bad.sum()), size=a.size,
                   index=first, got=a[first], expected=e[first])
    if np.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True):
        return None
    message = _value_mismatch(a, e, what, atol, rtol)
    if _kind(expected) == "f" and _kind(actual) in ("i", "u"):
        message += say("compare.integers", dtype=_dtype_name(actual))
    return message


def _count_mismatch(actual: Sequence[Any], expected: Sequence[Any], what: str) -> str:
    """The items agree as far as both go: say how many there are and name the first one
    missing (or extra)."""
    index = min(len(actual), len(expected))
    if len(actual) < len(expected):
        first = say("compare.missing_item", what=f"{what}[{index}]",
                    expected=_short(expected[index]))
    else:
        first = say("compare.extra_item", what=f"{what}[{index}]", got=_short(actual[index]))
    return say("compare.item_count", what=what, kind=type(expected).__name__,
               count=len(expected), given=len(actual), first=first)


def _short(value: Any) -> str:
    if isinstance(value, (_TEXT, bool, int, float)) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:36] + "..."
    return describe(value)


def _kind(value: Any) -> str | None:
    """NumPy-style dtype kind ('b', 'i', 'u', 'f', ...) of an array or tensor; None otherwise."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        if isinstance(value, bool):
            return "b"
        if isinstance(value, (int, float)):
            return "i" if isinstance(value, int) else "f"
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
        if isinstance(value, (int, float, np.number)):
            return True
        if isinstance(value, (list, tuple)):
            try:
                return np.asarray(value).dtype.kind in "biuf"
            except (ValueError, TypeError):
                return False
        return False
    kind = getattr(dtype, "kind", None)
    if kind is not None:
        return kind in "biuf"
    return dtype.is_floating_point or not dtype.is_complex  # torch.dtype


def _value_mismatch(a: np.ndarray, e: np.ndarray, what: str, atol: float, rtol: float) -> str:
    if a.ndim == 0:
        return say("compare.differ_scalar", what=what, got=float(a), expected=float(e))
    with np.errstate(invalid="ignore"):
        wrong = ~np.isclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    message = say("compare.differ", what=what, count=int(wrong.sum()), size=a.size,
                  index=first, got=float(a[first]), expected=float(e[first]))
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.allclose(
            np.swapaxes(a, -1, -2), e, atol=atol, rtol=rtol):
        return message + say("compare.transposed")
    nonzero = np.abs(e) > 1e-8
    if nonzero.sum() >= 2:
        ratio = a[nonzero] / e[nonzero]
        constant = np.allclose(ratio, ratio.flat[0], rtol=1e-4)
        if constant and not np.isclose(ratio.flat[0], 1.0) and abs(ratio.flat[0]) > 1e-6:
            return message + say("compare.ratio", ratio=float(ratio.flat[0]))
    return message


# ---------------------------------------------------------------- classic mistakes

@dataclass(frozen=True)
class Mistake:
    """A classic wrong answer and what to tell a learner who wrote it.

    Args:
        key: the message id (``"<exercise id>.<name>"``), for translations.
        text: English; completes "It looks like you ...". May hold ``{fields}`` that
            ``details`` fills from the inputs of the failing test.
        variants: the mistake written out, each a function with the answer's signature;
            a learner's answer is recognised when, on every input tried so far, it returns
            what one variant returns (or raises the same error).
        details: ``(*args, **kwargs) -> dict`` of the fields ``text`` names.
        raised: ``(error, *args, **kwargs) -> bool``, for a mistake that shows as an error
            too varied to reproduce (e.g. any AttributeError on ``mask=None``).
    """

    key: str
    text: str
    variants: tuple[Callable[..., Any], ...] = ()
    details: Callable[..., dict[str, Any]] | None = None
    raised: Callable[..., bool] | None = None

    def message(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        """The text, in the notebook's language, with the fields of these inputs."""
        fields: dict[str, Any] = {}
        if self.details is not None:
            try:
                with np.errstate(all="ignore"):
                    fields = dict(self.details(*copy.deepcopy(args), **copy.deepcopy(kwargs)))
            except Exception:  # a detail that cannot be computed leaves its field as {name}
                fields = {}
        return say(self.key, self.text, **fields)


def _as_mistakes(mistakes: Mapping[str, Callable[..., Any]] | Iterable[Mistake] | None
                 ) -> list[Mistake]:
    """A ``{description: wrong_function}`` mapping (the short form) as :class:`Mistake`s."""
    if mistakes is None:
        return []
    if isinstance(mistakes, Mapping):
        return [Mistake(text, text, (wrong,)) for text, wrong in mistakes.items()]
    return list(mistakes)


@dataclass
class _Trial:
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    value: Any = None
    error: BaseException | None = None
    variants: dict[int, tuple[Any, BaseException | None]] = field(default_factory=dict)


def _same_error(a: BaseException, b: BaseException) -> bool:
    # By name: the grader re-creates a learner's exception from its type name and message.
    return type(a).__name__ == type(b).__name__ and str(a) == str(b)


def _quietly(function: Callable[..., Any], args: Sequence[Any],
             kwargs: Mapping[str, Any]) -> tuple[Any, BaseException | None]:
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return function(*copy.deepcopy(args), **copy.deepcopy(kwargs)), None
    except Exception as error:  # a mistake's variant may fail like the learner's answer
        return None, error


def _agrees(mistake: Mistake, trials: list[_Trial], atol: float, rtol: float) -> bool:
    """Whether one variant of ``mistake`` behaves as the learner did on every trial (for a
    ``raised`` mistake: whether the learner's last error is of that kind)."""
    last = trials[-1]
    if mistake.raised is not None and last.error is not None:
        try:
            if mistake.raised(last.error, *last.args, **last.kwargs):
                return True
        except Exception:
            pass
    for variant in mistake.variants:
        for trial in trials:
            if id(variant) not in trial.variants:
                trial.variants[id(variant)] = _quietly(variant, trial.args, trial.kwargs)
            value, error = trial.variants[id(variant)]
            if trial.error is not None or error is not None:
                if trial.error is None or error is None or not _same_error(trial.error, error):
                    break
            elif compare(trial.value, value, atol=atol, rtol=rtol) is not None:
                break
        else:
            return True
    return False


def _recognise(candidate: Callable[..., Any], mistakes: list[Mistake], trials: list[_Trial],
               upcoming: list[tuple[tuple[Any, ...], dict[str, Any]]], atol: float,
               rtol: float) -> Mistake | None:
    """The one mistake that explains the learner's answer on every input tried, or None.

    When several mistakes (with different messages) explain it so far, the learner's
    function is run on the remaining inputs too, until one is left; a tie stays unnamed.
    """
    found = [m for m in mistakes if _agrees(m, trials, atol, rtol)]
    seen = list(trials)
    for args, kwargs in upcoming:
        if len({m.key for m in found}) <= 1:
            break
        value, error = _quietly(candidate, args, kwargs)
        seen.append(_Trial(args, kwargs, value, error))
        found = [m for m in found if _agrees(m, seen, atol, rtol)]
    return found[0] if len({m.key for m in found}) == 1 else None


# ---------------------------------------------------------------- the answer's own calls

def _module_of(frame: Any) -> str:
    return frame.f_globals.get("__name__", "") or ""


def _is_checker(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in _CHECKER_MODULES)


def _forbidden_keys(functions: Iterable[Any]) -> dict[tuple[str, str], str]:
    """``(module, qualname) -> shown name`` of the course_lib functions an answer may not call."""
    keys = {}
    for function in functions:
        module, qualname = function.__module__, function.__qualname__
        keys[(module, qualname)] = f"{module.removeprefix('course_lib.')}.{qualname}"
    return keys


class _Watch:
    """Records the forbidden functions the learner's code calls itself (not through another
    course_lib function), with a profiler, while the learner's function runs."""

    def __init__(self, forbidden: dict[tuple[str, str], str]) -> None:
        self.forbidden, self.used = forbidden, []

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        key = (_module_of(frame), getattr(code, "co_qualname", code.co_name))
        if key not in self.forbidden:
            return
        caller, through_learner = frame.f_back, False
        while caller is not None:
            module = _module_of(caller)
            if _is_checker(module):
                break
            if module.startswith("course_lib."):
                return  # another course_lib function uses it: allowed
            through_learner = True
            caller = caller.f_back
        if through_learner and self.forbidden[key] not in self.used:
            self.used.append(self.forbidden[key])


def _attempt(candidate: Callable[..., Any], name: str, args: Sequence[Any],
             kwargs: Mapping[str, Any], forbidden: dict[tuple[str, str], str]) -> _Trial:
    """Call the learner's function once; its error is data, except "not written yet" and a
    call of the reference, which end the check."""
    trial = _Trial(tuple(args), dict(kwargs))
    watch = _Watch(forbidden) if forbidden else None
    previous = sys.getprofile()
    try:
        # nbgrader scores a test cell that writes anything to stderr 0, so a correct answer
        # that warns (a 0/0 it then repairs, say) would lose its points: warnings are silenced
        # here and the values alone decide.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if watch is not None:
                sys.setprofile(watch)
            try:
                trial.value = candidate(*copy.deepcopy(args), **copy.deepcopy(kwargs))
            finally:
                if watch is not None:
                    sys.setprofile(previous)
    except NotImplementedError:
        raise CheckFailed(say("check.not_written", name=name)) from None
    except CheckFailed:
        raise
    except Exception as error:  # any learner error becomes feedback, never a crash
        trial.error = error
    if watch is not None and watch.used:
        raise CheckFailed(say("check.uses_reference", name=name, used=", ".join(watch.used)))
    return trial


# ---------------------------------------------------------------- the checks

def check_function(
    candidate: Callable[..., Any],
    reference: Callable[..., Any],
    make_inputs: InputMaker | Sequence[InputMaker],
    *,
    name: str | None = None,
    trials: int | None = None,
    seed: int = 0,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    mistakes: Mapping[str, Callable[..., Any]] | Iterable[Mistake] | None = None,
    forbidden: Iterable[Any] = (),
) -> None:
    """Check ``candidate`` against ``reference`` on random inputs.

    Args:
        candidate: the learner's function.
        reference: the course_lib function it should equal.
        make_inputs: ``rng -> args``, or a list of them (input *cases*: test ``t`` uses case
            ``t % len(cases)``, so every case is tried whatever the seed); each returns a
            tuple of positional arguments, a dict of keyword arguments, or an
            ``(args, kwargs)`` pair.
        name: what to call the function in messages (default: its ``__name__``).
        trials: how many tests (default: one per case, or 5).
        seed: seeds the inputs' values (the grader picks its own).
        mistakes: known wrong answers: :class:`Mistake`s, or ``{"description": function}``;
            a failure they explain says "It looks like you ...".
        forbidden: course_lib functions the answer may not call itself (the ones the
            exercise asks the learner to write).

    Prints a pass line, or raises :class:`CheckFailed`. Returns nothing, so a test cell
    shows only the verdict.
    """
    name = name or getattr(candidate, "__name__", "your function")
    try:
        count = _run_trials(candidate, reference, make_inputs, name, trials, seed, atol, rtol,
                            _as_mistakes(mistakes), _forbidden_keys(forbidden))
    except CheckFailed as failure:
        RESULTS[name] = str(failure).splitlines()[0] if str(failure) else "failed"
        raise
    RESULTS[name] = "passed"
    print(say("check.passed", name=name, trials=count))


def _run_trials(candidate: Callable[..., Any], reference: Callable[..., Any],
                make_inputs: InputMaker | Sequence[InputMaker], name: str, trials: int | None,
                seed: int, atol: float, rtol: float, mistakes: list[Mistake],
                forbidden: dict[tuple[str, str], str]) -> int:
    if not callable(candidate):
        raise CheckFailed(say("check.not_callable", got=describe(candidate)))
    cases = list(make_inputs) if isinstance(make_inputs, Sequence) else [make_inputs]
    count = trials or (len(cases) if len(cases) > 1 else 5)
    rng = np.random.default_rng(seed)
    inputs = [_split_inputs(cases[t % len(cases)](rng)) for t in range(count)]
    done: list[_Trial] = []
    for number, (args, kwargs) in enumerate(inputs):
        expected = reference(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        trial = _attempt(candidate, name, args, kwargs, forbidden)
        done.append(trial)
        if trial.error is not None:
            problem = say("check.raised", name=name,
                          error=f"{type(trial.error).__name__}: {trial.error}")
        else:
            problem = compare(trial.value, expected, atol=atol, rtol=rtol)
        if problem is None:
            continue
        known = _recognise(candidate, mistakes, done, inputs[number + 1:], atol, rtol)
        shown = _describe_inputs(args, kwargs)
        if known is None:
            raise CheckFailed(say("check.failed", name=name, trial=number + 1, trials=count,
                                  problem=problem) + "\n" + say("check.inputs", inputs=shown))
        raise CheckFailed(say("check.looks_like", mistake=known.message(args, kwargs)) + "\n"
                          + say("check.failed_with", name=name, trial=number + 1,
                                trials=count, inputs=shown, problem=problem))
    return count


def exercise(exercise_id: str, *answers: Callable[..., Any]) -> None:
    """Check the learner's function(s) for exercise ``exercise_id`` (its answer cell's
    nbgrader ``grade_id``, e.g. ``"l03_sdpa"``) with the inputs, reference and classic
    mistakes its lesson's catalogue (:mod:`course_lib.exercises`) holds.

    ``answers`` are the functions the answer cell defines, in the catalogue's order.
    Prints a pass line per function, or raises :class:`CheckFailed` naming the mistake.
    """
    spec = _catalogue_entry(exercise_id)
    if len(answers) != len(spec.checks):
        raise TypeError(say("check.answer_count", exercise=exercise_id,
                            expected=len(spec.checks),
                            names=", ".join(c.name for c in spec.checks), given=len(answers)))
    for check, answer in zip(spec.checks, answers, strict=True):
        # check_function is looked up here at call time: the grader replaces it with its
        # own (its seed, the comparison in the grader's process).
        check_function(check.wrap(answer), check.reference, check.cases, name=check.name,
                       trials=check.trials, atol=check.atol, rtol=check.rtol,
                       mistakes=check.wrapped_mistakes(), forbidden=spec.forbidden)


def _catalogue_entry(exercise_id: str) -> Any:
    lesson = exercise_id.split("_", 1)[0]
    try:
        module = importlib.import_module(f"{CATALOGUE_PACKAGE}.{lesson}")
        return module.EXERCISES[exercise_id]
    except (ImportError, KeyError, AttributeError):
        known = importlib.import_module(CATALOGUE_PACKAGE).known()
        raise KeyError(say("check.unknown_exercise", exercise=exercise_id,
                           known=", ".join(known))) from None


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


def _split_inputs(inputs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(inputs, dict):
        return (), dict(inputs)
    if (isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[1], dict)
            and isinstance(inputs[0], (tuple, list))):
        return tuple(inputs[0]), dict(inputs[1])
    if isinstance(inputs, tuple):
        return inputs, {}
    return (inputs,), {}
