"""Turn a data set of any dimensionality into an imbalanced or long-tailed one by dropping samples."""

import math
import numbers
from collections.abc import Mapping

import numpy as np
from imblearn.utils import check_sampling_strategy
from sklearn.utils import _safe_indexing, check_consistent_length, check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

__all__ = ["make_imbalance", "make_long_tailed"]

PROFILES = ("exponential", "step")


def _scalar(value):
    """Plain Python value of a numpy scalar, so that messages show ``1``, not ``np.int64(1)``."""
    return value.item() if isinstance(value, np.generic) else value


def _check_y(y, caller):
    if not isinstance(y, np.ndarray) or y.dtype == object:
        # numpy turns ["a", 1] into ["a", "1"] (merging 1 with "1") and an object array of both cannot
        # be sorted, so a mix is refused before any conversion.
        try:
            values = np.asarray(y, dtype=object).ravel()
        except (TypeError, ValueError):
            values = np.asarray([], dtype=object)
        missing = [i for i, v in enumerate(values) if v is None]
        if missing:
            raise ValueError(f"y holds None (first at position {missing[0]}); every sample needs a label.")
        is_str = [isinstance(v, str | bytes) for v in values]
        if any(is_str) and not all(is_str):
            text = values[is_str.index(True)]
            other = values[is_str.index(False)]
            raise ValueError(
                f"y mixes string and non-string labels (for example {text!r} and {_scalar(other)!r}); "
                "use one type for all labels."
            )
    y = column_or_1d(y)
    if y.size == 0:
        raise ValueError(f"y is empty: {caller} needs at least one sample.")
    check_classification_targets(y)
    return y


def _check_targets(targets, counts):
    """Validate the per-class numbers of samples to keep that a dict or callable strategy gave."""
    out = {}
    for cls, n in targets.items():
        if isinstance(n, bool) or not isinstance(n, numbers.Real) or not math.isfinite(n) or n != int(n) or n < 0:
            raise ValueError(
                f"sampling_strategy must give a whole number of samples >= 0 for each class; got {_scalar(n)!r} "
                f"for class {_scalar(cls)!r}."
            )
        out[cls] = int(n)
    if sum(out.get(c, n) for c, n in counts.items()) == 0:
        asked = {_scalar(c): n for c, n in out.items()}
        raise ValueError(f"sampling_strategy asks for {asked!r}, which keeps no sample at all.")
    return out


def _check_ratio(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 1
    ):
        raise ValueError(f"{name} must be a finite real number >= 1; got {value!r}.")
    return float(value)


def _check_return_indices(return_indices):
    if not isinstance(return_indices, bool | np.bool_):
        raise ValueError(f"return_indices must be True or False; got {return_indices!r}.")


def _check_counts(class_counts):
    """``class_counts`` as int64, refusing what a cast would silently change (-5, 2.5, "7", True)."""
    try:
        counts = np.asarray(class_counts)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"class_counts must be a 1-D list of sample counts; got {class_counts!r}.") from exc
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"class_counts must be a non-empty 1-D list of sample counts; got shape {counts.shape}.")
    if counts.dtype.kind not in "iuf":
        raise ValueError(f"class_counts must hold whole numbers; got values of dtype {counts.dtype}.")
    bad = counts < 0
    if counts.dtype.kind == "f":
        bad |= ~np.isfinite(counts) | (counts != np.round(counts))
    if bad.any():
        value = _scalar(counts[np.flatnonzero(bad)[0]])
        raise ValueError(f"class_counts must hold whole numbers >= 0; got {value!r}.")
    return counts.astype(np.int64)


def _select(X, y, targets, random_state, return_indices):
    """Keep ``targets[c]`` randomly chosen samples of each class ``c`` (all samples of other classes)."""
    rng = check_random_state(random_state)
    keep = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        n = targets.get(cls, idx.size)
        if n < idx.size:
            idx = rng.choice(idx, size=n, replace=False)
        keep.append(idx)
    # Sorting keeps the surviving samples in their original order, so a stratified or time-ordered
    # input stays ordered the same way.
    indices = np.sort(np.concatenate(keep))
    y_res = y[indices]
    if y_res.dtype.kind in "iub":
        y_res = y_res.astype(np.int64)
    X_res = _safe_indexing(X, indices)
    return (X_res, y_res, indices) if return_indices else (X_res, y_res)


