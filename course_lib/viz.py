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

def attention_grid(maps, row_labels: Sequence[str] | None = None,
                   col_labels: Sequence[str] | None = None, *, index: int = 0,
                   title: str | None = None, cell_size: float = 1.7,
                   cmap: str = "viridis") -> np.ndarray:
    """One heatmap per layer (rows) and head (columns) of a Transformer's attention weights.

    ``maps`` is a list with one entry per layer, each ``(B, H, T, S)`` (example ``index`` is
    drawn) or ``(H, T, S)``. ``row_labels`` name the T queries, ``col_labels`` the S keys.
    Every panel shares the colour scale 0..1. Returns the ``(layers, heads)`` array of axes.
    """
    layers = [np.asarray(m.detach().cpu() if hasattr(m, "detach") else m) for m in maps]
    if not layers:
        raise ValueError("maps: expected one (B, H, T, S) or (H, T, S) array per layer, got none")
    layers = [m[index] if m.ndim == 4 else m for m in layers]
    if any(m.ndim != 3 or m.shape != layers[0].shape for m in layers):
        raise ValueError(f"maps: expected every layer to be (H, T, S) of the same shape, got "
                         f"{[m.shape for m in layers]}")
    num_heads, T, S = layers[0].shape
    fig, axes = plt.subplots(len(layers), num_heads, squeeze=False,
                             figsize=(cell_size * num_heads * max(S / T, 0.6) + 0.6,
                                      cell_size * len(layers) + 0.4))
    for layer, weights in enumerate(layers):
        for head in range(num_heads):
            ax = axes[layer, head]
            ax.imshow(weights[head], cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
            ax.grid(False)
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=9)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=9)
            if row_labels is not None and head == 0:
                ax.set_yticks(range(T), labels=list(row_labels), fontsize=6)
            if col_labels is not None and layer == len(layers) - 1:
                ax.set_xticks(range(S), labels=list(col_labels), fontsize=6, rotation=90)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return axes


def lr_schedule_plot(curves: dict[str, np.ndarray], *, ax: Axes | None = None,
                     title: str = "learning rate per optimiser step",
                     log_y: bool = False) -> Axes:
    """Plot learning-rate curves ``{label: (steps,) rates}``; step 1 is the first update."""
    ax = _axes(ax, (7.0, 3.2))
    for label, rates in curves.items():
        rates = np.asarray(rates)
        ax.plot(np.arange(1, len(rates) + 1), rates, label=label)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("learning rate")
    if log_y:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    return ax


def positional_encoding_heatmap(encoding, *, ax: Axes | None = None,
                                title: str = "sinusoidal positional encoding") -> Axes:
    """Draw a ``(positions, D)`` positional encoding: rows are positions, columns dimensions.

    Low dimensions oscillate fast, high ones slowly: every position gets its own pattern.
    """
    data = np.asarray(encoding.detach().cpu() if hasattr(encoding, "detach") else encoding)
    if data.ndim != 2:
        raise ValueError(f"encoding: expected a 2-D (positions, D) matrix, got shape {data.shape}")
    ax = _axes(ax, (7.0, 3.6))
    image = ax.imshow(data, cmap="RdBu_r", vmin=-1.0, vmax=1.0, aspect="auto",
                      interpolation="nearest")
    ax.set_xlabel("dimension i")
    ax.set_ylabel("position")
    ax.grid(False)
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


# --- 06 GPT ----------------------------------------------------------------------------
