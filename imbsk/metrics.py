"""Balanced scorers and reports for imbalanced classification.

Everything here is built on scikit-learn's and imbalanced-learn's metric functions; what this module
adds is the choice of metrics that stay honest under imbalance and a *minority-aware* reading of them:
the minority class is taken from the true labels being scored, so the same scorer works for ``{0, 1}``,
``{"cat", "dog"}`` or a problem where the rare class happens to be the first label.
"""

import numpy as np
from imblearn.metrics import geometric_mean_score
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


def minority_class(y_true):
    """Return the least frequent label of ``y_true``.

    Ties go to the label that sorts last, so that for balanced ``{0, 1}`` data the positive class ``1``
    is reported, as sklearn's binary metrics do.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)

    Returns
    -------
    label : scalar
        An element of ``np.unique(y_true)``.

    Examples
    --------
    >>> from imbsk.metrics import minority_class
    >>> minority_class(["cat", "cat", "dog"])
    np.str_('dog')
    """
    labels, counts = np.unique(np.asarray(y_true), return_counts=True)
    if len(labels) == 0:
        raise ValueError("y_true is empty; a minority class needs at least one sample.")
    return labels[len(counts) - 1 - np.argmin(counts[::-1])]


def minority_recall_score(y_true, y_pred):
    """Recall of the least frequent class of ``y_true`` (its true-positive rate).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    recall : float

    Examples
    --------
    >>> from imbsk.metrics import minority_recall_score
    >>> minority_recall_score([0, 0, 0, 1, 1], [0, 0, 0, 1, 0])
    0.5
    """
    minority = minority_class(y_true)
    return float(recall_score(y_true, y_pred, labels=[minority], average="macro", zero_division=0))


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
    classes = np.asarray(estimator.classes_)
    scores = _scores_for(estimator, X)
    if len(classes) == 2:
        minority = minority_class(y)
        col = int(np.flatnonzero(classes == minority)[0])
        return float(average_precision_score(y == minority, scores[:, col]))
    present = np.isin(classes, np.unique(y))
    Y = label_binarize(y, classes=classes)[:, present]
    return float(average_precision_score(Y, scores[:, present], average="macro"))


#: Scorers to pass as ``scoring=`` to ``cross_validate`` / ``GridSearchCV``: balanced accuracy, macro F1,
#: the geometric mean of per-class recalls, the minority class's recall and its average precision.
BALANCED_SCORING = {
    "balanced_accuracy": "balanced_accuracy",
    "f1_macro": "f1_macro",
    "geometric_mean": make_scorer(geometric_mean_score),
    "minority_recall": make_scorer(minority_recall_score),
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
        Labels to report, in this order; default: the sorted union of both arrays.
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
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    if target_names is None:
        target_names = [str(label) for label in labels]
    elif len(target_names) != len(labels):
        raise ValueError(f"target_names has {len(target_names)} names for {len(labels)} labels.")
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    report = {
        str(name): {"precision": float(pi), "recall": float(ri), "f1": float(fi), "support": int(si)}
        for name, pi, ri, fi, si in zip(target_names, p, r, f, s)
    }
    summary = {
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "geometric_mean": float(geometric_mean_score(y_true, y_pred, labels=labels)),
        "minority_recall": minority_recall_score(y_true, y_pred),
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
