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


def test_figures_refuse_empty_or_mismatched_input_with_the_parameter_named():
    from imbsk.plotting import plot_confusion_matrices, plot_history, plot_metric_vs_ir, plot_scores, plot_toy_grid

    for plot, name in [(plot_scores, "scores"), (plot_confusion_matrices, "matrices"), (plot_history, "histories"),
                       (plot_toy_grid, "panels")]:
        with pytest.raises(ValueError, match=rf"^{name} must hold at least one"):
            plot({})
    with pytest.raises(ValueError, match=r"^rows must hold at least one"):
        plot_metric_vs_ir([])
    with pytest.raises(ValueError, match=r"rows lack the keys \['f1'\]"):
        plot_metric_vs_ir([{"kind": "separable", "imbalance_ratio": 1, "classifier": "KNN", "remedy": "none",
                            "balanced_accuracy": 0.9}], metric="f1")
    with pytest.raises(ValueError, match=r"'b' has shape \(3, 3\), expected \(2, 2\)"):
        plot_confusion_matrices({"a": np.eye(2), "b": np.eye(3)})
    with pytest.raises(ValueError, match="class_names has 3 names for 2 classes"):
        plot_confusion_matrices({"a": np.eye(2)}, class_names=["x", "y", "z"])
    with pytest.raises(ValueError, match="max_cols must be a positive int"):
        plot_confusion_matrices({"a": np.eye(2)}, max_cols=0)
    fig = plot_confusion_matrices({"a": np.eye(2), "b": np.ones((2, 2))}, class_names=["cat", "dog"])
    assert sum(ax.get_visible() for ax in fig.axes) == 2
