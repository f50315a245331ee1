"""Every plotting helper draws what it is given, on the axes it is given (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.experiments import milestones
from course_lib.notebook import plots as viz  # noqa: E402
from course_lib.training.loop import TrainHistory  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_heatmap_labels_and_shape_error() -> None:
    ax = viz.heatmap(np.eye(3), ["a", "b", "c"], ["x", "y", "z"], title="w")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.get_title() == "w" and len(ax.images) == 1
    with pytest.raises(ValueError, match=r"expected a 2-D \(T, S\) matrix, got shape \(3,\)"):
        viz.heatmap(np.ones(3))


def test_heatmap_shared_colour_scale() -> None:
    # a nearly uniform panel must not look as peaked as a one-hot one: vmax fixes the scale
    own = viz.heatmap(np.full((2, 4), 0.25), colorbar=False)
    shared = viz.heatmap(np.full((2, 4), 0.25), colorbar=False, vmax=1.0)
    assert own.images[0].get_clim() == (0.0, 0.25)
    assert shared.images[0].get_clim() == (0.0, 1.0)


def test_timeline_has_one_marker_per_milestone() -> None:
    ax = viz.timeline(milestones.MILESTONES, milestones.ERAS)
    points = sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets"))
    points += sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() not in
                  (None, "None", ""))
    assert points >= len(milestones.MILESTONES)
    # one lane per school, each named on the y-axis
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == ["symbolic", "statistical", "no school", "connectionist"]


def test_decision_boundary_and_curves() -> None:
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    ax = viz.decision_boundary(lambda p: (p.sum(axis=1) > 1).astype(int), X, np.array([0, 1]))
    assert ax.collections  # shaded regions and the scattered points
    ax = viz.scaling_curve([16, 64, 256], [0.6, 0.8, 0.9], xlabel="examples", chance=0.5)
    assert list(ax.lines[0].get_ydata()) == [0.6, 0.8, 0.9]
    ax = viz.gradient_norm_plot({"0.9": 0.9 ** np.arange(1, 6), "1.1": 1.1 ** np.arange(1, 6)})
    assert len(ax.lines) >= 2 and ax.get_yscale() == "log"
    ax = viz.accuracy_vs_length({"rnn": {10: 0.9, 40: 0.3}, "attention": {10: 1.0, 40: 1.0}},
                                chance=0.25)
    assert len(ax.lines) >= 2
    ax = viz.time_vs_length([16, 64], {"rnn": [1e-3, 4e-3], "attention": [1e-3, 2e-3]})
    assert len(ax.lines) == 2
    ax = viz.plot_curves({"soft": ([1, 2, 3], [0.5, 0.8, 1.0])}, ylabel="accuracy")
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]


def test_cjk_helpers() -> None:
    viz.quiet_missing_glyphs()
    label = viz.cjk_label("2026年")
    assert label.startswith("2026")
    if not viz.has_cjk_font():
        assert "年" not in label


def test_transformer_plots() -> None:
    maps = [torch.softmax(torch.randn(1, 2, 3, 4), dim=-1) for _ in range(2)]  # 2 layers, 2 heads
    axes = viz.attention_grid(maps, list("abc"), list("wxyz"), title="cross")
    assert np.asarray(axes).shape == (2, 2)
    ax = viz.lr_schedule_plot({"warmup": np.linspace(0.0, 1e-3, 10)})
    assert len(ax.lines) == 1
    ax = viz.positional_encoding_heatmap(np.random.default_rng(0).normal(size=(8, 6)))
    assert ax.images[0].get_array().shape == (8, 6)


def test_language_model_plots() -> None:
    run = TrainHistory(steps=[1, 2, 3], losses=[3.0, 2.5, 2.0], learning_rates=[1e-3] * 3,
                       evals=[{"step": 3, "val_loss": 2.1}])
    ax = viz.plot_lm_training(run, bound=2.2, uniform_loss=4.6)
    assert len(ax.lines) >= 2
    probs = {"T=1": np.array([0.5, 0.3, 0.2]), "T=0.5": np.array([0.8, 0.15, 0.05])}
    ax = viz.plot_next_token_probs(probs, ["a", "b", "c"])
    assert len(ax.patches) == 6
    ax = viz.plot_generation_timing([32, 64], {"cache": [0.1, 0.2], "no cache": [0.2, 0.6]})
    assert len(ax.lines) == 2
    ax = viz.plot_loss_by_position(np.linspace(2.5, 1.5, 16))
    assert len(ax.lines[0].get_ydata()) == 16


def test_slide_sized_plots_keep_readable_text() -> None:
    """Plots shown on slides: at most MAX_FIGURE_WIDTH wide, no text below MIN_FONT_PT, even
    for an attention grid with more labels than fit (every k-th is shown)."""
    from course_lib.scale import parallelism

    plt.rcParams.update(viz.PLOT_STYLE)
    source, target = list("Saturday, November 21, 2026"), list("2026-11-21")
    maps = [torch.softmax(torch.randn(1, 4, len(source), len(source)), -1) for _ in range(2)]
    grid = viz.attention_grid(maps, source, source, title="encoder self-attention")
    cross = viz.attention_grid([m[:, :, :len(target)] for m in maps], target, source)
    figures = [grid[0, 0].figure, cross[0, 0].figure, parallelism.plot_parallelism()]
    for fig in figures:
        assert fig.get_size_inches()[0] <= viz.MAX_FIGURE_WIDTH
        assert viz.smallest_font(fig) >= viz.MIN_FONT_PT
    shown = [t for t in grid[-1, 0].get_xticklabels() if t.get_text()]
    assert 1 < len(shown) < len(source)                  # thinned, not dropped
    plt.close("all")


def test_lesson_07_and_08_helpers_fit_a_slide_with_readable_text() -> None:
    """The helpers lessons 07 and 08 draw with, at the sizes those lessons use: a slide wide
    at most, course-sized text (no font size passed), long mask titles wrapped."""
    plt.rcParams.update(viz.PLOT_STYLE)
    panels = {f"pattern number {i}: two heads, causal": torch.eye(8) for i in range(4)}
    masks = viz.mask_panels(panels)
    assert "\n" in masks[0].get_title()
    curves = viz.lines(range(5), {"rope": [1, 1, 1, 0.5, 0.1], "alibi": [1] * 5}, xlabel="p",
                       ylabel="acc", vlines={"training length": 2.5}, legend_outside=True)
    legend = curves.get_legend()
    assert legend.get_bbox_to_anchor().x0 > curves.get_window_extent().x1 - 1  # beside the axes
    images = viz.image_grid([[torch.rand(3, 6, 6)] * 4, [torch.rand(3, 3)] * 4],
                            [["what colour is the shape\nat the top left?"] * 4,
                             ["attention over patches"] * 4], figsize=(12, 5.6))
    for fig in (masks[0].figure, curves.figure, images[0, 0].figure):
        assert fig.get_size_inches()[0] <= viz.MAX_FIGURE_WIDTH
        assert viz.smallest_font(fig) >= viz.MIN_FONT_PT
    plt.close("all")


# --- lessons 07-09 ----------------------------------------------------------------------


def test_measured_vs_length_scales_and_labels_each_series() -> None:
    ax = viz.measured_vs_length([64, 128], {"full": [0.001, 0.004], "tiled": [0.001, 0.002]},
                                ylabel="ms per call", scale=1e3, title="t")
    assert [line.get_label() for line in ax.lines] == ["full", "tiled"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 4.0])
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_legend() is not None
    one = viz.measured_vs_length([64], {"only": [2 ** 20]}, ylabel="MiB", scale=2 ** -20)
    assert one.get_legend() is None and one.lines[0].get_ydata()[0] == 1.0


def test_mask_panels_draw_one_image_per_mask() -> None:
    axes = viz.mask_panels({"a": torch.ones(3, 3, dtype=torch.bool), "b": np.eye(3)})
    assert [ax.get_title() for ax in axes] == ["a", "b"] and all(len(ax.images) == 1
                                                                for ax in axes)


def test_lines_with_reference_marks() -> None:
    ax = viz.lines(range(3), {"x": [0, 1, 2], "y": torch.tensor([2.0, 1.0, 0.0])},
                   xlabel="p", ylabel="acc", vlines={"train": 1.5}, hlines={"chance": 0.5},
                   legend_columns=2, legend_fontsize=8)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["x", "y", "train", "chance"] and ax.get_xlabel() == "p"


def test_image_grid_shapes_titles_cmaps_and_patch_grid() -> None:
    rgb = torch.rand(3, 6, 6) * 2 - 0.5          # (3, H, W), out of [0, 1]: clipped
    gray = torch.rand(1, 4, 4)                    # (1, H, W)
    axes = viz.image_grid([[rgb, gray], [np.eye(2)]], [["scene", "digit"], ["map"]],
                          cmaps=[["viridis", "gray_r"], ["magma"]], grid_every=2)
    assert axes.shape == (2, 2)
    assert axes[0, 0].images[0].get_array().shape == (6, 6, 3)
    assert axes[0, 0].images[0].get_array().max() <= 1.0
    assert axes[0, 1].images[0].get_cmap().name == "gray_r"
    assert axes[1, 0].get_title() == "map" and not axes[1, 1].axison  # the empty cell
    assert len(axes[0, 1].lines) == 2  # the 2 x 2 patch grid of a 4 x 4 image: one line each way
    row = viz.image_grid([gray, gray], ["a", "b"], cmaps="gray_r")
    assert row.shape == (1, 2) and row[0, 1].get_title() == "b"
    plt.close("all")
    # a flat list of titles for two rows was split into characters; rows of other lengths
    # were an IndexError: both are now named
    with pytest.raises(ValueError, match=r"titles: expected one list per row of images \(2 rows\)"):
        viz.image_grid([[gray, gray], [gray, gray]], ["ab", "cd"])
    with pytest.raises(ValueError, match=r"cmaps: expected rows of lengths \[2, 1\] \(as the "
                                         r"images\), got \[1, 1\]"):
        viz.image_grid([[gray, gray], [gray]], cmaps=[["gray"], ["gray"]])
    plt.close("all")


def test_power_law_fit_draws_points_and_the_fitted_line() -> None:
    from course_lib.scale.scaling import fit_power_law

    sizes, losses = np.array([1e3, 1e4, 1e5]), np.array([2.0, 1.6, 1.28])
    fit = fit_power_law(sizes, losses)
    ax = viz.power_law_fit(sizes, losses, fit, label="runs")
    points, line = ax.lines
    np.testing.assert_allclose(line.get_ydata(), fit.predict(line.get_xdata()))
    assert line.get_xdata().max() > sizes.max() and points.get_label() == "runs"
