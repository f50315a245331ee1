"""Repository tooling for the course: execute, clean, release, check, slides, grade.

Not lesson content: learners read ``course_lib``; instructors, graders and CI run these
through the ``course`` command (``python -m course_tools``; one module per sub-command in
:mod:`course_tools.commands`). Nothing in ``course_lib`` imports this package
(``tests/test_layers.py`` checks it).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the repository (notebooks/, GLOSSARY.md...)