def _binary_ratio_targets(y, ratio, name):
    classes, counts = np.unique(y, return_counts=True)
    if classes.size != 2:
        raise ValueError(f"A float {name} is only for binary targets; y has {classes.size} classes {classes.tolist()}.")
    # The later label counts as the minority on ties, so balanced cat/dog (0/1) data cuts the dogs.
    minority = 0 if counts[0] < counts[1] else 1
    # At least one sample is kept: a ratio too small for the data must not silently drop the class.
    n_keep = max(1, math.floor(ratio * counts[1 - minority]))
    if n_keep > counts[minority]:
        raise ValueError(
            f"{name}={ratio!r} asks for {n_keep} samples of class {_scalar(classes[minority])!r}, which has "
            f"only {counts[minority]}; make_imbalance only removes samples."
        )
    return {classes[minority]: n_keep}


def make_imbalance(
    X, y, *, sampling_strategy=None, imbalance_ratio=None, random_state=None, return_indices=False, **kwargs
):
    """Make a data set imbalanced by randomly dropping samples of some classes; X may have any ndim.

    This is :func:`imblearn.datasets.make_imbalance` for images and other N-D data: ``X`` is only
    indexed along its first axis, so its dtype and shape beyond the first axis are kept.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Samples; any number of dimensions (for images, ``(n, channels, height, width)``). Arrays,
        sparse matrices, data frames and lists are indexed, never modified.
    y : array-like of shape (n_samples,)
        Class labels.
    sampling_strategy : dict, callable, str or float, default=None
        How many samples of each class to keep, in the forms imbalanced-learn accepts:

        - ``dict``: class label -> number of samples to keep; unlisted classes keep all of theirs.
          ``{1: 500}`` keeps 500 samples of class 1.
        - callable: ``sampling_strategy(y, **kwargs)`` returns such a dict.
        - ``str``: imbalanced-learn's under-sampling targets (``"majority"``, ``"not minority"``,
          ``"not majority"``, ``"all"``, ``"auto"``): the targeted classes are cut to the minority
          class's size.
        - ``float`` in (0, 1], binary ``y`` only: the ratio ``n_minority / n_majority`` after
          resampling. Unlike imbalanced-learn's under-samplers, which cut the majority class, this cuts
          the minority class (the smaller one; on a tie, the one with the larger label) to
          ``max(1, floor(ratio * n_majority))`` samples, which is what making data imbalanced needs.

        A dict or callable may ask for 0 samples of a class, which drops it; the float and
        ``imbalance_ratio`` forms always keep at least one sample of every class.

        Exactly one of ``sampling_strategy`` and ``imbalance_ratio`` must be given.
    imbalance_ratio : float >= 1, default=None
        Shortcut: the most frequent class (on a tie, the smallest label) keeps all its ``n_max``
        samples and every other class is cut to ``max(1, floor(n_max / imbalance_ratio))`` samples
        (classes that already have fewer keep all of theirs): a ratio larger than ``n_max`` keeps one
        sample of each class rather than dropping classes. On binary data, ``imbalance_ratio=r`` is
        ``sampling_strategy=1 / r``.
    random_state : int, RandomState instance or None, default=None
        Controls which samples are kept. The same seed gives the same result.
    return_indices : bool, default=False
        Also return the indices of the kept samples into ``X`` and ``y``.
    **kwargs : dict
        Passed to ``sampling_strategy`` when it is a callable.

    Returns
    -------
    X_resampled : same type as X, of shape (n_samples_new, ...)
        The kept samples, in their original order, with X's dtype and number of dimensions.
    y_resampled : ndarray of shape (n_samples_new,)
        Their labels, unchanged; integer labels are returned as int64.
    indices : ndarray of shape (n_samples_new,), dtype int64
        Sorted positions of the kept samples in the input. Only returned if ``return_indices=True``.

    Raises
    ------
    ValueError
        If the strategy asks for more samples than a class has, for a negative or fractional number of
        samples, names an absent class or keeps nothing at all; if ``y`` is empty or mixes string
        and non-string labels; or if a parameter is invalid.

    See Also
    --------
    make_long_tailed : Exponential or step profiles over many classes.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.datasets import make_imbalance
    >>> X = np.zeros((10000, 3, 32, 32), dtype=np.uint8)
    >>> y = np.repeat([0, 1], 5000)
    >>> X_res, y_res = make_imbalance(X, y, sampling_strategy={1: 500}, random_state=0)
    >>> X_res.shape, X_res.dtype, np.bincount(y_res).tolist()
    ((5500, 3, 32, 32), dtype('uint8'), [5000, 500])
    >>> _, y_res, idx = make_imbalance(X, y, imbalance_ratio=10, random_state=0, return_indices=True)
    >>> np.bincount(y_res).tolist(), bool((y[idx] == y_res).all())
    ([5000, 500], True)
    """
    y = _check_y(y, "make_imbalance")
    check_consistent_length(X, y)
    _check_return_indices(return_indices)
    if (sampling_strategy is None) == (imbalance_ratio is None):
        raise ValueError(
            "Give exactly one of sampling_strategy and imbalance_ratio; got "
            f"sampling_strategy={sampling_strategy!r}, imbalance_ratio={imbalance_ratio!r}."
        )
    if kwargs and not callable(sampling_strategy):
        raise ValueError(f"Extra keyword arguments {sorted(kwargs)} are only used with a callable sampling_strategy.")

    if imbalance_ratio is not None:
        ratio = _check_ratio(imbalance_ratio, "imbalance_ratio")
        classes, counts = np.unique(y, return_counts=True)
        majority = int(np.argmax(counts))
        n_keep = max(1, math.floor(counts[majority] / ratio))
        targets = {c: min(n, n_keep) for i, (c, n) in enumerate(zip(classes, counts, strict=True)) if i != majority}
    elif isinstance(sampling_strategy, numbers.Real) and not isinstance(sampling_strategy, bool):
        if not 0 < sampling_strategy <= 1:
            raise ValueError(f"A float sampling_strategy must be in (0, 1]; got {sampling_strategy!r}.")
        targets = _binary_ratio_targets(y, float(sampling_strategy), "sampling_strategy")
    elif isinstance(sampling_strategy, str):
        targets = dict(check_sampling_strategy(sampling_strategy, y, "under-sampling"))
    elif isinstance(sampling_strategy, Mapping) or callable(sampling_strategy):
        strategy = sampling_strategy(y, **kwargs) if callable(sampling_strategy) else sampling_strategy
        if not isinstance(strategy, Mapping):
            raise ValueError(
                f"A callable sampling_strategy must return a dict of class -> number of samples; got "
                f"{type(strategy).__name__} {strategy!r}."
            )
        targets = dict(check_sampling_strategy(dict(strategy), y, "under-sampling"))
        classes, counts = np.unique(y, return_counts=True)
        targets = _check_targets(targets, dict(zip(classes, counts.tolist(), strict=True)))
    else:
        raise ValueError(
            "sampling_strategy must be a dict, a callable, a str or a float; "
            f"got {type(sampling_strategy).__name__} {sampling_strategy!r}."
        )
    return _select(X, y, targets, random_state, return_indices)


