"""Over-sampling with augmented copies of the minority originals."""

import numpy as np
import torch
from imblearn.over_sampling import RandomOverSampler as _ImblearnRandomOverSampler
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring
from sklearn.utils import check_random_state

from ..augment import _call_seeded, get_augmentation, torch_generator
from ._base import NDInputMixin, cast_like

_BATCH_SIZE = 256  # images per vectorised call: large enough to amortise overhead, small enough for the CPU cache
_MAX_REDRAWS = 10


@Substitution(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class AugmentedOverSampler(NDInputMixin, BaseOverSampler):
    """Over-sample minority classes with augmented copies of randomly chosen originals.

    Which originals are copied is decided exactly as in imbalanced-learn's
    :class:`~imblearn.over_sampling.RandomOverSampler` (it draws them); each draw is then passed
    through ``augmentation`` so that the new samples are new images rather than duplicates. A copy that
    comes out identical to its original (possible with uint8 rounding) is augmented again, up to
    10 times.

    - Images ``(n, C, H, W)`` (or ``(n, H, W)``, treated as one channel) are augmented in batches with
      :mod:`imbsk.augment` on the CPU. uint8 stays uint8; floating images keep their dtype and are
      clipped to the range ``[X.min(), X.max()]`` of the input.
    - Tabular ``(n, n_features)`` input with ``augmentation=None`` gets a smoothed bootstrap (imbalanced-learn's
      ``RandomOverSampler(shrinkage=1.0)``: Gaussian noise scaled to each class's spread), cast back to
      ``X``'s dtype.

    Parameters
    ----------
    {sampling_strategy}

        On any number of classes, :class:`RatioStrategy` gives a ratio (e.g. ``RatioStrategy(0.5)``) or a
        power of the class counts, computed from each fit's own ``y``.

    augmentation : Augmentation, str or callable, default=None
        What makes a copy: an :mod:`imbsk.augment` object, a preset name of
        :func:`imbsk.augment.default_augmentation`, or any picklable callable ``f(x, generator=None)`` or
        ``f(x)`` (see :func:`imbsk.augment.call_augmentation`) on a CPU torch tensor ``x`` of shape
        ``(batch, C, H, W)`` (``(batch, n_features)`` for tabular ``X``), returning a tensor of the same
        shape, dtype and device. uint8, float32 and float64 images are passed in their own dtype, other
        dtypes as float32. A callable of ``x`` alone draws from torch's global generator, which is seeded
        from ``random_state`` for each call and restored afterwards. ``None`` means
        ``default_augmentation()`` for images and a smoothed bootstrap for tabular data.

    {random_state}

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of copies added to each resampled class.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        For every output sample, the index of the original in ``X`` it is, or was made from. The first
        ``n_samples`` entries are ``0 .. n_samples - 1`` (the originals, unchanged); the rest point to the
        source of each augmented copy.
    augmentation_ : Augmentation or callable
        The augmentation used.
    n_features_in_ : int
        ``X.shape[1]`` (the number of channels for images).

    See Also
    --------
    RandomOverSampler : Duplicates instead of augmented copies.
    imbsk.augment.default_augmentation : The default image augmentation.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imbsk.sampling import AugmentedOverSampler
    >>> X = np.random.RandomState(0).randint(0, 256, (40, 3, 16, 16)).astype(np.uint8)
    >>> y = np.array([0] * 30 + [1] * 10)
    >>> sampler = AugmentedOverSampler(random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, X_res.dtype, sorted(Counter(y_res.tolist()).items())
    ((60, 3, 16, 16), dtype('uint8'), [(0, 30), (1, 30)])
    >>> bool((sampler.sample_indices_[40:] >= 30).all())  # copies come from class 1
    True
    """

    _nd_allow_nan = False
    _nd_dtype = "numeric"

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "augmentation": [callable, str, None],
    }

    def __init__(self, *, sampling_strategy="auto", augmentation=None, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.augmentation = augmentation
        self.random_state = random_state


    def _fit_resample(self, X, y):
        random_state = check_random_state(self.random_state)
        n = len(y)
        if X.ndim == 2 and self.augmentation is None:
            sampler = _ImblearnRandomOverSampler(
                sampling_strategy=self.sampling_strategy, random_state=random_state, shrinkage=1.0
            )
            X_res, y_res = sampler.fit_resample(X, y)
            self.augmentation_ = None
            self.sample_indices_ = sampler.sample_indices_
            return cast_like(X_res, X.dtype), y_res

        augmentation = get_augmentation("default" if self.augmentation is None else self.augmentation)
        self.augmentation_ = augmentation
        # imblearn draws the sources on a one-column stand-in, so its logic decides what is copied.
        sampler = _ImblearnRandomOverSampler(sampling_strategy=self.sampling_strategy, random_state=random_state)
        _, y_res = sampler.fit_resample(np.arange(n).reshape(-1, 1), y)
        self.sample_indices_ = sampler.sample_indices_
        sources = self.sample_indices_[n:]
        copies = self._augment(X, sources, augmentation, torch_generator(random_state))
        return np.concatenate([X, copies]), y_res

    def _augment(self, X, sources, augmentation, generator):
        images = X[:, None] if X.ndim == 3 else X
        if images.dtype == np.uint8 or images.dtype in (np.float32, np.float64):
            work = images
        else:
            # Other dtypes (int16, float16, ...) are augmented in float32 and cast back.
            work = images.astype(np.float32)
        low, high = (work.min(), work.max()) if len(work) else (0, 0)
        copies = np.empty((len(sources),) + work.shape[1:], dtype=work.dtype)
        for start in range(0, len(sources), _BATCH_SIZE):
            batch = work[sources[start:start + _BATCH_SIZE]]
            out = self._call(augmentation, batch, generator)
            for _ in range(_MAX_REDRAWS):
                same = (out == batch).reshape(len(batch), -1).all(axis=1)
                if not same.any():
                    break
                out[same] = self._call(augmentation, batch[same], generator)
            copies[start:start + _BATCH_SIZE] = out
        if work.dtype != np.uint8:
            np.clip(copies, low, high, out=copies)
        copies = cast_like(copies, images.dtype)
        return copies[:, 0] if X.ndim == 3 else copies

    @staticmethod
    def _call(augmentation, batch, generator):
        return _call_seeded(augmentation, torch.from_numpy(np.ascontiguousarray(batch)), generator).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.sampler_tags.sample_indices = True
        return tags


