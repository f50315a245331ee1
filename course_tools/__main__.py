"""``python -m course_tools ...`` is the ``course`` command."""

from course_tools.cli import main

raise SystemExit(main())
