"""Balance cascade: each round removes the majority samples the ensemble already classifies well."""

import numpy as np

from ._base import BaseUnderSamplingEnsemble, shared_docs


@shared_docs
class BalanceCascadeClassifier(BaseUnderSamplingEnsemble):
    """Balance cascade: members on shrinking majority pools, the well-classified samples dropped each round.

    Every member is fitted on the minority and a random under-sample of the majority *pool*. The pool
    starts as the whole majority class; after each member but the last, the mean ``predict_proba`` of the
    members so far rates the pool and the samples given the highest probability of their true class
    (those the ensemble classifies correctly with the widest margin) are removed, at the rate
    ``f = (n_target / n_class) ** (1 / (n_estimators - 1))`` per round that Liu et al. (2009) use so that
    the pool has shrunk to exactly the target count for the last member. Later members therefore
    concentrate on the majority samples the ensemble still gets wrong.

    Differences from the paper: the paper's members are AdaBoost ensembles whose thresholds are
    adjusted to a false-positive rate of ``f``, and the final decision sums their scores; here any base
    estimator is a member, "classified correctly with the widest margin" is the top ``1 - f`` of the
    pool by the ensemble's probability (the same ranking as the threshold), and the final decision is
    the mean ``predict_proba``, as in imbalanced-ensemble. On several classes, each class above its
    target is reduced with its own probability column.

    Members are fitted one after another (each round needs the previous ones' predictions); ``n_jobs``
    parallelises prediction over the members. ``X`` may have any number of dimensions; members receive
    rows of ``X``.

    Parameters
    ----------
    estimator : estimator with predict_proba, default=None
        The base estimator, cloned for each member (any scikit-learn classifier, a
        :class:`~imbsk.CNNClassifier`, a pipeline). ``None`` means ``DecisionTreeClassifier()``. Every
        ``random_state`` parameter of a member is set from the member's own seed.
    n_estimators : int, default=10
        Number of members (rounds), at least 1.
    sampling_strategy : float, str, dict or callable, default="auto"
        Number of samples of each class a member sees (and the final pool size), as for
        imbalanced-learn's under-samplers; ``"auto"`` brings every class down to the smallest, a float
        is the minority-to-majority ratio on binary targets, :class:`imbsk.sampling.RatioStrategy` works
        on any number of classes.
    {n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seeds the draws, the tie-breaking among equally rated samples and every member.

    Attributes
    ----------
    {attributes}
    pool_sizes_ : list of dict
        For each member, the size of each reduced class's pool it was drawn from.

    See Also
    --------
    SelfPacedEnsembleClassifier : Under-samples by hardness bins instead of dropping samples.

    References
    ----------
    .. [1] X.-Y. Liu, J. Wu and Z.-H. Zhou, "Exploratory Undersampling for Class-Imbalance Learning",
       IEEE Transactions on Systems, Man, and Cybernetics, Part B 39(2), 2009, pp. 539-550.

    Examples
    --------
    >>> from imbsk.datasets import make_toy_2d
    >>> from imbsk.ensemble import BalanceCascadeClassifier
    >>> X, y = make_toy_2d("overlapping", n_samples=1100, imbalance_ratio=10, random_state=0)
    >>> cascade = BalanceCascadeClassifier(n_estimators=4, random_state=0).fit(X, y)
    >>> [sizes[0] for sizes in cascade.pool_sizes_]
    [1000, 464, 215, 100]
    """

    def _start_rounds(self, codes, target):
        state = super()._start_rounds(codes, target)
        state["pool"] = {c: state["class_rows"][c] for c in target}
        state["keep_rate"] = {
            c: (n / len(state["class_rows"][c])) ** (1.0 / max(self.n_estimators - 1, 1)) for c, n in target.items()
        }
        self.pool_sizes_ = []
        return state

    def _select_class(self, state, i, c, n, proba, rng):
        pool = state["pool"][c]
        if i > 0:
            n_keep = max(n, int(round(len(state["class_rows"][c]) * state["keep_rate"][c] ** i)))
            # Highest probability of the true class first; a random order first breaks ties at random.
            shuffled = rng.permutation(pool)
            order = np.argsort(-proba[shuffled, c], kind="stable")
            pool = state["pool"][c] = np.sort(shuffled[order[len(pool) - n_keep:]])
        return rng.choice(pool, size=n, replace=False)

    def _select_rows(self, state, i, proba, rng):
        rows = super()._select_rows(state, i, proba, rng)
        labels = self.classes_.tolist()
        self.pool_sizes_.append({labels[c]: len(state["pool"][c]) for c in state["target"]})
        return rows

    def _rows_to_rate(self, state):
        return np.concatenate([state["pool"][c] for c in state["target"]] or [np.zeros(0, dtype=int)])
