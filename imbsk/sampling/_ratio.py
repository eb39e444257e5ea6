"""Target class counts as ratios of the fold's own counts, for any number of classes."""

from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

# imbsk's samplers say here whether they over- or under-sample while they resolve their strategy, so that
# RatioStrategy(kind="auto") need not be told twice; imbalanced-learn calls a strategy with ``y`` alone.
_CURRENT_SAMPLER = ContextVar("imbsk_current_sampler", default=None)

_KINDS = {"over": "over-sampling", "under": "under-sampling"}


@contextmanager
def sampler_context(sampler):
    """Let a :class:`RatioStrategy` resolved inside the block learn ``sampler``'s direction."""
    name = type(sampler).__name__
    if hasattr(sampler, "_wrapped"):  # NDSampler: the strategy belongs to the sampler inside
        name = f"{name}({type(sampler._wrapped()).__name__})"
    token = _CURRENT_SAMPLER.set((name, sampler._sampling_type))
    try:
        yield
    finally:
        _CURRENT_SAMPLER.reset(token)


class RatioStrategy(BaseEstimator):
    """A ``sampling_strategy`` given as ratios, on any number of classes, from each fit's own ``y``.

    imbalanced-learn accepts a float ``sampling_strategy`` on binary targets only, and a dict holds
    absolute counts that do not follow the size of a cross-validation fold. A ``RatioStrategy`` is a
    callable ``y -> {class: target count}`` (the form imbalanced-learn accepts for ``sampling_strategy``)
    that recomputes the counts from the ``y`` each ``fit_resample`` receives, so they scale with every
    fold. With ``n_c`` the count of class ``c``, ``n_max`` the largest and ``n_min`` the smallest:

    - over-sampling: ``n_c' = max(n_c, ratio * n_max, n_max * (n_c / n_max) ** power)``; the largest class
      is unchanged and every class is raised to at least ``ratio`` times it;
    - under-sampling: ``n_c' = min(n_c, n_min / ratio, n_min * (n_c / n_min) ** power)``; the smallest
      class is unchanged and every class is lowered to at most ``1 / ratio`` times it.

    Each term is used only when its parameter is given (``ratio=1.0`` when neither is); counts are rounded
    down. ``ratio`` has the meaning of imbalanced-learn's float (the smallest-to-largest ratio after
    resampling, at least ``ratio``) and gives its counts on binary targets, except that a class already
    past the ratio is left alone instead of being an error. ``power`` keeps the shape of the distribution
    with its imbalance raised to a power: 0 is fully balanced, 0.5 square-root, 1 unchanged.

    Its parameters are reachable from the sampler and the pipeline (``sampling_strategy__ratio``), so
    that :class:`~sklearn.model_selection.GridSearchCV` can search them; it clones, pickles and compares
    by its parameters.

    Parameters
    ----------
    ratio : float in (0, 1], default=None
        Smallest class count allowed after resampling, as a fraction of the largest. ``None``: no such
        bound (``1.0`` when ``power`` is ``None`` too).
    power : float in [0, 1], default=None
        Exponent ``q`` of the count profile ``n_c' ~ n_c ** q``. ``None``: the counts keep their shape.
    kind : {"auto", "over", "under"}, default="auto"
        Which formula applies. ``"auto"`` follows the imbsk sampler it is given to (an over-sampler, an
        under-sampler, or the sampler inside :class:`NDSampler`); other samplers, such as
        imbalanced-learn's used directly, need ``"over"`` or ``"under"``.

    See Also
    --------
    RandomOverSampler, RandomUnderSampler, ReplicateOverSampler, AugmentedOverSampler, NDSampler

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.sampling import RandomOverSampler, RandomUnderSampler, RatioStrategy
    >>> X = np.zeros((160, 3, 4, 4), dtype=np.uint8)
    >>> y = np.repeat([0, 1, 2], [100, 50, 10])
    >>> def counts(y):
    ...     return np.bincount(y).tolist()
    >>> counts(RandomOverSampler(sampling_strategy=RatioStrategy(0.5), random_state=0).fit_resample(X, y)[1])
    [100, 50, 50]
    >>> counts(RandomOverSampler(sampling_strategy=RatioStrategy(power=0.5), random_state=0).fit_resample(X, y)[1])
    [100, 70, 31]
    >>> counts(RandomUnderSampler(sampling_strategy=RatioStrategy(0.25), random_state=0).fit_resample(X, y)[1])
    [40, 40, 10]
    >>> RatioStrategy(kind="over")(np.repeat([0, 1, 2], [200, 100, 20]))  # counts follow the data
    {1: 200, 2: 200}
    """

    _parameter_constraints: dict = {
        "ratio": [Interval(Real, 0, 1, closed="right"), None],
        "power": [Interval(Real, 0, 1, closed="both"), None],
        "kind": [StrOptions({"auto", "over", "under"})],
    }

    def __init__(self, ratio=None, *, power=None, kind="auto"):
        self.ratio = ratio
        self.power = power
        self.kind = kind

    def __call__(self, y):
        """Target count of every class of ``y`` that changes.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            The labels of the data being resampled.

        Returns
        -------
        dict
            ``{class: number of samples after resampling}`` for the classes whose count changes.
        """
        self._check_params()
        over = self._direction() == "over-sampling"
        classes, counts = np.unique(np.asarray(y), return_counts=True)
        ratio = 1.0 if self.ratio is None and self.power is None else self.ratio
        terms = [counts.astype(float)]
        anchor = counts.max() if over else counts.min()
        if ratio is not None:
            terms.append(np.full(len(counts), anchor * ratio if over else anchor / ratio))
        if self.power is not None:
            terms.append(anchor * (counts / anchor) ** float(self.power))
        target = np.max(terms, axis=0) if over else np.min(terms, axis=0)
        # Round before flooring so that 100 * 0.29 gives 29, not 28.
        target = np.floor(np.round(target, 6)).astype(int)
        target = np.maximum(target, counts) if over else np.minimum(target, counts)
        # Plain Python keys: equal (and hash equal) to the numpy scalars imbalanced-learn compares them with.
        return {klass: int(n) for klass, n, old in zip(classes.tolist(), target, counts) if n != old}

    def _check_params(self):
        try:
            self._validate_params()
            for name in ("ratio", "power"):
                value = getattr(self, name)
                if isinstance(value, (bool, np.bool_)):
                    raise InvalidParameterError(
                        f"The {name!r} parameter of RatioStrategy must be a float, not a bool. Got {value!r} instead."
                    )
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"sampling_strategy={self!r} is invalid: {exc}") from None

    def _direction(self):
        current = _CURRENT_SAMPLER.get()
        if current is None:
            if self.kind == "auto":
                raise ValueError(
                    f"sampling_strategy={self!r} takes kind='auto' from imbsk's samplers (or the sampler inside "
                    "imbsk.sampling.NDSampler); with any other sampler give kind='over' or kind='under'."
                )
            return _KINDS[self.kind]
        name, sampling_type = current
        if sampling_type not in _KINDS.values():
            raise ValueError(
                f"sampling_strategy={self!r} sets class counts for over- or under-samplers; {name} is neither "
                f"(its sampling type is {sampling_type!r}) and cannot use it."
            )
        if self.kind != "auto" and _KINDS[self.kind] != sampling_type:
            raise ValueError(
                f"sampling_strategy={self!r} asks for {_KINDS[self.kind]}, but {name} does {sampling_type}; "
                "use kind='auto' or the matching kind."
            )
        return sampling_type

    def __eq__(self, other):
        return type(other) is type(self) and other.get_params() == self.get_params()

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(self.get_params().items()))))
