"""Repository tooling for the course: execute, clean, release, check, slides, grade.

Not lesson content: learners read ``course_lib``; instructors, graders and CI run these
through the ``course`` command (``python -m course_tools``). Nothing in ``course_lib``
imports this package (``tests/test_layers.py`` checks it).
"""

import os

# Kernels and workers started by the tools inherit this: OpenMP threads that sleep while
# they wait, so a busy machine does not multiply lesson times (see course_lib.env).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
