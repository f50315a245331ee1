from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from course_lib.notebook import environment as env


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
    with pytest.raises(ValueError, match="num_threads: expected a positive integer, got 0"):
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


# ---- threads on a busy machine
def _fake_steps(tuner: env.ThreadTuner, seconds_per_count: dict[int, float], steps: int) -> None:
    for _ in range(steps):
        tuner.record(seconds_per_count[torch.get_num_threads()])


def test_thread_tuner_keeps_the_fastest_count() -> None:
    before = torch.get_num_threads()
    try:
        tuner = env.ThreadTuner([1, 2], probe_steps=3, reprobe_seconds=1e9)
        assert tuner.probing
        # As on a 2-core machine with one core busy: two threads are slower than one.
        _fake_steps(tuner, {1: 0.10, 2: 0.25}, steps=12)
        assert not tuner.probing and torch.get_num_threads() == 1
        assert tuner.choices == [(8, 1)]  # 2 counts x (1 warm-up + 3 timed steps)
        tuner = env.ThreadTuner([1, 2], probe_steps=3, reprobe_seconds=1e9)
        _fake_steps(tuner, {1: 0.10, 2: 0.06}, steps=12)  # quiet machine: two win
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_thread_tuner_probes_again_after_its_interval() -> None:
    before = torch.get_num_threads()
    try:
        tuner = env.ThreadTuner([1, 2], probe_steps=2, reprobe_seconds=0.0)
        _fake_steps(tuner, {1: 0.10, 2: 0.05}, steps=6)
        assert torch.get_num_threads() == 2
        _fake_steps(tuner, {1: 0.10, 2: 0.30}, steps=7)  # the machine got busy
        assert torch.get_num_threads() == 1 and [c for _, c in tuner.choices] == [2, 1]
    finally:
        torch.set_num_threads(before)


def test_thread_tuner_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="candidates"):
        env.ThreadTuner([2])
    with pytest.raises(ValueError, match="probe_steps"):
        env.ThreadTuner([1, 2], probe_steps=0)


def test_thread_candidates_cover_powers_of_two_and_all_cores() -> None:
    assert env.thread_candidates(1) == [1]
    assert env.thread_candidates(2) == [1, 2]
    assert env.thread_candidates(6) == [1, 2, 4, 6]


def test_explicit_thread_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setenv("COURSE_NUM_THREADS", "1")
        env.setup_notebook(seed=0)
        assert torch.get_num_threads() == 1 and env.thread_tuner() is None
        monkeypatch.delenv("COURSE_NUM_THREADS")
        env.setup_notebook(seed=0, num_threads=1)  # a lesson's fixed choice
        assert env.thread_tuner() is None
        monkeypatch.setattr(env, "available_cores", lambda: 4)
        env.setup_notebook(seed=0)  # left to the course: tuned during training
        tuner = env.thread_tuner()
        assert tuner is not None and tuner.candidates == [4, 2, 1]
        monkeypatch.setenv("COURSE_NUM_THREADS", "two")
        with pytest.raises(ValueError, match="COURSE_NUM_THREADS"):
            env.explicit_threads()
    finally:
        env.set_threads(before)


def test_fastest_thread_count_returns_a_candidate_and_leaves_the_rng_alone() -> None:
    before = torch.get_num_threads()
    try:
        torch.manual_seed(5)
        expected = torch.rand(3)
        torch.manual_seed(5)
        assert env.fastest_thread_count([1, 2]) in (1, 2)
        assert torch.equal(torch.rand(3), expected)
    finally:
        torch.set_num_threads(before)
