"""The foundation every other package builds on: boolean masks, argument validation, small
tensor helpers. Imports nothing else from course_lib.

Modules: ``masks`` (causal and padding masks, polarity), ``validation`` (argument checks that
raise one clear ``ValueError``), ``tensors`` (``to_numpy``, ``tensor_bytes``).
"""

from course_lib._lazy import lazy_exports

__all__ = ["masks", "validation", "tensors", "causal_mask", "padding_mask", "check_mask"]

__getattr__, __dir__ = lazy_exports(__name__, ["masks", "validation", "tensors"], {
    "causal_mask": "masks", "padding_mask": "masks", "check_mask": "masks",
})
