"""The CIFAR story: a plain CNN collapses on cat vs dog at 10:1, and the remedies side by side.

Training data: the official training images of two classes (cat and dog unless asked otherwise), with
the second class cut to a tenth (5,000 : 500), or CIFAR-10-LT. Every remedy is scored on the official
test images — balanced, 1,000 per class, so accuracy there *is* balanced accuracy — and, when ``cv`` is
given, by ``cross_validate`` on the imbalanced training data with :data:`imbsk.metrics.BALANCED_SCORING`.
Nothing is selected on the test set: epochs and hyper-parameters are fixed in advance.
"""

import numbers
import os
import time

import numpy as np
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from sklearn.model_selection import StratifiedKFold, cross_validate
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from .._table import to_markdown, write_csv
from ..classifier import CNNClassifier
from ..datasets import CIFAR10_CLASSES, downsample_images, load_cifar10, make_imbalance, make_long_tailed
from ..metrics import BALANCED_SCORING, evaluate
from ..pipeline import make_pipeline
from ..sampling import AugmentedOverSampler, ReplicateOverSampler
from ._output import check_output_folder

__all__ = [
    "CIFAR_PRESETS",
    "check_cifar_classes",
    "cifar_figures",
    "cifar_output_files",
    "cifar_remedies",
    "cifar_task_title",
    "run_cifar_demo",
]

_FIGURES = ("balanced_accuracy_per_remedy.png", "confusion_matrices.png", "balanced_accuracy_per_epoch.png")
_POSTHOC = "post-hoc logit adjustment"
# History key of the plain network's per-epoch score after post-hoc adjustment.
_POSTHOC_KEY = "test_bacc_posthoc"

#: Settings of ``imbsk demo cifar``. ``quick`` fits 2 CPU cores in a few minutes: all 5,000 : 500 training
#: images, average-pooled to 16x16 pixels, a narrow network and 8 epochs, scored on the test set only;
#: ``full`` is sized for a GPU: 32x32 pixels, 30 epochs, and 5-fold cross-validation as well.
CIFAR_PRESETS = {
    "quick": {"n_majority": None, "image_size": 16, "max_epochs": 8, "width": 16, "cv": 0, "batch_size": 128,
              "lr": 2e-3},
    "full": {"n_majority": None, "image_size": 32, "max_epochs": 30, "width": 32, "cv": 5, "batch_size": 128,
             "lr": 1e-3},
}


class EpochTestScore(Callback):
    """Record the balanced accuracy on a held-out set after every epoch, for the per-epoch figure.

    The score is only recorded, never used to select an epoch or a model.

    Parameters
    ----------
    X, y : held-out images and labels
    name : str, default="test_bacc"
        History key the score is stored under.
    posthoc_name : str or None, default=None
        If given, also record under this key the score after post-hoc logit adjustment with ``tau=1``
        (what ``set_params(tau=1.0)`` would predict), from the same probabilities.
    """

    def __init__(self, X, y, name="test_bacc", posthoc_name=None):
        self.X = X
        self.y = y
        self.name = name
        self.posthoc_name = posthoc_name

    def on_epoch_end(self, net, **kwargs):
        proba = net.predict_proba(self.X)
        net.history.record(self.name, float(balanced_accuracy_score(self.y, net.classes_[proba.argmax(1)])))
        if self.posthoc_name is not None:
            # Subtracting the log prior from log-probabilities moves the argmax as it would the logits'.
            with np.errstate(divide="ignore"):
                adjusted = np.log(proba) - np.log(net.class_prior_)
            net.history.record(
                self.posthoc_name, float(balanced_accuracy_score(self.y, net.classes_[adjusted.argmax(1)]))
            )


def cifar_remedies(base, random_state=0):
    """The estimators the CIFAR demo compares, each a remedy on top of ``base``.

    Parameters
    ----------
    base : CNNClassifier
        The plain network (architecture, epochs, optimiser); every remedy is a clone of it.
    random_state : int, default=0
        Seed of the samplers.

    Returns
    -------
    remedies : dict of name -> estimator
        ``"none"``, ``"replicate oversampling"`` (whole copies of the minority, seed 000's "extend the
        dogs 10 times"), ``"augmented oversampling"``, ``"balanced batches"``, ``"class weights"``,
        ``"focal loss"`` and ``"logit-adjusted loss"``.
    """
    return {
        "none": clone(base),
        "replicate oversampling": make_pipeline(ReplicateOverSampler(), clone(base)),
        "augmented oversampling": make_pipeline(AugmentedOverSampler(random_state=random_state), clone(base)),
        "balanced batches": clone(base).set_params(batch_balance="class"),
        "class weights": clone(base).set_params(class_weight="balanced"),
        "focal loss": clone(base).set_params(loss="focal"),
        "logit-adjusted loss": clone(base).set_params(loss="logit_adjusted"),
    }


def cifar_output_files(plots=True):
    """Names of the files :func:`run_cifar_demo` writes into its output folder.

    Parameters
    ----------
    plots : bool, default=True
        Include the PNG figures.

    Returns
    -------
    names : list of str
    """
    return ["cifar_results.csv", "cifar_results.md", *(_FIGURES if plots else ())]


def check_cifar_classes(classes, long_tailed=None):
    """Validate the demo's classes before any data is read; return their names.

    Parameters
    ----------
    classes : list of str or int, or None
        CIFAR-10 class names or indices 0..9, each once: exactly two for the binary task, at least two
        with ``long_tailed``. ``None``: cat and dog, or all ten with ``long_tailed``.
    long_tailed : float or None, default=None

    Returns
    -------
    names : list of str

    Raises
    ------
    ValueError
        If a class is not a CIFAR-10 name or index, is repeated, or the count is wrong.
    """
    if classes is None:
        return list(CIFAR10_CLASSES) if long_tailed else ["cat", "dog"]
    if isinstance(classes, str | bytes) or not hasattr(classes, "__iter__"):
        raise ValueError(f"classes must be None or a list of CIFAR-10 class names or indices; got {classes!r}.")
    names = []
    for c in classes:
        if isinstance(c, str) and c in CIFAR10_CLASSES:
            names.append(c)
        elif isinstance(c, numbers.Integral) and not isinstance(c, bool) and 0 <= c < len(CIFAR10_CLASSES):
            names.append(CIFAR10_CLASSES[c])
        else:
            valid = ", ".join(f"{i} {name}" for i, name in enumerate(CIFAR10_CLASSES))
            raise ValueError(f"classes: {c!r} is not a CIFAR-10 class; use a name or index: {valid}.")
    if len(set(names)) != len(names):
        raise ValueError(f"classes must not name a class twice; got {list(classes)!r}.")
    if not long_tailed and len(names) != 2:
        raise ValueError(
            f"classes must name exactly two CIFAR-10 classes without long_tailed (--long-tailed); got {names}."
        )
    if long_tailed and len(names) < 2:
        raise ValueError(f"classes must name at least two CIFAR-10 classes for a long-tailed task; got {names}.")
    return names


def _check_device(device):
    """Refuse a device this machine lacks before the data is read, as the classifier would at fit."""
    if isinstance(device, str) and device == "auto":
        return
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:<index>'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here; use device='auto' or 'cpu'.")


def _final_step(estimator):
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def load_cifar_task(data, classes=None, long_tailed=None, ratio=10, n_majority=None, random_state=0):
    """Load the imbalanced training set and the balanced test set of the demo.

    Parameters
    ----------
    data : str or path-like
        Folder holding CIFAR-10 in a layout :func:`imbsk.datasets.load_cifar10` reads.
    classes : list of str or int, default=None
        Classes; default ``["cat", "dog"]``, or all ten with ``long_tailed``.
    long_tailed : float or None, default=None
        Make the training set CIFAR-10-LT style with this imbalance ratio instead of cutting the last
        class to ``1 / ratio``.
    ratio : float, default=10
        Majority : minority ratio of a binary task.
    n_majority : int or None, default=None
        Keep only this many training images of the largest class (and scale the others alike).
    random_state : int, default=0

    Returns
    -------
    X_train, y_train, X_test, y_test, class_names
    """
    names = check_cifar_classes(classes, long_tailed)
    X, y = load_cifar10(data, split="train", classes=names)
    X_test, y_test = load_cifar10(data, split="test", classes=names)
    if long_tailed:
        X, y = make_long_tailed(X, y, imbalance_ratio=long_tailed, random_state=random_state)
    else:
        X, y = make_imbalance(X, y, imbalance_ratio=ratio, random_state=random_state)
    if n_majority is not None:
        counts = np.bincount(y)
        keep = {c: max(1, int(round(n * n_majority / counts.max()))) for c, n in enumerate(counts)}
        X, y = make_imbalance(X, y, sampling_strategy=keep, random_state=random_state)
    return X, y, X_test, y_test, names


def run_cifar_demo(
    data,
    out="imbsk-demo-cifar",
    *,
    quick=False,
    classes=None,
    long_tailed=None,
    ratio=None,
    max_epochs=None,
    cv=None,
    random_state=0,
    device="auto",
    plots=True,
    progress=True,
    verbose=True,
    overwrite=False,
):
    """Run the CIFAR demo: the plain CNN against each remedy, on the balanced official test set.

    The settings, the device and the output folder are checked before the data is read; the number of
    folds against the minority count right after.

    Parameters
    ----------
    data : str or path-like
        Folder with CIFAR-10 (official python layout, its archive, or the image-folder copy).
    out : str or path-like or None, default="imbsk-demo-cifar"
        Folder for ``cifar_results.csv`` / ``.md`` and the PNG figures; ``None`` writes nothing.
    quick : bool, default=False
        Use :data:`CIFAR_PRESETS` ``["quick"]`` (2 CPU cores, minutes) instead of ``["full"]`` (GPU).
    classes : list of str or int, default=None
        Two classes (default cat and dog), or the classes of a long-tailed run: CIFAR-10 names or
        indices 0..9 (see :func:`check_cifar_classes`).
    long_tailed : float or None, default=None
        Train on CIFAR-10-LT with this imbalance ratio.
    ratio : float or None, default=None
        Majority : minority ratio of the binary task; ``None`` means 10. Not with ``long_tailed``.
    max_epochs, cv : int, default=None
        Override the preset's epochs (>= 1) and number of cross-validation folds (0: no
        cross-validation, else >= 2 and at most the minority's training images).
    random_state : int, default=0
    device : str, default="auto"
    plots, progress, verbose : bool, default=True
    overwrite : bool, default=False
        Replace the demo's files (:func:`cifar_output_files`) if ``out`` already holds them; otherwise
        that is an error, raised before the data is read.

    Returns
    -------
    rows : list of dict
        One row per remedy: test balanced accuracy, macro F1, minority recall, per-class recalls and,
        with ``cv``, the cross-validated balanced accuracy.

    Raises
    ------
    ValueError
        If a setting is invalid (classes, ratio, epochs, folds, device).
    FileExistsError
        If ``out`` holds a file the demo writes and ``overwrite`` is false.
    FileNotFoundError
        If ``data`` holds no CIFAR-10.
    """
    preset = dict(CIFAR_PRESETS["quick" if quick else "full"])
    if max_epochs is not None:
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, numbers.Integral) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive int or None; got max_epochs={max_epochs!r}.")
        preset["max_epochs"] = max_epochs
    if cv is not None:
        if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or cv < 0 or cv == 1:
            raise ValueError(f"cv must be 0 (no cross-validation) or an int >= 2; got cv={cv!r}.")
        preset["cv"] = cv
    for name, value in (("ratio", ratio), ("long_tailed", long_tailed)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Real) or not 1 <= value < np.inf
        ):
            raise ValueError(f"{name} must be a finite number >= 1 or None; got {name}={value!r}.")
    if long_tailed and ratio is not None:
        raise ValueError(
            f"ratio (--ratio) is the imbalance of the two-class task; with long_tailed={long_tailed} the "
            f"imbalance ratio is long_tailed's. Got ratio={ratio}."
        )
    ratio = 10 if ratio is None else ratio
    check_cifar_classes(classes, long_tailed)
    _check_device(device)
    check_output_folder(out, cifar_output_files(plots), overwrite)
    if plots and out is not None:
        from ..plotting import _pyplot

        _pyplot()  # says how to install matplotlib now rather than after all the training
    start = time.perf_counter()
    X, y, X_test, y_test, names = load_cifar_task(
        data, classes, long_tailed, ratio, preset["n_majority"], random_state
    )
    counts = np.bincount(y, minlength=len(names))
    if preset["cv"] and counts.min() < preset["cv"]:
        raise ValueError(
            f"cv={preset['cv']} folds need at least {preset['cv']} training images of every class; "
            f"{names[int(counts.argmin())]} has {int(counts.min())}. Use fewer folds (--cv) or 0 for none."
        )
    X, X_test = downsample_images(X, preset["image_size"]), downsample_images(X_test, preset["image_size"])
    if verbose:
        counts = ", ".join(f"{n}: {c}" for n, c in zip(names, counts))
        print(f"training images ({X.shape[-1]}x{X.shape[-1]}): {counts}; test images: {len(y_test)} (balanced)")
    # AdamW trains this small network reliably in few epochs without a tuned learning-rate schedule.
    base = CNNClassifier(
        "simple_cnn", module__width=preset["width"], max_epochs=preset["max_epochs"],
        batch_size=preset["batch_size"], optimizer="adamw", lr=preset["lr"], weight_decay=0.05,
        classes=np.arange(len(names)), random_state=random_state, device=device,
    )
    remedies = cifar_remedies(base, random_state)
    folds = StratifiedKFold(preset["cv"], shuffle=True, random_state=random_state) if preset["cv"] else None
    rows, fitted, matrices = [], {}, {}
    bar = tqdm(remedies.items(), desc="cifar demo", disable=not progress)
    for name, estimator in bar:
        bar.set_postfix_str(name)
        row = {"remedy": name}
        if folds is not None:
            res = cross_validate(estimator, X, y, cv=folds, scoring=BALANCED_SCORING)
            row["cv_balanced_accuracy"] = float(np.mean(res["test_balanced_accuracy"]))
            row["cv_balanced_accuracy_std"] = float(np.std(res["test_balanced_accuracy"]))
        score = EpochTestScore(X_test, y_test, posthoc_name=_POSTHOC_KEY if name == "none" else None)
        _final_step(estimator).set_params(callbacks=[("test_score", score)])
        t0 = time.perf_counter()
        estimator.fit(X, y)
        row["fit_seconds"] = time.perf_counter() - t0
        scores, matrices[name] = _test_scores(estimator, X_test, y_test, names)
        rows.append({**row, **scores})
        fitted[name] = estimator
    # Post-hoc logit adjustment needs no training: the plain network with its logits shifted by the
    # log prior of its training labels.
    plain = _final_step(fitted["none"])
    plain.set_params(tau=1.0)
    scores, matrices[_POSTHOC] = _test_scores(plain, X_test, y_test, names)
    rows.append({"remedy": _POSTHOC, "fit_seconds": 0.0, **scores})
    plain.set_params(tau=0.0)
    elapsed = time.perf_counter() - start
    if verbose:
        print(summary_table(rows, names))
        print(f"\ntotal time {elapsed:.0f} s")
    if out is not None:
        histories = {name: _final_step(est).history for name, est in fitted.items()}
        task = cifar_task_title(names, long_tailed, ratio, preset)
        _write_outputs(rows, matrices, histories, task, names, out, plots, elapsed, preset, overwrite)
    return rows


def _test_scores(estimator, X_test, y_test, names):
    """The row's test scores, and the confusion matrix they come from."""
    scores = evaluate(estimator, X_test, y_test)
    y_pred = estimator.predict(X_test)
    cm = confusion_matrix(y_test, y_pred, labels=np.arange(len(names)))
    recalls = cm.diagonal() / np.maximum(cm.sum(1), 1)
    row = {
        "test_balanced_accuracy": scores["balanced_accuracy"],
        "test_f1_macro": scores["f1_macro"],
        "test_minority_recall": float(recalls[-1]) if len(names) == 2 else float(recalls.min()),
    }
    if len(names) <= 3:
        row.update({f"recall_{n}": float(r) for n, r in zip(names, recalls)})
    return row, cm


def summary_table(rows, names=None):
    """Markdown table of the demo rows (test scores, and cross-validated balanced accuracy if run)."""
    table = []
    for r in rows:
        entry = {"remedy": r["remedy"], "test balanced acc.": f"{r['test_balanced_accuracy']:.3f}",
                 "test macro F1": f"{r['test_f1_macro']:.3f}"}
        entry.update({f"recall {n}": f"{r[f'recall_{n}']:.3f}" for n in (names or []) if f"recall_{n}" in r})
        if "cv_balanced_accuracy" in r:
            entry["CV balanced acc."] = f"{r['cv_balanced_accuracy']:.3f} ± {r['cv_balanced_accuracy_std']:.3f}"
        entry["fit s"] = f"{r['fit_seconds']:.0f}"
        table.append(entry)
    columns = list(dict.fromkeys(k for e in table for k in e))
    return to_markdown(table, columns)


def cifar_task_title(names, long_tailed=None, ratio=10, preset=None):
    """One line naming the demo's task, for the figures' titles.

    Parameters
    ----------
    names : list of str
        The classes, majority first for a binary task.
    long_tailed : float or None, default=None
        The CIFAR-10-LT imbalance ratio, if the task is long-tailed.
    ratio : float, default=10
        Majority : minority ratio of a binary task.
    preset : dict or None, default=None
        A :data:`CIFAR_PRESETS` entry; its image size and epochs are added.

    Returns
    -------
    title : str

    Examples
    --------
    >>> from imbsk.demos import CIFAR_PRESETS
    >>> from imbsk.demos import cifar_task_title
    >>> cifar_task_title(["cat", "dog"], ratio=10, preset=CIFAR_PRESETS["quick"])
    'CIFAR-10 cat vs dog at 10:1 (16x16 pixels, 8 epochs)'
    """
    if long_tailed:
        title = f"CIFAR-10-LT, {len(names)} classes, imbalance ratio {long_tailed:g}"
    else:
        title = f"CIFAR-10 {' vs '.join(names)} at {ratio:g}:1"
    if preset:
        title += f" ({preset['image_size']}x{preset['image_size']} pixels, {preset['max_epochs']} epochs)"
    return title


def cifar_figures(rows, matrices, histories, names, task):
    """The demo's figures: balanced accuracy per remedy, confusion matrices, and balanced accuracy per epoch.

    Every figure's title names the task and the score; every remedy has its colour of
    :func:`imbsk.plotting.remedy_color` in all three. The post-hoc logit adjustment has a confusion
    matrix and, when the plain network's history recorded it, a curve of its own.

    Parameters
    ----------
    rows : list of dict
        The demo's rows (``remedy`` and ``test_balanced_accuracy``).
    matrices : dict of remedy -> ndarray of shape (n_classes, n_classes)
        Test-set confusion matrices.
    histories : dict of remedy -> skorch History or list of dict
        Per-epoch records with ``test_bacc``; the plain network's may also hold the post-hoc score.
    names : list of str
        Class names.
    task : str
        The task, e.g. from :func:`cifar_task_title`.

    Returns
    -------
    figures : dict of file name -> matplotlib.figure.Figure
    """
    from ..plotting import plot_confusion_matrices, plot_history, plot_scores

    chance = 1 / len(names)
    histories = dict(histories)
    plain = histories.get("none", [])
    if any(_POSTHOC_KEY in r for r in plain):
        histories[_POSTHOC] = [{"epoch": r["epoch"], "test_bacc": r[_POSTHOC_KEY]} for r in plain if _POSTHOC_KEY in r]
    return {
        _FIGURES[0]: plot_scores(
            {r["remedy"]: r["test_balanced_accuracy"] for r in rows}, chance=chance,
            xlabel="balanced accuracy on the official test set",
            title=f"{task}\nbalanced accuracy per remedy on the official test set",
        ),
        _FIGURES[1]: plot_confusion_matrices(
            matrices, class_names=names,
            title=f"{task}\nconfusion matrices on the official test set (rows: true class, as recall)",
        ),
        _FIGURES[2]: plot_history(
            histories, key="test_bacc", ylabel="balanced accuracy (official test set)",
            title=f"{task}\nbalanced accuracy on the official test set after each epoch",
        ),
    }


def _write_outputs(rows, matrices, histories, task, names, out, plots, elapsed, preset, overwrite):
    check_output_folder(out, cifar_output_files(plots), overwrite)
    os.makedirs(out, exist_ok=True)
    write_csv(rows, os.path.join(out, "cifar_results.csv"), columns=list(dict.fromkeys(k for r in rows for k in r)))
    with open(os.path.join(out, "cifar_results.md"), "w") as f:
        f.write(f"# CIFAR-10 {' vs '.join(names[:3])}{' ...' if len(names) > 3 else ''}: remedies\n\n")
        f.write(f"Settings: {preset}; total time {elapsed:.0f} s.\n\n")
        f.write(summary_table(rows, names) + "\n")
    if not plots:
        return
    from ..plotting import _pyplot

    plt = _pyplot()
    for filename, fig in cifar_figures(rows, matrices, histories, names, task).items():
        fig.savefig(os.path.join(out, filename), dpi=100)
        plt.close(fig)
