"""The shape of a lesson's exercise catalogue: `Exercise`, `Check`, `mistakes_of`.

An :class:`Exercise` (keyed by its answer cell's nbgrader ``grade_id``) holds one
:class:`Check` per function the answer cell defines, and the course_lib functions the answer
may not call (the ones it asks the learner to write). A :class:`Check` holds the reference,
the input *cases* (test ``t`` uses case ``t % len(cases)``, so the cases chosen here are
tried whatever the seed) and the classic mistakes
(:class:`course_lib.notebook.checks.Mistake`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from course_lib.notebook.checks import Mistake

__all__ = ["Check", "Exercise", "catalogue", "mistakes_of"]

InputMaker = Callable[[Any], Any]


@dataclass(frozen=True)
class Check:
    """One function of an exercise, checked against ``reference`` on ``cases``.

    ``adapt`` turns the learner's function (and each mistake's variants, written as a
    learner writes them) into what is compared, e.g. a dict of gradients into a tuple.
    """

    name: str
    reference: Callable[..., Any]
    cases: Sequence[InputMaker]
    mistakes: Sequence[Mistake] = ()
    trials: int | None = None
    atol: float = 1e-5
    rtol: float = 1e-5
    adapt: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None

    def wrap(self, answer: Callable[..., Any]) -> Callable[..., Any]:
        """The learner's function as compared (``adapt`` applied)."""
        if self.adapt is None or not callable(answer):
            return answer
        return self.adapt(answer)

    def wrapped_mistakes(self) -> list[Mistake]:
        """The mistakes with their variants adapted like the learner's function."""
        if self.adapt is None:
            return list(self.mistakes)
        return [dataclasses.replace(m, variants=tuple(self.adapt(v) for v in m.variants))
                for m in self.mistakes]


@dataclass(frozen=True)
class Exercise:
    """An exercise: its id (the answer cell's ``grade_id``), its checks, and the course_lib
    functions an answer may not call itself."""

    id: str
    checks: tuple[Check, ...]
    forbidden: tuple[Callable[..., Any], ...] = ()


def catalogue(*exercises: Exercise) -> dict[str, Exercise]:
    """A lesson module's ``EXERCISES``: ``{id: exercise}``."""
    found = {exercise.id: exercise for exercise in exercises}
    if len(found) != len(exercises):
        raise ValueError("two exercises share an id")
    return found


def mistakes_of(exercise_id: str) -> Callable[..., Mistake]:
    """A maker of the exercise's mistakes: ``mistake("name", "text", *variants, ...)`` gives
    a :class:`Mistake` whose message id is ``"<exercise_id>.<name>"``."""

    def mistake(name: str, text: str, *variants: Callable[..., Any],
                details: Callable[..., dict[str, Any]] | None = None,
                raised: Callable[..., bool] | None = None) -> Mistake:
        return Mistake(f"{exercise_id}.{name}", text, tuple(variants), details, raised)

    return mistake
