"""Data for the lessons: everything is generated or ships with Python (no downloads needed).

Modules: ``vocab`` (token <-> id), ``synthetic`` (copy, reversal, long-range tasks),
``dates`` (date translation), ``text`` (character corpora), ``diary`` (diary stories with a
counting question, lesson 03).
"""

__all__ = ["dates", "synthetic", "text", "vocab"]
