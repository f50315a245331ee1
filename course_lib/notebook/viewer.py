"""An interactive view of attention weights: ``attention_viewer(tokens, maps)``.

In JupyterLab the viewer shows one head at a time as two columns of tokens, the queries on
the left and the keys on the right: point at a query to see what it attends to (a line to
each key, as strong as the weight), at a key to see what attends to it; click to keep the
selection. Buttons choose the layer, and every head of that layer is drawn small above
(small multiples): click one to look at it. The widget is an anywidget whose JavaScript and
style sheet ship next to this file (``viewer.js``, ``viewer.css``): nothing is fetched.

Where no widget front end runs (nbconvert's HTML, the course website, decks, nbval) the same
output carries a static picture instead: every layer and head as a grid of heatmaps
(``plots.attention_grid``), or one line of text with ``figure=False`` when the lesson shows
that grid itself already.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from course_lib.notebook.plots import attention_grid, to_numpy

__all__ = ["AttentionViewer", "attention_viewer", "as_layers"]

_HERE = Path(__file__).resolve().parent
_DECIMALS = 4          # weights travel to the browser as JSON: four decimals are plenty


def as_layers(maps, *, index: int = 0) -> np.ndarray:
    """Attention weights as one ``(L, H, T, S)`` array.

    ``maps``: a list with one entry per layer, each ``(B, H, T, S)`` (example ``index`` is
    taken) or ``(H, T, S)``; or one such array (a single layer); or a ``(T, S)`` matrix (one
    layer, one head). Raises ``ValueError`` naming the shapes given when they do not fit.
    """
    layers = list(maps) if isinstance(maps, (list, tuple)) else [maps]
    if not layers:
        raise ValueError("maps: expected attention weights (a list of (B, H, T, S) or (H, T, S) "
                         "arrays, one per layer), got an empty list")
    arrays = []
    for layer in layers:
        weights = to_numpy(layer, dtype=np.float64)
        if weights.ndim == 4:
            if not 0 <= index < weights.shape[0]:
                raise ValueError(f"index: expected 0 <= index < {weights.shape[0]} (the batch), "
                                 f"got {index}")
            weights = weights[index]
        elif weights.ndim == 2:
            weights = weights[None]
        arrays.append(weights)
    shapes = [a.shape for a in arrays]
    if any(a.ndim != 3 for a in arrays) or len(set(shapes)) != 1:
        raise ValueError(f"maps: expected every layer as (B, H, T, S), (H, T, S) or (T, S) of "
                         f"one shape, got {shapes}")
    stacked = np.stack(arrays)
    if not np.isfinite(stacked).all() or (stacked < 0).any():
        raise ValueError("maps: expected attention weights (finite, >= 0), got NaN, inf or "
                         "negative values")
    return stacked


def _labels(name: str, tokens: Sequence[str], size: int) -> list[str]:
    labels = [str(t) for t in tokens]
    if len(labels) != size:
        raise ValueError(f"{name}: expected {size} tokens (the weights' "
                         f"{'T' if name == 'query_tokens' else 'S'} axis), got {len(labels)}")
    return labels


class AttentionViewer(anywidget.AnyWidget):
    """The viewer's widget (build it with :func:`attention_viewer`). ``layer`` and ``head``
    are the head on view, shared with the browser; ``weights`` is ``[L][H][T][S]``, labelled
    by ``query_tokens`` (T) and ``key_tokens`` (S)."""

    _esm = _HERE / "viewer.js"
    _css = _HERE / "viewer.css"
    key_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    query_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    weights = traitlets.List().tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, weights: np.ndarray, queries: list[str], keys: list[str], *,
                 title: str = "", figure: bool = True, **kwargs) -> None:
        self._array, self._figure = weights, figure
        super().__init__(weights=np.round(weights, _DECIMALS).tolist(), query_tokens=queries,
                         key_tokens=keys, title=title, **kwargs)

    @traitlets.validate("layer", "head")
    def _within_range(self, proposal):
        name, value = proposal["trait"].name, proposal["value"]
        count = self._array.shape[0 if name == "layer" else 1]
        if not 0 <= value < count:
            raise traitlets.TraitError(f"{name}: expected 0 <= {name} < {count}, got {value}")
        return value

    def __repr__(self) -> str:
        layers, heads, T, S = self._array.shape
        return (f"AttentionViewer({self.title or 'attention'}: {layers} layer(s) x {heads} "
                f"head(s), {T} queries x {S} keys; interactive in JupyterLab)")

    def _repr_mimebundle_(self, **kwargs):
        """The widget for a front end that runs widgets, and a static stand-in (a picture of
        every head, or a line of text) for one that does not."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        if self._figure:
            data["image/png"] = self.static_png()
        return data, metadata

    def static_png(self) -> str:
        """Every layer and head as a grid of heatmaps, a base64 PNG (the static stand-in)."""
        import matplotlib.pyplot as plt

        axes = attention_grid(list(self._array), self.query_tokens, self.key_tokens,
                              title=self.title or None)
        figure = axes.flat[0].figure
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)    # the picture lives in the output; no second copy from pyplot
        return base64.b64encode(buffer.getvalue()).decode("ascii")


def attention_viewer(tokens: Sequence[str], maps, *, query_tokens: Sequence[str] | None = None,
                     index: int = 0, title: str = "", layer: int = 0, head: int = 0,
                     figure: bool = True) -> AttentionViewer:
    """An interactive viewer of attention weights (see the module doc); display it by
    leaving it as a cell's last expression.

    ``tokens`` label the S keys; ``query_tokens`` the T queries (default ``tokens``, as in
    self-attention; give them for cross-attention). ``maps`` as for :func:`as_layers`: one
    ``(B, H, T, S)`` or ``(H, T, S)`` per layer, ``index`` choosing the example. ``layer``
    and ``head`` are shown first. ``figure=False``: where no widget runs, one line of text
    instead of the grid of heatmaps (when the lesson draws that grid itself).
    """
    weights = as_layers(maps, index=index)
    _, _, T, S = weights.shape
    keys = _labels("tokens", tokens, S)
    queries = keys if query_tokens is None else _labels("query_tokens", query_tokens, T)
    if query_tokens is None and T != S:
        raise ValueError(f"query_tokens: the weights have {T} queries and {S} keys, so give "
                         f"the query tokens too (cross-attention)")
    viewer = AttentionViewer(weights, queries, keys, title=title, figure=figure)
    viewer.layer, viewer.head = layer, head
    return viewer
