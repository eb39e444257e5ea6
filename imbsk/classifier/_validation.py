"""Input checks and label encoding of :class:`~imbsk.CNNClassifier`, as plain functions.

Each function takes what it needs as arguments, so it is tested on its own and reused by the
stage-two estimators that work on a fitted network.
"""


import numpy as np
import torch
from sklearn.utils import assert_all_finite, check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

__all__ = [
    "check_batch_size",
    "check_fit_X",
    "check_input_range",
    "check_predict_X",
    "check_y",
    "encode_labels",
    "encode_with_classes",
    "input_range",
    "input_statistics",
]

# float32 overflows to inf above this; the network sees float32 (or uint8) only.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _as_array(X, name):
    if X is None:
        raise ValueError(f"{name} needs X; got None.")
    if torch.is_tensor(X):
        X = X.detach().cpu().numpy()
    X = check_array(X, allow_nd=True, ensure_2d=False, dtype="numeric", ensure_all_finite=True, input_name="X")
    if X.ndim not in (2, 4):
        raise ValueError(
            f"X must be 4-D images (n_samples, channels, height, width) or a 2-D table "
            f"(n_samples, n_features); got a {X.ndim}-D array of shape {X.shape}. Reshape your data."
        )
    if X.dtype != np.uint8 and X.dtype != np.float32:
        if X.dtype.kind == "f" and X.size and np.abs(X).max() > _FLOAT32_MAX:
            raise ValueError(
                f"X has values up to {np.abs(X).max():.3g}, beyond float32's range ({_FLOAT32_MAX:.3g}), which the "
                "network computes in; rescale X (for example standardise it) before fitting."
            )
        X = X.astype(np.float32)
    elif not X.flags.c_contiguous:
        X = np.ascontiguousarray(X)
    return X


def check_fit_X(X, name="CNNClassifier"):
    """Validate training inputs and return them as a C-contiguous uint8 or float32 array.

    Parameters
    ----------
    X : array-like or torch.Tensor
        4-D images ``(n_samples, channels, height, width)`` or a 2-D table.
    name : str, default="CNNClassifier"
        Estimator name used in messages.

    Returns
    -------
    X : ndarray
        uint8 stays uint8; every other dtype becomes float32.

    Raises
    ------
    ValueError
        If X is None, empty, not 2-D or 4-D, not finite, or beyond float32's range.
    """
    return _as_array(X, name)


def check_predict_X(X, input_ndim, input_shape, name="CNNClassifier"):
    """Validate inputs for prediction against the shape seen in ``fit``.

    Parameters
    ----------
    X : array-like or torch.Tensor
        Inputs to predict.
    input_ndim : int
        Number of dimensions of ``X`` in ``fit`` (2 or 4).
    input_shape : tuple
        Shape of one training sample.
    name : str, default="CNNClassifier"
        Estimator name used in messages.

    Returns
    -------
    X : ndarray
    """
    X = _as_array(X, name)
    if X.ndim != input_ndim:
        raise ValueError(f"X is {X.ndim}-D but {name} was fitted on {input_ndim}-D X.")
    if X.ndim == 2 and X.shape[1] != input_shape[0]:
        raise ValueError(f"X has {X.shape[1]} features, but {name} is expecting {input_shape[0]} features as input.")
    if X.ndim == 4:
        c, h, w = input_shape
        if X.shape[1] != c:
            raise ValueError(f"X has {X.shape[1]} channels, but {name} was fitted on images with {c} channels.")
        if X.shape[2:] != (h, w):
            raise ValueError(
                f"X has images of size {X.shape[2]}x{X.shape[3]}, but {name} was fitted on {h}x{w} images."
            )
    return X


def input_range(X):
    """The dtype kind and value range of ``X``, recorded in ``fit`` to spot a change of scale later.

    Parameters
    ----------
    X : ndarray

    Returns
    -------
    info : dict
        ``{"dtype": str, "max": float}``.
    """
    return {"dtype": X.dtype.name, "max": float(X.max()) if X.size else 0.0}


def check_input_range(X, fitted, name="CNNClassifier"):
    """Refuse float images in [0, 1] at prediction when ``fit`` saw uint8 images in [0, 255].

    The normaliser learned in ``fit`` would map such images to nearly one constant, so every
    prediction would be the same class: a silent wrong answer.

    Parameters
    ----------
    X : ndarray
        Validated prediction inputs.
    fitted : dict
        What :func:`input_range` returned in ``fit``.
    name : str, default="CNNClassifier"
        Estimator name used in messages.
    """
    if fitted is None or X.ndim != 4 or X.size == 0:
        return
    if fitted["dtype"] == "uint8" and fitted["max"] > 1.0 and X.dtype != np.uint8 and float(X.max()) <= 1.0:
        raise ValueError(
            f"X holds float images with values in [0, 1], but {name} was fitted on uint8 images in [0, 255]; "
            "pass images on the scale of fit (for example (X * 255).astype(np.uint8))."
        )


