import warnings
from collections import Counter

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import AdaBoostClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from imbsk import CNNClassifier
from imbsk.datasets import make_toy_2d
from imbsk.ensemble import (
    BalanceCascadeClassifier,
    BalancedBaggingClassifier,
    EasyEnsembleClassifier,
    RUSBoostClassifier,
    SelfPacedEnsembleClassifier,
)
from imbsk.ensemble._self_paced import allocate, self_paced_choice
from imbsk.pipeline import make_pipeline
from imbsk.sampling import (
    SMOTE,
    AugmentedOverSampler,
    NDSampler,
    RandomOverSampler,
    RandomUnderSampler,
    RatioStrategy,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_images(n_majority, n_minority, seed, shift=60, size=8):
    """uint8 (n, 1, size, size) noise; the minority has a brighter centre patch."""
    rng = np.random.default_rng(seed)
    X = rng.normal(128, 40, size=(n_majority + n_minority, 1, size, size))
    y = np.array([0] * n_majority + [1] * n_minority)
    X[y == 1, :, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] += shift
    return np.clip(X, 0, 255).astype(np.uint8), y


class CentreBrightness(ClassifierMixin, BaseEstimator):
    """A quick stand-in for a CNN: logistic regression on the mean of the centre patch of N-D samples.

    It takes ``sample_weight`` and ``random_state`` and records the shape and dtype of what ``fit`` saw.
    """

    def __init__(self, random_state=None):
        self.random_state = random_state

    @staticmethod
    def _feature(X):
        h = X.shape[-1] // 4
        return X[..., h:-h, h:-h].reshape(len(X), -1).mean(axis=1, keepdims=True) / 255.0

    def fit(self, X, y, sample_weight=None):
        self.fit_shape_, self.fit_dtype_ = X.shape, X.dtype
        self.lr_ = LogisticRegression(C=100.0).fit(self._feature(X), y, sample_weight=sample_weight)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba(self, X):
        return self.lr_.predict_proba(self._feature(X))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


def tiny_cnn(**params):
    return CNNClassifier(
        **{"module__width": 4, "module__dropout": 0.0, "max_epochs": 2, "batch_size": 16, "lr": 0.05,
           "random_state": 0, **params}
    )


def all_ensembles(base, n=3):
    """One of each ensemble around ``base`` (RUSBoost needs a base that takes sample_weight)."""
    return {
        "spe": SelfPacedEnsembleClassifier(base, n, random_state=0),
        "cascade": BalanceCascadeClassifier(base, n, random_state=0),
        "under-bagging": BalancedBaggingClassifier(base, n, random_state=0),
        "smote-bagging": BalancedBaggingClassifier(base, n, sampler=NDSampler(SMOTE(k_neighbors=3)), random_state=0),
        "over-bagging": BalancedBaggingClassifier(base, n, sampler=RandomOverSampler(), random_state=0),
        "augmented-bagging": BalancedBaggingClassifier(base, n, sampler=AugmentedOverSampler(), random_state=0),
        "easy": EasyEnsembleClassifier(n, estimator=base, random_state=0),
        "rusboost": RUSBoostClassifier(base, n_estimators=n, random_state=0),
    }


@pytest.fixture(scope="module")
def images():
    return make_images(200, 20, seed=0), make_images(200, 200, seed=1)


# ----------------------------------------------------------------------------- the self-paced draw


def test_allocate_shares_in_proportion_and_respects_capacity():
    assert allocate(10, [1.0, 1.0, 2.0]).tolist() == [3, 2, 5]  # ties in the remainder: the first bin
    counts = allocate(10, np.array([1.0, 1.0, 8.0]), capacity=np.array([10, 10, 2]))
    assert counts.tolist() == [4, 4, 2]  # the full bin's excess shared by the others
    assert allocate(7, np.array([0.0, 1.0, 1.0]), capacity=np.array([5, 0, 9])).tolist() == [0, 0, 7]


def test_self_paced_choice_harmonises_hardness_then_evens_out_bins():
    rng = np.random.RandomState(0)
    # 900 easy (hardness 0.05), 90 middling (0.5), 10 hard (0.95) majority samples.
    hard = np.r_[np.full(900, 0.05), np.full(90, 0.5), np.full(10, 0.95)]
    rows = np.arange(1000)
    early = self_paced_choice(rows, hard, 100, 0.0, 3, True, rng)
    # alpha = 0: each bin brings the same total hardness, so counts are proportional to 1 / h.
    n_bin = [np.sum(early < 900), np.sum((early >= 900) & (early < 990)), np.sum(early >= 990)]
    expected = 100 * np.array([1 / 0.05, 1 / 0.5, 1 / 0.95]) / sum([1 / 0.05, 1 / 0.5, 1 / 0.95])
    np.testing.assert_allclose(n_bin, expected, atol=1)
    late = self_paced_choice(rows, hard, 99, 1e9, 3, True, rng)
    assert [np.sum(late < 900), np.sum((late >= 900) & (late < 990)), np.sum(late >= 990)] == [33, 33, 33]
    # Without replacement the hard bin gives all it has and the rest goes elsewhere.
    late = self_paced_choice(rows, hard, 99, 1e9, 3, False, rng)
    assert len(np.unique(late)) == 99 and np.sum(late >= 990) == 10
    uniform = self_paced_choice(rows, np.full(1000, 0.3), 50, 0.0, 5, False, rng)
    assert len(np.unique(uniform)) == 50


def test_self_paced_members_see_all_minority_and_distinct_majority():
    X, y = make_toy_2d("overlapping", n_samples=1100, imbalance_ratio=10, random_state=0)
    spe = SelfPacedEnsembleClassifier(DecisionTreeClassifier(max_depth=3), 6, random_state=0).fit(X, y)
    minority = set(np.flatnonzero(y == 1))
    for rows in spe.estimators_samples_:
        assert set(rows[y[rows] == 1]) == minority
        assert np.sum(y[rows] == 0) == len(minority) == len(np.unique(rows[y[rows] == 0]))
    # Later members, with a larger self-paced factor, hold more of the samples the ensemble finds hard.
    p_true = np.mean([m.predict_proba(X)[:, 0] for m in spe.estimators_[:-1]], axis=0)
    hardness = [np.mean(1 - p_true[rows[y[rows] == 0]]) for rows in spe.estimators_samples_]
    assert hardness[-1] > hardness[1]
    assert spe.sampling_strategy_ == {0: 100}


def test_cascade_pools_shrink_geometrically_dropping_well_classified_majority():
    X, y = make_toy_2d("overlapping", n_samples=1100, imbalance_ratio=10, random_state=0)
    cascade = BalanceCascadeClassifier(LogisticRegression(), 3, random_state=0).fit(X, y)
    assert [s[0] for s in cascade.pool_sizes_] == [1000, 316, 100]
    majority = np.flatnonzero(y == 0)
    p0 = cascade.estimators_[0].predict_proba(X[majority])[:, 0]
    kept_by_2nd = cascade.estimators_samples_[1][y[cascade.estimators_samples_[1]] == 0]
    # The pool of the second member is what remains after the 684 most confident majority samples.
    threshold = np.sort(p0)[::-1][1000 - 316 - 1]
    assert np.all(p0[np.searchsorted(majority, kept_by_2nd)] <= threshold)
    # The last member trains on the whole final pool.
    assert np.sum(y[cascade.estimators_samples_[-1]] == 0) == 100


def test_multiclass_and_string_labels():
    rng = np.random.RandomState(0)
    counts = {"cat": 300, "dog": 100, "owl": 30}
    y = np.repeat(list(counts), list(counts.values()))
    X = rng.normal(size=(len(y), 2)) + (y[:, None] == np.array(["dog", "owl"])) * 3.0
    for cls in (SelfPacedEnsembleClassifier, BalanceCascadeClassifier):
        est = cls(DecisionTreeClassifier(max_depth=4), 4, random_state=0).fit(X, y)
        for rows in est.estimators_samples_:
            assert Counter(y[rows].tolist()) == {"cat": 30, "dog": 30, "owl": 30}
        assert est.predict_proba(X).shape == (len(y), 3) and est.classes_.tolist() == ["cat", "dog", "owl"]
        assert set(est.predict(X)) <= set(counts)
        assert balanced_accuracy_score(y, est.predict(X)) > 0.8
    # A ratio on any number of classes.
    est = SelfPacedEnsembleClassifier(n_estimators=2, sampling_strategy=RatioStrategy(0.5), random_state=0).fit(X, y)
    assert Counter(y[est.estimators_samples_[0]].tolist()) == {"cat": 60, "dog": 60, "owl": 30}


@pytest.mark.parametrize("cls", [SelfPacedEnsembleClassifier, BalanceCascadeClassifier])
def test_reproducible_and_members_seeded_apart(cls):
    X, y = make_toy_2d("overlapping", n_samples=550, imbalance_ratio=10, random_state=0)
    a = cls(DecisionTreeClassifier(max_features=1), 4, random_state=3).fit(X, y)
    b = cls(DecisionTreeClassifier(max_features=1), 4, random_state=3).fit(X, y)
    c = cls(DecisionTreeClassifier(max_features=1), 4, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    seeds = [m.random_state for m in a.estimators_]
    assert len(set(seeds)) == 4 and all(isinstance(s, int) for s in seeds)


def test_n_jobs_gives_the_same_probabilities():
    X, y = make_toy_2d("overlapping", n_samples=550, imbalance_ratio=10, random_state=0)
    one = SelfPacedEnsembleClassifier(n_estimators=4, random_state=0).fit(X, y)
    two = clone(one).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


# ----------------------------------------------------------------------------- N-D X


@pytest.mark.parametrize("name", list(all_ensembles(None)))
def test_members_receive_images_in_their_shape_and_dtype(images, name):
    (X, y), (X_test, y_test) = images
    ens = all_ensembles(CentreBrightness(), n=3)[name].fit(X, y)
    members = [getattr(m, "estimator_", None) or m for m in ens.estimators_]
    members = [m.steps[-1][1].estimator_ if hasattr(m, "steps") else m for m in members]
    assert {m.fit_shape_[1:] for m in members} == {(1, 8, 8)}
    assert {m.fit_dtype_ for m in members} == {np.dtype(np.uint8)}
    assert balanced_accuracy_score(y_test, ens.predict(X_test)) > 0.8
    assert ens.predict_proba(X_test).shape == (400, 2)
    with pytest.raises(ValueError, match="shape"):
        ens.predict(X_test[:, :, :4, :4])


def test_augmented_sampler_in_bagging_sees_images(images):
    (X, y), _ = images
    seen = []

    class Recorder(RandomOverSampler):
        def _fit_resample(self, X, y):
            seen.append(X.shape[1:])
            return super()._fit_resample(X, y)

    BalancedBaggingClassifier(CentreBrightness(), 2, sampler=Recorder(), random_state=0).fit(X, y)
    assert seen == [(1, 8, 8)] * 2


def test_two_d_input_is_imbalanced_learn_unchanged():
    from imblearn.ensemble import BalancedBaggingClassifier as Original

    X, y = make_toy_2d("overlapping", n_samples=550, imbalance_ratio=10, random_state=0)
    ours = BalancedBaggingClassifier(n_estimators=4, random_state=0).fit(X, y)
    theirs = Original(n_estimators=4, random_state=0).fit(X, y)
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.sample_shape_ is None


# ----------------------------------------------------------------------------- pipelines and searches


def _image_searches():
    cnn = tiny_cnn()
    return {
        "spe": SelfPacedEnsembleClassifier(cnn, random_state=0),
        "cascade": BalanceCascadeClassifier(cnn, random_state=0),
        "smote-bagging": BalancedBaggingClassifier(cnn, sampler=NDSampler(SMOTE(k_neighbors=3)), random_state=0),
        "easy": EasyEnsembleClassifier(estimator=cnn, random_state=0),
        # A CNNClassifier takes no sample_weight, which boosting needs: a weighted stand-in takes its place.
        "rusboost": RUSBoostClassifier(CentreBrightness(), random_state=0),
    }


@pytest.mark.parametrize(
    "name",
    # Each search is 20-25 CNN fits; the imbalanced-learn based ones run with -m slow.
    ["spe", "cascade", "rusboost", pytest.param("smote-bagging", marks=pytest.mark.slow),
     pytest.param("easy", marks=pytest.mark.slow)],
)
def test_grid_search_on_images_with_a_cnn_base(images, name):
    (X, y), (X_test, y_test) = images
    pipe = make_pipeline(_image_searches()[name])
    step = pipe.steps[0][0]
    grid = {f"{step}__n_estimators": [2, 3], f"{step}__sampling_strategy": [0.5, 1.0]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, grid, cv=cv, scoring="balanced_accuracy").fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert balanced_accuracy_score(y_test, search.predict(X_test)) > 0.7


def test_grid_search_on_toy_data_with_a_tree():
    X, y = make_toy_2d("overlapping", n_samples=1100, imbalance_ratio=10, random_state=0)
    X_test, y_test = make_toy_2d("overlapping", n_samples=2000, imbalance_ratio=1, random_state=1)
    tree = DecisionTreeClassifier(max_depth=4)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    for name, ens in all_ensembles(tree).items():
        if name == "augmented-bagging":  # image augmentation; on 2-D points it has nothing to augment
            continue
        pipe = make_pipeline(RandomUnderSampler(sampling_strategy=0.2, random_state=0), ens)
        step = pipe.steps[-1][0]
        grid = {f"{step}__n_estimators": [2, 5], f"{step}__sampling_strategy": [0.5, 1.0]}
        search = GridSearchCV(pipe, grid, cv=cv, scoring="balanced_accuracy").fit(X, y)
        assert balanced_accuracy_score(y_test, search.predict(X_test)) > 0.7, name  # chance: 0.5


def test_cross_validate_uses_each_folds_counts():
    X, y = make_toy_2d("overlapping", n_samples=550, imbalance_ratio=10, random_state=0)
    result = cross_validate(
        SelfPacedEnsembleClassifier(n_estimators=3, random_state=0), X, y, cv=5, return_estimator=True,
        scoring="balanced_accuracy",
    )
    assert [len(e.estimators_samples_[0]) for e in result["estimator"]] == [80] * 5
    assert np.mean(result["test_score"]) > 0.7


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("cls", [SelfPacedEnsembleClassifier, BalanceCascadeClassifier])
def test_base_without_predict_proba_is_refused(cls):
    X, y = make_toy_2d(n_samples=200, random_state=0)
    with pytest.raises(TypeError, match=r"estimator=SVC\(\) has no predict_proba"):
        cls(SVC()).fit(X, y)
    calibrated = CalibratedClassifierCV(SVC(), ensemble=False, cv=3)
    assert cls(calibrated, 2, random_state=0).fit(X, y).predict_proba(X).shape == (200, 2)


@pytest.mark.parametrize("ens", list(all_ensembles(None).values()), ids=list(all_ensembles(None)))
def test_zero_estimators_and_one_class_are_refused(ens):
    X, y = make_toy_2d(n_samples=200, random_state=0)
    with pytest.raises(InvalidParameterError, match="'n_estimators' parameter .* must be an int in the range"):
        clone(ens).set_params(n_estimators=0).fit(X, y)
    with pytest.raises(ValueError, match="needs at least 2 classes in y; got only class 0 .* StratifiedKFold"):
        clone(ens).fit(X[y == 0], y[y == 0])


def test_too_small_classes_are_explained():
    X, y = make_toy_2d(n_samples=200, random_state=0)
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:3]]
    one = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:1]]
    with pytest.raises(ValueError, match="SMOTE needs more samples per class than its neighbours"):
        BalancedBaggingClassifier(sampler=NDSampler(SMOTE()), bootstrap=False, random_state=0).fit(X[keep], y[keep])
    with pytest.raises(ValueError, match="needs more samples of a class than the member's training sample holds"):
        BalancedBaggingClassifier(sampler=SMOTE(), random_state=0).fit(X[keep], y[keep])
    with pytest.raises(ValueError, match="drew a training sample with a single class: the smallest class is too small"):
        BalancedBaggingClassifier(n_estimators=10, random_state=0).fit(X[one], y[one])
    with pytest.raises(ValueError, match=r"sampling_strategy=\{1: 10\}: .*less or equal"):
        SelfPacedEnsembleClassifier(sampling_strategy={1: 10}).fit(X[keep], y[keep])
    with pytest.raises(ValueError, match="keeps 0 samples of class"):
        BalanceCascadeClassifier(sampling_strategy={0: 0}).fit(X, y)


