import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate

from imbsk.datasets import make_toy_2d
from imbsk.metrics import (
    BALANCED_SCORING,
    balanced_report,
    evaluate,
    minority_average_precision,
    minority_class,
    minority_recall_score,
)


def test_minority_class_ties_and_strings():
    assert minority_class([0, 0, 1]) == 1
    assert minority_class([1, 1, 0]) == 0
    assert minority_class(["dog", "cat", "cat"]) == "dog"
    assert minority_class([0, 1]) == 1  # tie goes to the last label, as for binary pos_label
    with pytest.raises(ValueError, match="y_true is empty"):
        minority_class([])


def test_minority_recall_uses_the_rare_label_whatever_its_value():
    y_true = np.array([7, 7, 7, 7, 3, 3])
    y_pred = np.array([7, 7, 7, 3, 3, 7])
    assert minority_recall_score(y_true, y_pred) == pytest.approx(0.5)
    assert minority_recall_score(np.where(y_true == 7, "a", "b"), np.where(y_pred == 7, "a", "b")) == 0.5


def test_majority_predictor_scores_chance_on_every_balanced_metric():
    X, y = make_toy_2d("overlapping", n_samples=1100, imbalance_ratio=10, random_state=0)
    res = cross_validate(DummyClassifier(strategy="most_frequent"), X, y, cv=5, scoring=BALANCED_SCORING)
    assert set(BALANCED_SCORING) <= {k[5:] for k in res if k.startswith("test_")}
    assert np.allclose(res["test_balanced_accuracy"], 0.5)
    assert np.allclose(res["test_minority_recall"], 0.0)
    assert np.allclose(res["test_geometric_mean"], 0.0)
    # Constant scores rank nothing: average precision falls to the minority's prevalence.
    assert np.allclose(res["test_average_precision"], 1 / 11, atol=0.01)


def test_a_real_model_scores_above_chance():
    X, y = make_toy_2d("separable", n_samples=1100, imbalance_ratio=10, random_state=0)
    res = cross_validate(LogisticRegression(class_weight="balanced"), X, y, cv=5, scoring=BALANCED_SCORING)
    for name in BALANCED_SCORING:
        assert res[f"test_{name}"].mean() > 0.9, name


def test_average_precision_follows_the_minority_even_when_it_is_the_first_label():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 1))
    y = np.where(X[:, 0] < -1.0, 0, 1)  # 0 is the rare class here
    clf = LogisticRegression().fit(X, y)
    ap = minority_average_precision(clf, X, y)
    assert ap > 0.95
    # Reversed scores would rank the minority last: check the sign of the logic, not a constant.
    class Flipped:
        classes_ = clf.classes_

        def predict_proba(self, X):
            return clf.predict_proba(X)[:, ::-1]

    flipped = Flipped()
    assert minority_average_precision(flipped, X, y) < 0.3


def test_average_precision_multiclass_and_decision_function():
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(m, 0.3, size=(n, 2)) for m, n in [((0, 0), 100), ((3, 0), 30), ((0, 3), 10)]])
    y = np.repeat([0, 1, 2], [100, 30, 10])
    assert minority_average_precision(LinearSVC().fit(X, y), X, y) > 0.95
    assert minority_average_precision(LinearSVC().fit(X, y == 2), X, y == 2) > 0.95


def test_evaluate_and_report():
    X, y = make_toy_2d("separable", n_samples=1100, imbalance_ratio=10, random_state=0)
    clf = DummyClassifier(strategy="most_frequent").fit(X, y)
    scores = evaluate(clf, X, y)
    assert set(scores) == set(BALANCED_SCORING)
    assert scores["balanced_accuracy"] == 0.5
    report = balanced_report(y, clf.predict(X), output_dict=True)
    assert report["0"] == {"precision": pytest.approx(1000 / 1100), "recall": 1.0, "f1": pytest.approx(2000 / 2100),
                           "support": 1000}
    assert report["1"]["recall"] == 0.0 and report["1"]["support"] == 100
    assert report["balanced_accuracy"] == 0.5 and report["minority_recall"] == 0.0
    text = balanced_report(y, clf.predict(X), target_names=["common", "rare"])
    assert "rare" in text and "balanced_accuracy  0.500" in text
    with pytest.raises(ValueError, match="same length"):
        balanced_report([0, 1], [0])
    with pytest.raises(ValueError, match="target_names has 1 names for 2 labels"):
        balanced_report([0, 1], [0, 1], target_names=["a"])


