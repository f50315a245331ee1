"""Test-session hooks shared by the unit tests and nbval's notebook cells.

Notebook cells tagged ``gpu`` are skipped when CUDA is absent, so the course's tests pass
on a laptop CPU while a GPU machine still runs them.
"""

from __future__ import annotations

import pytest

from course_tools.notebooks import GPU_TAG


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason=f"cell tagged {GPU_TAG!r} and CUDA is not available")
    for item in items:
        cell = getattr(item, "cell", None)  # nbval's notebook-cell items carry their cell
        if cell is not None and GPU_TAG in cell.get("metadata", {}).get("tags", []):
            item.add_marker(skip_gpu)
