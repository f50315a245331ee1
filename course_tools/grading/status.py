"""Every status ``course grade`` gives, in one typed table (with its meaning in English and
Chinese).

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
    meaning_zh: str

    def __new__(cls, name: str, blocks_points: bool, row: bool, meaning: str,
                meaning_zh: str) -> Status:
        member = str.__new__(cls, name)
        member._value_ = name
        member.blocks_points, member.row = blocks_points, row
        member.meaning, member.meaning_zh = meaning, meaning_zh
        return member

    def meaning_in(self, lang: str) -> str:
        """What the status means, in ``lang`` ("en" or "zh"; the feedback of a Chinese
        submission explains its status in Chinese, the code itself stays as in the CSV)."""
        return self.meaning_zh if lang == "zh" else self.meaning

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> int:
        """0 for the most severe; a row shows its lowest."""
        return list(Status).index(self)

    # Files that cannot be graded: a row each, no exercises.
    INVALID_NOTEBOOK = ("invalid-notebook", True, True,
                        "the file is not a notebook (not JSON, or not one nbformat can read)",
                        "文件不是 notebook（不是 JSON，或 nbformat 读不了）")
    EMPTY_FILE = ("empty-file", True, True, "the file is empty",
                  "文件是空的")
    UNKNOWN_LESSON = ("unknown-lesson", True, True,
                      "a notebook whose name is no lesson of the course (the message suggests "
                      "the name)",
                      "notebook 的文件名不是本课程的任何一课（信息里给出建议的文件名）")
    MISSING = ("missing", True, True, "no notebook for a lesson the student should hand in",
               "学生应交的某一课没有 notebook")
    EXTRA_FILE = ("extra-file", True, True, "a file that is not a lesson notebook (ignored)",
                  "不是课程 notebook 的文件（忽略）")
    # The grader's own failure: never the student's fault, never points.
    GRADER_ERROR = ("grader-error", True, True,
                    "the grader failed on this exercise or file (a bug or a broken lesson); "
                    "nothing was decided about the answer",
                    "批改程序在这道练习或这个文件上出错（程序缺陷或课程本身损坏）；答案的对"
                    "错尚未判定")
    # The submission's kernel was stopped.
    SANDBOX = ("sandbox", True, True,
               "an answer tried to reach outside its sandbox (write outside its scratch "
               "folder, read the class's files, signal a process, start a process, use the "
               "network, change its limits) or filled its scratch folder",
               "答案试图越出沙箱（在临时文件夹之外写文件、读取全班的文件、向进程发信号、启"
               "动进程、使用网络、改变上限），或写满了临时文件夹")
    CRASH = ("crash", True, True,
             "the kernel died (`os._exit`, a crash in compiled code, a reply the grader "
             "cannot read)",
             "内核崩溃（`os._exit`、编译代码中的崩溃、批改程序读不懂的回复）")
    MEMORY = ("memory", True, True, "past `--memory-mb`",
              "超过 `--memory-mb`")
    TIMEOUT = ("timeout", True, True,
               "past `--cell-timeout` CPU seconds per cell or call (or `--timeout` wall "
               "seconds per submission)",
               "超过每个单元格或每次调用 `--cell-timeout` 秒的 CPU 时间（或每份作业 `--time"
               "out` 秒的墙钟时间）")
    EXIT = ("exit", False, True, "an answer called `sys.exit()` (what it defined before still "
                                 "counts)",
            "答案调用了 `sys.exit()`（此前定义的内容仍然计分）")
    SYNTAX_ERROR = ("syntax-error", True, True, "an answer cell does not parse",
                    "答案单元格有语法错误")
    ANSWER_ERROR = ("answer-error", False, True,
                    "an answer cell raised (what it defined before the error still counts)",
                    "答案单元格抛出了异常（异常之前定义的内容仍然计分）")
    # Cheating: 0 for that exercise.
    USES_REFERENCE = ("uses-reference", True, True,
                      "an answer calls the course_lib code it should write",
                      "答案调用了本该自己编写的 course_lib 代码")
    COPIES_REFERENCE = ("copies-reference", True, True,
                        "an answer copies the course_lib code it should write",
                        "答案抄写了本该自己编写的 course_lib 代码")
    TAMPERING = ("tampering", True, True,
                 "an answer patches a library or reaches into the checker, frames or imports",
                 "答案修改了库，或干预了检查程序、调用栈帧或导入机制")
    MISSING_ANSWER = ("missing-answer", True, True, "an answer cell is missing from the "
                                                    "notebook",
                      "notebook 中缺少一个答案单元格")
    TESTS_RESTORED = ("tests-restored", False, True,
                      "a test cell was deleted or edited; graded with the course's copy",
                      "测试单元格被删除或修改；改用课程自己的副本批改")
    OK = ("ok", False, True, "graded; the points are what the checks decided",
          "已批改；得分由检查决定")
    # An exercise that ran its checks to the end.
    PASSED = ("passed", False, False, "the exercise passed its visible and hidden checks",
              "这道练习通过了公开的和隐藏的检查")
    FAILED = ("failed", False, False, "a check failed (its message says which)",
              "有一项检查没有通过（其信息说明是哪一项）")


def most_severe(statuses: object) -> Status:
    """The most severe row status among ``statuses`` (``OK`` when none is)."""
    found = {Status(s) for s in statuses}  # type: ignore[union-attr]
    return min((s for s in found if s.row), key=lambda s: s.severity, default=Status.OK)


_TABLE_TEXT = {"en": ("| status | points for the exercise | meaning |", "what the checks decide"),
               "zh": ("| 状态 | 该题得分 | 含义 |", "由检查决定")}


def markdown_table(lang: str = "en") -> str:
    """The README's status table (README.zh-CN.md's for ``lang="zh"``): every status a row
    of ``scores.csv`` can show."""
    if lang not in _TABLE_TEXT:
        raise ValueError(f"lang: expected one of {sorted(_TABLE_TEXT)}, got {lang!r}")
    header, decided = _TABLE_TEXT[lang]
    lines = [header, "|---|---|---|"]
    for status in Status:
        if status.row:
            points = "0" if status.blocks_points else decided
            lines.append(f"| {status.value} | {points} | {status.meaning_in(lang)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown_table(*sys.argv[1:2]) + "\n")
