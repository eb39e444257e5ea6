"""Over-sampling by whole copies of each minority class, without random draws."""

from numbers import Integral

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval

from ._base import NDInputMixin


@Substitution(sampling_strategy=BaseOverSampler._sampling_strategy_docstring)
class ReplicateOverSampler(NDInputMixin, BaseOverSampler):
    """Over-sample by repeating every sample of a class a whole number of times.

    Deterministic: no sample is drawn at random, so every original of a resampled class appears equally
    often ("extend the 500 dogs 10 times"). Works on X of any dimension and keeps its dtype.

    Parameters
    ----------
    {sampling_strategy}

        The classes it selects are the ones replicated. With ``n_copies=None`` each is repeated the
        largest whole number of times that does not exceed its target count, and at least once: it ends
        within one copy of the class below its target, never above. On multi-class data with the default
        ``"auto"`` every class stays at most as large as the largest, which stays the largest: next to a
        largest class of 183, a class of 178 is left as it is (two copies would make it 356), one of 60
        becomes 180 and one of 7 becomes 182. :class:`RatioStrategy` sets other targets on any number of
        classes, e.g. ``RatioStrategy(0.5)`` for half the largest class.

    n_copies : int, default=None
        If given, every class selected by ``sampling_strategy`` appears exactly ``n_copies`` times in
        the output (the original included), whatever the target counts; classes the strategy leaves
        alone are not repeated.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples the strategy asked to add to each class.
    n_copies_ : dict
        Times each resampled class appears in the output (1 = unchanged).
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        Index into ``X`` of every output sample: the originals first, then the copies class by class.
    n_features_in_ : int
        ``X.shape[1]``.

    See Also
    --------
    RandomOverSampler : Random draws with replacement.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imbsk.sampling import ReplicateOverSampler
    >>> X = np.zeros((5500, 3, 4, 4), dtype=np.uint8)
    >>> y = np.array(["cat"] * 5000 + ["dog"] * 500)
    >>> X_res, y_res = ReplicateOverSampler(n_copies=10).fit_resample(X, y)
    >>> sorted(Counter(y_res.tolist()).items())
    [('cat', 5000), ('dog', 5000)]
    >>> y = np.repeat([0, 1, 2], [183, 178, 60])  # multi-class: no class ends above the largest
    >>> X_res, y_res = ReplicateOverSampler().fit_resample(np.zeros((len(y), 2)), y)
    >>> np.bincount(y_res).tolist()
    [183, 178, 180]
    """

    _parameter_constraints: dict = {
        "sampling_strategy": BaseOverSampler._parameter_constraints["sampling_strategy"],
        "n_copies": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, sampling_strategy="auto", n_copies=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_copies = n_copies


    def _fit_resample(self, X, y):
        indices = [np.arange(len(y))]
        self.n_copies_ = {}
        for klass, n_add in self.sampling_strategy_.items():
            members = np.flatnonzero(y == klass)
            if self.n_copies is not None:
                copies = self.n_copies if n_add > 0 else 1
            else:
                # Floor, not ceil: rounding up would push a class that is nearly as large as the largest
                # to almost twice its size, above every other class.
                copies = max(1, (len(members) + n_add) // len(members))
            self.n_copies_[klass] = copies
            indices.append(np.tile(members, copies - 1))
        self.sample_indices_ = np.concatenate(indices)
        return _safe_indexing(X, self.sample_indices_), _safe_indexing(y, self.sample_indices_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags
