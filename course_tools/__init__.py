"""Repository tooling for the course: execute, clean, release, check, slides, grade.

Not lesson content: learners read ``course_lib``; instructors, graders and CI run these
through the ``course`` command (``python -m course_tools``). Nothing in ``course_lib``
imports this package (``tests/test_layers.py`` checks it).
"""
