"""Self-paced ensemble: hardness-harmonised under-sampling of the majority (Liu et al., ICDE 2020)."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseUnderSamplingEnsemble, shared_docs

_P_FLOOR = 1e-12


def hardness(p_true, kind):
    """Hardness of each sample from the probability the ensemble gives to its true class."""
    if kind == "absolute_error":
        return 1.0 - p_true
    if kind == "squared_error":
        return (1.0 - p_true) ** 2
    return -np.log(np.clip(p_true, _P_FLOOR, 1.0))  # cross_entropy


def allocate(n, weights, capacity=None):
    """Split ``n`` draws over bins in proportion to ``weights``, no bin above its ``capacity``.

    Bins that would exceed their capacity are filled and the rest is shared among the others in
    proportion to their weights; counts are rounded by largest remainder. ``capacity=None`` means no
    limit (draws with replacement). Requires ``sum(capacity) >= n``.
    """
    weights = np.asarray(weights, dtype=np.float64)
    ideal = np.zeros_like(weights)
    free = weights > 0
    left = float(n)
    while True:
        ideal[free] = left * weights[free] / weights[free].sum()
        if capacity is None:
            break
        over = free & (ideal > capacity)
        if not over.any():
            break
        ideal[over] = capacity[over]
        free &= ~over
        left = n - ideal[~free].sum()
        if not free.any():
            break
    counts = np.floor(ideal + 1e-9).astype(int)
    short = int(n - counts.sum())
    if short > 0:
        room = weights > 0 if capacity is None else counts < capacity
        order = np.argsort(-(ideal - counts) + 2.0 * ~room, kind="stable")  # bins without room last
        counts[order[:short]] += 1
    return counts


def self_paced_choice(rows, hard, n, alpha, k_bins, replacement, rng):
    """Draw ``n`` of ``rows`` so that each hardness bin contributes in proportion to ``1 / (h_bin + alpha)``.

    ``hard`` is the hardness of each row; the range ``[min, max]`` is cut into ``k_bins`` bins of equal
    width, ``h_bin`` is the mean hardness of a bin's rows. With ``alpha = 0`` every bin brings the same
    total hardness (many easy samples, few hard ones); as ``alpha`` grows the bins tend to equal counts,
    which gives the few hard samples more and more room. If all rows are equally hard, the draw is uniform.
    """
    lo, hi = float(np.min(hard)), float(np.max(hard))
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return rng.choice(rows, size=n, replace=replacement)
    edges = np.linspace(lo, hi, k_bins + 1)
    # Bins are [e_j, e_j+1) except the last, which holds the maximum too.
    bin_of = np.clip(np.searchsorted(edges, hard, side="right") - 1, 0, k_bins - 1)
    population = np.bincount(bin_of, minlength=k_bins)
    total = np.bincount(bin_of, weights=hard, minlength=k_bins)
    weights = np.zeros(k_bins)
    filled = population > 0
    weights[filled] = 1.0 / (total[filled] / population[filled] + alpha)
    counts = allocate(n, weights, None if replacement else population)
    chosen = [rng.choice(rows[bin_of == j], size=counts[j], replace=replacement) for j in np.flatnonzero(counts)]
    return np.concatenate(chosen)


@shared_docs
class SelfPacedEnsembleClassifier(BaseUnderSamplingEnsemble):
    """Self-paced ensemble: each member on the minority and a hardness-harmonised subset of the majority.

    The first member is fitted on a random under-sample. Before member ``i`` (``i >= 1``), the mean
    ``predict_proba`` of members ``0..i-1`` rates every majority sample's hardness (by default
    ``1 - p(true class)``); the class's hardness range is cut into ``k_bins`` equal-width bins, and bin
    ``b`` receives a share of the draws proportional to ``1 / (h_b + alpha_i)``, ``h_b`` its mean
    hardness and ``alpha_i = tan(i * pi / (2 (n_estimators - 1)))`` the self-paced factor. Early members
    thus see the hardness distribution "harmonised" (each bin the same total hardness: mostly easy and
    borderline samples, few outliers); late members, with ``alpha`` large, see bins of equal size, which
    over-represents the hard samples near the boundary. The last member has ``alpha = inf``.

    This is Algorithm 1 of Liu et al. (2020) with their ``n`` self-paced rounds after the first member,
    ``n = n_estimators - 1``. Every class whose target count (from ``sampling_strategy``) is below its
    size is reduced in this way, each with the hardness of its own column of ``predict_proba``; on
    several classes the default reduces every class to the smallest one, as imbalanced-ensemble does.

    Members are fitted one after another: each needs the predictions of the ones before, so ``n_jobs``
    parallelises prediction over the members, not fitting. The base estimator needs ``predict_proba``.
    ``X`` may have any number of dimensions (images ``(n, C, H, W)``); members receive rows of ``X``,
    never a flattened copy.

    Parameters
    ----------
    estimator : estimator with predict_proba, default=None
        The base estimator, cloned for each member: any scikit-learn classifier, a
        :class:`~imbsk.CNNClassifier`, or a pipeline. ``None`` means ``DecisionTreeClassifier()``. Every
        ``random_state`` parameter of a member (nested ones included) is set from the member's own seed.
    n_estimators : int, default=10
        Number of members, at least 1.
    sampling_strategy : float, str, dict or callable, default="auto"
        Number of samples of each class a member sees, as for imbalanced-learn's under-samplers:
        ``"auto"`` brings every class down to the smallest; a float (binary targets) is the minority to
        majority ratio in each member's training set; a dict gives counts; a callable, such as
        :class:`imbsk.sampling.RatioStrategy`, computes them from ``y``.
    k_bins : int, default=5
        Number of hardness bins.
    hardness : {"absolute_error", "squared_error", "cross_entropy"}, default="absolute_error"
        Hardness of a sample from the ensemble's probability ``p`` of its true class: ``1 - p``,
        ``(1 - p) ** 2`` or ``-log p``.
    replacement : bool, default=False
        Draw within each bin with replacement. Without (the default), a bin holding fewer samples than
        its share gives them all and the rest of its share goes to the other bins, so a member never
        sees the same sample twice. imbalanced-ensemble draws with replacement by default.
    {n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seeds the draws and every member; the same seed gives the same ensemble.

    Attributes
    ----------
    {attributes}

    See Also
    --------
    BalanceCascadeClassifier : Drops the majority samples the ensemble already gets right.

    References
    ----------
    .. [1] Z. Liu, W. Cao, Z. Gao, J. Bian, H. Chen, Y. Chang and T.-Y. Liu, "Self-paced Ensemble for
       Highly Imbalanced Massive Data Classification", ICDE 2020, pp. 841-852.

    Examples
    --------
    >>> from imbsk.datasets import make_toy_2d
    >>> from imbsk.ensemble import SelfPacedEnsembleClassifier
    >>> X, y = make_toy_2d("overlapping", n_samples=1100, imbalance_ratio=10, random_state=0)
    >>> spe = SelfPacedEnsembleClassifier(n_estimators=5, random_state=0).fit(X, y)
    >>> [len(rows) for rows in spe.estimators_samples_]
    [200, 200, 200, 200, 200]
    """

    _parameter_constraints: dict = {
        **BaseUnderSamplingEnsemble._parameter_constraints,
        "k_bins": [Interval(Integral, 1, None, closed="left")],
        "hardness": [StrOptions({"absolute_error", "squared_error", "cross_entropy"})],
        "replacement": ["boolean"],
    }

    def __init__(
        self,
        estimator=None,
        n_estimators=10,
        *,
        sampling_strategy="auto",
        k_bins=5,
        hardness="absolute_error",
        replacement=False,
        n_jobs=None,
        random_state=None,
    ):
        super().__init__(
            estimator, n_estimators, sampling_strategy=sampling_strategy, n_jobs=n_jobs, random_state=random_state
        )
        self.k_bins = k_bins
        self.hardness = hardness
        self.replacement = replacement

    def _alpha(self, i):
        return np.tan(np.pi * 0.5 * i / max(self.n_estimators - 1, 1))

    def _select_class(self, state, i, c, n, proba, rng):
        rows = state["class_rows"][c]
        if i == 0:
            # Cold start: no predictions yet, so a random under-sample, as in the paper.
            return rng.choice(rows, size=n, replace=False)
        hard = hardness(proba[rows, c], self.hardness)
        return self_paced_choice(rows, hard, n, self._alpha(i), self.k_bins, self.replacement, rng)
