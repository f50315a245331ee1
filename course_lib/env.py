"""The machine a lesson runs on: device choice, seeding, threads, an environment report."""

from __future__ import annotations

import os
import platform
import random
import sys

import numpy as np
import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """Return ``prefer`` if given, else the best available device: cuda, then mps, then cpu."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a torch generator with that seed.

    One call at the top of a notebook makes every later random draw reproducible, as long
    as the cells run in order.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def set_threads(num_threads: int | None = None) -> int:
    """Use ``num_threads`` CPU threads for torch (default: every core the process may use)."""
    if num_threads is None:
        num_threads = available_cores()
    if num_threads < 1:
        raise ValueError(f"num_threads: expected >= 1, got {num_threads}")
    torch.set_num_threads(num_threads)
    return num_threads


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def environment_report() -> dict[str, str]:
    """The facts a learner or a TA needs when something behaves differently on their machine."""
    device = pick_device()
    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "device": str(device),
        "cuda available": str(torch.cuda.is_available()),
        "cpu cores": str(available_cores()),
        "torch threads": str(torch.get_num_threads()),
    }
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(0)
    try:
        import matplotlib

        report["matplotlib"] = matplotlib.__version__
    except ImportError:
        report["matplotlib"] = "not installed"
    return report


def format_report(report: dict[str, str]) -> str:
    """Render :func:`environment_report` as aligned ``key: value`` lines."""
    width = max(len(key) for key in report)
    return "\n".join(f"{key:<{width}} : {value}" for key, value in report.items())


def setup_notebook(seed: int = 0, num_threads: int | None = None) -> torch.Generator:
    """Call once at the top of every lesson: seeds, threads and a readable plot style.

    Returns the seeded torch generator so a lesson can pass it to data generators.
    """
    threads = set_threads(num_threads)
    font = None
    try:
        import matplotlib.pyplot as plt

        plt.rcParams.update(
            {"figure.figsize": (7.0, 3.6), "figure.dpi": 100, "axes.grid": True,
             "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False}
        )
        font = _use_cjk_font_if_available(plt)
    except ImportError:
        pass
    _load_feedback()
    # Safe to run again: every setting is set, not appended. Say what the cell provides.
    print(f"course set up: seed {seed}, {threads} torch thread(s), plot style, "
          f"Chinese plot labels {'in ' + font if font else 'as pinyin (no Chinese font)'}")
    return seed_everything(seed)


def _load_feedback() -> None:
    """In IPython, explain a cell run out of order (see :mod:`course_lib.feedback`)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        from course_lib import feedback

        feedback.load_ipython_extension(shell)


# Fonts with Chinese glyphs, best first. The course's set-up installs the first from PyPI
# (the ``mplfonts`` package ships it), so a fresh machine without system CJK fonts has one.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")


def packaged_cjk_font() -> str | None:
    """Path of the Noto Sans CJK SC font installed from PyPI with the course, or None."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("mplfonts")  # found, not imported: we only want the file
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NotoSansCJKsc-Regular.otf"
    return str(path) if path.is_file() else None


def _use_cjk_font_if_available(plt) -> str | None:
    """Prefer a font with Chinese glyphs (registering the packaged one with matplotlib), so
    bilingual labels render; return its name, or None when there is none."""
    from matplotlib import font_manager

    path = packaged_cjk_font()
    installed = {font.name for font in font_manager.fontManager.ttflist}
    if path and not any(font.fname == path for font in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    found = [name for name in CJK_FONTS if name in installed]
    if found:
        rest = [name for name in plt.rcParams["font.sans-serif"] if name not in found]
        # First: matplotlib does not fall back glyph by glyph through the generic family list.
        plt.rcParams["font.sans-serif"] = found[:1] + rest
        return found[0]
    return None
