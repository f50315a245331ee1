"""Pictures and arithmetic of the ways to split training over many devices.

* Data parallelism (DDP): every device holds the whole model and a slice of the batch.
* Fully sharded data parallelism (FSDP; ZeRO stage 3, Rajbhandari et al. 2020): each device
  holds only a slice of the parameters, gradients and optimiser states, and gathers a
  layer's full weights just before it needs them.
* Tensor parallelism (Megatron-LM, Shoeybi et al. 2019): one layer's weight matrices are
  split across devices; the first matrix of the feed-forward block by columns, the second by
  rows, so the block needs one all-reduce in the forward pass.
* Pipeline parallelism (GPipe, Huang et al. 2019): consecutive layers live on different
  devices; the batch is cut into micro-batches that flow through the stages, and the
  stages idle for part of each step (the "bubble"): ``(P - 1) / (M + P - 1)`` of the time
  for ``P`` stages and ``M`` micro-batches.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = ["pipeline_bubble_fraction", "gpipe_schedule", "draw_sharding", "draw_tensor_parallel",
           "draw_pipeline", "plot_parallelism"]

_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52")
_SMALL = 11   # labels inside the drawings; titles and ticks use the course style (13 pt and up)


def pipeline_bubble_fraction(stages: int, micro_batches: int) -> float:
    """Fraction of a GPipe step that each stage spends idle: ``(P - 1) / (M + P - 1)``."""
    if stages < 1 or micro_batches < 1:
        raise ValueError(f"stages, micro_batches: expected positive integers, got "
                         f"{stages} and {micro_batches}")
    return (stages - 1) / (micro_batches + stages - 1)


def gpipe_schedule(stages: int, micro_batches: int) -> list[list[tuple[str, int] | None]]:
    """Which work each stage does at each time slot: ``grid[stage][slot]`` is
    ``("F", m)`` (forward of micro-batch ``m``), ``("B", m)`` (backward) or ``None`` (idle).

    All forwards first, then all backwards in reverse, as in GPipe; one slot per unit of
    work (a backward really takes about twice a forward)."""
    pipeline_bubble_fraction(stages, micro_batches)  # validates the arguments
    slots = 2 * (micro_batches + stages - 1)
    grid: list[list[tuple[str, int] | None]] = [[None] * slots for _ in range(stages)]
    for s in range(stages):
        for m in range(micro_batches):
            grid[s][s + m] = ("F", m)
            # backwards start once the last stage has finished every forward
            grid[s][micro_batches + stages - 1 + (stages - 1 - s) + m] = ("B", m)
    return grid


def _box(ax: Axes, x: float, y: float, w: float, h: float, colour: str, label: str = "",
         alpha: float = 0.85) -> None:
    ax.add_patch(Rectangle((x, y), w, h, facecolor=colour, edgecolor="black", lw=0.6,
                           alpha=alpha))
    if label:
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=_SMALL)


def draw_sharding(ax: Axes, workers: int = 4) -> None:
    """What each worker stores under DDP (full copies) and under FSDP / ZeRO-3 (1/N each):
    parameters, gradients and Adam states, one column per worker."""
    kinds = (("params", 1.0), ("grads", 1.0), ("Adam m, v", 2.0))
    for row, (title, sharded) in enumerate((("DDP: every worker keeps everything", False),
                                             ("FSDP / ZeRO-3: 1/N each", True))):
        y0 = 1.95 - 1.95 * row
        ax.text(-0.1, y0 + 1.3, title, fontsize=_SMALL, ha="left")
        for w in range(workers):
            x = w * 1.25
            bottom = y0
            for k, (name, height) in enumerate(kinds):
                h = 0.3 * height
                if sharded:  # only this worker's quarter of each kind is filled
                    _box(ax, x, bottom, 1.0, h, "white", alpha=1.0)
                    _box(ax, x + w / workers, bottom, 1.0 / workers, h, _COLOURS[k])
                else:
                    _box(ax, x, bottom, 1.0, h, _COLOURS[k], name if w == 0 else "")
                bottom += h
            ax.text(x + 0.5, y0 - 0.05, f"worker {w}", ha="center", va="top",
                    fontsize=_SMALL)
    ax.set_xlim(-0.2, workers * 1.25)
    ax.set_ylim(-0.45, 3.5)
    ax.set_title("sharding the training state")
    ax.axis("off")


def draw_tensor_parallel(ax: Axes) -> None:
    """The feed-forward block split over 2 devices: ``W1`` by columns, ``W2`` by rows; each
    device computes a partial output, one all-reduce sums them."""
    _box(ax, 0.0, 0.5, 0.5, 2.0, "#dddddd", "x")
    for d in range(2):
        _box(ax, 1.0 + d * 0.55, 0.5, 0.5, 2.0, _COLOURS[d], f"W1\ncols\n{d}")
        _box(ax, 2.6, 0.5 + (1 - d) * 1.0, 1.6, 0.95, _COLOURS[d], f"W2 rows {d}")
    ax.text(0.75, 1.5, "@", ha="center", va="center")
    ax.text(2.35, 1.5, "->\nGELU", ha="center", va="center", fontsize=_SMALL)
    _box(ax, 4.7, 0.5, 0.5, 2.0, "#dddddd", "y")
    ax.text(4.45, 1.5, "Σ", ha="center", va="center", fontsize=16)
    ax.text(2.6, 2.8, "device 0 and device 1 each hold half of W1 and W2;\n"
            "one all-reduce sums the two partial outputs", ha="center", fontsize=_SMALL)
    ax.set_xlim(-0.2, 5.4)
    ax.set_ylim(0.2, 3.4)
    ax.set_title("tensor parallelism (Megatron-LM)")
    ax.axis("off")


def draw_pipeline(ax: Axes, stages: int = 4, micro_batches: int = 4) -> None:
    """GPipe's schedule: stages on the vertical axis, time slots on the horizontal; grey
    gaps are the bubble."""
    grid = gpipe_schedule(stages, micro_batches)
    for s, row in enumerate(grid):
        for t, work in enumerate(row):
            if work is None:
                _box(ax, t, stages - 1 - s, 1, 1, "#eeeeee", alpha=1.0)
            else:
                kind, m = work
                _box(ax, t, stages - 1 - s, 1, 1, _COLOURS[m % len(_COLOURS)],
                     f"{kind}{m}", alpha=0.9 if kind == "F" else 0.5)
    ax.set_xlim(0, len(grid[0]))
    ax.set_ylim(0, stages)
    ax.set_yticks([stages - 0.5 - s for s in range(stages)],
                  [f"stage {s}" for s in range(stages)])
    ax.set_xticks([])
    ax.set_xlabel("time ->")
    bubble = pipeline_bubble_fraction(stages, micro_batches)
    ax.set_title(f"pipeline parallelism (GPipe): {stages} stages, {micro_batches} "
                 f"micro-batches, bubble {bubble:.0%}")
    ax.grid(False)


def plot_parallelism(stages: int = 4, micro_batches: int = 4) -> Figure:
    """The three pictures: sharding and tensor parallelism side by side, the pipeline
    below them across the figure (a slide's width, its text readable when projected)."""
    fig, axes = plt.subplot_mosaic([["sharding", "tensor"], ["pipeline", "pipeline"]],
                                   figsize=(12, 5.8), height_ratios=[1.15, 1.0])
    draw_sharding(axes["sharding"])
    draw_tensor_parallel(axes["tensor"])
    draw_pipeline(axes["pipeline"], stages, micro_batches)
    fig.tight_layout()
    return fig
