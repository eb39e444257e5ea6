"""Figures for imbalanced-learning experiments (needs the ``plot`` extra: matplotlib).

matplotlib is imported lazily so that the rest of imbsk works without it; every function returns the
matplotlib ``Figure`` it drew so that callers can save or restyle it.

A remedy has one colour in every figure (:func:`remedy_color`): "class weights" is the same red in a bar
chart of scores, in the learning curves and around its confusion matrix, whatever the classifier.
"""

import re
import zlib

import numpy as np

__all__ = [
    "REMEDY_COLORS",
    "plot_augmented_grid",
    "plot_class_distribution",
    "plot_confusion_matrices",
    "plot_history",
    "plot_metric_vs_ir",
    "plot_scores",
    "plot_search_results",
    "plot_toy_grid",
    "remedy_color",
]

#: Colour of each remedy in every figure of this module. Names are matched ignoring case, hyphens,
#: underscores and a trailing parenthesis, so "random over-sampling" and "Random oversampling (x2)" are
#: one remedy; "cross-entropy", "plain" and "no remedy" are "none".
REMEDY_COLORS = {
    "none": "#7f7f7f",
    "random over-sampling": "#1f77b4",
    "random under-sampling": "#ff7f0e",
    "SMOTE": "#2ca02c",
    "replicate oversampling": "#17becf",
    "augmented oversampling": "#bcbd22",
    "balanced batches": "#9467bd",
    "class weights": "#d62728",
    "focal loss": "#8c564b",
    "logit-adjusted loss": "#e377c2",
    "post-hoc logit adjustment": "#1a1a80",
    "balanced softmax": "#e6ab02",
    "class-balanced loss": "#66a61e",
    "LDAM": "#a6761d",
    "self-paced ensemble": "#00796b",
    "balance cascade": "#c51b7d",
    "under-bagging": "#4d004b",
}
_ALIASES = {
    "cross entropy": "none",
    "plain": "none",
    "no remedy": "none",
    "baseline": "none",
    "oversampling": "random oversampling",
    "undersampling": "random undersampling",
    "balanced softmax loss": "balanced softmax",
    "tau": "post hoc logit adjustment",
    "ldam drw": "ldam",
}
# Names outside REMEDY_COLORS get one of these, chosen from the name itself so that it is the same in
# every figure and every run.
_OTHER_COLORS = ("#003f5c", "#ff6361", "#58508d", "#ffa600", "#bc5090", "#2f4b7c", "#00a087", "#8b0000")

# Series drawn in one axes differ in marker shape and line style, not only in colour, so that series
# with the same values stay distinguishable; markers are hollow so that one drawn on top of another at
# the same point leaves the other's outline visible.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1.5)), (0, (3, 1, 1, 1, 1, 1)))


def _remedy_key(name):
    key = re.sub(r"\s*\(.*\)\s*$", "", str(name)).lower()
    key = re.sub(r"[-_\s]+", " ", key).strip()
    key = re.sub(r"\b(over|under) sampling\b", r"\1sampling", key)
    return _ALIASES.get(key, key)


_COLOR_BY_KEY = {_remedy_key(name): color for name, color in REMEDY_COLORS.items()}


def remedy_color(name):
    """The colour every figure of :mod:`imbsk.plotting` gives a remedy.

    Parameters
    ----------
    name : str
        A remedy, e.g. ``"class weights"`` or ``"random over-sampling"``; case, hyphens and a trailing
        parenthesis do not matter (see :data:`REMEDY_COLORS`).

    Returns
    -------
    color : str
        A ``"#rrggbb"`` colour: the remedy's entry of :data:`REMEDY_COLORS`, or for another name one of
        a few further colours picked from the name, the same on every call.

    Examples
    --------
    >>> from imbsk.plotting import remedy_color
    >>> remedy_color("class weights")
    '#d62728'
    >>> remedy_color("Random over-sampling") == remedy_color("random oversampling (x10)")
    True
    """
    key = _remedy_key(name)
    if key in _COLOR_BY_KEY:
        return _COLOR_BY_KEY[key]
    return _OTHER_COLORS[zlib.crc32(key.encode()) % len(_OTHER_COLORS)]


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


