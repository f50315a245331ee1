"""nbgrader configuration for this course: used when nbgrader runs from the repository root.

Install the instructor tools (nbgrader, pinned) with ``pip install -e ".[instructor]"``.
The course folder is ``build/nbgrader`` (not committed): copy a lesson into
``build/nbgrader/source/<assignment>/`` and use nbgrader as usual, e.g.

    mkdir -p build/nbgrader/source/l03
    cp notebooks/03_attention_basics.ipynb build/nbgrader/source/l03/
    nbgrader generate_assignment l03           # student version in build/nbgrader/release/l03
    # collect into build/nbgrader/submitted/<student>/l03/03_attention_basics.ipynb, then
    nbgrader autograde l03 --create             # scores in build/nbgrader/gradebook.db
    nbgrader generate_feedback l03

The kernel that grades must import course_lib: run nbgrader with the course's virtual
environment active (``source .venv/bin/activate``), or from anywhere with
``PYTHONPATH=/path/to/this/repository``. ``tests/test_nbgrader.py`` runs exactly this on
lessons 00 and 03.
"""

c = get_config()  # noqa: F821 - nbgrader provides get_config when it loads this file

c.CourseDirectory.root = "build/nbgrader"
c.CourseDirectory.course_id = "attention-course"
# The lessons train small models in some cells (lessons 05 and 06: over a minute on a 2-core
# CPU); nbgrader's default of 30 s per cell interrupts them and every later cell fails.
c.Execute.timeout = 600
# The kernel of the environment nbgrader runs in (the course's .venv), whatever a submitted
# notebook's metadata names.
c.Execute.kernel_name = "python3"
# The same placeholder as `course release`, so both student versions read alike.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
