"""Random over-sampling for X of any dimension."""

from imblearn.over_sampling import RandomOverSampler as _ImblearnRandomOverSampler
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring

from ._base import NDInputMixin, cast_like, flatten


@Substitution(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class RandomOverSampler(NDInputMixin, BaseOverSampler):
    """Random over-sampling of X with any number of dimensions (tabular rows, images).

    imbalanced-learn's :class:`~imblearn.over_sampling.RandomOverSampler` with ``X`` of shape
    ``(n_samples, ...)``: two-dimensional input is handed to it unchanged (so the results are
    identical, for arrays, DataFrames, sparse matrices and strings alike); higher-dimensional input is
    flattened to ``(n_samples, prod(...))``, resampled by it and reshaped back. The dtype is kept,
    so uint8 images stay uint8.

    Parameters
    ----------
    {sampling_strategy}

        On any number of classes, :class:`RatioStrategy` gives a ratio (e.g. ``RatioStrategy(0.5)``) or a
        power of the class counts, computed from each fit's own ``y``.

    {random_state}

    shrinkage : float or dict, default=None
        Smoothed bootstrap as in imbalanced-learn (``None``: plain duplicates). On N-D integer input the
        perturbed values are rounded and clipped to the dtype's range.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples added to each resampled class.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        Index into ``X`` of every output sample: the originals first, then the draws.
    shrinkage_ : dict or None
        Per-class shrinkage used.
    n_features_in_ : int
        ``X.shape[1]`` (the number of channels for images).

    See Also
    --------
    ReplicateOverSampler : Whole copies of the minority, without random draws.
    AugmentedOverSampler : Augmented copies instead of duplicates.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imbsk.sampling import RandomOverSampler
    >>> X = np.random.RandomState(0).randint(0, 256, (60, 3, 8, 8)).astype(np.uint8)
    >>> y = np.array([0] * 50 + [1] * 10)
    >>> X_res, y_res = RandomOverSampler(random_state=0).fit_resample(X, y)
    >>> X_res.shape, X_res.dtype, sorted(Counter(y_res.tolist()).items())
    ((100, 3, 8, 8), dtype('uint8'), [(0, 50), (1, 50)])
    """

    _parameter_constraints: dict = dict(_ImblearnRandomOverSampler._parameter_constraints)

    def __init__(self, *, sampling_strategy="auto", random_state=None, shrinkage=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.shrinkage = shrinkage


    def _fit_resample(self, X, y):
        # imblearn re-derives sampling_strategy_ from the same y and the same random_state, so its draws
        # are exactly those it would make on tabular data.
        sampler = _ImblearnRandomOverSampler(
            sampling_strategy=self.sampling_strategy, random_state=self.random_state, shrinkage=self.shrinkage
        )
        if X.ndim == 2:
            X_res, y_res = sampler.fit_resample(X, y)
        else:
            X_res, y_res = sampler.fit_resample(flatten(X), y)
            X_res = cast_like(X_res.reshape((-1,) + X.shape[1:]), X.dtype)
        self.sample_indices_ = sampler.sample_indices_
        self.shrinkage_ = sampler.shrinkage_
        return X_res, y_res

    def _more_tags(self):
        return _ImblearnRandomOverSampler._more_tags(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags
