import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

from imbsk.datasets import ToyTask, make_toy_2d
from imbsk.pipeline import make_pipeline
from imbsk.sampling import RandomUnderSampler


@pytest.mark.parametrize("kind", ["separable", "overlapping"])
@pytest.mark.parametrize(("n_samples", "ratio", "counts"), [(1000, 1, [500, 500]), (1100, 10, [1000, 100]),
                                                            (505, 100, [500, 5]), (1000, 3.5, [778, 222])])
def test_counts_shapes_and_dtypes(kind, n_samples, ratio, counts):
    X, y = make_toy_2d(kind, n_samples=n_samples, imbalance_ratio=ratio, random_state=0)
    assert X.shape == (n_samples, 2) and X.dtype == np.float64
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == counts


@pytest.mark.parametrize("kind", ["separable", "overlapping"])
def test_reproducible_for_a_seed_and_different_across_seeds(kind):
    a = make_toy_2d(kind, n_samples=300, imbalance_ratio=5, random_state=7)
    b = make_toy_2d(kind, n_samples=300, imbalance_ratio=5, random_state=7)
    c = make_toy_2d(kind, n_samples=300, imbalance_ratio=5, random_state=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_separable_kind_is_linearly_separable_at_1_to_100():
    X, y = make_toy_2d("separable", n_samples=5050, imbalance_ratio=100, random_state=0)
    clf = LinearSVC(C=1000, max_iter=20000).fit(X, y)
    assert (clf.predict(X) == y).all()
    # The margin is empty: no sample lies within 0.25 of the rotated boundary.
    u = X @ np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)])
    assert np.abs(u).min() >= 0.25


def test_densities_integrate_to_one_and_bayes_rule_is_consistent():
    task = ToyTask("overlapping")
    g = np.linspace(-7, 7, 401)
    xx, yy = np.meshgrid(g, g)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    for label in (0, 1):
        mass = np.exp(task.log_density(grid, label)).sum() * (g[1] - g[0]) ** 2
        assert mass == pytest.approx(1.0, abs=1e-3)
    ceiling = task.bayes_balanced_accuracy()
    assert 0.75 < ceiling < 0.95
    # Monte Carlo estimate of the Bayes rule's balanced accuracy agrees with the integral.
    X, y = task.sample(100_000, 100_000, random_state=1)
    assert balanced_accuracy_score(y, task.bayes_predict(X)) == pytest.approx(ceiling, abs=0.005)


def test_bayes_boundary_is_not_linear_on_the_overlapping_kind():
    task = ToyTask("overlapping")
    X, y = task.sample(20_000, 20_000, random_state=0)
    linear = LinearSVC(max_iter=5000).fit(X, task.bayes_predict(X))
    assert balanced_accuracy_score(task.bayes_predict(X), linear.predict(X)) < 0.9


def test_separable_ceiling_and_bayes_rule_are_perfect():
    task = ToyTask("separable")
    X, y = task.sample(2000, 2000, random_state=0)
    assert task.bayes_balanced_accuracy() == 1.0
    np.testing.assert_array_equal(task.bayes_predict(X), y)


def _cv_balanced_accuracy(estimator, X, y):
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    return cross_val_score(estimator, X, y, cv=folds, scoring="balanced_accuracy").mean()


def test_imbalance_is_not_the_whole_problem():
    """The toy story's claims, on the demo's data size (5,000 samples, IR 100)."""
    knn = KNeighborsClassifier()
    Xs, ys = make_toy_2d("separable", n_samples=5000, imbalance_ratio=100, random_state=0)
    assert _cv_balanced_accuracy(knn, Xs, ys) >= 0.98

    Xo, yo = make_toy_2d("overlapping", n_samples=5000, imbalance_ratio=100, random_state=0)
    ceiling = ToyTask("overlapping").bayes_balanced_accuracy()
    plain = _cv_balanced_accuracy(knn, Xo, yo)
    assert ceiling - plain >= 0.05
    remedied = _cv_balanced_accuracy(make_pipeline(RandomUnderSampler(random_state=0), knn), Xo, yo)
    assert remedied - plain >= (ceiling - plain) / 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "circles"}, r"kind must be one of \['separable', 'overlapping'\]; got 'circles'"),
        ({"imbalance_ratio": 0.5}, r"imbalance_ratio must be a finite number >= 1; got 0.5"),
        ({"imbalance_ratio": float("nan")}, r"imbalance_ratio must be a finite number >= 1; got nan"),
        ({"imbalance_ratio": "10"}, r"imbalance_ratio must be a finite number >= 1; got '10'"),
        ({"n_samples": 50, "imbalance_ratio": 100}, r"n_samples=50 is too small .* at least 51"),
        ({"n_samples": 100.0}, r"n_samples must be an integer; got 100.0 of type float"),
        ({"n_samples": True}, r"n_samples must be an integer; got True"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    params = {"kind": "overlapping", "n_samples": 200, "imbalance_ratio": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_toy_2d(**params)


def test_huge_ratio_gives_an_answer_not_a_hang():
    # The smallest valid n_samples used to be searched one by one, which never ends once n + 1 == n in
    # floating point.
    with pytest.raises(ValueError, match=r"n_samples=10 is too small .* at least about 5e\+299"):
        make_toy_2d(n_samples=10, imbalance_ratio=1e300)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 5), r"n_majority must be an integer >= 0; got -1"),
        ((5, 2.5), r"n_minority must be an integer >= 0; got 2.5"),
        ((5, True), r"n_minority must be an integer >= 0; got True"),
    ],
)
def test_sample_refuses_bad_counts(args, match):
    with pytest.raises(ValueError, match=match):
        ToyTask("overlapping").sample(*args)


@pytest.mark.parametrize("kind", ["separable", "overlapping"])
def test_densities_refuse_bad_points_and_labels(kind):
    task = ToyTask(kind)
    # Six numbers are not three points: reshaping them would silently give a wrong answer.
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\).*got shape \(2, 3\)"):
        task.log_density(np.zeros((2, 3)), 0)
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        task.bayes_predict(np.zeros(4))
    with pytest.raises(ValueError, match=r"label must be 0 \(majority\) or 1 \(minority\); got 2"):
        task.log_density(np.zeros((1, 2)), 2)
    with pytest.raises(ValueError, match=r"resolution must be an integer >= 2; got 1"):
        task.bayes_balanced_accuracy(resolution=1)
    # One point as a pair is still accepted.
    assert task.log_density([0.0, 0.0], 0).shape == (1,)
