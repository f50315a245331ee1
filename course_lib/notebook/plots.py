"""Plots the lessons share: heatmaps of attention weights, curves, timelines.

Each lesson's plotting helpers sit in their own section below. Every function draws on
an ``ax`` it is given (or a new one) and returns the axes, so lessons can compose figures.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from course_lib.core.tensors import to_numpy

# The font's one owner is course_lib.notebook.fonts; these names stay importable from here.
from course_lib.notebook.fonts import PINYIN, cjk_label, has_cjk_font, quiet_missing_glyphs

__all__ = [
    "heatmap", "timeline", "decision_boundary", "scaling_curve", "gradient_norm_plot",
    "accuracy_vs_length", "time_vs_length", "PINYIN", "has_cjk_font", "quiet_missing_glyphs",
    "cjk_label", "word_weights", "plot_curves", "alignment_heatmap", "accuracy_by_length",
    "attention_grid", "lr_schedule_plot", "positional_encoding_heatmap", "plot_lm_training",
    "plot_next_token_probs", "plot_generation_timing", "plot_loss_by_position",
    "PLOT_STYLE", "MAX_FIGURE_WIDTH", "MIN_FONT_PT", "use_course_style", "smallest_font",
    "measured_vs_length", "mask_panels", "lines", "image_grid", "power_law_fit",
]

# The course's plot style: text large enough to read on a projected 1280x720 slide (a
# 12-inch figure shown full width: 13 pt is about 18 px) and in a JupyterLab column. No
# helper below sets a smaller size: the decks check that plot text is at least 18 px.
PLOT_STYLE = {
    "figure.figsize": (7.0, 3.6), "figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False,
    "font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "xtick.labelsize": 13,
    "ytick.labelsize": 13, "legend.fontsize": 13, "legend.title_fontsize": 13,
    "figure.titlesize": 16,
}
MIN_FONT_PT = 13.0        # the smallest text a course plot uses (18 px on a slide at 1x)
MAX_FIGURE_WIDTH = 12.0   # inches: wider figures shrink their text below readable on a slide


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def heatmap(weights, row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None, *, ax: Axes | None = None,
            title: str | None = None, xlabel: str = "key position",
            ylabel: str = "query position", cmap: str = "viridis", colorbar: bool = True,
            vmax: float | None = None) -> Axes:
    """Draw a ``(T, S)`` matrix (attention weights, say) with optional tick labels.

    Non-negative data is coloured from 0; ``vmax`` fixes the top of the colour scale (e.g.
    ``1.0`` for attention weights, so that panels side by side share one scale) instead of
    each panel's own maximum.
    """
    data = to_numpy(weights)
    if data.ndim != 2:
        raise ValueError(f"weights: expected a 2-D (T, S) matrix, got shape {data.shape}")
    ax = _axes(ax)
    image = ax.imshow(data, cmap=cmap, aspect="auto", vmin=0.0 if data.min() >= 0 else None,
                      vmax=vmax)
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

_ERA_COLOURS = ("#f2e6d9", "#e3edf7", "#e6f2e3", "#f3e3f0")
# school -> (marker, colour, lane height); lanes at or above the axis label upwards
_SCHOOL_STYLE = {"symbolic": ("s", "#b5523b", 1.0), "statistical": ("^", "#3d8b4f", 0.45),
                 "foundations": ("D", "#6b6b6b", 0.0), "connectionist": ("o", "#2f6fb0", -1.0)}
_LANE_NAMES = {"symbolic": "symbolic", "statistical": "statistical", "foundations": "no school",
               "connectionist": "connectionist"}


def timeline(milestones, eras, *, ax: Axes | None = None,
             title: str = "Milestones of AI, by era and school") -> Axes:
    """Milestones on a time axis (years), eras shaded, one lane per school.

    ``milestones``: objects with ``year``, ``label`` and ``school`` (see
    ``course_lib.experiments.milestones.MILESTONES``); ``eras``: ``(name, first_year,
    last_year)`` tuples.
    Symbolic milestones sit on the top lane (squares), statistical-learning ones on the lane
    below it (triangles), both labelled upwards; connectionist ones on the lower lane (circles,
    labels downwards); others on the axis (diamonds).
    """
    ax = _axes(ax, figsize=(12.0, 6.0))
    # crowded years: nudge a marker right so labels written the same way stay apart (the
    # label keeps the true year); upward labels from a lower lane pass the lanes above it,
    # so they keep a wider gap
    placed, previous = [], {}
    for m in sorted(milestones, key=lambda m: m.year):
        upwards = _SCHOOL_STYLE.get(m.school, ("x", "black", 0.0))[2] >= 0
        x = max(float(m.year), previous.get(upwards, -1e9) + (1.6 if upwards else 1.1))
        previous[upwards] = x
        placed.append((x, m))
    first, last = min(m.year for m in milestones) - 3, max(x for x, _ in placed) + 2
    for (name, start, end), colour in zip(eras, _ERA_COLOURS, strict=False):
        left, right = max(start, first), min(end + 1, last)
        ax.axvspan(left, right, color=colour, zorder=0)
        label = name if right - left > 12 else name.replace(" ", "\n")   # narrow eras
        ax.text((left + right) / 2, 1.01, label, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=12, fontweight="bold")
    for x, m in placed:
        marker, colour, lane = _SCHOOL_STYLE.get(m.school, ("x", "black", 0.0))
        upwards = lane >= 0
        ax.plot(x, lane, marker=marker, color=colour, ms=6, zorder=2, ls="none")
        ax.annotate(f"{m.label} ({m.year})", (x, lane), xytext=(0, 6 if upwards else -6),
                    textcoords="offset points", fontsize=8, rotation=90, ha="center",
                    va="bottom" if upwards else "top", color=colour)
    for school, (marker, colour, _) in _SCHOOL_STYLE.items():
        ax.plot([], [], marker=marker, color=colour, ls="none", label=school)
    ax.axhline(0, color="black", lw=0.8, zorder=1)
    ax.set_xlim(first, last)
    ax.set_ylim(-3.5, 3.3)
    ax.set_yticks([lane for _, _, lane in _SCHOOL_STYLE.values()],
                  labels=[_LANE_NAMES[school] for school in _SCHOOL_STYLE])
    ax.set_xlabel("year")
    # under the axis rather than beside it: the figure stays as wide as it was asked to be
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, title="school:",
              alignment="left", frameon=False)
    ax.grid(False)
    ax.set_title(title, pad=52)
    return ax


def decision_boundary(predict, X, y, *, ax: Axes | None = None, title: str | None = None,
                      resolution: int = 200, margin: float = 0.5,
                      xlabel: str = "$x_1$", ylabel: str = "$x_2$") -> Axes:
    """Shade the plane by ``predict(points (M, 2)) -> (M,)`` labels and scatter ``(X, y)``.

    X (N, 2) array or tensor, y (N,) labels in {0, 1}.
    """
    X = to_numpy(X, dtype=float)
    y = to_numpy(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X: expected shape (N, 2), got {X.shape}")
    ax = _axes(ax, figsize=(4.0, 4.0))
    (x0, y0), (x1, y1) = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    z = np.asarray(predict(grid), dtype=float).reshape(gx.shape)
    ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5], colors=["#f6d5cf", "#cfe0f3"], alpha=0.9)
    ax.contour(gx, gy, z, levels=[0.5], colors="black", linewidths=1)
    for label, marker, colour in ((0, "o", "#b5523b"), (1, "^", "#2f6fb0")):
        rows = y == label
        ax.scatter(X[rows, 0], X[rows, 1], marker=marker, c=colour, edgecolors="black",
                   s=60 if len(X) <= 16 else 12, label=f"class {label}", zorder=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def scaling_curve(sizes, accuracies, *, ax: Axes | None = None, xlabel: str,
                  title: str | None = None, chance: float | None = None) -> Axes:
    """Test accuracy against a size (training examples, hidden units) on a log2 x-axis."""
    ax = _axes(ax, figsize=(5.0, 3.6))
    ax.plot(sizes, accuracies, marker="o")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (fraction correct)")
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", lw=1, label="chance")
        ax.legend(loc="lower right")
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title)
    return ax


# --- 02 RNN limits ---------------------------------------------------------------------


def gradient_norm_plot(norms: dict[str, np.ndarray], *, ax: Axes | None = None,
                       reference: dict[str, float] | None = None,
                       title: str = "How far back a gradient reaches") -> Axes:
    """``||d h_T / d h_{T-k}||`` against the distance k, log scale.

    ``norms``: curve label -> (K,) norms; ``reference``: the same labels -> spectral radius
    rho, drawn as the dashed line rho^k that the curve follows for a linear RNN.
    """
    ax = _axes(ax, figsize=(6.0, 4.0))
    for label, values in norms.items():
        values = np.asarray(values)
        line, = ax.plot(np.arange(len(values)), values, label=label)
        if reference and label in reference:
            k = np.arange(len(values))
            ax.plot(k, reference[label] ** k, ls="--", lw=1, color=line.get_color(), alpha=0.7)
    ax.set_yscale("log")
    ax.set_xlabel("distance T - t (time steps)")
    ax.set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$ (log scale)")
    ax.legend()
    ax.set_title(title)
    return ax


def accuracy_vs_length(results: dict[str, dict[int, float]], *, ax: Axes | None = None,
                       chance: float | None = None, xlabel: str = "sequence length T (tokens)",
                       title: str | None = None, log_x: bool = False) -> Axes:
    """One line per model: ``{model: {length: accuracy}}``, with an optional chance line."""
    ax = _axes(ax, figsize=(6.0, 4.0))
    markers = "osD^v<>p"
    for index, (label, by_length) in enumerate(results.items()):
        lengths = sorted(by_length)
        ax.plot(lengths, [by_length[t] for t in lengths], marker=markers[index % len(markers)],
                label=label)
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", lw=1, label="chance")
    if log_x:
        ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.03)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (fraction correct)")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def time_vs_length(lengths, times: dict[str, list[float]], *, ax: Axes | None = None,
                   title: str = "Time per forward pass") -> Axes:
    """Milliseconds per forward pass against sequence length, log-log."""
    ax = _axes(ax, figsize=(6.0, 4.0))
    for label, seconds in times.items():
        ax.plot(lengths, 1e3 * np.asarray(seconds), marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T (tokens)")
    ax.set_ylabel("time per forward pass (ms, log scale)")
    ax.legend()
    ax.set_title(title)
    return ax


# --- 03 attention basics ---------------------------------------------------------------

def word_weights(words: Sequence[str], weights, *, ax: Axes | None = None,
                 title: str | None = None, color: str = "tab:orange") -> Axes:
    """Bar chart of one weight per word (the coffee-shop picture of attention)."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(words),):
        raise ValueError(f"weights: expected shape ({len(words)},) (one per word), got {w.shape}")
    ax = _axes(ax, figsize=(9.0, 2.8))
    ax.bar(range(len(words)), w, color=color)
    ax.set_xticks(range(len(words)), labels=[cjk_label(x) for x in words], rotation=60,
                  ha="right")
    ax.set_ylabel("weight")
    if title:
        ax.set_title(title)
    return ax


