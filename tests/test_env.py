from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from course_lib import env


def test_pick_device_prefers_what_is_asked() -> None:
    assert env.pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert env.pick_device().type == "cuda"
    else:
        assert env.pick_device().type in {"cpu", "mps"}


def test_seed_everything_makes_draws_reproducible() -> None:
    env.seed_everything(3)
    first = (torch.rand(3), np.random.rand(3))
    generator = env.seed_everything(3)
    second = (torch.rand(3), np.random.rand(3))
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert torch.equal(torch.rand(2, generator=generator),
                       torch.rand(2, generator=torch.Generator().manual_seed(3)))


def test_set_threads_rejects_zero() -> None:
    with pytest.raises(ValueError, match="num_threads: expected >= 1, got 0"):
        env.set_threads(0)
    before = torch.get_num_threads()
    assert env.set_threads(1) == 1 and torch.get_num_threads() == 1
    torch.set_num_threads(before)


def test_environment_report_has_the_facts() -> None:
    report = env.environment_report()
    for key in ("python", "torch", "device", "cpu cores", "torch threads"):
        assert report[key]
    text = env.format_report(report)
    assert "torch" in text and report["torch"] in text


def test_doctor_command_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "course_tools", "doctor"],
                            capture_output=True, text=True, check=True)
    assert "torch" in result.stdout and "cpu cores" in result.stdout
