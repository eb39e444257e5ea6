"""What the sequential under-sampling ensembles share: checks, member seeds, row selection, averaging."""

from collections import Counter
from numbers import Integral, Real

import numpy as np
from imblearn.utils import check_sampling_strategy
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import _safe_indexing, check_array, check_random_state, column_or_1d, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from sklearn_compat.utils._dataframe import is_pandas_df

from ..sampling._ratio import sampler_context

_MAX_SEED = np.iinfo(np.int32).max


def is_nd(X):
    """Whether ``X`` has more than two dimensions (without converting array-likes that refuse ``np.ndim``)."""
    if sparse.issparse(X) or is_pandas_df(X):
        return False
    if isinstance(X, (list, tuple)):
        return np.asarray(X).ndim > 2
    return getattr(X, "ndim", 2) > 2


def check_ensemble_X(estimator, X, *, reset):
    """Validate ``X`` of any ``ndim >= 2`` without converting its dtype; 2-D input as scikit-learn's bagging does.

    Values are not checked for NaN or infinity here: the base estimator decides what it accepts, as in
    scikit-learn's bagging.
    """
    if not is_nd(X):
        if not reset and getattr(estimator, "sample_shape_", None) is not None and len(estimator.sample_shape_) > 1:
            raise ValueError(
                f"{type(estimator).__name__} was fitted on samples of shape {estimator.sample_shape_}; X has "
                f"{np.ndim(np.asarray(X)) if not sparse.issparse(X) else 2} dimension(s)."
            )
        X = validate_data(estimator, X, reset=reset, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False)
        if reset:
            estimator.sample_shape_ = (X.shape[1],)
        return X
    X = check_array(X, dtype=None, ensure_all_finite=False, allow_nd=True)
    if reset:
        estimator.sample_shape_ = tuple(X.shape[1:])
    elif tuple(X.shape[1:]) != estimator.sample_shape_:
        raise ValueError(
            f"X has samples of shape {tuple(X.shape[1:])}, but {type(estimator).__name__} was fitted on samples "
            f"of shape {estimator.sample_shape_}."
        )
    validate_data(estimator, X=X, reset=reset, skip_check_array=True)
    return X


def check_two_classes(estimator, y):
    """Refuse a one-class ``y`` with the likely cause, a cross-validation fold without the minority."""
    classes = np.unique(y)
    if len(classes) == 1:
        raise ValueError(
            f"{type(estimator).__name__} needs at least 2 classes in y; got only class {classes.tolist()[0]!r} "
            f"({len(y)} samples). In cross-validation, a fold without the minority class gives this: use "
            "StratifiedKFold, with fewer folds than the minority class has samples."
        )


def set_member_seed(estimator, seed):
    """Give every ``random_state`` parameter of ``estimator`` (nested ones included) its own draw from ``seed``.

    A member built from a pipeline thus gets distinct seeds for its sampler and its classifier; the same
    ``seed`` always gives the same member.
    """
    rng = np.random.RandomState(seed)
    keys = sorted(k for k in estimator.get_params(deep=True) if k == "random_state" or k.endswith("__random_state"))
    estimator.set_params(**{k: int(rng.randint(_MAX_SEED)) for k in keys})
    return estimator


def member_proba(member, X, classes):
    """``member.predict_proba(X)`` with its columns placed at the ensemble's ``classes``."""
    proba = np.asarray(member.predict_proba(X), dtype=np.float64)
    member_classes = np.asarray(member.classes_)
    if len(member_classes) == len(classes) and np.array_equal(member_classes, classes):
        return proba
    out = np.zeros((proba.shape[0], len(classes)))
    out[:, np.searchsorted(classes, member_classes)] = proba
    return out


# Docstring text the sequential ensembles share, written in where a class docstring says ``{name}``.
_SHARED_DOCS = {
    "n_jobs": """
    n_jobs : int, default=None
        Parallel jobs (joblib) for prediction over the members.""",
    "attributes": """
    estimators_ : list of estimators
        The fitted members.
    estimators_samples_ : list of ndarray
        Row indices (into the ``X`` of ``fit``) that each member was fitted on.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    sampling_strategy_ : dict
        Number of samples of each reduced class a member sees.
    sample_shape_ : tuple
        ``X.shape[1:]`` at fit.
    n_features_in_ : int
        ``X.shape[1]``.""",
}


def shared_docs(cls):
    """Write the shared texts into the class docstring, where a line says ``{n_jobs}`` or ``{attributes}``."""
    if cls.__doc__:  # None under python -OO
        for key, text in _SHARED_DOCS.items():
            cls.__doc__ = cls.__doc__.replace("    {" + key + "}", text.strip("\n"))
    return cls


class BaseUnderSamplingEnsemble(ClassifierMixin, BaseEstimator):
    """Base class of ensembles whose members are fitted one after another on under-sampled rows of ``X``.

    Subclasses implement ``_select_class(state, i, c, n, proba, rng) -> n row indices of class c`` (and may
    extend ``_start_rounds``, ``_select_rows`` and ``_rows_to_rate``); this
    class validates inputs, resolves the target class counts, seeds and fits the members, keeps the
    running average of the members' probabilities on the training rows that the next round needs, and
    averages ``predict_proba`` over the members.
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],  # predict_proba: checked in fit, with the reason
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "sampling_strategy": [
            Interval(Real, 0, 1, closed="right"),
            StrOptions({"auto", "majority", "not minority", "not majority", "all"}),
            dict,
            callable,
        ],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
    }

    _sampling_type = "under-sampling"

    def __init__(self, estimator=None, n_estimators=10, *, sampling_strategy="auto", n_jobs=None, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.sampling_strategy = sampling_strategy
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ----------------------------------------------------------------- checks

    def _check_estimator_param(self):
        estimator = DecisionTreeClassifier() if self.estimator is None else self.estimator
        if not hasattr(estimator, "predict_proba"):
            # A pipeline or an SVC(probability=False) passes the HasMethods check only through
            # available_if, so this is asked again on the object itself.
            raise TypeError(
                f"estimator={estimator!r} has no predict_proba; {type(self).__name__} needs the members' class "
                "probabilities (to rate how hard each training sample is, and to average the members). Use a "
                "classifier with predict_proba, or wrap this one in CalibratedClassifierCV(..., ensemble=False)."
            )
        return estimator

    def _check_targets(self, y):
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        check_two_classes(self, y)
        with sampler_context(self):
            try:
                strategy = dict(check_sampling_strategy(self.sampling_strategy, y, self._sampling_type))
            except ValueError as exc:
                raise ValueError(f"sampling_strategy={self.sampling_strategy!r}: {exc}") from exc
        zero = [c for c, n in strategy.items() if n < 1]
        if zero:
            raise ValueError(
                f"sampling_strategy={self.sampling_strategy!r} keeps 0 samples of class(es) {zero} (class counts "
                f"{class_counts(y)}); every member needs at least one sample of each class."
            )
        return codes, strategy

    # ----------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the members one after another, each on rows chosen from the previous members' predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training inputs: a table, or images ``(n_samples, channels, height, width)`` of any dtype. Only
            rows are selected; each member receives ``X[rows]`` with the shape and dtype of ``X``.
        y : array-like of shape (n_samples,)
            Class labels, at least two classes.

        Returns
        -------
        self : object
            The fitted ensemble.
        """
        estimator = self._check_estimator_param()
        X = check_ensemble_X(self, X, reset=True)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = check_array(column_or_1d(y, warn=True), ensure_2d=False, dtype=None, input_name="y")
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {len(y)}; they must match.")
        codes, strategy = self._check_targets(y)
        self.sampling_strategy_ = strategy
        # Classes to reduce, by code, with their target counts; the other classes go whole to every member.
        target = {
            int(np.searchsorted(self.classes_, c)): n
            for c, n in strategy.items()
            if n < np.sum(codes == np.searchsorted(self.classes_, c))
        }
        state = self._start_rounds(codes, target)

        rng = check_random_state(self.random_state)
        seeds = rng.randint(_MAX_SEED, size=self.n_estimators)
        # Running mean of the members' probabilities on the rows rated so far (unused by the first round).
        proba = np.zeros((X.shape[0], len(self.classes_)))
        self.estimators_, self.estimators_samples_ = [], []
        for i, seed in enumerate(seeds):
            round_rng = np.random.RandomState(seed)
            rows = np.sort(self._select_rows(state, i, proba, round_rng))
            member = set_member_seed(clone(estimator), round_rng.randint(_MAX_SEED))
            member.fit(_safe_indexing(X, rows), y[rows])
            self.estimators_.append(member)
            self.estimators_samples_.append(rows)
            if i + 1 < self.n_estimators:
                self._update_proba(proba, i, member, X, self._rows_to_rate(state))
        return self

    def _update_proba(self, proba, i, member, X, rows):
        """Make ``proba[rows]`` the mean of the probabilities of members ``0..i``; other rows stay as they are."""
        if len(rows):  # empty when no class is reduced: nothing to rate
            proba[rows] = (proba[rows] * i + member_proba(member, _safe_indexing(X, rows), self.classes_)) / (i + 1)

    def _start_rounds(self, codes, target):
        """State the rounds share: ``target`` (code -> count to keep) and the rows of each class code in ``codes``."""
        return {"target": target, "class_rows": {c: np.flatnonzero(codes == c) for c in range(len(self.classes_))}}

    def _rows_to_rate(self, state):
        """Rows whose hardness a later round needs: those of the classes being reduced."""
        return np.concatenate([state["class_rows"][c] for c in state["target"]] or [np.zeros(0, dtype=int)])

    def _select_rows(self, state, i, proba, rng):
        """Rows of member ``i``: all those of the classes kept whole, ``_select_class`` of each class to reduce."""
        parts = [rows for c, rows in state["class_rows"].items() if c not in state["target"]]
        parts += [self._select_class(state, i, c, n, proba, rng) for c, n in state["target"].items()]
        return np.concatenate(parts)

    def _select_class(self, state, i, c, n, proba, rng):  # pragma: no cover - abstract
        """``n`` rows of class code ``c`` for member ``i``."""
        raise NotImplementedError

    # ----------------------------------------------------------------- prediction

    def predict_proba(self, X):
        """Mean of the members' class probabilities.

        Members are evaluated in parallel over ``n_jobs`` (joblib; the Dask backend of
        :mod:`imbsk.parallel` applies too).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs shaped as in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        X = check_ensemble_X(self, X, reset=False)
        parts = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(member_proba)(m, X, self.classes_) for m in self.estimators_
        )
        return np.mean(parts, axis=0)

    def predict(self, X):
        """Class of highest mean probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs shaped as in ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(DecisionTreeClassifier() if self.estimator is None else self.estimator)
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags


def class_counts(y):
    """``{label: count}`` sorted by label, for messages."""
    return dict(sorted(Counter(np.asarray(y).tolist()).items()))
