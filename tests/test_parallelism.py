"""course_lib.scale.parallelism: the GPipe schedule and its bubble; the diagrams draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_lib.scale import parallelism  # noqa: E402


@pytest.mark.parametrize("stages, micro", [(1, 3), (2, 1), (4, 4), (3, 8)])
def test_schedule_idle_share_is_the_bubble(stages: int, micro: int) -> None:
    grid = parallelism.gpipe_schedule(stages, micro)
    for row in grid:
        work = [w for w in row if w is not None]
        assert sorted(work) == sorted([("F", m) for m in range(micro)]
                                      + [("B", m) for m in range(micro)])
        assert row.count(None) / len(row) == pytest.approx(
            parallelism.pipeline_bubble_fraction(stages, micro))
    # a micro-batch's forward on stage s comes after it on stage s - 1; backward the reverse
    for s in range(1, stages):
        for m in range(micro):
            assert grid[s].index(("F", m)) > grid[s - 1].index(("F", m))
            assert grid[s].index(("B", m)) < grid[s - 1].index(("B", m))


def test_bubble_bad_input_and_figure() -> None:
    with pytest.raises(ValueError, match="micro_batches"):
        parallelism.pipeline_bubble_fraction(2, 0)
    fig = parallelism.plot_parallelism()
    assert len(fig.axes) == 3
    plt.close(fig)