def test_rusboost_refuses_a_base_without_sample_weight(images):
    (X, y), _ = images
    with pytest.raises(TypeError, match="passes the boosting weights .* as sample_weight"):
        RUSBoostClassifier(tiny_cnn()).fit(X, y)


def test_two_d_fit_then_images_is_refused():
    X, y = make_toy_2d(n_samples=200, random_state=0)
    ens = EasyEnsembleClassifier(2, estimator=DecisionTreeClassifier(), random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="fitted on 2-D X"):
        ens.predict(np.zeros((3, 1, 2, 2)))


# ----------------------------------------------------------------------------- scikit-learn's checks


def _checked():
    tree = DecisionTreeClassifier(max_depth=5)
    return [
        SelfPacedEnsembleClassifier(tree, 3, random_state=0),
        BalanceCascadeClassifier(tree, 3, random_state=0),
        BalancedBaggingClassifier(tree, 3, random_state=0),
        # AdaBoost members with few rounds: the default 50 rounds make the checks take minutes.
        EasyEnsembleClassifier(3, estimator=AdaBoostClassifier(n_estimators=5), random_state=0),
        RUSBoostClassifier(n_estimators=5, random_state=0),
    ]


# Every check passes: none is expected to fail. The only ones skipped are skipped by scikit-learn itself,
# for the environment: check_array_api_input (SCIPY_ARRAY_API is not set) and check_classifier_data_not_an_array
# (its pandas part needs pandas, which the test environment does not install).
@parametrize_with_checks(_checked())
def test_sklearn_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_rusboost_first_member_worse_than_chance_is_explained():
    X, y = make_toy_2d("overlapping", n_samples=3000, imbalance_ratio=100, random_state=0)
    with pytest.raises(ValueError, match="the first member, fitted on a balanced under-sample, misclassifies"):
        RUSBoostClassifier(DecisionTreeClassifier(max_depth=2), random_state=1).fit(X, y)
