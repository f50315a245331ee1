"""The ``course`` command's sub-commands, one module each.

Each module has ``add_parser(subparsers)``, which adds its sub-command and its arguments, and
``run(args) -> int``, which does it and returns the exit code; :mod:`course_tools.cli` lists
them in one table. A module that lets unknown arguments through (``course lab`` passes them
to JupyterLab) sets ``PASSES_UNKNOWN_ARGUMENTS = True``. The commands that make something a
learner or an instructor uses in a language take ``--lang`` (:func:`add_lang`): ``en``, the
source, or ``zh``.
"""


def add_lang(parser) -> None:
    """The ``--lang`` option of a command that makes something in an edition's language."""
    from course_tools import translations

    parser.add_argument("--lang", choices=["en", *translations.LANGUAGES], default="en",
                        help="the edition: en (the source, default) or zh (the prose from "
                             "translations/zh/, the same code)")
