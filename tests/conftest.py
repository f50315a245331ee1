"""Fixtures shared by the course_lib unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """The unit tests train and compare tiny models: one thread is as fast as two, and on a
    busy machine two threads waiting for each other cost many times the CPU. Restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