def plot_curves(series: dict[str, tuple[Sequence[float], Sequence[float]]], *,
                ax: Axes | None = None, xlabel: str = "step", ylabel: str = "",
                title: str | None = None, logy: bool = False) -> Axes:
    """Several ``name -> (x, y)`` curves on one axes (learning curves, measurements)."""
    ax = _axes(ax)
    for name, (x, y) in series.items():
        ax.plot(list(x), list(y), marker="o", markersize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


# --- 04 seq2seq with attention ---------------------------------------------------------


def alignment_heatmap(weights, source: str, target: str, *, ax: Axes | None = None,
              title: str | None = None) -> Axes:
    """Alignment heatmap of a seq2seq model: output characters (rows) against input ones.

    ``weights`` is ``(T, S)``; extra rows (steps after ``<eos>``) and columns (padding) are
    cut to ``len(target)`` and ``len(source)``. Chinese characters are romanised when no
    Chinese font is installed (see :func:`cjk_label`).
    """
    data = to_numpy(weights)
    if data.ndim != 2 or data.shape[0] < len(target) or data.shape[1] < len(source):
        raise ValueError(f"weights: expected shape (>= {len(target)}, >= {len(source)}), "
                         f"got {data.shape}")
    ax = _axes(ax, figsize=(0.32 * len(source) + 2.0, 3.2))
    cols = [cjk_label(c) if c != " " else "␣" for c in source]
    return heatmap(data[:len(target), :len(source)], row_labels=list(target), col_labels=cols,
                   ax=ax, title=title, xlabel="input character", ylabel="output character",
                   colorbar=False)


def accuracy_by_length(lengths, correct: dict[str, Sequence[bool]], *, ax: Axes | None = None,
                       title: str | None = None, bins: Sequence[int] | None = None) -> Axes:
    """Exact-match accuracy against input length, one line per model.

    ``lengths`` (N,) input lengths; ``correct`` maps a model name to (N,) booleans.
    ``bins``: edges ``[e0, e1, ...]`` grouping lengths into ``e0..e1-1``, ``e1..e2-1``, ...
    (default: one point per length).
    """
    lengths = np.asarray(lengths)
    ax = _axes(ax)
    if bins is None:
        groups = [(str(n), lengths == n) for n in np.unique(lengths)]
    else:
        groups = [(f"{lo}-{hi - 1}", (lengths >= lo) & (lengths < hi))
                  for lo, hi in zip(bins[:-1], bins[1:], strict=True)]
        groups = [(label, sel) for label, sel in groups if sel.any()]
    for name, ok in correct.items():
        ok = np.asarray(ok, dtype=float)
        if ok.shape != lengths.shape:
            raise ValueError(f"correct[{name!r}]: expected shape {lengths.shape}, got {ok.shape}")
        ax.plot(range(len(groups)), [ok[sel].mean() for _, sel in groups], marker="o", label=name)
    counts = [int(sel.sum()) for _, sel in groups]
    ax.set_xticks(range(len(groups)), labels=[label for label, _ in groups])
    ax.set_xlabel(f"input length in characters ({min(counts)}-{max(counts)} test dates per point)")
    ax.set_ylabel("exact match")
    ax.set_ylim(-0.02, 1.02)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


# --- 05 Transformer --------------------------------------------------------------------

def attention_grid(maps, row_labels: Sequence[str] | None = None,
                   col_labels: Sequence[str] | None = None, *, index: int = 0,
                   title: str | None = None, cell_size: float = 3.0,
                   cmap: str = "viridis") -> np.ndarray:
    """One heatmap per layer (rows) and head (columns) of a Transformer's attention weights.

    ``maps`` is a list with one entry per layer, each ``(B, H, T, S)`` (example ``index`` is
    drawn) or ``(H, T, S)``. ``row_labels`` name the T queries, ``col_labels`` the S keys.
    Every panel shares the colour scale 0..1. Returns the ``(layers, heads)`` array of axes.

    The figure fits a slide (at most :data:`MAX_FIGURE_WIDTH` wide, panels at most
    ``cell_size`` inches) and its text stays at the course's sizes: where more labels
    than fit at :data:`MIN_FONT_PT` would overlap, every k-th one is shown.
    """
    layers = [to_numpy(m) for m in maps]
    if not layers:
        raise ValueError("maps: expected one (B, H, T, S) or (H, T, S) array per layer, got none")
    layers = [m[index] if m.ndim == 4 else m for m in layers]
    if any(m.ndim != 3 or m.shape != layers[0].shape for m in layers):
        raise ValueError(f"maps: expected every layer to be (H, T, S) of the same shape, got "
                         f"{[m.shape for m in layers]}")
    num_heads, T, S = layers[0].shape
    line = MIN_FONT_PT / 72 * 1.35                    # inches one label needs across its line
    panel_w = min(cell_size, (MAX_FIGURE_WIDTH - 1.6) / num_heads)
    labelled = T * line if row_labels is not None else 0.0    # room for every row label
    panel_h = min(cell_size, max(panel_w * T / S, labelled, 0.5 * panel_w), 4.4 / len(layers))
    fig, axes = plt.subplots(len(layers), num_heads, squeeze=False,
                             figsize=(panel_w * num_heads + 1.6,
                                      panel_h * len(layers) + (1.6 if title else 1.2)))
    widest = max((len(str(x)) for x in col_labels), default=1) if col_labels else 1
    upright = widest <= 2                             # single characters need no rotation
    x_extent = widest * 0.62 * MIN_FONT_PT / 72 + 0.05 if upright else line
    x_step = max(1, int(np.ceil(S * x_extent / panel_w)))
    y_step = max(1, int(np.ceil(T * line / panel_h)))
    for layer, weights in enumerate(layers):
        for head in range(num_heads):
            ax = axes[layer, head]
            ax.imshow(weights[head], cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
            ax.grid(False)
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=MIN_FONT_PT)
            if head == 0:
                ax.set_ylabel(f"layer {layer}")
            if row_labels is not None and head == 0:
                ax.set_yticks(range(0, T, y_step), labels=list(row_labels)[::y_step])
            if col_labels is not None and layer == len(layers) - 1:
                ax.set_xticks(range(0, S, x_step), labels=list(col_labels)[::x_step],
                              rotation=0 if upright else 90)
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
    data = to_numpy(encoding)
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


def plot_lm_training(history, *, ax: Axes | None = None, bound: float | None = None,
                     uniform_loss: float | None = None, metric: str = "val_loss",
                     smooth: float = 0.95) -> Axes:
    """Training loss (smoothed, per step) and validation loss (per evaluation) in nats/char.

    ``history`` is a :class:`course_lib.training.TrainHistory` whose evaluations hold ``metric``;
    ``bound`` draws the lesson's target, ``uniform_loss`` the loss of guessing uniformly.
    """
    ax = _axes(ax, (7.0, 3.6))
    losses = np.asarray(history.losses, dtype=float)
    if losses.size:
        smoothed = np.empty_like(losses)
        running = losses[0]
        for i, value in enumerate(losses):  # the same smoothing as the progress bar
            running = smooth * running + (1 - smooth) * value if i else value
            smoothed[i] = running
        ax.plot(history.steps, smoothed, label="training loss (smoothed)")
    steps, values = history.metric(metric)
    if steps:
        ax.plot(steps, values, "o-", label="validation loss")
    if bound is not None:
        ax.axhline(bound, color="tab:red", linestyle="--", linewidth=1, label=f"target {bound}")
    if uniform_loss is not None:
        ax.axhline(uniform_loss, color="gray", linestyle=":", linewidth=1,
                   label=f"uniform guess ln V = {uniform_loss:.2f}")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.legend()
    return ax


def plot_next_token_probs(probs_by_setting: dict[str, np.ndarray], labels: Sequence[str], *,
                          top: int = 12, ax: Axes | None = None, title: str | None = None
                          ) -> Axes:
    """Grouped bars: next-token probabilities ``(V,)`` under several sampling settings.

    The ``top`` tokens of the first setting are shown, in its order, so the bars line up.
    """
    names = list(probs_by_setting)
    arrays = [to_numpy(probs_by_setting[n], dtype=float) for n in names]
    order = np.argsort(-arrays[0])[:top]  # fewer than ``top`` when the vocabulary is small
    shown = len(order)
    ax = _axes(ax, (8.0, 3.4))
    width = 0.8 / len(names)
    for i, (name, probs) in enumerate(zip(names, arrays, strict=True)):
        ax.bar(np.arange(shown) + (i - (len(names) - 1) / 2) * width, probs[order], width,
               label=name)
    ax.set_xticks(range(shown), labels=[repr(labels[j])[1:-1] or " " for j in order])
    ax.set_ylabel("probability")
    ax.set_xlabel("next character")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_generation_timing(lengths: Sequence[int], seconds_by_method: dict[str, Sequence[float]],
                           *, ax: Axes | None = None) -> Axes:
    """Generation time vs number of generated tokens, one line per method (cache / no cache)."""
    ax = _axes(ax, (6.0, 3.4))
    for name, seconds in seconds_by_method.items():
        ax.plot(lengths, seconds, "o-", label=name)
    ax.set_xlabel("tokens generated")
    ax.set_ylabel("seconds")
    ax.legend()
    return ax


def plot_loss_by_position(loss_per_position, *, ax: Axes | None = None) -> Axes:
    """Mean validation loss at each position of the context window ``(T,)``: how much
    more predictable a character becomes when the model has seen more before it."""
    data = to_numpy(loss_per_position, dtype=float)
    ax = _axes(ax, (6.0, 3.2))
    ax.plot(np.arange(1, data.size + 1), data)
    ax.set_xlabel("characters of context seen (position in the window)")
    ax.set_ylabel("loss (nats per character)")
    return ax


# --- style and inline figures ------------------------------------------------------------

def smallest_font(fig) -> float | None:
    """The smallest font size (points) among the figure's tick labels, axis labels, titles
    and legends: what a reader at the back of the room must still read. None if no text."""
    sizes = []
    for ax in fig.axes:
        texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title, ax.xaxis.label,
                 ax.yaxis.label]
        legend = ax.get_legend()
        if legend is not None:
            texts += legend.get_texts()
        sizes += [t.get_fontsize() for t in texts if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else None


def _retina_png(fig):
    """A figure as a pixel-doubled PNG (sharp on a 1080p projector and a high-dpi laptop),
    with its 1x size and smallest font in the display metadata (read by the deck builder)."""
    from IPython.core.pylabtools import retina_figure

    found = retina_figure(fig, bbox_inches="tight")
    if found is None:
        return None
    data, metadata = found
    font = smallest_font(fig)
    if font is not None:
        metadata["course"] = {"font_pt": round(float(font), 2), "dpi": float(fig.dpi)}
    return data, metadata


def use_course_style() -> None:
    """Apply :data:`PLOT_STYLE`; in IPython, show figures as 2x PNG with their metadata."""
    plt.rcParams.update(PLOT_STYLE)
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    # The inline backend installs its own PNG formatter when pyplot first loads it: load it
    # now, so that ours (installed after) is the one that stays.
    backend_module = getattr(plt, "_get_backend_mod", None)
    if backend_module is not None:
        backend_module()
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, _retina_png)


# --- 07 attention variants -------------------------------------------------------------


def measured_vs_length(lengths: Sequence[int], series: dict[str, Sequence[float]], *,
                       ylabel: str, scale: float = 1.0, title: str | None = None,
                       ax: Axes | None = None) -> Axes:
    """A measurement (seconds, bytes) against sequence length, log-log, one line per name;
    ``scale`` converts the values to the unit ``ylabel`` names (``1e3``: seconds -> ms,
    ``2 ** -20``: bytes -> MiB). The lengths measured label the x-axis."""
    ax = _axes(ax, (6.0, 4.0))
    for name, values in series.items():
        ax.loglog(lengths, np.asarray(values, dtype=float) * scale, "o-", label=name)
    ax.set_xticks(list(lengths), [str(n) for n in lengths])
    ax.minorticks_off()
    ax.set_xlabel("sequence length T")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(series) > 1:
        ax.legend()
    return ax


def mask_panels(panels: dict[str, object], *, vmax: float = 3.0,
                figsize: tuple[float, float] | None = None) -> np.ndarray:
    """One ``(T, S)`` mask per panel, side by side (queries down, keys across); values above
    1 tell two heads of a pattern apart. The row is at most a slide wide
    (:data:`MAX_FIGURE_WIDTH`), so long titles wrap. Returns the axes."""
    width = min(3.3 * len(panels), MAX_FIGURE_WIDTH)
    fig, axes = plt.subplots(1, len(panels), figsize=figsize or (width, 3.8), squeeze=False)
    for ax, (title, mask) in zip(axes[0], panels.items(), strict=True):
        ax.imshow(to_numpy(mask, dtype=float), cmap="Blues", vmin=0, vmax=vmax)
        ax.set(title=textwrap.fill(title, 16), xlabel="key", ylabel="query")
        ax.grid(False)
    fig.tight_layout()
    return axes[0]


def lines(x: Sequence[float], series: dict[str, Sequence[float]], *, xlabel: str,
          ylabel: str, title: str | None = None, vlines: dict[str, float] | None = None,
          hlines: dict[str, float] | None = None, legend_columns: int = 1,
          legend_fontsize: float | None = None, legend_outside: bool = False,
          ax: Axes | None = None) -> Axes:
    """Curves ``{label: y}`` over a shared ``x``, with labelled reference lines: ``vlines``
    at x positions (dashed), ``hlines`` at y values (dotted). ``legend_outside`` puts the
    legend beside the axes, where it hides no curve."""
    ax = _axes(ax, (6.0, 4.0))
    for name, y in series.items():
        ax.plot(list(x), to_numpy(y, dtype=float), label=name)
    for name, at in (vlines or {}).items():
        ax.axvline(at, color="grey", linestyle="--", label=name)
    for name, at in (hlines or {}).items():
        ax.axhline(at, color="black", linestyle=":", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    where = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if legend_outside else {}
    ax.legend(ncol=legend_columns, fontsize=legend_fontsize, **where)
    return ax


# --- 08 beyond text --------------------------------------------------------------------


def _image(x) -> np.ndarray:
    """An image as imshow wants it: ``(H, W)`` or ``(H, W, 3)`` (a ``(3, H, W)`` tensor is
    moved channel-last and clipped to [0, 1]; a ``(1, H, W)`` one loses its channel)."""
    data = to_numpy(x, dtype=float)
    if data.ndim == 3 and data.shape[0] in (1, 3):
        data = data[0] if data.shape[0] == 1 else np.clip(data.transpose(1, 2, 0), 0.0, 1.0)
    return data


def _like_grid(value, rows: list[list], default: str, name: str) -> list[list]:
    """``value`` (None, one string, one row or a list of rows) spread over ``rows``' shape;
    a flat list for several rows, or rows of other lengths, is refused by ``name``."""
    if value is None or isinstance(value, str):
        return [[default if value is None else value] * len(row) for row in rows]
    value = list(value)
    if value and not isinstance(value[0], (list, tuple)):
        if len(rows) != 1:
            raise ValueError(f"{name}: expected one list per row of images ({len(rows)} "
                             f"rows), got a flat list of {len(value)}")
        value = [value]
    grid = [list(v) for v in value]
    if [len(r) for r in grid] != [len(r) for r in rows]:
        raise ValueError(f"{name}: expected rows of lengths {[len(r) for r in rows]} (as the "
                         f"images), got {[len(r) for r in grid]}")
    return grid


def image_grid(images, titles=None, *, cmaps=None, vmin: float | None = None,
               grid_every: int | None = None, figsize: tuple[float, float] | None = None,
               fontsize: float | None = None) -> np.ndarray:
    """Images in a grid, without ticks: ``images`` is a list of rows (or a single row) of
    ``(H, W)``, ``(1, H, W)`` or ``(3, H, W)`` arrays or tensors; ``titles`` and ``cmaps``
    (one name, or the grid's shape) go with them. ``grid_every=p`` draws the ``p x p`` patch
    grid a ViT cuts the image into; ``fontsize`` of the titles (default: the course style's).
    Returns the axes ``(rows, columns)``."""
    rows = [list(r) for r in images] if isinstance(images[0], (list, tuple)) else [list(images)]
    title_grid = _like_grid(titles, rows, "", "titles")
    cmap_grid = _like_grid(cmaps, rows, "viridis", "cmaps")
    columns = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), columns, squeeze=False,
                             figsize=figsize or (1.5 * columns, 1.9 * len(rows)))
    for r, row in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if c >= len(row):
                ax.axis("off")
                continue
            data = _image(row[c])
            ax.imshow(data, cmap=cmap_grid[r][c], vmin=vmin)
            if grid_every:
                for line in np.arange(grid_every, data.shape[0], grid_every) - 0.5:
                    ax.axhline(line, color="tab:orange", lw=0.8)
                for line in np.arange(grid_every, data.shape[1], grid_every) - 0.5:
                    ax.axvline(line, color="tab:orange", lw=0.8)
            if title_grid[r][c]:
                ax.set_title(title_grid[r][c], fontsize=fontsize)
    fig.tight_layout()
    return axes


# --- 09 scale --------------------------------------------------------------------------


def power_law_fit(sizes, losses, fit, *, label: str = "our runs", extend: float = 0.5,
                  ax: Axes | None = None) -> Axes:
    """Measured ``losses`` against model ``sizes`` on log-log axes, and the fitted power law
    ``fit`` (a :class:`course_lib.scale.scaling.PowerLawFit`) drawn from a bit below the
    smallest size to ``10 ** extend`` times the largest: the extrapolation the fit claims."""
    sizes = to_numpy(sizes, dtype=float)
    ax = _axes(ax, (6.0, 3.6))
    ax.loglog(sizes, to_numpy(losses, dtype=float), "o", label=label)
    grid = np.logspace(np.log10(sizes.min()) - 0.2, np.log10(sizes.max()) + extend, 50)
    ax.loglog(grid, fit.predict(grid), "--", label=f"fit: alpha = {fit.exponent:.3f}")
    ax.set_xlabel("non-embedding parameters N (log)")
    ax.set_ylabel("validation loss, nats/char (log)")
    ax.legend()
    return ax