def _no_minority_fold():
    """A classifier fitted on {0, 1} and a fold of its data holding class 0 only."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.r_[np.zeros(36, dtype=int), np.ones(4, dtype=int)]
    X[y == 1] += 3
    return LogisticRegression().fit(X, y), X[:10], y[:10]


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
def test_minority_scores_on_a_fold_without_the_minority_warn_instead_of_reading_perfect():
    from sklearn.exceptions import UndefinedMetricWarning

    clf, X, y = _no_minority_fold()
    # Before, each of these read 1.0 without a word: the majority was taken for the minority.
    with pytest.warns(UndefinedMetricWarning, match="no sample of class 1, the rarest of the classes"):
        assert minority_recall_score(y, clf.predict(X), labels=[0, 1]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="no sample of class 1"):
        assert minority_recall_score([0, 0, 0], [0, 1, 0]) == 0.0  # was 2/3, the majority's recall
    with pytest.warns(UndefinedMetricWarning, match="single class 0"):
        assert minority_recall_score([0, 0, 0], [0, 0, 0]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="minority_average_precision is ill-defined"):
        assert minority_average_precision(clf, X, y) == 0.0
    with pytest.warns(UndefinedMetricWarning) as caught:
        scores = evaluate(clf, X, y)
    assert scores["minority_recall"] == 0.0 and scores["average_precision"] == 0.0
    assert {str(w.message).split(" ")[0] for w in caught if w.category is UndefinedMetricWarning} == {
        "minority_recall_score", "minority_average_precision"}
    assert np.isnan(minority_recall_score([0, 0], [0, 0], labels=[0, 1], zero_division=np.nan))
    with pytest.raises(ValueError, match="zero_division must be"):
        minority_recall_score([0, 1], [0, 1], zero_division="nan")
    with pytest.raises(ValueError, match="labels must list every class"):
        minority_recall_score([0, 1], [0, 1], labels=[1])
    # The minority present: no warning, the usual value.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert minority_recall_score([0, 0, 1], [0, 0, 1], labels=[0, 1]) == 1.0


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
def test_cross_validation_with_folds_lacking_the_minority_warns_and_completes():
    from sklearn.exceptions import UndefinedMetricWarning

    X, y = make_toy_2d("separable", n_samples=220, imbalance_ratio=10, random_state=0)
    majority, minority = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    # The first test fold holds majority samples only; the second both classes.
    folds = [(np.r_[majority[50:], minority], majority[:50]),
             (np.r_[majority[:150], minority[:10]], np.r_[majority[150:], minority[10:]])]
    with pytest.warns(UndefinedMetricWarning, match="rarest"):
        res = cross_validate(LogisticRegression(), X, y, cv=folds, scoring=BALANCED_SCORING, error_score="raise")
    assert res["test_minority_recall"][0] == 0.0 and res["test_average_precision"][0] == 0.0
    assert res["test_minority_recall"][1] > 0.5  # scored as usual where the minority is present


def test_minority_class_counts_absent_labels_and_ap_refuses_unseen_labels():
    assert minority_class([0, 0, 1], labels=[0, 1, 2]) == 2
    assert minority_class([0, 0, 1, 1], labels=[0, 1]) == 1
    with pytest.raises(ValueError, match="labels must not name a label twice"):
        minority_class([0, 1], labels=[0, 0])
    clf, X, y = _no_minority_fold()
    with pytest.raises(ValueError, match=r"y holds labels \[7\] that the estimator was not fitted on"):
        minority_average_precision(clf, X, np.r_[y[:-1], 7])
    with pytest.raises(ValueError, match="y is empty"):
        minority_average_precision(clf, X[:0], y[:0])


def test_multiclass_average_precision_names_the_classes_left_out():
    from sklearn.exceptions import UndefinedMetricWarning

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(m, 0.3, size=(n, 2)) for m, n in [((0, 0), 50), ((3, 0), 20), ((0, 3), 10)]])
    y = np.repeat([0, 1, 2], [50, 20, 10])
    clf = LogisticRegression().fit(X, y)
    with pytest.warns(UndefinedMetricWarning, match=r"leaves out classes \[2\]"):
        ap = minority_average_precision(clf, X[y < 2], y[y < 2])
    assert 0.9 < ap <= 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"labels": []}, "labels must be a non-empty 1-D list"),
        ({"labels": [0, 0]}, "labels must not name a label twice"),
        ({"target_names": ["a", "a"]}, "target_names must not repeat a name"),
        ({"digits": -1}, "digits must be a non-negative int"),
    ],
)
def test_report_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        balanced_report([0, 1, 1], [0, 1, 0], **kwargs)


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
@pytest.mark.filterwarnings("ignore:Recall is ill-defined")
def test_report_of_nothing_and_of_a_single_class():
    from sklearn.exceptions import UndefinedMetricWarning

    with pytest.raises(ValueError, match="empty"):
        balanced_report([], [])
    with pytest.warns(UndefinedMetricWarning, match="single class"):
        report = balanced_report([0, 0], [0, 0], output_dict=True)
    assert report["minority_recall"] == 0.0  # was 1.0: the only class taken for the minority
    with pytest.warns(UndefinedMetricWarning, match="no sample of class 1"):
        assert balanced_report([0, 0], [0, 0], labels=[0, 1], output_dict=True)["minority_recall"] == 0.0
