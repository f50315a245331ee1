"""Plots the lessons share: heatmaps of attention weights, curves, timelines.

Each lesson's plotting helpers sit in their own section below. Every function draws on
an ``ax`` it is given (or a new one) and returns the axes, so lessons can compose figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def heatmap(weights, row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None, *, ax: Axes | None = None,
            title: str | None = None, xlabel: str = "key position",
            ylabel: str = "query position", cmap: str = "viridis", colorbar: bool = True) -> Axes:
    """Draw a ``(T, S)`` matrix (attention weights, say) with optional tick labels."""
    data = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights)
    if data.ndim != 2:
        raise ValueError(f"weights: expected a 2-D (T, S) matrix, got shape {data.shape}")
    ax = _axes(ax)
    image = ax.imshow(data, cmap=cmap, aspect="auto", vmin=0.0 if data.min() >= 0 else None)
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), labels=list(row_labels))
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), labels=list(col_labels), rotation=90)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


# --- 01 AI history ---------------------------------------------------------------------

# --- 02 RNN limits ---------------------------------------------------------------------

# --- 03 attention basics ---------------------------------------------------------------

# --- 04 seq2seq with attention ---------------------------------------------------------

# --- 05 Transformer --------------------------------------------------------------------

# --- 06 GPT ----------------------------------------------------------------------------
