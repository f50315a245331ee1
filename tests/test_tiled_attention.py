import numpy as np
import pytest

from course_lib.attention import numpy_ref
from course_lib.attention.tiled import full_attention, online_softmax_update, tiled_attention


@pytest.mark.parametrize("T,S,tile", [(37, 37, 8), (16, 16, 64), (5, 29, 4), (64, 64, 1)])
@pytest.mark.parametrize("causal", [False, True])
def test_tiled_equals_full(T, S, tile, causal):
    rng = np.random.default_rng(T * S + tile)
    q = rng.normal(size=(2, T, 8)) * 3  # large scores: the rescaling step matters
    k = rng.normal(size=(2, S, 8)) * 3
    v = rng.normal(size=(2, S, 5))
    expected = full_attention(q, k, v, causal=causal)
    np.testing.assert_allclose(tiled_attention(q, k, v, tile, causal=causal), expected,
                               atol=1e-10, rtol=1e-10)


def test_full_attention_matches_numpy_reference():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 9, 4)), rng.normal(size=(3, 9, 2))
    np.testing.assert_allclose(full_attention(q, k, v),
                               numpy_ref.scaled_dot_product_attention(q, k, v)[0])


def test_online_update_over_two_tiles_equals_one_softmax():
    rng = np.random.default_rng(1)
    scores, v = rng.normal(size=(3, 10)) * 5, rng.normal(size=(10, 2))
    m, total, acc = np.full((3, 1), -np.inf), np.zeros((3, 1)), np.zeros((3, 2))
    for part in (slice(0, 4), slice(4, 10)):
        m, total, acc = online_softmax_update(m, total, acc, scores[:, part], v[part])
    np.testing.assert_allclose(acc / total, numpy_ref.softmax(scores) @ v)
    np.testing.assert_allclose(m[:, 0], scores.max(-1))


def test_bad_tile_size():
    x = np.zeros((2, 2))
    with pytest.raises(ValueError, match="tile_size: expected a positive integer, got 0"):
        tiled_attention(x, x, x, 0)
    with pytest.raises(ValueError, match="q, k, v"):
        tiled_attention(x, np.zeros((2, 3)), x)
