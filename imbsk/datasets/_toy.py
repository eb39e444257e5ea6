"""Toy 2-D tasks whose class-conditional densities are known exactly.

Two kinds show that the imbalance ratio is not the whole problem: on the ``"separable"`` kind the
classes are split by a clear margin and even a plain classifier stays perfect at 1:100; on the
``"overlapping"`` kind the classes overlap, are multi-modal and have a non-linear Bayes boundary, and a
plain classifier collapses toward the majority as the ratio grows. Because the densities are known, the
Bayes-optimal balanced accuracy of each task is computable: the ceiling for every toy benchmark.
"""

import math
import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state

__all__ = ["ToyTask", "make_toy_2d"]

KINDS = ("separable", "overlapping")

# Separable kind: each class is uniform on a rectangle in a frame rotated by _ANGLE; along the first
# rotated axis the majority lives on [-3, -MARGIN/2] and the minority on [MARGIN/2, 2], so any point
# with rotated first coordinate in (-MARGIN/2, MARGIN/2) is empty and the classes are linearly separable.
_MARGIN = 0.5
_ANGLE = np.pi / 6
_BOXES = {0: ((-3.0, -_MARGIN / 2), (-2.5, 2.5)), 1: ((_MARGIN / 2, 2.0), (-1.5, 1.5))}

# Overlapping kind: Gaussian mixtures. The majority surrounds a minority that sits in two modes, one
# between majority modes and one inside the majority's spread, so the Bayes boundary is curved.
_MIX = {
    0: {
        "means": np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.8]]),
        "scale": 0.9,
        "weights": np.array([1 / 3, 1 / 3, 1 / 3]),
    },
    1: {
        "means": np.array([[0.0, -0.2], [2.2, 1.5]]),
        "scale": 0.6,
        "weights": np.array([0.5, 0.5]),
    },
}


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


class ToyTask:
    """A 2-D binary task with known class-conditional densities.

    Class 0 is the majority and class 1 the minority; the class-conditional densities do not depend on
    the imbalance ratio, only the number of samples drawn from each does.

    Parameters
    ----------
    kind : {"separable", "overlapping"}
        ``"separable"``: two uniform rectangles split by a margin of 0.5 along a tilted line, so a
        linear classifier reaches zero error. ``"overlapping"``: Gaussian mixtures (three majority
        modes, two minority modes) that overlap; the Bayes boundary is non-linear.

    Examples
    --------
    >>> from imbsk.datasets import ToyTask
    >>> task = ToyTask("overlapping")
    >>> X, y = task.sample(900, 100, random_state=0)
    >>> X.shape, int(y.sum())
    ((1000, 2), 100)
    >>> 0.5 < task.bayes_balanced_accuracy() < 1.0
    True
    """

    def __init__(self, kind):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}.")
        self.kind = kind

    def __repr__(self):
        return f"ToyTask({self.kind!r})"

    # -- sampling -----------------------------------------------------------------------------------
    def _sample_class(self, label, n, rng):
        if self.kind == "separable":
            (u0, u1), (v0, v1) = _BOXES[label]
            uv = np.column_stack([rng.uniform(u0, u1, n), rng.uniform(v0, v1, n)])
            return uv @ _rotation(_ANGLE).T
        mix = _MIX[label]
        comp = rng.choice(len(mix["weights"]), size=n, p=mix["weights"])
        return mix["means"][comp] + mix["scale"] * rng.standard_normal((n, 2))

    def sample(self, n_majority, n_minority, random_state=None):
        """Draw a shuffled sample with the given class counts.

        Parameters
        ----------
        n_majority, n_minority : int
            Number of samples of class 0 and class 1.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw; the same seed gives the same sample.

        Returns
        -------
        X : ndarray of shape (n_majority + n_minority, 2), float64
        y : ndarray of shape (n_majority + n_minority,), int64
        """
        for name, n in (("n_majority", n_majority), ("n_minority", n_minority)):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
                raise ValueError(f"{name} must be an integer >= 0; got {n!r}.")
        rng = check_random_state(random_state)
        X = np.vstack([self._sample_class(0, n_majority, rng), self._sample_class(1, n_minority, rng)])
        y = np.repeat(np.array([0, 1], dtype=np.int64), [n_majority, n_minority])
        order = rng.permutation(len(y))
        return X[order], y[order]

    # -- densities ----------------------------------------------------------------------------------
    def log_density(self, X, label):
        """Log of the class-conditional density ``p(x | y=label)`` (``-inf`` outside its support).

        Parameters
        ----------
        X : array-like of shape (n_samples, 2) or (2,)
            Points; a 1-D pair is one point.
        label : {0, 1}

        Returns
        -------
        log_p : ndarray of shape (n_samples,)
        """
        X = _check_points(X)
        if isinstance(label, bool) or label not in (0, 1):
            raise ValueError(f"label must be 0 (majority) or 1 (minority); got {label!r}.")
        if self.kind == "separable":
            uv = X @ _rotation(_ANGLE)  # inverse rotation: rows times R == R^T applied to each row
            (u0, u1), (v0, v1) = _BOXES[label]
            inside = (uv[:, 0] >= u0) & (uv[:, 0] <= u1) & (uv[:, 1] >= v0) & (uv[:, 1] <= v1)
            log_p = np.full(len(X), -np.inf)
            log_p[inside] = -np.log((u1 - u0) * (v1 - v0))
            return log_p
        mix = _MIX[label]
        s = mix["scale"]
        sq = ((X[:, None, :] - mix["means"][None]) ** 2).sum(-1)
        log_comp = -sq / (2 * s**2) - np.log(2 * np.pi * s**2) + np.log(mix["weights"])[None]
        return logsumexp(log_comp, axis=1)

    def log_density_ratio(self, X):
        """``log p(x | y=1) - log p(x | y=0)``: positive where the minority is more likely.

        Outside both supports of the separable kind the ratio is undefined and returned as 0.
        """
        l1, l0 = self.log_density(X, 1), self.log_density(X, 0)
        with np.errstate(invalid="ignore"):
            ratio = l1 - l0
        return np.where(np.isnan(ratio), 0.0, ratio)

    def bayes_predict(self, X):
        """Predictions of the balanced-accuracy-optimal rule (equal class priors).

        Maximising balanced accuracy weights both classes equally whatever their counts, so the
        optimal rule predicts the minority where its density exceeds the majority's.
        """
        return (self.log_density_ratio(X) > 0).astype(np.int64)

    def bayes_balanced_accuracy(self, resolution=1201):
        """Bayes-optimal balanced accuracy, by numerical integration of the densities.

        Parameters
        ----------
        resolution : int, default=1201
            Grid points per axis over the square that holds (nearly) all probability mass.

        Returns
        -------
        score : float
            ``(P(correct | y=0) + P(correct | y=1)) / 2`` for :meth:`bayes_predict`.
        """
        if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral) or resolution < 2:
            raise ValueError(f"resolution must be an integer >= 2; got {resolution!r}.")
        if self.kind == "separable":
            return 1.0
        lim = 7.0
        g = np.linspace(-lim, lim, resolution)
        xx, yy = np.meshgrid(g, g)
        grid = np.column_stack([xx.ravel(), yy.ravel()])
        cell = (g[1] - g[0]) ** 2
        p0 = np.exp(self.log_density(grid, 0)) * cell
        p1 = np.exp(self.log_density(grid, 1)) * cell
        pred1 = p1 > p0
        return float(0.5 * (p0[~pred1].sum() / p0.sum() + p1[pred1].sum() / p1.sum()))


