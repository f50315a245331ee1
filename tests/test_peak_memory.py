import numpy as np
import torch

from course_lib.analysis.measured_memory import numpy_peak_bytes, torch_peak_bytes
from course_lib.core.tensors import tensor_bytes


def test_numpy_peak_counts_a_temporary_array():
    peak = numpy_peak_bytes(lambda: np.ones(1_000_000).sum())
    assert 8_000_000 <= peak < 8_200_000


def test_tensor_bytes():
    assert tensor_bytes(torch.zeros(3, 4), None, torch.zeros(2, dtype=torch.float16)) == 52


def test_torch_peak_sees_the_score_matrix():
    q = torch.randn(1, 1, 256, 8)
    peak = torch_peak_bytes(lambda: torch.softmax(q @ q.transpose(-2, -1), -1))
    one_matrix = 256 * 256 * 4
    assert 2 * one_matrix <= peak <= 3 * one_matrix  # scores and their softmax
