"""The notebook harness really fails on an error and skips GPU cells without CUDA.

Runs nbval, as `make test` does, on a throw-away notebook under build/ (inside the
repository so the root conftest.py applies).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def probe_notebook() -> Path:
    folder = ROOT / "build" / "harness_probe"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "probe.ipynb"
    nb = new_notebook(cells=[
        new_code_cell("x = 1 + 1"),
        # Fails unless skipped here, passes where CUDA exists: proves the tag is honoured.
        new_code_cell("import torch\nassert torch.cuda.is_available()",
                      metadata={"tags": ["gpu"]}),
        new_code_cell("assert x == 3, 'deliberately failing cell'"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_failing_cell_fails_and_gpu_cell_is_skipped(probe_notebook: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", "--nbval-cell-timeout=120", str(probe_notebook)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode != 0, result.stdout
    assert "1 failed" in summary, result.stdout
    if torch.cuda.is_available():
        assert "2 passed" in summary, result.stdout
    else:
        assert "1 skipped" in summary and "1 passed" in summary, result.stdout