def _check_points(X):
    """``X`` as float points of shape (n, 2); a 1-D pair is one point. Other shapes are refused, not reshaped."""
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be numeric points of shape (n_samples, 2); got {exc}.") from exc
    if X.shape == (2,):
        return X.reshape(1, 2)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2) (or (2,) for one point); got shape {X.shape}.")
    return X


def _min_samples(ratio):
    """Smallest n_samples for which ``round(n / (1 + ratio))`` is at least 1, as _check_count_split computes."""
    need = max(2, math.floor(0.5 * (1 + ratio)))
    while round(need / (1 + ratio)) < 1:
        # For huge ratios, need + 1 gives the same float quotient; stepping to the next float ends the loop.
        need = max(need + 1, int(math.nextafter(float(need), math.inf)))
    return need


def _check_count_split(n_samples, imbalance_ratio):
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(f"n_samples must be an integer; got {n_samples!r} of type {type(n_samples).__name__}.")
    if (
        isinstance(imbalance_ratio, bool)
        or not isinstance(imbalance_ratio, numbers.Real)
        or not np.isfinite(imbalance_ratio)
        or imbalance_ratio < 1
    ):
        raise ValueError(f"imbalance_ratio must be a finite number >= 1; got {imbalance_ratio!r}.")
    n_minority = int(round(n_samples / (1 + imbalance_ratio)))
    if n_minority < 1 or n_samples - n_minority < 1:
        need = _min_samples(imbalance_ratio)
        raise ValueError(
            f"n_samples={n_samples} is too small to hold one minority sample at "
            f"imbalance_ratio={imbalance_ratio}; n_samples must be at least "
            f"{need if need < 10**15 else f'about {need:.3g}'}."
        )
    return int(n_samples) - n_minority, n_minority


def make_toy_2d(kind="overlapping", n_samples=2000, imbalance_ratio=10, random_state=None):
    """Draw a toy 2-D binary task with a chosen imbalance ratio.

    Parameters
    ----------
    kind : {"separable", "overlapping"}, default="overlapping"
        Which :class:`ToyTask` to sample from.
    n_samples : int, default=2000
        Total number of samples.
    imbalance_ratio : float, default=10
        Majority-to-minority ratio (>= 1). The minority count is ``round(n_samples / (1 + ratio))``.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives exactly the same data.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        0 for the majority, 1 for the minority.

    See Also
    --------
    ToyTask : the densities behind the data, and the Bayes-optimal balanced accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.datasets import make_toy_2d
    >>> X, y = make_toy_2d("separable", n_samples=1010, imbalance_ratio=100, random_state=0)
    >>> np.bincount(y).tolist()
    [1000, 10]
    """
    task = ToyTask(kind)
    n_majority, n_minority = _check_count_split(n_samples, imbalance_ratio)
    return task.sample(n_majority, n_minority, random_state=random_state)
