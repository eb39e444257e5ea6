"""Run any imbalanced-learn sampler on X of any dimension."""

from collections import Counter

import numpy as np
from imblearn.base import BaseSampler
from imblearn.over_sampling import SMOTE
from sklearn.base import clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods

from ._base import NDInputMixin, cast_like, flatten

_NEIGHBOUR_PARAMS = ("k_neighbors", "n_neighbors", "m_neighbors", "n_neighbors_ver3")


class NDSampler(NDInputMixin, BaseSampler):
    """Apply an imbalanced-learn sampler to X of shape ``(n_samples, ...)`` by flattening it.

    Each sample is flattened to one row, the wrapped sampler (cloned) resamples the rows, and the rows
    are reshaped back; two-dimensional input is passed through unchanged. Synthesised values on integer
    input (e.g. SMOTE on uint8 images) are rounded and clipped to the dtype's range. The wrapped
    sampler's parameters are reachable as ``sampler__<name>`` (for ``set_params`` and ``GridSearchCV``).

    Parameters
    ----------
    sampler : imbalanced-learn sampler, default=None
        Any object with ``fit_resample`` whose output keeps the number of features (SMOTE, ADASYN,
        BorderlineSMOTE, NearMiss, TomekLinks, SMOTEENN, ...). ``None`` means ``SMOTE()``. It is
        cloned, never modified. Its ``sampling_strategy`` may be a :class:`RatioStrategy`, which
        takes the over- or under-sampling direction from it.

    random_state : int, RandomState instance or None, default=None
        If not ``None``, set as the ``random_state`` of the clone of ``sampler`` (when it has that
        parameter), overriding ``sampler__random_state``; this is what makes ``NDSampler()`` with its
        default SMOTE reproducible. ``None`` leaves the wrapped sampler's own ``random_state`` in effect.

    Attributes
    ----------
    sampler_ : sampler
        The fitted clone of ``sampler``.
    sampling_strategy_ : dict
        The wrapped sampler's sampling strategy, resolved on ``y``.
    sample_indices_ : ndarray
        Only when the wrapped sampler has it: index into ``X`` of every output sample.
    n_features_in_ : int
        ``X.shape[1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imblearn.over_sampling import SMOTE
    >>> from imbsk.sampling import NDSampler
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 256, (60, 3, 8, 8)).astype(np.uint8)
    >>> y = np.array([0] * 50 + [1] * 10)
    >>> sampler = NDSampler(SMOTE(k_neighbors=3, random_state=0))
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, X_res.dtype, sorted(Counter(y_res.tolist()).items())
    ((100, 3, 8, 8), dtype('uint8'), [(0, 50), (1, 50)])
    >>> sampler.set_params(sampler__k_neighbors=2).sampler.k_neighbors
    2
    >>> a = NDSampler(random_state=0).fit_resample(X, y)[0]  # the default SMOTE, seeded
    >>> bool((a == NDSampler(random_state=0).fit_resample(X, y)[0]).all())
    True
    """

    _parameter_constraints: dict = {
        "sampler": [HasMethods(["fit_resample"]), None],
        "random_state": ["random_state"],
    }

    def __init__(self, sampler=None, *, random_state=None):
        self.sampler = sampler
        self.random_state = random_state

    def _wrapped(self):
        return SMOTE() if self.sampler is None else self.sampler

    # The base class resolves ``sampling_strategy_`` from these; they belong to the wrapped sampler.
    @property
    def sampling_strategy(self):
        return getattr(self._wrapped(), "sampling_strategy", "auto")

    @property
    def _sampling_type(self):
        return getattr(self._wrapped(), "_sampling_type", "bypass")


    def _fit_resample(self, X, y, **params):
        sampler = clone(self._wrapped())
        if self.random_state is not None and "random_state" in sampler.get_params(deep=False):
            sampler.set_params(random_state=self.random_state)
        X_in = X if X.ndim == 2 else flatten(X)
        try:
            X_res, y_res = sampler.fit_resample(X_in, y, **params)[:2]
        except ValueError as exc:
            raise self._explain(exc, sampler, y) from exc
        if X.ndim > 2:
            if X_res.ndim != 2 or X_res.shape[1] != X_in.shape[1]:
                raise ValueError(
                    f"NDSampler cannot support {type(sampler).__name__}: it returned {X_res.shape[1:]} features per "
                    f"sample for {X_in.shape[1]} given, so its output cannot be reshaped to {X.shape[1:]}."
                )
            X_res = cast_like(np.asarray(X_res).reshape((-1,) + X.shape[1:]), X.dtype)
        self.sampler_ = sampler
        if hasattr(sampler, "sample_indices_"):
            self.sample_indices_ = sampler.sample_indices_
        return X_res, y_res

    @staticmethod
    def _explain(exc, sampler, y):
        """Replace nearest-neighbour errors, which speak of ``n_samples_fit``, by one about class sizes."""
        message = str(exc)
        if "n_neighbors" not in message or "n_samples" not in message:
            return exc
        params = sampler.get_params(deep=False)
        neighbours = {k: params[k] for k in _NEIGHBOUR_PARAMS if isinstance(params.get(k), int)}
        counts = dict(sorted(Counter(y.tolist()).items(), key=lambda kv: kv[1]))
        smallest_class, smallest = next(iter(counts.items()))
        hint = ", ".join(f"sampler__{k}={v}" for k, v in neighbours.items()) or "its neighbour count"
        return ValueError(
            f"{type(sampler).__name__} needs more samples per class than its neighbours: with {hint} a class needs "
            f"more than that many samples, but class {smallest_class!r} has only {smallest} (class counts: {counts}). "
            f"Lower the neighbour parameter below {smallest} or give that class more samples. ({message})"
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._wrapped())
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.dataframe = inner.input_tags.dataframe
        # A duck-typed sampler outside imbalanced-learn has no sampler tags: then no sample_indices_.
        inner_sampler_tags = getattr(inner, "sampler_tags", None)
        tags.sampler_tags.sample_indices = bool(inner_sampler_tags and inner_sampler_tags.sample_indices)
        return tags
