"""The attention viewer in a real JupyterLab, driven in headless Chromium with the network
blocked: switch the head, point at a query and at a key, and the view follows the weights.

JupyterLab is started as `make lab` starts it (``course lab``), on a folder holding one small
notebook whose attention weights are known: in head 0 each token attends to the next one, in
head 1 to itself. A screenshot goes to build/screenshots/viewer.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from page_helpers import LAB_TOKEN, course_lab, run_all_cells, wait_for_kernel

from course_tools import notebooks

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
TOKENS = ["the", "cat", "sat", "on", "mats"]
SETUP = f"""import numpy as np
from course_lib.notebook import attention_viewer

T = {len(TOKENS)}
next_token = 0.9 * np.roll(np.eye(T), 1, axis=1) + 0.02   # head 0: each token reads the next
itself = 0.9 * np.eye(T) + 0.02                            # head 1: each token reads itself
view = attention_viewer({TOKENS!r}, [np.stack([next_token, itself])], title="known weights")
view"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("viewer")
    nb = new_notebook(cells=[new_code_cell(SETUP), new_code_cell("print('head on view:', "
                                                                 "view.head)")])
    nb.metadata["kernelspec"] = dict(notebooks.KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, str(root / "viewer.ipynb"))
    with course_lab(root) as url:
        yield url


def _weights(page, side: str) -> list[float]:
    return [float(w) for w in page.eval_on_selector_all(
        f".cav-{side}", "nodes => nodes.map(n => n.dataset.weight)")]


def test_viewer_follows_head_and_token(lab: str, offline_page) -> None:
    page = offline_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{lab}/lab/tree/viewer.ipynb?token={LAB_TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=180_000)
    wait_for_kernel(page)
    run_all_cells(page, "(s) => document.querySelector(s) !== null", arg=".cav-root .cav-query")
    page.wait_for_function("() => document.body.innerText.includes('head on view: 0')",
                           timeout=60_000)
    assert page.locator(".cav-head").count() == 2 and page.locator(".cav-query").count() == 5

    # head 0: "cat" (query 1) attends to "sat" (key 2)
    page.hover(".cav-query[data-index='1']")
    keys = _weights(page, "key")
    assert keys.index(max(keys)) == 2 and abs(max(keys) - 0.92) < 1e-3, keys
    assert '"cat" attends most to "sat"' in page.inner_text(".cav-caption")
    assert page.locator(".cav-lines line").count() == 5

    # switch to head 1: the same query now attends to itself
    page.click(".cav-head[data-head='1']")
    assert "cav-on" in page.get_attribute(".cav-head[data-head='1']", "class")
    page.hover(".cav-query[data-index='1']")
    keys = _weights(page, "key")
    assert keys.index(max(keys)) == 1, keys

    # point at a key: what attends to "on" (key 3) in head 1 is "on" itself
    page.hover(".cav-key[data-index='3']")
    queries = _weights(page, "query")
    assert queries.index(max(queries)) == 3, queries
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "viewer.png"))

    # the head chosen in the browser is the kernel's too
    page.keyboard.press("Escape")
    page.locator(".jp-Notebook .jp-CodeCell").nth(1).locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("() => document.body.innerText.includes('head on view: 1')",
                           timeout=60_000)
    assert not page.blocked_requests, f"the viewer tried to reach: {page.blocked_requests}"
