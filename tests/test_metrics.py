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