def _set_value_ticks(ax, values, labels=None, *, log=False):
    """x ticks exactly at ``values`` with plain labels (``0.25``, not ``2.5 x 10^-1``) and no minor labels.

    On a log axis matplotlib labels minor ticks when the range is under a decade, and those labels
    collide with the major ones; they are switched off here.
    """
    from matplotlib.ticker import NullFormatter, NullLocator

    if log:
        ax.set_xscale("log")
    values = list(values)
    ax.set_xticks(values, [f"{v:g}" for v in values] if labels is None else list(labels))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _drop_overlapping_tick_labels(fig, axes, pad=2.0):
    """Blank x tick labels that would overlap their left neighbour, keeping the first and the last.

    Call after the layout is final: it draws the figure to measure the labels.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in axes:
        if not ax.get_visible():
            continue
        ticks, labels = list(ax.get_xticks()), ax.get_xticklabels()
        boxes = [lab.get_window_extent(renderer) if lab.get_text() else None for lab in labels]
        texts = [lab.get_text() for lab in labels]
        keep = []
        for i, box in enumerate(boxes):
            if box is None:
                continue
            if keep and boxes[keep[-1]].x1 + pad > box.x0:
                if i != len(boxes) - 1:
                    continue
                if len(keep) > 1:  # the last label wins over its neighbour, the first one stays
                    keep.pop()
                if keep and boxes[keep[-1]].x1 + pad > box.x0:
                    continue
            keep.append(i)
        if len(keep) < sum(b is not None for b in boxes):
            ax.set_xticks(ticks, [t if i in keep else "" for i, t in enumerate(texts)])


def plot_toy_grid(panels, *, title=None, show_bayes_boundary=True, max_points=4000, random_state=0):
    """Scatter toy 2-D data sets in a grid: rows are task kinds, columns imbalance ratios.

    Points are coloured by class; misclassified points are drawn as red crosses on top, and the
    Bayes-optimal (balanced) boundary of each task, computed from its true class densities, as a dashed
    line. With predictions, each panel's title leads with their balanced accuracy, then the errors per
    class: a raw error count would favour predicting "majority" everywhere.

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
    from matplotlib.lines import Line2D
    from sklearn.metrics import balanced_accuracy_score

    from .datasets import ToyTask

    _check_not_empty(panels, "panels", "(kind, imbalance_ratio) panel")
    plt = _pyplot()
    kinds = list(dict.fromkeys(k for k, _ in panels))
    ratios = sorted(dict.fromkeys(r for _, r in panels))
    with_predictions = any(len(v) > 2 for v in panels.values())
    fig, axes = plt.subplots(
        len(kinds), len(ratios), figsize=(3.3 * len(ratios), (3.5 if with_predictions else 3.0) * len(kinds)),
        squeeze=False,
    )
    rng = np.random.default_rng(random_state)
    colors = {0: "tab:blue", 1: "tab:orange"}
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
            ax.scatter(*X[ok & (y == 0)].T, s=3, c=colors[0], alpha=0.35)
            ax.scatter(*X[ok & (y == 1)].T, s=8, c=colors[1], alpha=0.9)
            ax.scatter(*X[wrong].T, s=10, c="red", marker="x", linewidths=0.8)
            if show_bayes_boundary:
                lo, hi = X.min(0) - 0.5, X.max(0) + 0.5
                gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
                ratio_map = ToyTask(kind).log_density_ratio(np.column_stack([gx.ravel(), gy.ravel()]))
                ax.contour(gx, gy, np.sign(ratio_map).reshape(gx.shape), levels=[0], colors="k",
                           linestyles="--", linewidths=0.8)
            where = f"{kind}, IR {ratio:g}"
            if rest:
                missed = ", ".join(f"{int(wrong[y == c].sum())}/{int((y == c).sum())} {name}"
                                   for c, name in ((1, "minority"), (0, "majority")))
                bacc = balanced_accuracy_score(y, np.asarray(rest[0]))
                ax.set_title(f"balanced accuracy {bacc:.3f}\n{where}\nwrong: {missed}", fontsize=8.5)
            else:
                ax.set_title(where, fontsize=9)
    # Proxy handles: the legend lists every kind of mark even when a panel has none of some kind.
    handles = [
        Line2D([], [], ls="", marker="o", ms=4, color=colors[0], alpha=0.6, label="majority (0)"),
        Line2D([], [], ls="", marker="o", ms=4, color=colors[1], label="minority (1)"),
    ]
    if with_predictions:
        handles.append(Line2D([], [], ls="", marker="x", ms=5, color="red", label="misclassified"))
    if show_bayes_boundary:
        handles.append(Line2D([], [], ls="--", lw=0.8, color="k", label="Bayes boundary (true densities)"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_metric_vs_ir(rows, metric="balanced_accuracy", *, ceiling="bayes_balanced_accuracy", title=None):
    """Plot a score against the imbalance ratio, one line per (classifier, remedy), one panel per task.

    The colour is the remedy's (:func:`remedy_color`), the marker and line style the classifier's. Lines
    are shifted a little apart along the ratio axis, so that remedies with the same scores (all perfect on
    an easy task, say) do not hide one another.

    Parameters
    ----------
    rows : list of dict
        Result rows with keys ``kind``, ``imbalance_ratio``, ``classifier``, ``remedy``, ``metric`` and
        optionally ``metric + "_std"`` and ``ceiling`` (as returned by :func:`imbsk.demos.run_toy_demo`).
    metric : str, default="balanced_accuracy"
        Which score to plot.
    ceiling : str or None, default="bayes_balanced_accuracy"
        Key of a per-task ceiling drawn as a dashed black line; ``None`` for none.
    title : str or None, default=None
        Figure title; by default it names the metric.

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
    classifiers = list(dict.fromkeys(r["classifier"] for r in rows))
    series = list(dict.fromkeys((r["classifier"], r["remedy"]) for r in rows))
    ratios = sorted(dict.fromkeys(r["imbalance_ratio"] for r in rows))
    label = metric.replace("_", " ")
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4.4), squeeze=False, sharey=True)
    for ax, kind in zip(axes[0], kinds):
        sub = [r for r in rows if r["kind"] == kind]
        if ceiling and ceiling in sub[0]:
            # Labelled on the line rather than in the legend, whose columns are the classifiers.
            ax.axhline(sub[0][ceiling], color="k", ls="--", lw=1, zorder=1)
            # Between the first two ratios, where no marker sits.
            at = np.sqrt(ratios[0] * ratios[1]) if len(ratios) > 1 else ratios[0]
            ax.annotate(f"Bayes ceiling {sub[0][ceiling]:.3f}", (at, sub[0][ceiling]), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8)
        for i, (clf, remedy) in enumerate(series):
            line = sorted((r for r in sub if (r["classifier"], r["remedy"]) == (clf, remedy)),
                          key=lambda r: r["imbalance_ratio"])
            if not line:
                continue
            # 0.035 decades a series: the points of tied series sit side by side, all near their ratio.
            shift = 10 ** (0.035 * (i - (len(series) - 1) / 2))
            x = np.array([r["imbalance_ratio"] for r in line], dtype=float) * shift
            yv = np.array([r[metric] for r in line], dtype=float)
            err = np.array([r.get(f"{metric}_std", 0.0) for r in line], dtype=float)
            c = classifiers.index(clf)
            ax.errorbar(x, yv, yerr=err, color=remedy_color(remedy), marker=_MARKERS[c % len(_MARKERS)],
                        ls=_LINESTYLES[c % len(_LINESTYLES)], ms=5, mfc="none", mew=1.2, lw=1.3, capsize=2,
                        elinewidth=0.8, label=f"{clf} + {remedy}")
        _set_value_ticks(ax, ratios, [f"{r:g}:1" for r in ratios], log=min(ratios) > 0)
        lo, hi = min(ratios), max(ratios)
        # Room for the outermost shifted series as well as for the ratios.
        edge = 1.5 * 10 ** (0.035 * (len(series) - 1) / 2)
        ax.set_xlim(lo / edge, hi * edge)
        ax.set_xlabel("imbalance ratio (majority : minority)")
        ax.set_title(f"{kind} task", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(label)
    if title is None:
        spread = " (mean ± std over folds)" if f"{metric}_std" in rows[0] else ""
        title = f"{label[0].upper()}{label[1:]} against the imbalance ratio{spread}"
    fig.suptitle(title)
    found = {}
    for ax in axes[0]:  # a series missing from the first panel still gets its entry
        for h, lab in zip(*ax.get_legend_handles_labels()):
            found.setdefault(lab, h)
    # The legend fills column by column: one column per classifier, remedies in the same order in each.
    labels = [label for label in (f"{c} + {r}" for c, r in sorted(series, key=lambda s: classifiers.index(s[0])))
              if label in found]
    ncol = min(len(classifiers), 4)
    fig.legend([found[lab] for lab in labels], labels, loc="lower center", ncol=ncol, fontsize=8)
    n_rows = -(-len(labels) // ncol)
    fig.tight_layout(rect=(0, 0.045 * n_rows + 0.02, 1, 1))
    _drop_overlapping_tick_labels(fig, axes[0])
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


def plot_scores(scores, *, xlabel="score", chance=0.5, title=None, ax=None):
    """Horizontal bars of one score per method (e.g. balanced accuracy per remedy).

    Each bar has its remedy's colour (:func:`remedy_color`).

    Parameters
    ----------
    scores : dict of name -> float
    xlabel : str, default="score"
    chance : float or None, default=0.5
        Drawn as a dashed line (balanced accuracy of always predicting one class in a binary task).
    title : str or None, default=None
        Title of the axes.
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    _check_not_empty(scores, "scores", "score")
    plt = _pyplot()
    names, values = list(scores), np.asarray(list(scores.values()), dtype=float)
    height = 0.45 * len(names) + 1.2 + (0.4 * (title.count("\n") + 1) if title else 0)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, height))
    order = np.arange(len(names))[::-1]
    bars = ax.barh(order, values, color=[remedy_color(n) for n in names])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=8, padding=2)
    ax.set_yticks(order, names)
    if chance is not None:
        ax.axvline(chance, color="k", ls="--", lw=1)
        ax.annotate(f"chance {chance:g}", (chance, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", va="top", fontsize=7)
    ax.set_xlim(min(0.4, values.min() - 0.05) if len(values) else 0, 1.0)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_confusion_matrices(matrices, *, class_names=None, normalize=True, max_cols=4, title=None):
    """A grid of confusion matrices, one per method.

    Each panel's title gives the method and the balanced accuracy of its matrix (the mean recall over
    the classes present); its frame has the method's colour (:func:`remedy_color`).

    Parameters
    ----------
    matrices : dict of name -> ndarray of shape (n_classes, n_classes)
        Rows are true classes, columns predicted classes (sklearn's ``confusion_matrix``).
    class_names : list of str, default=None
    normalize : bool, default=True
        Show each row as fractions of the true class (its recall on the diagonal).
    max_cols : int, default=4
    title : str or None, default=None
        Figure title.

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
    for name, cm in matrices.items():
        if np.shape(cm) != (k, k):
            raise ValueError(
                f"matrices must all be square and of one size; {name!r} has shape {np.shape(cm)}, expected {(k, k)}."
            )
    names = [str(i) for i in range(k)] if class_names is None else list(class_names)
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names for {k} classes.")
    plt = _pyplot()
    n = len(matrices)
    cols = min(n, max_cols)
    rows = -(-n // cols)
    size = 2.7 if k <= 3 else 4.0
    top = 0.5 * (title.count("\n") + 1) if title else 0.0
    # Room under each matrix for the rotated class names of many classes, above it for a two-line title.
    height = size + (0.1 if k > 3 else 0.4)
    # Constrained layout: it keeps titles, rotated tick labels and the suptitle clear of one another
    # around images of fixed aspect, where tight_layout lets them collide.
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, height * rows + top), squeeze=False,
                             layout="constrained")
    for ax, (name, cm) in zip(axes.ravel(), matrices.items()):
        cm = np.asarray(cm, dtype=float)
        support = cm.sum(1)
        shown = cm / np.maximum(support[:, None], 1) if normalize else cm
        ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
        if k <= 5:
            for (i, j), v in np.ndenumerate(shown):
                ax.text(j, i, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center",
                        color="white" if v > 0.6 * shown.max() else "black", fontsize=8)
        ax.set_xticks(range(k), names, fontsize=7, rotation=90 if k > 3 else 0)
        ax.set_yticks(range(k), names, fontsize=7)
        present = support > 0
        if present.any():
            bacc = float(np.mean(np.diag(cm)[present] / support[present]))
            ax.set_title(f"{name}\nbalanced accuracy {bacc:.3f}", fontsize=9)
        else:
            ax.set_title(str(name), fontsize=9)
        for spine in ax.spines.values():
            spine.set(color=remedy_color(name), linewidth=2.5)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_history(histories, key="train_loss", *, ylabel=None, title=None, ax=None):
    """Per-epoch curves from fitted networks' skorch histories.

    Each curve has its remedy's colour (:func:`remedy_color`) and its own hollow marker and line style,
    so that curves with the same values (two remedies that both predict one class, say) stay visible.

    Parameters
    ----------
    histories : dict of name -> skorch History (``net.history``) or list of dict
    key : str, default="train_loss"
        History entry to plot (``"train_loss"``, ``"valid_bacc"``, or any recorded score).
    ylabel : str, default=None
    title : str or None, default=None
        Title of the axes.
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    _check_not_empty(histories, "histories", "history")
    plt = _pyplot()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 4.4 if title else 4))
    n = len(histories)
    for i, (name, history) in enumerate(histories.items()):
        epochs = [row for row in history if key in row]
        if not epochs:
            known = sorted(history[-1]) if len(history) else []
            raise ValueError(f"history of {name!r} has no entry {key!r}; it has {known}.")
        # Earlier curves get bigger markers: where a later curve covers one, its outline still shows.
        ms = 7.0 - 3.0 * i / max(n - 1, 1)
        ax.plot([row["epoch"] for row in epochs], [row[key] for row in epochs], color=remedy_color(name),
                marker=_MARKERS[i % len(_MARKERS)], ls=_LINESTYLES[i % len(_LINESTYLES)], ms=ms, mfc="none",
                mew=1.2, lw=1.3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or key.replace("_", " "))
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    # Outside the axes: curves of many methods fill the whole plot area.
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def plot_search_results(search, param, *, score="score", log=None, xlabel=None, ylabel=None, title=None,
                        chance=None, ax=None):
    """Cross-validated score against one hyper-parameter of a grid search: mean ± std over the folds.

    Numeric values sit at their value (on a log axis when they are spaced more evenly in log than in
    linear terms, e.g. sampling ratios 0.1, 0.25, 0.5, 1); other values one step apart. Each value is a
    tick labelled as written (``0.25``), and labels that would overlap are left out. When the search
    also varies other parameters, there is one line per combination of them.

    Parameters
    ----------
    search : fitted GridSearchCV or RandomizedSearchCV, or its ``cv_results_`` dict
    param : str
        The parameter, e.g. ``"randomoversampler__sampling_strategy"`` (``"param_"`` may prefix it).
    score : str, default="score"
        ``"score"`` for a search with one scorer, else the name of one of its scorers.
    log : bool or None, default=None
        Log scale for numeric values; ``None`` decides from their spacing.
    xlabel, ylabel, title : str or None, default=None
        Axis labels (default: the parameter, and the score) and axes title.
    chance : float or None, default=None
        Score drawn as a dashed reference line, e.g. 0.5 for balanced accuracy on two classes.
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``search`` is neither a fitted search nor a ``cv_results_`` dict.
    ValueError
        If ``param`` or ``score`` is not in the results.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from imbsk.plotting import plot_search_results
    >>> X, y = make_classification(60, random_state=0)
    >>> search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, cv=3).fit(X, y)
    >>> fig = plot_search_results(search, "C")
    >>> fig.axes[0].get_xscale()
    'log'
    """
    results = getattr(search, "cv_results_", search)
    if not isinstance(results, dict) or "params" not in results:
        raise TypeError(
            "search must be a fitted GridSearchCV / RandomizedSearchCV or its cv_results_ dict; "
            f"got {type(search).__name__}."
        )
    name = param[len("param_"):] if param.startswith("param_") else param
    searched = sorted(dict.fromkeys(k for p in results["params"] for k in p))
    if name not in searched:
        raise ValueError(f"param={param!r} is not a parameter of this search; it searched {searched}.")
    if f"mean_test_{score}" not in results:
        scores = sorted(k[len("mean_test_"):] for k in results if k.startswith("mean_test_"))
        raise ValueError(f"score={score!r} is not in the search results; they hold {scores}.")
    mean = np.asarray(results[f"mean_test_{score}"], dtype=float)
    std = np.asarray(results.get(f"std_test_{score}", np.zeros_like(mean)), dtype=float)
    picked = [i for i, p in enumerate(results["params"]) if name in p]
    values = list(dict.fromkeys(results["params"][i][name] for i in picked))
    numeric = all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values)
    if numeric:
        values = sorted(values)
        positions = np.asarray(values, dtype=float)
        if log is None:
            log = bool(positions.min() > 0) and _log_spaced(positions)
    else:
        positions = np.arange(len(values), dtype=float)
        log = False

    def others(params):
        return tuple((k, v) for k, v in sorted(params.items(), key=lambda kv: kv[0]) if k != name)

    groups = list(dict.fromkeys(others(results["params"][i]) for i in picked))
    plt = _pyplot()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    if chance is not None:
        ax.axhline(chance, color="gray", ls="--", lw=1, label=f"chance ({chance:g})")
    for g, group in enumerate(groups):
        rows = sorted((i for i in picked if others(results["params"][i]) == group),
                      key=lambda i: values.index(results["params"][i][name]))
        x = positions[[values.index(results["params"][i][name]) for i in rows]]
        label = ", ".join(f"{k}={v!r}" for k, v in group) or "CV mean ± std"
        ax.errorbar(x, mean[rows], yerr=std[rows], marker=_MARKERS[g % len(_MARKERS)],
                    ls=_LINESTYLES[g % len(_LINESTYLES)], capsize=4, mfc="none", label=label)
    _set_value_ticks(ax, positions, [f"{v:g}" if numeric else str(v) for v in values], log=log)
    ax.set_xlabel(xlabel or name)
    ax.set_ylabel(ylabel or ("score" if score == "score" else score.replace("_", " ")))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _drop_overlapping_tick_labels(fig, [ax])
    return fig


def _log_spaced(values):
    """Whether sorted positive ``values`` are spaced more evenly on a log scale than on a linear one."""
    if len(values) < 3:
        return values.max() / values.min() >= 10
    lin, lg = np.diff(values), np.diff(np.log(values))
    return np.std(lg) / np.mean(lg) < np.std(lin) / np.mean(lin)
