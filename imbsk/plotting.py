"""Figures for imbalanced-learning experiments (needs the ``plot`` extra: matplotlib).

matplotlib is imported lazily so that the rest of imbsk works without it; every function returns the
matplotlib ``Figure`` it drew so that callers can save or restyle it.
"""

import numpy as np

__all__ = [
    "plot_augmented_grid",
    "plot_class_distribution",
    "plot_confusion_matrices",
    "plot_history",
    "plot_metric_vs_ir",
    "plot_scores",
    "plot_toy_grid",
]


def _pyplot():
    """Import ``matplotlib.pyplot`` with a non-interactive backend, or say how to install it."""
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "imbsk.plotting needs matplotlib; install it with `pip install imbsk[plot]`."
        ) from exc
    return plt


def _check_not_empty(value, name, what):
    if not len(value):
        raise ValueError(f"{name} must hold at least one {what}; got an empty {type(value).__name__}.")


def _as_hwc_images(X):
    """(N, C, H, W) uint8/float images -> (N, H, W, C) or (N, H, W) for imshow."""
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"X must be images of shape (N, C, H, W); got shape {X.shape}.")
    X = np.moveaxis(X, 1, -1)
    return X[..., 0] if X.shape[-1] == 1 else X


def plot_toy_grid(panels, *, title=None, show_bayes_boundary=True, max_points=4000, random_state=0):
    """Scatter toy 2-D data sets in a grid: rows are task kinds, columns imbalance ratios.

    Points are coloured by class; misclassified points are drawn in red on top, and the Bayes-optimal
    (balanced) boundary of each task is drawn as a dashed line.

    Parameters
    ----------
    panels : dict of (kind, imbalance_ratio) -> (X, y) or (X, y, y_pred)
        The data of each panel and, optionally, predictions for it.
    title : str, default=None
        Figure title.
    show_bayes_boundary : bool, default=True
        Draw the boundary of :meth:`imbsk.datasets.ToyTask.bayes_predict`.
    max_points : int, default=4000
        Majority points beyond this are subsampled for legibility; minority and misclassified points are
        always drawn.
    random_state : int, default=0
        Seed of that subsampling.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from .datasets import ToyTask

    _check_not_empty(panels, "panels", "(kind, imbalance_ratio) panel")
    plt = _pyplot()
    kinds = list(dict.fromkeys(k for k, _ in panels))
    ratios = sorted(dict.fromkeys(r for _, r in panels))
    fig, axes = plt.subplots(
        len(kinds), len(ratios), figsize=(3.2 * len(ratios), 3.0 * len(kinds)), squeeze=False
    )
    rng = np.random.default_rng(random_state)
    for i, kind in enumerate(kinds):
        for j, ratio in enumerate(ratios):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if (kind, ratio) not in panels:
                ax.set_visible(False)
                continue
            X, y, *rest = panels[(kind, ratio)]
            X, y = np.asarray(X), np.asarray(y)
            wrong = (np.asarray(rest[0]) != y) if rest else np.zeros(len(y), bool)
            keep = np.ones(len(y), bool)
            majority = np.flatnonzero((y == 0) & ~wrong)
            if len(majority) > max_points:
                keep[rng.choice(majority, len(majority) - max_points, replace=False)] = False
            ok = keep & ~wrong
            ax.scatter(*X[ok & (y == 0)].T, s=3, c="tab:blue", alpha=0.35, label="majority (0)")
            ax.scatter(*X[ok & (y == 1)].T, s=8, c="tab:orange", alpha=0.9, label="minority (1)")
            ax.scatter(*X[wrong].T, s=10, c="red", marker="x", linewidths=0.8, label="misclassified")
            if show_bayes_boundary:
                lo, hi = X.min(0) - 0.5, X.max(0) + 0.5
                gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
                ratio_map = ToyTask(kind).log_density_ratio(np.column_stack([gx.ravel(), gy.ravel()]))
                ax.contour(gx, gy, np.sign(ratio_map).reshape(gx.shape), levels=[0], colors="k",
                           linestyles="--", linewidths=0.8)
            ax.set_title(f"{kind}, IR {ratio:g}: {int(wrong.sum())} errors", fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, markerscale=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_metric_vs_ir(rows, metric="balanced_accuracy", *, ceiling="bayes_balanced_accuracy"):
    """Plot a score against the imbalance ratio, one line per (classifier, remedy), one panel per task.

    Parameters
    ----------
    rows : list of dict
        Result rows with keys ``kind``, ``imbalance_ratio``, ``classifier``, ``remedy``, ``metric`` and
        optionally ``metric + "_std"`` and ``ceiling`` (as returned by :func:`imbsk.demos.run_toy_demo`).
    metric : str, default="balanced_accuracy"
        Which score to plot.
    ceiling : str or None, default="bayes_balanced_accuracy"
        Key of a per-task ceiling drawn as a dashed black line; ``None`` for none.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    _check_not_empty(rows, "rows", "result row")
    needed = {"kind", "imbalance_ratio", "classifier", "remedy", metric}
    missing = sorted(needed - set(rows[0]))
    if missing:
        raise ValueError(f"rows lack the keys {missing}; the first row has {sorted(rows[0])}.")
    plt = _pyplot()
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4.2), squeeze=False, sharey=True)
    for ax, kind in zip(axes[0], kinds):
        sub = [r for r in rows if r["kind"] == kind]
        for clf, remedy in dict.fromkeys((r["classifier"], r["remedy"]) for r in sub):
            line = sorted((r for r in sub if (r["classifier"], r["remedy"]) == (clf, remedy)),
                          key=lambda r: r["imbalance_ratio"])
            x = [r["imbalance_ratio"] for r in line]
            yv = np.array([r[metric] for r in line])
            err = np.array([r.get(f"{metric}_std", 0.0) for r in line])
            style = "-" if clf == sub[0]["classifier"] else ":"
            ax.errorbar(x, yv, yerr=err, fmt="o" + style, ms=4, capsize=2, label=f"{clf} + {remedy}")
        if ceiling and ceiling in sub[0]:
            ax.axhline(sub[0][ceiling], color="k", ls="--", lw=1, label="Bayes ceiling")
        ax.set_xscale("log")
        ax.set_xlabel("imbalance ratio (majority : minority)")
        ax.set_title(kind)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(metric.replace("_", " "))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8)
    n_rows = -(-len(labels) // 5)
    fig.tight_layout(rect=(0, 0.06 * n_rows + 0.02, 1, 1))
    return fig


def plot_augmented_grid(X, augmentation=None, n_images=8, n_copies=4, random_state=None):
    """Originals in the first column, ``n_copies`` augmented versions of each beside them.

    Parameters
    ----------
    X : ndarray of shape (N, C, H, W) or (N, H, W)
        uint8 images (or floats in [0, 1]); the first ``n_images`` are shown.
    augmentation : Augmentation, str or None, default=None
        An :mod:`imbsk.augment` object or preset name; ``None`` means ``default_augmentation()``.
    n_images : int, default=8
        Rows of the grid.
    n_copies : int, default=4
        Augmented copies per original (columns after the first).
    random_state : int, RandomState instance or None, default=None
        Seeds the augmentation.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.plotting import plot_augmented_grid
    >>> X = np.random.RandomState(0).randint(0, 256, (3, 3, 16, 16)).astype(np.uint8)
    >>> fig = plot_augmented_grid(X, "geometric", n_images=3, n_copies=2, random_state=0)
    >>> len(fig.axes)
    9
    """
    from .augment import augment_array

    X = np.asarray(X)
    if X.ndim not in (3, 4) or len(X) == 0:
        raise ValueError(f"X must be a non-empty stack of images (N, C, H, W) or (N, H, W); got shape {X.shape}.")
    if not (isinstance(n_images, int | np.integer) and n_images >= 1):
        raise ValueError(f"n_images must be a positive int; got n_images={n_images!r}.")
    if not (isinstance(n_copies, int | np.integer) and n_copies >= 1):
        raise ValueError(f"n_copies must be a positive int; got n_copies={n_copies!r}.")
    originals = X[:n_images]
    n_rows = len(originals)
    # All copies of all rows in one call: row r's copies are originals[r] repeated n_copies times.
    copies = augment_array(np.repeat(originals, n_copies, axis=0), augmentation, random_state=random_state)
    copies = copies.reshape((n_rows, n_copies) + originals.shape[1:])
    to_show = originals if originals.ndim == 4 else originals[:, None]
    copies_show = copies if copies.ndim == 5 else copies[:, :, None]

    plt = _pyplot()
    fig, axes = plt.subplots(n_rows, n_copies + 1, figsize=(1.2 * (n_copies + 1), 1.2 * n_rows), squeeze=False)
    cmap = "gray" if to_show.shape[1] == 1 else None
    for r in range(n_rows):
        row = [to_show[r]] + list(copies_show[r])
        for c, image in enumerate(_as_hwc_images(np.stack(row))):
            ax = axes[r, c]
            ax.imshow(image, cmap=cmap, vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title("original", fontsize=8)
    for c in range(1, n_copies + 1):
        axes[0, c].set_title(f"copy {c}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_class_distribution(y, *, class_names=None, ax=None, log=False):
    """Bar chart of the number of samples per class.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or dict of label -> count
        Labels, or counts per class.
    class_names : list of str, default=None
        Names shown under the bars, in the order of the sorted labels.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made if None.
    log : bool, default=False
        Logarithmic count axis (for long-tailed data).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _pyplot()
    if isinstance(y, dict):
        labels, counts = list(y), np.asarray(list(y.values()))
    else:
        labels, counts = np.unique(np.asarray(y), return_counts=True)
    names = [str(c) for c in labels] if class_names is None else list(class_names)
    if len(names) != len(counts):
        raise ValueError(f"class_names has {len(names)} names for {len(counts)} classes.")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(max(4, 0.6 * len(names) + 2), 3.2))
    bars = ax.bar(range(len(counts)), counts, color="tab:blue")
    ax.bar_label(bars, labels=[str(int(c)) for c in counts], fontsize=8)
    many = len(names) > 4
    ax.set_xticks(range(len(counts)), names, rotation=45 if many else 0, ha="right" if many else "center")
    ax.set_ylabel("samples")
    if log:
        ax.set_yscale("log")
    fig.tight_layout()
    return fig


def plot_scores(scores, *, xlabel="score", chance=0.5, ax=None):
    """Horizontal bars of one score per method (e.g. balanced accuracy per remedy).

    Parameters
    ----------
    scores : dict of name -> float
    xlabel : str, default="score"
    chance : float or None, default=0.5
        Drawn as a dashed line (balanced accuracy of always predicting one class in a binary task).
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    _check_not_empty(scores, "scores", "score")
    plt = _pyplot()
    names, values = list(scores), np.asarray(list(scores.values()), dtype=float)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 0.45 * len(names) + 1.2))
    order = np.arange(len(names))[::-1]
    bars = ax.barh(order, values, color=["tab:gray" if i == 0 else "tab:blue" for i in range(len(names))])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=8, padding=2)
    ax.set_yticks(order, names)
    if chance is not None:
        ax.axvline(chance, color="k", ls="--", lw=1)
    ax.set_xlim(min(0.4, values.min() - 0.05) if len(values) else 0, 1.0)
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def plot_confusion_matrices(matrices, *, class_names=None, normalize=True, max_cols=4):
    """A grid of confusion matrices, one per method.

    Parameters
    ----------
    matrices : dict of name -> ndarray of shape (n_classes, n_classes)
        Rows are true classes, columns predicted classes (sklearn's ``confusion_matrix``).
    class_names : list of str, default=None
    normalize : bool, default=True
        Show each row as fractions of the true class (its recall on the diagonal).
    max_cols : int, default=4

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``matrices`` is empty, the matrices are not square or differ in size, or ``class_names``
        does not name each class.
    """
    _check_not_empty(matrices, "matrices", "confusion matrix")
    if isinstance(max_cols, bool) or not isinstance(max_cols, int | np.integer) or max_cols < 1:
        raise ValueError(f"max_cols must be a positive int; got max_cols={max_cols!r}.")
    k = len(np.asarray(next(iter(matrices.values()))))
    for title, cm in matrices.items():
        if np.shape(cm) != (k, k):
            raise ValueError(
                f"matrices must all be square and of one size; {title!r} has shape {np.shape(cm)}, expected {(k, k)}."
            )
    names = [str(i) for i in range(k)] if class_names is None else list(class_names)
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names for {k} classes.")
    plt = _pyplot()
    n = len(matrices)
    cols = min(n, max_cols)
    rows = -(-n // cols)
    size = 2.6 if k <= 3 else 4.0
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax, (title, cm) in zip(axes.ravel(), matrices.items()):
        cm = np.asarray(cm, dtype=float)
        shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
        ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
        if k <= 5:
            for (i, j), v in np.ndenumerate(shown):
                ax.text(j, i, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center",
                        color="white" if v > 0.6 * shown.max() else "black", fontsize=8)
        ax.set_xticks(range(k), names, fontsize=7, rotation=90 if k > 3 else 0)
        ax.set_yticks(range(k), names, fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_history(histories, key="train_loss", *, ylabel=None, ax=None):
    """Per-epoch curves from fitted networks' skorch histories.

    Parameters
    ----------
    histories : dict of name -> skorch History (``net.history``) or list of dict
    key : str, default="train_loss"
        History entry to plot (``"train_loss"``, ``"valid_bacc"``, or any recorded score).
    ylabel : str, default=None
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    _check_not_empty(histories, "histories", "history")
    plt = _pyplot()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 4))
    for name, history in histories.items():
        epochs = [row for row in history if key in row]
        if not epochs:
            known = sorted(history[-1]) if len(history) else []
            raise ValueError(f"history of {name!r} has no entry {key!r}; it has {known}.")
        ax.plot([row["epoch"] for row in epochs], [row[key] for row in epochs], marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or key.replace("_", " "))
    ax.grid(alpha=0.3)
    # Outside the axes: curves of many methods fill the whole plot area.
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig
