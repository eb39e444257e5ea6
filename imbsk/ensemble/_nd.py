"""imbalanced-learn's bagging and boosting ensembles on X of any dimension.

scikit-learn's bagging and AdaBoost, on which imbalanced-learn's ensembles are built, validate ``X`` as a
2-D matrix. The classes here hand them a flat 2-D *view* of N-D ``X`` (``X.reshape(n, -1)``, no copy for
a contiguous array) and wrap the base estimator, and a user-given sampler, so that they get their rows
back in the sample shape: the members and the samplers see images ``(n, C, H, W)``, never flat rows.
Everything else (bootstrap, sampling strategy, parallel fitting, voting, boosting weights) is
imbalanced-learn's and scikit-learn's own code, unchanged. On 2-D ``X`` the classes are exactly
imbalanced-learn's.

Why a flat view rather than row indices (passing ``arange(n)`` as ``X`` and a base estimator that looks
the rows up): a sampler that synthesises samples (SMOTE) would interpolate the indices, and the image
array would have to travel inside the base estimator's parameters, which ``clone`` deep-copies for every
member. Why not skip the 2-D check: it is a call inside scikit-learn's ``fit`` and ``predict_proba``,
which would have to be copied.
"""

import numpy as np
from imblearn.ensemble import BalancedBaggingClassifier as _BalancedBagging
from imblearn.ensemble import EasyEnsembleClassifier as _EasyEnsemble
from imblearn.ensemble import RUSBoostClassifier as _RUSBoost
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..sampling import NDSampler
from ._base import check_two_classes, class_counts, is_nd


def _inner_has(name):
    return lambda self: hasattr(self.estimator, name)


class _Unflatten(ClassifierMixin, BaseEstimator):
    """Fit and call ``estimator`` on rows of a flat view reshaped to ``(n,) + sample_shape``."""

    def __init__(self, estimator, sample_shape):
        self.estimator = estimator
        self.sample_shape = sample_shape

    def _rows(self, X):
        return np.asarray(X).reshape((len(X),) + tuple(self.sample_shape))

    def fit(self, X, y, sample_weight=None):
        self.estimator_ = clone(self.estimator)
        # Boosting passes weights; a bagging member gets none, and its estimator may not accept them.
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.estimator_.fit(self._rows(X), y, **kwargs)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.estimator_.predict(self._rows(X))

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_proba(self._rows(X))

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X):
        check_is_fitted(self)
        return self.estimator_.decision_function(self._rows(X))


class _UnflattenSampler(BaseEstimator):
    """Run ``sampler.fit_resample`` on rows reshaped to ``(n,) + sample_shape`` and flatten its output."""

    def __init__(self, sampler, sample_shape):
        self.sampler = sampler
        self.sample_shape = sample_shape

    def fit_resample(self, X, y):
        X_nd = np.asarray(X).reshape((len(X),) + tuple(self.sample_shape))
        self.sampler_ = clone(self.sampler)
        try:
            X_res, y_res = self.sampler_.fit_resample(X_nd, y)[:2]
        except ValueError as exc:
            if "Found array with dim" not in str(exc):
                raise
            raise ValueError(
                f"sampler={self.sampler!r} takes 2-D X only, and X has samples of shape {tuple(self.sample_shape)}. "
                "Use a sampler of imbsk.sampling (RandomUnderSampler, RandomOverSampler, AugmentedOverSampler), or "
                "NDSampler(<the imbalanced-learn sampler>) for any other."
            ) from exc
        return np.asarray(X_res).reshape(len(X_res), -1), y_res


class _StrategyNDSampler(NDSampler):
    """An :class:`NDSampler` that takes ``sampling_strategy`` as imbalanced-learn's bagging sets it.

    ``BalancedBaggingClassifier`` sets its own ``sampling_strategy`` on the sampler; on an NDSampler it
    belongs to the sampler inside.
    """

    def set_params(self, **params):
        if "sampling_strategy" in params:
            if self.sampler is None:
                self.sampler = SMOTE()
            params["sampler__sampling_strategy"] = params.pop("sampling_strategy")
        return super().set_params(**params)


def _parent_has(name):
    # The imbalanced-learn class's own availability test (e.g. decision_function only with a base
    # estimator that has one), asked of the next class in the MRO.
    return lambda self: hasattr(super(NDInputMixin, self), name)


class NDInputMixin:
    """Let an imbalanced-learn ensemble fit and predict on ``X`` of any ``ndim >= 2`` (put it first).

    ``fit`` records ``sample_shape_`` and hands the parent a flat view; ``_validate_estimator``, the hook
    where the parent builds its ``estimator_``, wraps the base estimator (and a user-given sampler) so
    that they receive rows in the sample shape. Prediction methods flatten ``X`` the same way.
    """

    def _flat(self, X, *, reset):
        if not is_nd(X):
            shape = getattr(self, "sample_shape_", None)
            if reset:
                self.sample_shape_ = None
            # Rows already flat to the fitted width are taken as they are: the parent's predict calls
            # predict_proba with the view it was given.
            elif shape is not None and not (np.ndim(np.asarray(X)) == 2 and np.shape(X)[1] == int(np.prod(shape))):
                raise ValueError(
                    f"{type(self).__name__} was fitted on samples of shape {self.sample_shape_}; X has "
                    f"{np.ndim(X)} dimension(s)."
                )
            return X
        X = np.asarray(X)
        if reset:
            self.sample_shape_ = tuple(X.shape[1:])
        elif getattr(self, "sample_shape_", None) is None and hasattr(self, "n_features_in_"):
            raise ValueError(
                f"{type(self).__name__} was fitted on 2-D X; X has samples of shape {tuple(X.shape[1:])}."
            )
        elif tuple(X.shape[1:]) != getattr(self, "sample_shape_", tuple(X.shape[1:])):
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but {type(self).__name__} was fitted on samples of "
                f"shape {self.sample_shape_}."
            )
        return X.reshape(len(X), -1)

    def _wrap_for_nd(self, estimator, sampler=None):
        if self.sample_shape_ is None:
            return estimator
        if isinstance(estimator, Pipeline):  # imbalanced-learn's (sampler, classifier) member
            (s_name, s), (c_name, c) = estimator.steps
            if sampler is not None:
                s = _UnflattenSampler(s, self.sample_shape_)
            return Pipeline([(s_name, s), (c_name, _Unflatten(c, self.sample_shape_))])
        return _Unflatten(estimator, self.sample_shape_)

    def fit(self, X, y, **params):
        if y is not None:  # None: the parent's own message
            check_two_classes(self, np.asarray(y))
        try:
            return super().fit(self._flat(X, reset=True), y, **params)
        except ValueError as exc:
            raise self._explain(exc, y) from exc

    def _explain(self, exc, y):
        """Say which class was too small for a member, instead of the error from inside the member."""
        message = str(exc)
        if "needs to have more than 1 class" in message:
            # The whole y has two classes or more, so a member's (bootstrap) sample lost the others.
            return ValueError(
                f"A member of {type(self).__name__} drew a training sample with a single class: the smallest "
                f"class is too small for its bootstrap (class counts {class_counts(y)}). Use bootstrap=False, "
                "more samples of that class, or fewer members."
            )
        if "n_neighbors" in message and "n_samples" in message and "more samples per class" not in message:
            return ValueError(
                f"The sampler of a member of {type(self).__name__} needs more samples of a class than the member's "
                f"training sample holds (class counts of the whole y: {class_counts(y)}; a bootstrap sample holds "
                f"about 63% of them). Lower the sampler's k_neighbors, or use bootstrap=False. ({message})"
            )
        if "worse than random" in message:
            return ValueError(
                f"{type(self).__name__}: the first member, fitted on a balanced under-sample, misclassifies at least "
                "half of the (weighted) training set, so imbalanced-learn's boosting cannot weigh it (class counts "
                f"{class_counts(y)}). This happens at high imbalance with a weak base estimator: use a stronger one "
                "(deeper trees), or a sampling_strategy below 1 that keeps more of the majority."
            )
        return exc

    def predict(self, X):
        return super().predict(self._flat(X, reset=False))

    @available_if(_parent_has("predict_proba"))
    def predict_proba(self, X):
        return super().predict_proba(self._flat(X, reset=False))

    @available_if(_parent_has("predict_log_proba"))
    def predict_log_proba(self, X):
        return super().predict_log_proba(self._flat(X, reset=False))

    @available_if(_parent_has("decision_function"))
    def decision_function(self, X):
        return super().decision_function(self._flat(X, reset=False))


_SHARED = """
    It accepts ``X`` of any dimension, images ``(n_samples, C, H, W)`` included: scikit-learn's code sees
    a flat view of ``X``, and the base estimator{sampler} receive rows in their own shape (see
    :mod:`imbsk.ensemble`). On 2-D ``X`` it is exactly imbalanced-learn's
    :class:`imblearn.ensemble.{name}`; its parameters, attributes and behaviour are those documented
    there, and only the ones that matter most here are repeated.
"""

_ATTRIBUTES = """
    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members (on N-D ``X``, each wrapped so that it receives rows in the sample shape).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    sample_shape_ : tuple or None
        ``X.shape[1:]`` at fit for N-D ``X``; ``None`` for 2-D ``X``.
    n_features_in_ : int
        Number of values per sample (``prod(sample_shape_)`` for N-D ``X``).
"""


class BalancedBaggingClassifier(NDInputMixin, _BalancedBagging):
    __doc__ = (
        """Bagging whose members each see a re-balanced (bootstrap) sample: under-, over- or SMOTE-bagging.
"""
        + _SHARED.format(sampler=" and the ``sampler``", name="BalancedBaggingClassifier")
        + """
    Each member is a pipeline ``(sampler, estimator)`` fitted on its bootstrap sample, so the sampler
    decides the kind of bagging: ``imbsk.sampling.RandomUnderSampler`` (the default, imbalanced-learn's
    on the flat view) gives under-bagging (Barandela et al., 2003), ``RandomOverSampler``
    over-bagging, ``NDSampler(SMOTE())`` SMOTE-bagging (Wang and Yao, 2009), ``AugmentedOverSampler``
    bagging with augmented copies of the minority. Members are fitted in parallel over ``n_jobs``.

    Parameters
    ----------
    estimator : estimator, default=None
        The base estimator (any classifier, a :class:`~imbsk.CNNClassifier`, a pipeline); ``None``
        means a decision tree.
    n_estimators : int, default=10
        Number of members.
    sampling_strategy : float, str, dict or callable, default="auto"
        Set on the sampler of every member (for an ``NDSampler``, on the sampler inside it).
    sampler : sampler, default=None
        The members' sampler; on N-D ``X`` it must accept N-D input (the samplers of
        :mod:`imbsk.sampling` do). ``None`` means random under-sampling.
    n_jobs : int, default=None
        Members fitted and evaluated in parallel (joblib; the Dask backend of :mod:`imbsk.parallel`
        applies too).
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstraps and every ``random_state`` of each member's sampler and estimator.
    **kwargs
        ``max_samples``, ``max_features`` (on N-D ``X`` leave it at 1.0: it would pick single values of
        the flat view), ``bootstrap``, ``bootstrap_features``, ``oob_score``, ``warm_start``,
        ``replacement``, ``verbose``: imbalanced-learn's.
"""
        + _ATTRIBUTES
        + """
    References
    ----------
    .. [1] R. Barandela, R. M. Valdovinos and J. S. Sanchez, "New applications of ensembles of classifiers",
       Pattern Analysis and Applications 6(3), 2003, pp. 245-256.
    .. [2] S. Wang and X. Yao, "Diversity analysis on imbalanced data sets by using ensemble models",
       IEEE Symposium on Computational Intelligence and Data Mining, 2009, pp. 324-331.

    Examples
    --------
    A tree needs flat rows, so here the member is a pipeline that flattens what it receives; the SMOTE
    sampler sees the images.

    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from imbsk.ensemble import BalancedBaggingClassifier
    >>> from imbsk.pipeline import make_pipeline
    >>> from imbsk.sampling import NDSampler, SMOTE
    >>> def flat(X):
    ...     return X.reshape(len(X), -1)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 256, (120, 1, 8, 8)).astype(np.uint8)
    >>> y = np.array([0] * 100 + [1] * 20)
    >>> X[y == 1, :, 2:6, 2:6] = 255
    >>> tree = make_pipeline(FunctionTransformer(flat), DecisionTreeClassifier())
    >>> smote_bagging = BalancedBaggingClassifier(
    ...     tree, n_estimators=5, sampler=NDSampler(SMOTE(k_neighbors=3)), random_state=0
    ... ).fit(X, y)
    >>> smote_bagging.sample_shape_, smote_bagging.predict(X[-3:]).tolist()
    ((1, 8, 8), [1, 1, 1])
    """
    )

    def _validate_estimator(self, default=None):
        if isinstance(self.sampler_, NDSampler) and not isinstance(self.sampler_, _StrategyNDSampler):
            self.sampler_ = _StrategyNDSampler(**self.sampler_.get_params(deep=False))
        if default is None:
            super()._validate_estimator()
        else:
            super()._validate_estimator(default)
        self.estimator_ = self._wrap_for_nd(self.estimator_, sampler=self.sampler)


