"""Every status ``course grade`` gives, in one typed table.

A row of ``scores.csv`` shows the most severe status that applies to it (members are listed
most severe first) and its message names them all; ``exercises.csv`` gives each exercise its
own. A status that *blocks points* gives 0 for the exercise it concerns, whatever the checks
say. README.md's status table is generated from this one (``python -m
course_tools.grading.status`` prints it; ``tests/test_grade_units.py`` compares them).
"""

from __future__ import annotations

import enum
import sys

__all__ = ["Status", "markdown_table", "most_severe"]


class Status(str, enum.Enum):
    """A status: its name (the value written to the CSV files), whether it blocks points,
    whether it can be a row's status (else only an exercise's), and what it means."""

    blocks_points: bool
    row: bool
    meaning: str

    def __new__(cls, name: str, blocks_points: bool, row: bool, meaning: str) -> Status:
        member = str.__new__(cls, name)
        member._value_ = name
        member.blocks_points, member.row, member.meaning = blocks_points, row, meaning
        return member

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> int:
        """0 for the most severe; a row shows its lowest."""
        return list(Status).index(self)

    # Files that cannot be graded: a row each, no exercises.
    INVALID_NOTEBOOK = ("invalid-notebook", True, True,
                        "the file is not a notebook (not JSON, or not one nbformat can read)")
    EMPTY_FILE = ("empty-file", True, True, "the file is empty")
    UNKNOWN_LESSON = ("unknown-lesson", True, True,
                      "a notebook whose name is no lesson of the course (the message suggests "
                      "the name)")
    MISSING = ("missing", True, True, "no notebook for a lesson the student should hand in")
    EXTRA_FILE = ("extra-file", True, True, "a file that is not a lesson notebook (ignored)")
    # The grader's own failure: never the student's fault, never points.
    GRADER_ERROR = ("grader-error", True, True,
                    "the grader failed on this exercise or file (a bug or a broken lesson); "
                    "nothing was decided about the answer")
    # The submission's kernel was stopped.
    SANDBOX = ("sandbox", True, True,
               "an answer tried to reach outside its sandbox (write outside its scratch "
               "folder, read the class's files, signal a process, start a process, use the "
               "network, change its limits) or filled its scratch folder")
    CRASH = ("crash", True, True,
             "the kernel died (`os._exit`, a crash in compiled code, a reply the grader "
             "cannot read)")
    MEMORY = ("memory", True, True, "past `--memory-mb`")
    TIMEOUT = ("timeout", True, True,
               "past `--cell-timeout` CPU seconds per cell or call (or `--timeout` wall "
               "seconds per submission)")
    EXIT = ("exit", False, True, "an answer called `sys.exit()` (what it defined before still "
                                 "counts)")
    SYNTAX_ERROR = ("syntax-error", True, True, "an answer cell does not parse")
    ANSWER_ERROR = ("answer-error", False, True,
                    "an answer cell raised (what it defined before the error still counts)")
    # Cheating: 0 for that exercise.
    USES_REFERENCE = ("uses-reference", True, True,
                      "an answer calls the course_lib code it should write")
    COPIES_REFERENCE = ("copies-reference", True, True,
                        "an answer copies the course_lib code it should write")
    TAMPERING = ("tampering", True, True,
                 "an answer patches a library or reaches into the checker, frames or imports")
    MISSING_ANSWER = ("missing-answer", True, True, "an answer cell is missing from the "
                                                    "notebook")
    TESTS_RESTORED = ("tests-restored", False, True,
                      "a test cell was deleted or edited; graded with the course's copy")
    OK = ("ok", False, True, "graded; the points are what the checks decided")
    # An exercise that ran its checks to the end.
    PASSED = ("passed", False, False, "the exercise passed its visible and hidden checks")
    FAILED = ("failed", False, False, "a check failed (its message says which)")


def most_severe(statuses: object) -> Status:
    """The most severe row status among ``statuses`` (``OK`` when none is)."""
    found = {Status(s) for s in statuses}  # type: ignore[union-attr]
    return min((s for s in found if s.row), key=lambda s: s.severity, default=Status.OK)


def markdown_table() -> str:
    """README.md's status table: every status a row of ``scores.csv`` can show."""
    lines = ["| status | points for the exercise | meaning |", "|---|---|---|"]
    for status in Status:
        if status.row:
            points = "0" if status.blocks_points else "what the checks decide"
            lines.append(f"| {status.value} | {points} | {status.meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")