def check_y(y, n_samples, name="CNNClassifier"):
    """Validate classification targets.

    Parameters
    ----------
    y : array-like or torch.Tensor
        Labels of any type, one per sample.
    n_samples : int
        Number of samples of ``X``.
    name : str, default="CNNClassifier"
        Estimator name used in messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)
    """
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    if torch.is_tensor(y):
        y = y.detach().cpu().numpy()
    # numpy turns ["cat", 1] into the strings ["cat", "1"]: look at the labels before it does.
    values = y.ravel() if isinstance(y, np.ndarray) and y.dtype == object else (None if hasattr(y, "dtype") else y)
    if values is not None:
        try:
            kinds = {"str" if isinstance(v, str) else "number" for v in np.asarray(values, dtype=object).ravel()}
        except (TypeError, ValueError):
            kinds = set()
        if len(kinds) > 1:
            raise ValueError("y mixes string and number labels; use labels of one type (all str or all numbers).")
    y = column_or_1d(y, warn=True)
    if y.dtype.kind == "f":
        assert_all_finite(y, input_name="y")
    check_classification_targets(y)
    if len(y) != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {len(y)}; they must have the same length.")
    return y


def encode_labels(y, classes=None):
    """Map labels to codes ``0..n_classes-1``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Labels.
    classes : array-like or None, default=None
        All class labels; ``None`` takes the sorted unique labels of ``y``.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    codes : ndarray of shape (n_samples,), int64
    """
    given = classes is not None
    classes = np.asarray(classes) if given else np.unique(y)
    if given and (classes.ndim != 1 or len(classes) == 0):
        raise ValueError(f"classes must be a non-empty 1-D list of labels; got {classes.tolist()!r}.")
    if len(classes) != len(np.unique(classes)):
        raise ValueError(f"classes must not contain duplicates; got {classes.tolist()!r}.")
    return classes, encode_with_classes(y, classes, "classes")


def encode_with_classes(y, classes, source="classes_"):
    """Codes of ``y`` in a fixed ``classes`` array; a label outside it is an error.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
    source : str, default="classes_"
        Name of ``classes`` in messages.

    Returns
    -------
    codes : ndarray of shape (n_samples,), int64
    """
    try:
        sorter = np.argsort(classes, kind="stable")
        pos = np.clip(np.searchsorted(classes, y, sorter=sorter), 0, len(classes) - 1)
    except TypeError:
        raise ValueError(f"y labels cannot be compared with {source}={classes.tolist()}.") from None
    codes = sorter[pos]
    unknown = classes[codes] != y
    if np.any(unknown):
        seen = "not seen in the first fit" if source == "classes_" else "not in classes"
        raise ValueError(
            f"y contains labels {seen}: {np.unique(y[unknown])[:10].tolist()}; {source}={classes.tolist()}."
        )
    return codes.astype(np.int64)


def check_batch_size(batch_size, n_samples, has_batch_norm):
    """Refuse a training batch size that batch normalisation cannot use.

    Parameters
    ----------
    batch_size : int
        Already validated by :func:`~imbsk.classifier.check_params`.
    n_samples : int
        Training samples.
    has_batch_norm : bool
        Whether the network has batch-normalisation layers.
    """
    if has_batch_norm and (batch_size == 1 or n_samples == 1):
        raise ValueError(
            f"batch_size={batch_size} with {n_samples} training samples: the network has batch normalisation, "
            "which needs at least 2 samples per training batch; use batch_size >= 2 or a module without it."
        )


def input_statistics(X, normalize=True):
    """Per-channel (images) or per-feature (tables) mean and standard deviation.

    Parameters
    ----------
    X : ndarray
        uint8 or float32 array, 2-D or 4-D.
    normalize : bool, default=True
        If False, return zeros and ones (no standardisation).

    Returns
    -------
    mean, std : ndarray of float32
    """
    axes = (0,) if X.ndim == 2 else (0, 2, 3)
    n_cols = X.shape[1]
    if not normalize:
        return np.zeros(n_cols, np.float32), np.ones(n_cols, np.float32)
    if X.dtype == np.uint8 and X.ndim == 4:
        # Exact moments from a 256-bin histogram per channel: no float copy of the images at all.
        values = np.arange(256, dtype=np.float64)
        images = torch.from_numpy(X) if X.flags.writeable else torch.from_numpy(X.copy())
        hist = torch.stack([torch.bincount(images[:, c].flatten(), minlength=256) for c in range(n_cols)])
        hist = hist.numpy().astype(np.float64)
        count = hist.sum(axis=1)
        mean = hist @ values / count
        std = np.sqrt(np.maximum(hist @ values**2 / count - mean**2, 0.0))
        std[std < 1e-6] = 1.0
        return mean.astype(np.float32), std.astype(np.float32)
    total = np.zeros(n_cols)
    total_sq = np.zeros(n_cols)
    # Chunks keep the float64 temporaries small for large uint8 image arrays.
    chunk = max(1, (1 << 22) // max(1, int(np.prod(X.shape[1:]))))
    for start in range(0, len(X), chunk):
        block = X[start : start + chunk].astype(np.float64)
        total += block.sum(axis=axes)
        total_sq += np.square(block).sum(axis=axes)
    count = X.size / n_cols
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std[std < 1e-6 * np.maximum(1.0, np.abs(mean))] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)
