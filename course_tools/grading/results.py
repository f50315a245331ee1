"""What grading decides: one :class:`ExerciseResult` per exercise, one :class:`SubmissionResult`
per row of the score table."""

from __future__ import annotations

from dataclasses import dataclass, field

from course_tools.grading.status import Status, most_severe

__all__ = ["ExerciseResult", "SubmissionResult", "row"]


@dataclass
class ExerciseResult:
    """One exercise of one submission."""

    grade_id: str
    points: float
    max_points: float
    status: Status = Status.FAILED
    message: str = ""
    feedback: list[str] = field(default_factory=list)


@dataclass
class SubmissionResult:
    """One row of the score table."""

    student: str
    lesson: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    problems: list[tuple[Status, str]] = field(default_factory=list)   # (status, message)
    seconds: float = 0.0
    cpu_seconds: float = 0.0     # the grader's and the kernels' CPU time for this row
    sha256: str = ""             # of the file graded, as read before any kernel started
    sandboxed: bool = True       # False: graded with --no-sandbox
    language: str = "en"         # the submission's ("zh": a Chinese copy or release)

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)

    @property
    def status(self) -> Status:
        return most_severe([status for status, _ in self.problems] +
                           [e.status for e in self.exercises])

    @property
    def message(self) -> str:
        return "; ".join(dict.fromkeys(message for _, message in self.problems))


def row(student: str, lesson: str, status: Status, message: str, **extra: object
        ) -> SubmissionResult:
    """A row with no exercises (a file that is not graded, or the grader's failure)."""
    return SubmissionResult(student, lesson, problems=[(status, message)], **extra)
