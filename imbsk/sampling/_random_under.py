"""Random under-sampling for X of any dimension."""

import numpy as np
from imblearn.under_sampling import RandomUnderSampler as _ImblearnRandomUnderSampler
from imblearn.under_sampling.base import BaseUnderSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring
from sklearn.utils import _safe_indexing

from ._base import NDInputMixin


@Substitution(
    sampling_strategy=BaseUnderSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class RandomUnderSampler(NDInputMixin, BaseUnderSampler):
    """Random under-sampling of X with any number of dimensions (tabular rows, images).

    imbalanced-learn's :class:`~imblearn.under_sampling.RandomUnderSampler` chooses which samples to
    keep; two-dimensional input is handed to it unchanged (identical results), higher-dimensional input
    is indexed with the rows it selected on a one-column stand-in, so images are never copied into a
    flat matrix. The dtype is kept.

    Parameters
    ----------
    {sampling_strategy}

        On any number of classes, :class:`RatioStrategy` gives a ratio (e.g. ``RatioStrategy(0.5)``) or a
        power of the class counts, computed from each fit's own ``y``.

    {random_state}

    replacement : bool, default=False
        Whether the sample is with or without replacement.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples kept in each resampled class.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        Index into ``X`` of every sample kept.
    n_features_in_ : int
        ``X.shape[1]`` (the number of channels for images).

    See Also
    --------
    RandomOverSampler : Random over-sampling for N-D X.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imbsk.sampling import RandomUnderSampler
    >>> X = np.zeros((60, 1, 4, 4), dtype=np.uint8)
    >>> y = np.array([0] * 50 + [1] * 10)
    >>> X_res, y_res = RandomUnderSampler(random_state=0).fit_resample(X, y)
    >>> X_res.shape, sorted(Counter(y_res.tolist()).items())
    ((20, 1, 4, 4), [(0, 10), (1, 10)])
    """

    _parameter_constraints: dict = dict(_ImblearnRandomUnderSampler._parameter_constraints)

    def __init__(self, *, sampling_strategy="auto", random_state=None, replacement=False):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.replacement = replacement


    def _fit_resample(self, X, y):
        sampler = _ImblearnRandomUnderSampler(
            sampling_strategy=self.sampling_strategy, random_state=self.random_state, replacement=self.replacement
        )
        if X.ndim == 2:
            X_res, y_res = sampler.fit_resample(X, y)
        else:
            _, y_res = sampler.fit_resample(np.arange(len(X)).reshape(-1, 1), y)
            X_res = _safe_indexing(X, sampler.sample_indices_)
        self.sample_indices_ = sampler.sample_indices_
        return X_res, y_res

    def _more_tags(self):
        return _ImblearnRandomUnderSampler._more_tags(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags
