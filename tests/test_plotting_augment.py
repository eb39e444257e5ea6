"""plot_augmented_grid: originals in the first column, their augmented copies beside them."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from imbsk.augment import RandomAffine  # noqa: E402
from imbsk.plotting import plot_augmented_grid  # noqa: E402


@pytest.mark.parametrize("shape", [(5, 3, 12, 12), (5, 12, 12)])
def test_grid_shows_originals_then_copies(shape):
    X = np.random.RandomState(0).randint(0, 256, shape).astype(np.uint8)
    fig = plot_augmented_grid(X, RandomAffine(degrees=20), n_images=4, n_copies=3, random_state=0)
    assert len(fig.axes) == 4 * 4
    first = fig.axes[0].get_images()[0].get_array()
    expected = np.moveaxis(X[0], 0, -1) if X.ndim == 4 else X[0]
    np.testing.assert_array_equal(np.asarray(first), expected)
    copy = np.asarray(fig.axes[1].get_images()[0].get_array())
    assert copy.shape == expected.shape and not np.array_equal(copy, expected)
    assert fig.axes[0].get_title() == "original"


def test_grid_is_seeded_and_rejects_bad_input():
    X = np.random.RandomState(1).randint(0, 256, (2, 3, 8, 8)).astype(np.uint8)
    a = plot_augmented_grid(X, "geometric", n_images=2, n_copies=2, random_state=3)
    b = plot_augmented_grid(X, "geometric", n_images=2, n_copies=2, random_state=3)
    np.testing.assert_array_equal(a.axes[1].get_images()[0].get_array(), b.axes[1].get_images()[0].get_array())
    with pytest.raises(ValueError, match="images"):
        plot_augmented_grid(X[0, 0])
    with pytest.raises(ValueError, match="n_copies"):
        plot_augmented_grid(X, n_copies=0)
