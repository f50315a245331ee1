"""Execute a notebook headless: one place for how the course's tools start kernels.

``course build``, ``check_release`` and the other tools run notebooks through
:func:`execute`, so the kernel settings live here once: the ``python3`` kernel of the
running environment, talking over local IPC sockets rather than TCP (nothing listens on
the network, and the kernel has no reason to warn about unencrypted TCP), cells tagged
``gpu`` replaced by a message where CUDA is absent, and OpenMP threads that sleep while
they wait (inherited from ``course_tools``: see ``course_lib.notebook.environment``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from course_tools import notebooks

__all__ = ["GPU_SKIPPED", "LessonFailed", "disable_gpu_cells", "execute", "execute_lesson"]

GPU_SKIPPED = 'print("Skipped: this cell needs a CUDA GPU.")'


def disable_gpu_cells(nb: nbformat.NotebookNode) -> int:
    """Replace cells tagged ``gpu`` by a message (as the tests skip them without CUDA).
    Returns how many were replaced."""
    replaced = 0
    for _, cell in notebooks.code_cells(nb):
        if notebooks.GPU_TAG in notebooks.tags(cell):
            cell.source = GPU_SKIPPED
            replaced += 1
    return replaced


def execute(nb: nbformat.NotebookNode, cwd: Path, *, timeout: int = 600,
            allow_errors: bool = False, skip_gpu: bool | None = None) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in place in a fresh kernel started in ``cwd``.

    ``skip_gpu`` None: skip ``gpu`` cells when CUDA is absent. Raises nbclient's
    ``CellExecutionError`` on the first failing cell unless ``allow_errors``.
    """
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    if skip_gpu is None:
        import torch

        skip_gpu = not torch.cuda.is_available()
    if skip_gpu:
        disable_gpu_cells(nb)
    with tempfile.TemporaryDirectory(prefix="course-kernel-") as sockets:
        manager = KernelManager(kernel_name="python3", transport="ipc",
                                ip=str(Path(sockets) / "kernel"))
        client = NotebookClient(nb, km=manager, timeout=timeout, allow_errors=allow_errors,
                                resources={"metadata": {"path": str(cwd)}})
        try:
            client.execute()
        finally:
            # A client given its kernel manager does not stop the kernel itself.
            if manager.has_kernel:
                manager.shutdown_kernel(now=False)
    return nb


class LessonFailed(RuntimeError):
    """A lesson stopped with an error: the message names the notebook, the cell (index in
    the notebook and id) and gives the traceback."""


def execute_lesson(path: Path, target: Path, *, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute the lesson at ``path`` once (cells tagged ``gpu`` skipped without CUDA, as
    the tests skip them), write the executed copy to ``target`` (also when it fails, so
    that the failure can be opened) and return it. Outputs are not compared with anything:
    an error fails, as ``nbval-lax`` does. Raises :class:`LessonFailed`.
    """
    from nbclient.exceptions import CellExecutionError

    nb = notebooks.read(path)
    try:
        execute(nb, path.parent, timeout=timeout)
    except CellExecutionError as error:
        index, cell = next(((i, c) for i, c in enumerate(nb.cells)
                            if c.cell_type == "code"
                            and "raises-exception" not in notebooks.tags(c) and any(
                                o.get("output_type") == "error" for o in c.get("outputs", []))),
                           (None, None))
        where = (f"cell {index} (id {cell.get('id')})" if cell is not None
                 else "a cell (it timed out or the kernel died)")
        _write(nb, target)
        raise LessonFailed(f"{path.name}: {where} failed:\n{_plain(str(error))}") from None
    _write(nb, target)
    return nb


def _write(nb: nbformat.NotebookNode, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)   # no terminal colours in a test report
