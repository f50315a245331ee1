"""``course grade``: grading a class of submissions safely.

- :mod:`~course_tools.grading.status`: every status, one typed table;
- :mod:`~course_tools.grading.lesson`: what the grader knows of a lesson (trusted set-up,
  snapshots at each test cell, calibration against the source solution);
- :mod:`~course_tools.grading.answers`: what an answer cell may not do (read from its AST);
- :mod:`~course_tools.grading.matching`: a submission's answers and test cells, matched to the
  lesson's;
- :mod:`~course_tools.grading.protocol`: the kernel protocol (frames, replies as data, proxies);
- :mod:`~course_tools.grading.kernel`: the student's kernel process (runs in the sandbox);
- :mod:`~course_tools.grading.zygote`: forks each kernel into its sandbox, imports done;
- :mod:`~course_tools.grading.sandbox`: bubblewrap around every kernel, and its probe;
- :mod:`~course_tools.grading.kernel_client`: starting, limiting and stopping a kernel;
- :mod:`~course_tools.grading.session`: one submission's kernel and its restart policy;
- :mod:`~course_tools.grading.grader`: grading one submission, exercise by exercise;
- :mod:`~course_tools.grading.batch`: a class: discovery, workers, results and manifest;
- :mod:`~course_tools.grading.samples`: made-up classes for tests and benchmarks.

Nothing here is imported at package import: the kernel imports only what it needs.
"""