class EasyEnsembleClassifier(NDInputMixin, _EasyEnsemble):
    __doc__ = (
        """Bagging of boosted learners, each on a random under-sample of the majority (Liu et al., 2009).
"""
        + _SHARED.format(sampler="", name="EasyEnsembleClassifier")
        + """
    Parameters
    ----------
    n_estimators : int, default=10
        Number of members.
    estimator : estimator, default=None
        The member; ``None`` means ``AdaBoostClassifier()``. Any classifier, a
        :class:`~imbsk.CNNClassifier` or a pipeline may take its place.
    sampling_strategy : float, str, dict or callable, default="auto"
        Of the random under-sampler of every member.
    n_jobs : int, default=None
        Members fitted and evaluated in parallel (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds the under-samples and the members.
    **kwargs
        ``warm_start``, ``replacement``, ``verbose``: imbalanced-learn's.
"""
        + _ATTRIBUTES
        + """
    References
    ----------
    .. [1] X.-Y. Liu, J. Wu and Z.-H. Zhou, "Exploratory Undersampling for Class-Imbalance Learning",
       IEEE Transactions on Systems, Man, and Cybernetics, Part B 39(2), 2009, pp. 539-550.
    """
    )

    def _validate_estimator(self, default=None):
        super()._validate_estimator(default)
        self.estimator_ = self._wrap_for_nd(self.estimator_)


class RUSBoostClassifier(NDInputMixin, _RUSBoost):
    __doc__ = (
        """AdaBoost (SAMME) whose every round fits on a random under-sample (Seiffert et al., 2010).
"""
        + _SHARED.format(sampler="", name="RUSBoostClassifier")
        + """
    The base estimator's ``fit`` must take ``sample_weight`` (the boosting weights); a
    :class:`~imbsk.CNNClassifier` does not, and is refused with that reason. Rounds are sequential.
    imbalanced-learn's boosting stops with an error when the first member, fitted on a balanced
    under-sample, misclassifies at least half of the weighted (imbalanced) training set, which a weak
    learner such as the default stump does at 1:100 on overlapping classes; a stronger base avoids it.

    Parameters
    ----------
    estimator : estimator, default=None
        The weak learner; ``None`` means a depth-1 decision tree.
    n_estimators : int, default=50
        Largest number of rounds (boosting stops early on a perfect fit).
    learning_rate : float, default=1.0
        Shrinks each member's weight.
    sampling_strategy : float, str, dict or callable, default="auto"
        Of the random under-sampler of every round.
    random_state : int, RandomState instance or None, default=None
        Seeds the under-samples and the members.
    **kwargs
        ``replacement``: imbalanced-learn's.
"""
        + _ATTRIBUTES
        + """
    References
    ----------
    .. [1] C. Seiffert, T. M. Khoshgoftaar, J. Van Hulse and A. Napolitano, "RUSBoost: A hybrid approach to
       alleviating class imbalance", IEEE Transactions on Systems, Man, and Cybernetics, Part A 40(1),
       2010, pp. 185-197.
    """
    )

    def _validate_estimator(self):
        try:
            super()._validate_estimator()
        except ValueError as exc:
            if "sample_weight" not in str(exc):
                raise
            raise TypeError(
                f"estimator={self.estimator!r}: RUSBoostClassifier passes the boosting weights to the base "
                "estimator's fit as sample_weight, and this estimator's fit takes none. Use one that does (a tree, "
                "a linear model), or SelfPacedEnsembleClassifier / EasyEnsembleClassifier, which need no weights."
            ) from exc
        self.estimator_ = self._wrap_for_nd(self.estimator_)
