"""Figures: plot_augmented_grid, and what every figure must show (titles, legends, colours, visible lines,
readable ticks)."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from imbsk.augment import RandomAffine  # noqa: E402
from imbsk.plotting import plot_augmented_grid  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


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


# -- figures that tell the story ----------------------------------------------------------------------


def _pixels_of(fig, ax, colors, tol=40):
    """How many pixels inside ``ax`` are drawn in each of ``colors`` (within ``tol`` on every channel)."""
    from matplotlib.colors import to_rgb

    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    box = ax.get_window_extent()
    h = img.shape[0]
    region = img[int(h - box.y1):int(h - box.y0), int(box.x0):int(box.x1)]
    return [int((np.abs(region - np.array(to_rgb(c)) * 255).max(-1) <= tol).sum()) for c in colors]


def _overlapping_pairs(fig, labels):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [lab.get_window_extent(renderer) for lab in labels if lab.get_visible() and lab.get_text()]
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]


def _toy_panels(predict=True):
    from imbsk.datasets import make_toy_2d

    panels = {}
    for kind in ("separable", "overlapping"):
        X, y = make_toy_2d(kind, n_samples=60, imbalance_ratio=5, random_state=0)
        panels[(kind, 5)] = (X, y, np.zeros_like(y)) if predict else (X, y)
    return panels


def test_toy_grid_titles_lead_with_balanced_accuracy_and_the_legend_names_the_bayes_boundary():
    from imbsk.plotting import plot_toy_grid

    fig = plot_toy_grid(_toy_panels(), title="KNN + none")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == 2
    # "Always majority" makes few errors at 5:1 but has balanced accuracy 0.5: that must come first.
    assert all(t.startswith("balanced accuracy 0.500\n") for t in titles)
    assert "wrong: 10/10 minority, 0/50 majority" in titles[0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["majority (0)", "minority (1)", "misclassified", "Bayes boundary (true densities)"]
    boundary = fig.legends[0].legend_handles[-1]
    assert boundary.get_linestyle() == "--"

    plain = plot_toy_grid(_toy_panels(predict=False), show_bayes_boundary=False)
    assert [t.get_text() for t in plain.legends[0].get_texts()] == ["majority (0)", "minority (1)"]
    assert not any("balanced accuracy" in ax.get_title() for ax in plain.axes)


def test_remedy_color_is_fixed_and_ignores_spelling():
    from imbsk.plotting import REMEDY_COLORS, remedy_color

    assert remedy_color("class weights") == REMEDY_COLORS["class weights"]
    assert remedy_color("Random over-sampling") == remedy_color("random_oversampling (x10)")
    assert remedy_color("cross-entropy") == remedy_color("none")
    assert len(set(REMEDY_COLORS.values())) == len(REMEDY_COLORS)
    other = remedy_color("my own remedy")
    assert other == remedy_color("My own remedy") and other not in REMEDY_COLORS.values()


def test_a_remedy_has_the_same_colour_in_every_figure():
    from matplotlib.colors import to_hex

    from imbsk.plotting import (
        plot_confusion_matrices,
        plot_history,
        plot_metric_vs_ir,
        plot_scores,
        remedy_color,
    )

    remedies = ["none", "class weights", "SMOTE"]
    bars = plot_scores(dict.fromkeys(remedies, 0.6)).axes[0].patches
    # plot_scores draws the first name at the top: bars are in the order of the dict.
    bar_colors = {name: to_hex(bar.get_facecolor()) for name, bar in zip(remedies, bars)}
    history = [{"epoch": e, "train_loss": 1.0 / e} for e in (1, 2)]
    lines = plot_history(dict.fromkeys(remedies, history)).axes[0].get_lines()
    line_colors = {line.get_label(): to_hex(line.get_color()) for line in lines}
    rows = [{"kind": "overlapping", "imbalance_ratio": ir, "classifier": clf, "remedy": rem, "balanced_accuracy": 0.7}
            for clf in ("KNN", "AdaBoost") for rem in remedies for ir in (1, 10)]
    ir_fig = plot_metric_vs_ir(rows, ceiling=None)
    ir_colors = {}
    for container in ir_fig.axes[0].containers:
        ir_colors.setdefault(container.get_label().split(" + ")[1], set()).add(to_hex(container.lines[0].get_color()))
    frames = plot_confusion_matrices(dict.fromkeys(remedies, np.eye(2)))
    frame_colors = {ax.get_title().split("\n")[0]: to_hex(ax.spines["left"].get_edgecolor()) for ax in frames.axes}
    for name in remedies:
        expected = remedy_color(name)
        assert bar_colors[name] == line_colors[name] == frame_colors[name] == expected
        assert ir_colors[name] == {expected}  # both classifiers
    assert len(set(bar_colors.values())) == len(remedies)


def test_identical_learning_curves_all_stay_visible():
    from imbsk.plotting import plot_history

    flat = [{"epoch": e, "valid_bacc": 0.5} for e in range(1, 6)]
    rising = [{"epoch": e, "valid_bacc": 0.5 + 0.05 * e} for e in range(1, 6)]
    fig = plot_history({"none": flat, "focal loss": flat, "class weights": rising, "balanced batches": flat},
                       key="valid_bacc")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len({(line.get_marker(), str(line.get_linestyle())) for line in lines}) == len(lines)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["none", "focal loss", "class weights",
                                                                  "balanced batches"]
    # The three flat curves lie on one another; each must still show.
    counts = _pixels_of(fig, ax, [line.get_color() for line in lines])
    assert min(counts) >= 10, dict(zip([line.get_label() for line in lines], counts))


def test_tied_remedies_stay_visible_against_the_imbalance_ratio():
    from imbsk.plotting import plot_metric_vs_ir, remedy_color

    remedies = ["none", "random over-sampling", "random under-sampling", "SMOTE"]
    rows = [{"kind": "separable", "imbalance_ratio": ir, "classifier": "KNN", "remedy": rem, "balanced_accuracy": 1.0,
             "bayes_balanced_accuracy": 1.0} for rem in remedies for ir in (1, 10, 100)]
    fig = plot_metric_vs_ir(rows)
    ax = fig.axes[0]
    xs = [tuple(c.lines[0].get_xdata()) for c in ax.containers]
    assert len(set(xs)) == len(remedies)  # shifted apart along the ratio axis
    counts = _pixels_of(fig, ax, [remedy_color(rem) for rem in remedies])
    assert min(counts) >= 10, dict(zip(remedies, counts))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [f"KNN + {r}" for r in remedies]
    assert "Bayes ceiling 1.000" in [t.get_text() for t in ax.texts]
    assert "balanced accuracy" in fig.get_suptitle().lower()


def test_ratio_axis_ticks_are_plain_and_do_not_overlap():
    from imbsk.plotting import plot_metric_vs_ir

    ratios = (1, 2, 3, 5, 10, 20, 50, 100)
    rows = [{"kind": "overlapping", "imbalance_ratio": ir, "classifier": "KNN", "remedy": "none",
             "balanced_accuracy": 0.5} for ir in ratios]
    fig = plot_metric_vs_ir(rows, ceiling=None)
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert shown[0] == "1:1" and shown[-1] == "100:1"
    assert not [t for t in ax.get_xticklabels(minor=True) if t.get_text()]
    assert not _overlapping_pairs(fig, ax.get_xticklabels() + ax.get_xticklabels(minor=True))


def _cv_results(values, extra=None):
    params = [{"ros__sampling_strategy": v, **(extra or {})} for v in values]
    return {"params": params, "mean_test_score": np.linspace(0.5, 0.8, len(values)),
            "std_test_score": np.full(len(values), 0.02)}


def test_search_results_put_ratios_on_a_log_axis_with_readable_labels():
    import matplotlib.pyplot as plt

    from imbsk.plotting import plot_search_results

    ratios = [float(f"{r:.3g}") for r in np.geomspace(0.01, 1, 13)]  # 0.01, 0.0147, 0.0215, ... 1
    _, ax = plt.subplots(figsize=(3.5, 2.5))  # narrow: not every label fits
    fig = plot_search_results(_cv_results(ratios), "param_ros__sampling_strategy", chance=0.5, ax=ax)
    assert ax.get_xscale() == "log"
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert shown[0] == "0.01" and shown[-1] == "1" and 3 <= len(shown) < len(ratios)
    assert not [t for t in ax.get_xticklabels(minor=True) if t.get_text()]
    assert not _overlapping_pairs(fig, ax.get_xticklabels() + ax.get_xticklabels(minor=True))
    np.testing.assert_allclose(ax.containers[-1].lines[0].get_xdata(), ratios)

    linear = plot_search_results(_cv_results([0.2, 0.4, 0.6, 0.8, 1.0]), "ros__sampling_strategy")
    assert linear.axes[0].get_xscale() == "linear"
    grouped = plot_search_results(
        {k: np.concatenate([a[k], b[k]]) if k != "params" else a[k] + b[k]
         for a, b in [(_cv_results([0.5, 1.0], {"clf__lr": 0.1}), _cv_results([0.5, 1.0], {"clf__lr": 0.01}))]
         for k in a},
        "ros__sampling_strategy",
    )
    assert sorted(c.get_label() for c in grouped.axes[0].containers) == ["clf__lr=0.01", "clf__lr=0.1"]


def test_search_results_refuse_what_they_cannot_plot():
    from imbsk.plotting import plot_search_results

    with pytest.raises(TypeError, match="search must be a fitted GridSearchCV"):
        plot_search_results(object(), "x")
    with pytest.raises(ValueError, match=r"param='C' is not a parameter of this search; it searched "
                                         r"\['ros__sampling_strategy'\]"):
        plot_search_results(_cv_results([0.5, 1.0]), "C")
    with pytest.raises(ValueError, match=r"score='f1' is not in the search results; they hold \['score'\]"):
        plot_search_results(_cv_results([0.5, 1.0]), "ros__sampling_strategy", score="f1")


def test_confusion_grid_titles_give_each_panel_its_balanced_accuracy():
    from imbsk.plotting import plot_confusion_matrices

    fig = plot_confusion_matrices({"none": [[10, 0], [4, 0]], "post-hoc logit adjustment": [[9, 1], [2, 2]]},
                                  class_names=["cat", "dog"], title="cat vs dog")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["none\nbalanced accuracy 0.500", "post-hoc logit adjustment\nbalanced accuracy 0.700"]
    assert fig.get_suptitle() == "cat vs dog"
