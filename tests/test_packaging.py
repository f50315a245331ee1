"""The set-up the README promises: lower bounds in pyproject and a lock that matches them,
pinned torch, conda and pip lists in step, CI = `make test`."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomllib arrived in 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    reqs = project["dependencies"] + extras["dev"] + extras.get("instructor", [])
    return {_name(r): r.replace(" ", "") for r in reqs}


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {_name(r): r.replace(" ", "") for r in pip if not r.startswith("-e")}


def test_environment_yml_mirrors_pyproject() -> None:
    assert _conda_requirements() == _pyproject_requirements()


def test_torch_is_pinned() -> None:
    # An unpinned torch pulls several GB of CUDA packages on a CPU-only machine.
    assert _pyproject_requirements()["torch"] == "torch==2.13.0"


def test_hard_pins_say_why() -> None:
    # pyproject keeps lower bounds (the lock pins); an exact pin needs its reason written next
    # to it: a comment on its line or on the lines right above it.
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r'\s*"[A-Za-z0-9_.-]+(\[[^]]*\])?==', line):
            above = lines[max(0, number - 3):number]
            assert "#" in line or any(x.strip().startswith("#") for x in above), (
                f"pyproject.toml line {number + 1} pins exactly without a reason: {line.strip()}")


def test_lock_agrees_with_pyproject() -> None:
    pytest.importorskip("packaging")
    from course_tools import lock

    assert lock.check() == [], "run `make lock`"


def test_lock_check_catches_a_drift(tmp_path, monkeypatch) -> None:
    """The check fails on a lock from another pyproject, a pin outside its bounds, a missing
    hash and a developers' tool in the learner's layer."""
    pytest.importorskip("packaging")
    import shutil

    from course_tools import lock

    folder = tmp_path / "requirements"
    shutil.copytree(lock.LOCK_DIR, folder)
    monkeypatch.setattr(lock, "LOCK_DIR", folder)
    monkeypatch.setattr(lock, "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    assert lock.check() == []
    lab = folder / "lab.txt"
    text = lab.read_text()
    numpy_line = re.search(r"^numpy==(\S+) ; python_full_version == '3.11.\*' \\$", text, re.M)
    assert numpy_line, "expected a numpy pin for Python 3.11 in lab.txt"
    lab.write_text(text.replace(numpy_line.group(0), "numpy==1.20.0 ; python_full_version == "
                                "'3.11.*' \\"))
    assert any("numpy==1.20.0 does not satisfy" in p for p in lock.check())
    lab.write_text(text + "ruff==0.6.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
                   "    # via course-lib (pyproject.toml)\n")
    assert any("ruff is no dependency of a learner's package" in p for p in lock.check())
    lab.write_text(text + "six==1.0.0\n")
    assert any("six==1.0.0 has no hash" in p for p in lock.check())
    lab.write_text(text)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"tqdm>=4.60"', '"tqdm>=4.61"'))
    assert any("locked from another pyproject.toml" in p for p in lock.check())


def test_lock_notes_this_machines_cpu_torch() -> None:
    """Where pip finds a local CPU build of the locked torch (as on the course's CI), the lock
    notes its hash, so that `make lab` installs it instead of PyPI's CUDA build."""
    from course_tools import lock

    text = (lock.LOCK_DIR / "lab.txt").read_text()
    version = next(p.version for p in lock.parse_lock(text)[1] if p.name == "torch")
    wheels = [w for folder in lock._find_links() for w in folder.glob(f"torch-{version}+cpu-*")]
    if not wheels:
        pytest.skip("no local CPU build of torch on this machine")
    noted = lock._noted_cpu_hashes(version, text)
    for wheel in wheels:
        assert noted.get(wheel.name) == hashlib.sha256(wheel.read_bytes()).hexdigest(), (
            f"{wheel} is not noted in requirements/lab.txt: run `make lock`")


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    commands = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands


def test_readme_course_map_lists_every_lesson() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert path.name in readme, f"README's course map should list {path.name}"