def long_tailed_counts(class_counts, imbalance_ratio=100, profile="exponential"):
    """Per-class sample counts of a long-tailed profile.

    Parameters
    ----------
    class_counts : array-like of int, shape (n_classes,)
        Samples available per class, in label order.
    imbalance_ratio : float >= 1, default=100
        Ratio of the largest to the smallest target count.
    profile : {"exponential", "step"}, default="exponential"
        ``"exponential"``: ``n_i = floor(n_max * imbalance_ratio ** (-i / (C - 1)))`` for the class at
        position ``i`` of ``C``. ``"step"``: the first ``C // 2`` classes keep ``n_max``, the others get
        ``floor(n_max / imbalance_ratio)``. ``n_max`` is the largest of ``class_counts``; a class with
        fewer samples than its target keeps all of them. Every class that has samples keeps at least
        one, even where the formula gives 0 (an ``imbalance_ratio`` larger than ``n_max``), so no class
        disappears; the ratio reached is then smaller than asked.

    Returns
    -------
    counts : ndarray of shape (n_classes,), dtype int64
        Samples to keep per class.

    Raises
    ------
    ValueError
        If ``class_counts`` is empty, not 1-D, or holds a negative or fractional count, or if
        ``imbalance_ratio`` or ``profile`` is invalid.

    Examples
    --------
    >>> from imbsk.datasets import long_tailed_counts
    >>> long_tailed_counts([5000] * 10, imbalance_ratio=100).tolist()
    [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    >>> long_tailed_counts([5000] * 10, imbalance_ratio=10, profile="step").tolist()
    [5000, 5000, 5000, 5000, 5000, 500, 500, 500, 500, 500]
    """
    ratio = _check_ratio(imbalance_ratio, "imbalance_ratio")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}; got {profile!r}.")
    class_counts = _check_counts(class_counts)
    n_classes, n_max = class_counts.size, int(class_counts.max())
    if profile == "step":
        targets = np.where(np.arange(n_classes) < n_classes // 2, n_max, math.floor(n_max / ratio))
    else:
        # The tiny tolerance keeps values that are integers in exact arithmetic (5000 * 100 ** -0.5 =
        # 500) from dropping by one when floating point lands just below them.
        exponents = np.arange(n_classes) / max(n_classes - 1, 1)
        targets = np.floor(n_max * ratio ** (-exponents) * (1 + 1e-12)).astype(np.int64)
    return np.minimum(np.maximum(targets, 1), class_counts).astype(np.int64)


def make_long_tailed(X, y, imbalance_ratio=100, profile="exponential", random_state=0, return_indices=False):
    """Subsample a data set to a long-tailed class distribution, as in CIFAR-10-LT / CIFAR-100-LT.

    Classes are taken in label order (sorted unique ``y``): the class at position ``i`` of ``C`` keeps
    ``n_i = floor(n_max * imbalance_ratio ** (-i / (C - 1)))`` samples, where ``n_max`` is the size of
    the largest class (Cao et al., 2019, "Learning imbalanced datasets with label-distribution-aware
    margin loss"). On CIFAR-10's training set (5,000 per class) with ``imbalance_ratio=100`` this keeps
    5,000, 2,997, ..., 50 images: 12,406 in all.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Samples, any number of dimensions; indexed, never modified.
    y : array-like of shape (n_samples,)
        Class labels.
    imbalance_ratio : float >= 1, default=100
        ``n_max / n_min`` after subsampling (smaller when it would leave a class with no sample).
    profile : {"exponential", "step"}, default="exponential"
        ``"step"``: the first ``C // 2`` classes keep ``n_max`` samples and the others
        ``floor(n_max / imbalance_ratio)``. A class with fewer samples than its target keeps all;
        every class keeps at least one sample (see :func:`long_tailed_counts`).
    random_state : int, RandomState instance or None, default=0
        Controls which samples are kept. The same seed gives the same result.
    return_indices : bool, default=False
        Also return the sorted indices of the kept samples.

    Returns
    -------
    X_resampled : same type as X, of shape (n_samples_new, ...)
        The kept samples in their original order, with X's dtype and number of dimensions.
    y_resampled : ndarray of shape (n_samples_new,)
        Their labels, unchanged; integer labels are returned as int64.
    indices : ndarray of shape (n_samples_new,), dtype int64
        Only returned if ``return_indices=True``.

    See Also
    --------
    long_tailed_counts : The per-class counts alone.
    make_imbalance : Arbitrary per-class counts.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.datasets import make_long_tailed
    >>> y = np.repeat(np.arange(10), 5000)
    >>> X = np.zeros((y.size, 3, 32, 32), dtype=np.uint8)
    >>> X_lt, y_lt = make_long_tailed(X, y, imbalance_ratio=100)
    >>> X_lt.shape, np.bincount(y_lt).tolist()
    ((12406, 3, 32, 32), [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])
    """
    y = _check_y(y, "make_long_tailed")
    check_consistent_length(X, y)
    _check_return_indices(return_indices)
    classes, counts = np.unique(y, return_counts=True)
    targets = long_tailed_counts(counts, imbalance_ratio, profile)
    return _select(X, y, dict(zip(classes, targets.tolist(), strict=True)), random_state, return_indices)
