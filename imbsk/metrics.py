"""Balanced scorers and reports for imbalanced classification.

Everything here is built on scikit-learn's and imbalanced-learn's metric functions; what this module
adds is the choice of metrics that stay honest under imbalance and a *minority-aware* reading of them:
the minority class is taken from the true labels being scored, so the same scorer works for ``{0, 1}``,
``{"cat", "dog"}`` or a problem where the rare class happens to be the first label.
"""

import numbers
import warnings

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    make_scorer,
    precision_recall_fscore_support,
    recall_score,
)
from sklearn.preprocessing import label_binarize

__all__ = [
    "BALANCED_SCORING",
    "balanced_report",
    "evaluate",
    "minority_average_precision",
    "minority_class",
    "minority_recall_score",
]


def _check_labels(labels, name="labels"):
    """``labels`` as an array of distinct labels, or a clear error."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D list of class labels; got {labels.tolist()!r}. "
            f"Leave {name}=None to use the labels found in the data."
        )
    if len(np.unique(labels)) != len(labels):
        raise ValueError(f"{name} must not name a label twice; got {labels.tolist()!r}.")
    return labels


def minority_class(y_true, labels=None):
    """Return the least frequent label of ``y_true``.

    Ties go to the label that sorts last, so that for balanced ``{0, 1}`` data the positive class ``1``
    is reported, as sklearn's binary metrics do.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    labels : array-like, default=None
        Every class of the problem (e.g. a fitted estimator's ``classes_``). A class of ``labels`` that
        ``y_true`` lacks has count 0 and is then the minority; labels of ``y_true`` outside ``labels``
        are not candidates. ``None`` means the labels of ``y_true``.

    Returns
    -------
    label : scalar
        An element of ``np.unique(y_true)``, or of ``labels`` when given.

    Examples
    --------
    >>> from imbsk.metrics import minority_class
    >>> str(minority_class(["cat", "cat", "dog"]))
    'dog'
    >>> str(minority_class(["cat", "cat", "dog"], labels=["cat", "dog", "fox"]))
    'fox'
    """
    y_true = np.asarray(y_true)
    if len(y_true) == 0:
        raise ValueError("y_true is empty; a minority class needs at least one sample.")
    if labels is None:
        labels, counts = np.unique(y_true, return_counts=True)
    else:
        labels = np.sort(_check_labels(labels))
        counts = np.array([np.count_nonzero(y_true == label) for label in labels])
    return labels[len(counts) - 1 - np.argmin(counts[::-1])]


def _plain(label):
    """A label as the user wrote it in messages: ``1``, not ``np.int64(1)``."""
    return label.item() if isinstance(label, np.generic) else label


def _check_zero_division(zero_division):
    if isinstance(zero_division, str) and zero_division == "warn":
        return
    if (
        isinstance(zero_division, bool)
        or not isinstance(zero_division, numbers.Real)
        or not (np.isnan(zero_division) or zero_division in (0, 1))
    ):
        raise ValueError(f'zero_division must be "warn", 0.0, 1.0 or np.nan; got {zero_division!r}.')


def _undefined(message, zero_division):
    """The value of an ill-defined score, after the warning sklearn gives for one."""
    if isinstance(zero_division, str):
        warnings.warn(message + " Use `zero_division` to control this behaviour.", UndefinedMetricWarning,
                      stacklevel=3)
        return 0.0
    return float(zero_division)


def minority_recall_score(y_true, y_pred, *, labels=None, zero_division="warn"):
    """Recall of the least frequent class of ``y_true`` (its true-positive rate).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        Every class of the problem (at least two), e.g. a fitted estimator's ``classes_``. Without it
        the classes are those found in ``y_true`` or ``y_pred``; pass it when scoring a subset (a test
        fold) that may lack the minority class entirely.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value returned when the score is ill-defined: ``y_true`` holds no sample of the rarest class,
        or only one class is known. ``"warn"`` returns 0.0 and warns with sklearn's
        ``UndefinedMetricWarning``, as sklearn's ``recall_score`` does.

    Returns
    -------
    recall : float

    Examples
    --------
    >>> from imbsk.metrics import minority_recall_score
    >>> minority_recall_score([0, 0, 0, 1, 1], [0, 0, 0, 1, 0])
    0.5
    """
    _check_zero_division(zero_division)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have the same length; got {len(y_true)} and {len(y_pred)}.")
    if labels is not None and len(_check_labels(labels)) < 2:
        raise ValueError(f"labels must list every class of the problem, at least two; got {list(labels)!r}.")
    known = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    if len(y_true) and len(known) < 2:
        # One class in sight: nothing says which class is rare, and the recall of the only class would
        # read as a perfect minority recall.
        return _undefined(
            f"minority_recall_score is ill-defined and set to 0.0: y_true and y_pred hold the single class "
            f"{_plain(known[0])!r}, so there is no minority class to score. Pass labels= with every class.",
            zero_division,
        )
    minority = minority_class(y_true, labels=known)
    if not np.any(y_true == minority):
        return _undefined(
            f"minority_recall_score is ill-defined and set to 0.0: y_true holds no sample of class "
            f"{_plain(minority)!r}, the rarest of the classes {known.tolist()}. Score on data (a test fold) that "
            "holds every class: fewer or stratified folds.",
            zero_division,
        )
    return float(recall_score(y_true, y_pred, labels=[minority], average="macro", zero_division=0))


def _minority_recall_scorer(estimator, X, y):
    """Scorer of :func:`minority_recall_score` that knows every class from ``estimator.classes_``."""
    classes = getattr(estimator, "classes_", None)
    labels = classes if classes is not None and len(classes) >= 2 else None
    return minority_recall_score(y, estimator.predict(X), labels=labels)


def _scores_for(estimator, X):
    """Per-class scores whose columns follow ``estimator.classes_``."""
    if hasattr(estimator, "predict_proba"):
        scores = np.asarray(estimator.predict_proba(X))
    elif hasattr(estimator, "decision_function"):
        scores = np.asarray(estimator.decision_function(X))
        if scores.ndim == 1:  # binary decision_function scores the second class only
            scores = np.column_stack([-scores, scores])
    else:
        raise ValueError(
            f"{type(estimator).__name__} has neither predict_proba nor decision_function; "
            "average precision needs scores."
        )
    return scores


def minority_average_precision(estimator, X, y):
    """Average precision of ranking the minority class first (a scorer: ``(estimator, X, y)``).

    For two classes this is the area under the precision-recall curve with the least frequent class of
    ``y`` as the positive class, whichever label it has. For more classes it is the macro average of the
    one-vs-rest average precisions.

    When ``y`` lacks a class of ``estimator.classes_`` (a test fold without the minority), the score is
    ill-defined: an ``UndefinedMetricWarning`` is raised and, for two classes, 0.0 returned (sklearn's
    ``average_precision_score`` without positives); for more, the mean over the classes present.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba`` or ``decision_function`` and ``classes_``
    X : array-like
        Samples to score.
    y : array-like of shape (n_samples,)
        True labels.

    Returns
    -------
    score : float
    """
    y = np.asarray(y)
    if len(y) == 0:
        raise ValueError("y is empty; average precision needs at least one sample.")
    classes = np.asarray(estimator.classes_)
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise ValueError(
            f"y holds labels {unknown.tolist()} that the estimator was not fitted on "
            f"(classes_={classes.tolist()}); average precision ranks the fitted classes only."
        )
    scores = _scores_for(estimator, X)
    present = np.isin(classes, y)
    if len(classes) == 2:
        minority = minority_class(y, labels=classes)
        if not present.all():
            warnings.warn(
                f"minority_average_precision is ill-defined and set to 0.0: y holds no sample of class "
                f"{_plain(minority)!r}, the rarest of the estimator's classes_ {classes.tolist()}. Score on data (a "
                "test fold) that holds every class: fewer or stratified folds.",
                UndefinedMetricWarning, stacklevel=2,
            )
            return 0.0
        col = int(np.flatnonzero(classes == minority)[0])
        return float(average_precision_score(y == minority, scores[:, col]))
    if not present.all():
        warnings.warn(
            f"minority_average_precision leaves out classes {classes[~present].tolist()}: y holds no sample of "
            f"them, so their average precision is undefined; the score is the mean over the "
            f"{int(present.sum())} classes present, without the rarest.",
            UndefinedMetricWarning, stacklevel=2,
        )
    Y = label_binarize(y, classes=classes)[:, present]
    return float(average_precision_score(Y, scores[:, present], average="macro"))


#: Scorers to pass as ``scoring=`` to ``cross_validate`` / ``GridSearchCV``: balanced accuracy, macro F1,
#: the geometric mean of per-class recalls, the minority class's recall and its average precision. The two
#: minority scores take the classes from the estimator's ``classes_`` and warn
#: (``UndefinedMetricWarning``) on a test fold without any sample of the minority class.
BALANCED_SCORING = {
    "balanced_accuracy": "balanced_accuracy",
    "f1_macro": "f1_macro",
    "geometric_mean": make_scorer(geometric_mean_score),
    "minority_recall": _minority_recall_scorer,
    "average_precision": minority_average_precision,
}


def evaluate(estimator, X, y, scoring=None):
    """Score a fitted estimator on held-out data with several scorers at once.

    Parameters
    ----------
    estimator : fitted classifier
    X, y : held-out samples and labels
    scoring : dict of name -> scorer, default=None
        Scorer names understood by :func:`sklearn.metrics.get_scorer` or callables
        ``(estimator, X, y)``; ``None`` uses :data:`BALANCED_SCORING`.

    Returns
    -------
    scores : dict of name -> float
    """
    from sklearn.metrics import check_scoring

    scoring = BALANCED_SCORING if scoring is None else scoring
    scorer = check_scoring(estimator, scoring=scoring)
    return {name: float(value) for name, value in scorer(estimator, X, y).items()}


def balanced_report(y_true, y_pred, *, labels=None, target_names=None, digits=3, output_dict=False):
    """Per-class precision / recall / F1 / support, followed by the balanced scores.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        Labels to report, in this order (non-empty, each once); default: the sorted union of both
        arrays. With two or more, the minority recall takes its minority among them, so a class listed
        here but absent from ``y_true`` makes it ill-defined (0.0 and an ``UndefinedMetricWarning``).
    target_names : list of str, default=None
        Display names for ``labels``.
    digits : int, default=3
        Digits printed for floats.
    output_dict : bool, default=False
        Return a dict instead of a formatted string.

    Returns
    -------
    report : str or dict
        The dict has one entry per class (``precision``, ``recall``, ``f1``, ``support``) and the keys
        ``balanced_accuracy``, ``f1_macro``, ``geometric_mean`` and ``minority_recall``.

    Examples
    --------
    >>> from imbsk.metrics import balanced_report
    >>> print(balanced_report([0, 0, 0, 1], [0, 0, 1, 1], target_names=["cat", "dog"]))
    ... # doctest: +NORMALIZE_WHITESPACE
                 precision    recall        f1   support
    <BLANKLINE>
           cat       1.000     0.667     0.800         3
           dog       0.500     1.000     0.667         1
    <BLANKLINE>
    balanced_accuracy  0.833
    f1_macro           0.733
    geometric_mean     0.816
    minority_recall    1.000
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have the same length; got {len(y_true)} and {len(y_pred)}.")
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty; a report needs at least one sample.")
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or digits < 0:
        raise ValueError(f"digits must be a non-negative int; got {digits!r}.")
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else _check_labels(labels)
    if target_names is None:
        target_names = [str(label) for label in labels]
    elif len(target_names) != len(labels):
        raise ValueError(f"target_names has {len(target_names)} names for {len(labels)} labels.")
    elif len(set(map(str, target_names))) != len(target_names):
        raise ValueError(f"target_names must not repeat a name; got {list(target_names)!r}.")
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    report = {
        str(name): {"precision": float(pi), "recall": float(ri), "f1": float(fi), "support": int(si)}
        for name, pi, ri, fi, si in zip(target_names, p, r, f, s)
    }
    summary = {
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "geometric_mean": float(geometric_mean_score(y_true, y_pred, labels=labels)),
        "minority_recall": minority_recall_score(y_true, y_pred, labels=labels if len(labels) >= 2 else None),
    }
    if output_dict:
        return {**report, **summary}
    width = max(len(n) for n in report) + 2
    lines = [" " * width + "".join(f"{h:>10}" for h in ("precision", "recall", "f1", "support")), ""]
    for name, row in report.items():
        vals = "".join(f"{row[k]:>10.{digits}f}" for k in ("precision", "recall", "f1"))
        lines.append(f"{name:>{width}}{vals}{row['support']:>10d}")
    lines.append("")
    lines += [f"{key:<18} {value:.{digits}f}" for key, value in summary.items()]
    return "\n".join(lines)
