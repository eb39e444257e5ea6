"""Input checking shared by the N-D samplers."""

from numbers import Real

import numpy as np
from imblearn.utils import check_target_type
from imblearn.utils._validation import _check_X
from scipy import sparse
from sklearn.utils import check_array
from sklearn.utils.validation import check_consistent_length
from sklearn_compat.utils._dataframe import is_pandas_df
from sklearn_compat.utils.validation import validate_data

from ._ratio import sampler_context


def check_nd_X(X, *, allow_nan=True, dtype=None, name="X"):
    """Validate ``X`` like imbalanced-learn's samplers do, but accept any ``ndim >= 2``.

    Two-dimensional inputs (arrays, lists, sparse matrices, DataFrames) go through imbalanced-learn's own
    ``_check_X`` unchanged, so that tabular data behaves exactly as in imbalanced-learn. Higher-dimensional
    arrays are validated with ``allow_nd=True`` and keep their dtype (``dtype=None``) unless ``dtype`` asks
    for a conversion.
    """
    if is_pandas_df(X) or sparse.issparse(X):
        return _check_X(X) if allow_nan else check_array(X, accept_sparse=["csr", "csc"], dtype=dtype)
    ndim = np.ndim(X)
    if ndim < 2:
        raise ValueError(
            f"{name} must have at least 2 dimensions, (n_samples, n_features) or (n_samples, C, H, W) for images; "
            f"got a {ndim}-D input of shape {np.shape(X)}. Reshape a single feature with X.reshape(-1, 1)."
        )
    if ndim == 2 and allow_nan:
        return _check_X(X)
    return check_array(
        X, dtype=dtype, accept_sparse=False, ensure_all_finite=not allow_nan, allow_nd=True,
        input_name=name,
    )


def flatten(X):
    """(N, ...) -> (N, prod(...)), a view whenever ``X`` is contiguous."""
    return X.reshape(X.shape[0], -1)


def cast_like(X_new, dtype):
    """Bring synthesised values back to ``dtype``: integers are rounded and clipped to the dtype's range."""
    if X_new.dtype == dtype:
        return X_new
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(X_new), info.min, info.max).astype(dtype)
    return X_new.astype(dtype)


def _with_ratio_hint(exc, sampler):
    """Point imbalanced-learn's refusal of a multi-class float to the form that works there."""
    strategy = getattr(sampler, "sampling_strategy", None)
    if "float only when the type of target is binary" not in str(exc) or not isinstance(strategy, Real):
        return exc
    return ValueError(
        f"{exc} Or, for a ratio on any number of classes, use "
        f"sampling_strategy=imbsk.sampling.RatioStrategy({strategy!r}), computed from each fit's own class counts."
    )


class NDInputMixin:
    """Make an imbalanced-learn sampler accept ``X`` of any ``ndim >= 2`` (put it first in the bases).

    imbalanced-learn checks inputs in ``_check_X_y``; this replaces only that step, with
    :func:`check_nd_X`. ``_nd_allow_nan`` and ``_nd_dtype`` are passed on to it. ``fit`` and
    ``fit_resample`` run imbalanced-learn's own, with the sampler's direction made known to a
    :class:`RatioStrategy` with ``kind="auto"``.
    """

    _nd_allow_nan = True
    _nd_dtype = None

    # No docstrings: inspect.getdoc and Sphinx take imbalanced-learn's.
    def fit(self, X, y, **params):
        with sampler_context(self):
            return super().fit(X, y, **params)

    def fit_resample(self, X, y, **params):
        with sampler_context(self):
            try:
                return super().fit_resample(X, y, **params)
            except ValueError as exc:
                raise _with_ratio_hint(exc, self) from exc

    def _check_X_y(self, X, y):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X = check_nd_X(X, allow_nan=self._nd_allow_nan, dtype=self._nd_dtype)
        check_consistent_length(X, y)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, y, binarize_y
