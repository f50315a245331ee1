"""The attention viewer (course_lib.notebook.viewer): what it accepts, what it sends to the
browser, and its static stand-in where no widget runs. Driven in JupyterLab by
tests/test_viewer_browser.py."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import traitlets

from course_lib.notebook import attention_viewer, viewer


def _maps(layers=2, heads=3, T=4, S=4, batch=None, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(layers):
        shape = (heads, T, S) if batch is None else (batch, heads, T, S)
        w = rng.random(shape)
        out.append(torch.tensor(w / w.sum(-1, keepdims=True)))
    return out


def test_layers_from_every_accepted_shape() -> None:
    batched = _maps(batch=2)
    assert viewer.as_layers(batched, index=1).shape == (2, 3, 4, 4)
    np.testing.assert_allclose(viewer.as_layers(batched, index=1)[1],
                               batched[1][1].numpy())
    assert viewer.as_layers(_maps()[0]).shape == (1, 3, 4, 4)
    assert viewer.as_layers(np.eye(3)).shape == (1, 1, 3, 3)


@pytest.mark.parametrize("maps, message", [
    ([], "got an empty list"),
    ([np.ones((3, 4, 4)), np.ones((2, 4, 4))], r"one shape, got \[\(3, 4, 4\), \(2, 4, 4\)\]"),
    ([np.ones(4)], "one shape"),
    ([np.full((1, 2, 2), np.nan)], "NaN, inf or negative"),
])
def test_bad_maps_say_what_was_expected(maps, message) -> None:
    with pytest.raises(ValueError, match=message):
        viewer.as_layers(maps)


def test_bad_tokens_say_what_was_expected() -> None:
    with pytest.raises(ValueError, match="tokens: expected 4 tokens .* got 3"):
        attention_viewer(list("abc"), _maps())
    with pytest.raises(ValueError, match="query_tokens: the weights have 2 queries and 4 keys"):
        attention_viewer(list("abcd"), _maps(T=2))
    with pytest.raises(ValueError, match="index: expected 0 <= index < 2"):
        attention_viewer(list("abcd"), _maps(batch=2), index=2)


def test_what_the_browser_gets() -> None:
    maps = _maps(T=2, S=4)
    view = attention_viewer(list("abcd"), maps, query_tokens=["x", "y"], layer=1, head=2,
                            title="cross")
    assert (view.layer, view.head, view.query_tokens, view.key_tokens) == (
        1, 2, ["x", "y"], list("abcd"))
    np.testing.assert_allclose(np.array(view.weights), np.stack([m.numpy() for m in maps]),
                               atol=5e-5)
    with pytest.raises(traitlets.TraitError, match="head: expected 0 <= head < 3, got 3"):
        view.head = 3
    with pytest.raises(traitlets.TraitError, match="layer: expected 0 <= layer < 2"):
        view.layer = -1


def test_static_stand_in_where_no_widget_runs() -> None:
    open_before = plt.get_fignums()
    view = attention_viewer(list("abcd"), _maps())
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2 layer(s) x 3 head(s), 4 queries x 4 keys" in data["text/plain"]
    assert plt.get_fignums() == open_before, "the picture leaves no figure behind"
    text_only, _ = attention_viewer(list("abcd"), _maps(), figure=False)._repr_mimebundle_()
    assert "image/png" not in text_only


def test_front_end_ships_with_the_package_and_fetches_nothing() -> None:
    script = Path(viewer.__file__).with_name("viewer.js")
    for path in (script, script.with_name("viewer.css")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), f"{path.name} links out"
    assert not re.search(r"^\s*import\s", script.read_text(encoding="utf-8"), re.MULTILINE)
    assert "export default" in script.read_text(encoding="utf-8")
