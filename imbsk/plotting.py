"""Figures for imbalanced-learning experiments (needs the ``plot`` extra: matplotlib).

matplotlib is imported lazily so that the rest of imbsk works without it; every function returns the
matplotlib ``Figure`` it drew so that callers can save or restyle it.
"""

import numpy as np

__all__ = ["plot_augmented_grid", "plot_metric_vs_ir", "plot_toy_grid"]


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
