"""The ``course`` command's sub-commands, one module each.

Each module has ``add_parser(subparsers)``, which adds its sub-command and its arguments, and
``run(args) -> int``, which does it and returns the exit code; :mod:`course_tools.cli` lists
them in one table. A module that lets unknown arguments through (``course lab`` passes them
to JupyterLab) sets ``PASSES_UNKNOWN_ARGUMENTS = True``.
"""
