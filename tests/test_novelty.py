"""One-class detection on images: Deep SVDD, CNN features for scikit-learn's detectors, and the
detector-as-classifier wrapper, on tiny striped images where the rare class has the other orientation."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, cross_validate
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils.estimator_checks import parametrize_with_checks

from imbsk.metrics import BALANCED_SCORING
from imbsk.models import SimpleCNN
from imbsk.novelty import CNNFeatures, DeepSVDD, DetectorClassifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"width": 4, "rep_dim": 8, "epochs": 6, "batch_size": 32}


def stripes(n_normal, n_rare, size=8, seed=0):
    """uint8 (N, 1, size, size): normal images have horizontal stripes, rare ones vertical stripes, at
    random phases with noise, so both have the same mean brightness."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]

    def make(coord, n):
        phase = rng.integers(0, 4, n)[:, None, None]
        pattern = (coord[None] + phase) % 4 < 2
        return np.clip(pattern * 160 + rng.normal(40, 25, (n, size, size)), 0, 255).astype(np.uint8)[:, None]

    X = np.concatenate([make(yy, n_normal), make(xx, n_rare)])
    y = np.r_[np.zeros(n_normal, int), np.ones(n_rare, int)]
    return X, y


@pytest.fixture(scope="module")
def data():
    X, y = stripes(160, 40)
    X_test, y_test = stripes(160, 40, seed=1)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return DeepSVDD(**SMALL, contamination=0.1, random_state=0).fit(X[y == 0])


# ----------------------------------------------------------------------------------------------- DeepSVDD


def test_deep_svdd_scores_normal_above_rare(data, fitted):
    _, _, X_test, y_test = data
    scores = fitted.score_samples(X_test)
    assert scores.shape == (len(X_test),)
    assert roc_auc_score(y_test == 0, scores) > 0.8
    assert np.all(scores <= 0)  # negated squared distances


def test_deep_svdd_outlier_api(data, fitted):
    X, y, X_test, _ = data
    pred = fitted.predict(X_test)
    assert set(np.unique(pred)) <= {-1, 1}
    np.testing.assert_allclose(fitted.decision_function(X_test), fitted.score_samples(X_test) - fitted.offset_)
    np.testing.assert_array_equal(pred == 1, fitted.decision_function(X_test) >= 0)
    # contamination: the fraction of training images called outliers.
    assert abs(np.mean(fitted.predict(X[y == 0]) == -1) - 0.1) <= 0.02
    assert len(fitted.loss_history_) == SMALL["epochs"]
    assert fitted.loss_history_[-1] < fitted.loss_history_[0]
    assert fitted.pretrain_loss_history_ == []
    assert fitted.embed(X_test[:5]).shape == (5, SMALL["rep_dim"])


def test_deep_svdd_contamination_moves_offset(data):
    X, y, _, _ = data
    frac = {}
    for c in (0.05, 0.3):
        det = DeepSVDD(**SMALL, contamination=c, random_state=0).fit(X[y == 0])
        frac[c] = np.mean(det.predict(X[y == 0]) == -1)
        assert abs(frac[c] - c) <= 0.02


def test_deep_svdd_is_bias_free_and_centre_away_from_zero(fitted):
    names = [name for name, _ in fitted.encoder_.named_parameters()]
    assert names and not any("bias" in name for name in names)
    assert not any(m.affine for m in fitted.encoder_.modules() if hasattr(m, "affine"))
    assert np.all(np.abs(fitted.center_) >= fitted.eps - 1e-7)
    assert fitted.n_blocks_ == 2  # 8x8 -> 2x2
    assert not fitted.encoder_.training


def test_deep_svdd_reproducible_and_input_untouched(data):
    X, y, X_test, _ = data
    Xn = X[y == 0]
    before = Xn.copy()
    a = DeepSVDD(**SMALL, random_state=3).fit(Xn).score_samples(X_test)
    b = DeepSVDD(**SMALL, random_state=3).fit(Xn).score_samples(X_test)
    c = DeepSVDD(**SMALL, random_state=4).fit(Xn).score_samples(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_array_equal(Xn, before)
    Xf = Xn.astype(np.float64) / 255
    Xf_before = Xf.copy()
    DeepSVDD(**SMALL, random_state=0).fit(Xf).predict(Xf)
    np.testing.assert_array_equal(Xf, Xf_before)


def test_deep_svdd_pretraining_and_16px(data):
    X16, y16 = stripes(96, 24, size=16, seed=2)
    det = DeepSVDD(width=4, rep_dim=8, epochs=3, pretrain_epochs=3, random_state=0).fit(X16[y16 == 0])
    assert det.n_blocks_ == 3
    assert len(det.pretrain_loss_history_) == 3
    assert det.pretrain_loss_history_[-1] < det.pretrain_loss_history_[0]
    assert roc_auc_score(y16 == 0, det.score_samples(X16)) > 0.8


def test_deep_svdd_pickle(data, fitted):
    _, _, X_test, _ = data
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(loaded.score_samples(X_test), fitted.score_samples(X_test))


def test_deep_svdd_bad_input(data, fitted):
    X, y, _, _ = data
    with pytest.raises(ValueError, match=r"learns one class .* y holds 2 classes \[0, 1\]"):
        DeepSVDD(**SMALL).fit(X, y)
    DeepSVDD(**SMALL, random_state=0).fit(X[y == 0], y[y == 0])  # one class in y is fine
    with pytest.raises(ValueError, match="at least 4x4 pixels; got 2x2"):
        DeepSVDD(**SMALL).fit(X[:, :, :2, :2])
    with pytest.raises(ValueError, match="n_blocks=3 .* at least 8x8 pixels; got 4x4"):
        DeepSVDD(**SMALL, n_blocks=3).fit(X[:, :, :4, :4])
    with pytest.raises(ValueError, match="images of shape .*got X of shape"):
        DeepSVDD(**SMALL).fit(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match="at least 2 training images"):
        DeepSVDD(**SMALL).fit(X[:1])
    with pytest.raises(ValueError, match="'epochs' parameter of DeepSVDD must be an int"):
        DeepSVDD(epochs=-1).fit(X[y == 0])
    with pytest.raises(ValueError, match="'contamination' parameter of DeepSVDD"):
        DeepSVDD(contamination=0.7).fit(X[y == 0])
    with pytest.raises(ValueError, match="'n_blocks' parameter of DeepSVDD must be a number, not a bool"):
        DeepSVDD(n_blocks=True).fit(X[y == 0])
    with pytest.raises(ValueError, match="device='tpu' is not a device"):
        DeepSVDD(**SMALL, device="tpu").fit(X[y == 0])
    with pytest.raises(ValueError, match="images of size 4x4, but DeepSVDD was fitted on 8x8"):
        fitted.predict(X[:, :, :4, :4])
    with pytest.raises(ValueError, match="float images with values in \\[0, 1\\]"):
        fitted.predict(X.astype(np.float32) / 255)


# ------------------------------------------------------------------------------------------- CNNFeatures


@pytest.mark.parametrize("encoder", ["random", "deep_svdd"])
def test_cnn_features_one_class_svm_pipeline(data, encoder):
    X, y, X_test, y_test = data
    feats = CNNFeatures(encoder, random_state=0)
    if encoder == "deep_svdd":
        feats = CNNFeatures(DeepSVDD(**SMALL), random_state=0)
    pipe = make_pipeline(feats, StandardScaler(), OneClassSVM(nu=0.1)).fit(X[y == 0])
    assert pipe[0].transform(X_test[:3]).shape == (3, pipe[0].n_features_out_)
    assert set(np.unique(pipe.predict(X_test))) == {-1, 1}
    assert roc_auc_score(y_test == 0, pipe.decision_function(X_test)) > 0.8
    assert len(pipe[0].get_feature_names_out()) == pipe[0].n_features_out_


def test_cnn_features_encoders(data, fitted):
    X, y, X_test, _ = data
    # prefit: the given detector itself, not a copy refitted.
    feats = CNNFeatures(fitted, prefit=True).fit(X[y == 0])
    assert feats.encoder_ is fitted
    np.testing.assert_array_equal(feats.transform(X_test), fitted.embed(X_test))
    # a module: copied, never trained; output flattened per image.
    module = SimpleCNN(in_channels=1, width=4).features
    weights = module[0].weight.detach().clone()
    feats = CNNFeatures(module).fit(X[y == 0])
    assert feats.transform(X_test).shape == (len(X_test), 2 * 4 * 16)
    assert feats.encoder_ is not module and module.training
    np.testing.assert_array_equal(module[0].weight.detach(), weights)
    iso = make_pipeline(CNNFeatures("random", random_state=0), IsolationForest(random_state=0)).fit(X[y == 0])
    assert iso.predict(X_test).shape == (len(X_test),)


def test_cnn_features_bad_input(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="unfitted DeepSVDD but prefit=True"):
        CNNFeatures(DeepSVDD(), prefit=True).fit(X)
    with pytest.raises(ValueError, match="'encoder' parameter of CNNFeatures"):
        CNNFeatures("resnet").fit(X)
    tiny = np.zeros((4, 1, 2, 2), np.uint8)
    with pytest.raises(ValueError, match=r"encoder=Sequential cannot take images of shape \(1, 2, 2\)"):
        CNNFeatures(SimpleCNN(in_channels=1, width=2).features[:12]).fit(tiny)


# ------------------------------------------------------------------------------------ DetectorClassifier


def test_detector_classifier_cross_val_balanced_scoring(data):
    X, y, _, _ = data
    clf = DetectorClassifier(DeepSVDD(**SMALL, random_state=0), random_state=0)
    scores = cross_validate(clf, X, y, cv=StratifiedKFold(3), scoring={**BALANCED_SCORING, "roc_auc": "roc_auc"})
    assert X.dtype == np.uint8 and X.ndim == 4
    assert scores["test_balanced_accuracy"].mean() > 0.8
    assert scores["test_roc_auc"].mean() > 0.85
    assert scores["test_average_precision"].mean() > 0.5  # chance: 0.2
    assert scores["test_minority_recall"].mean() > 0.6


def test_detector_classifier_attributes_and_threshold(data):
    X, y, X_test, y_test = data
    before = X.copy()
    clf = DetectorClassifier(DeepSVDD(**SMALL, random_state=0), random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.normal_class_ == 0
    assert clf.tuner_.best_score_ > 0.8
    # The threshold is tuned on a fifth of the normal images and every rare one.
    val = clf.validation_indices_
    assert np.sum(y[val] == 0) == 32 and np.sum(y[val] == 1) == 40
    assert clf.score(X_test, y_test) > 0.8
    pred = clf.predict(X_test)
    np.testing.assert_array_equal(pred == 0, clf.detector_.decision_function(X_test) >= clf.threshold_)
    np.testing.assert_array_equal(pred == 1, clf.decision_function(X_test) > 0)
    # Fixed threshold 0: the detector's own boundary, i.e. its predict.
    fixed = DetectorClassifier(DeepSVDD(**SMALL, random_state=0), threshold=0.0).fit(X, y)
    assert fixed.tuner_ is None
    np.testing.assert_array_equal(fixed.predict(X_test) == 0, fixed.detector_.predict(X_test) == 1)
    assert fixed.validation_indices_ is None
    # Reproducible with a seed.
    again = DetectorClassifier(DeepSVDD(**SMALL, random_state=0), random_state=0).fit(X, y)
    assert again.threshold_ == clf.threshold_


class _Recorder(OutlierMixin, BaseEstimator):
    """A detector that keeps what it was fitted on; its score is minus the first feature."""

    def fit(self, X, y=None):
        self.seen_ = np.array(X)
        return self

    def decision_function(self, X):
        return -np.asarray(X)[:, 0]


def test_detector_classifier_rare_samples_only_set_the_threshold():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(4, 1, (10, 2))]
    X[:, 1] = np.arange(len(X))  # row ids
    y = np.r_[np.zeros(100, int), np.ones(10, int)]
    clf = DetectorClassifier(_Recorder(), random_state=0).fit(X, y)
    seen = clf.detector_.seen_[:, 1].astype(int)
    assert len(seen) == 80 and np.all(y[seen] == 0)
    val = clf.validation_indices_
    assert set(val) == set(range(110)) - set(seen)  # the other 20 normal rows and all 10 rare ones
    # The tuned threshold separates the two blobs: between the normal and the rare first features.
    assert -3.5 < clf.threshold_ < -1.0
    assert clf.score(X, y) > 0.95


def test_detector_classifier_labels_and_orientation(data):
    X, y, X_test, y_test = data
    names = np.array(["common", "rare"])
    detector = make_pipeline(CNNFeatures("random", random_state=0), StandardScaler(), OneClassSVM(nu=0.1))
    clf = DetectorClassifier(detector, random_state=0).fit(X, names[y])
    assert clf.normal_class_ == "common"
    assert set(clf.predict(X_test)) <= {"common", "rare"}
    assert roc_auc_score(names[y_test] == "rare", clf.decision_function(X_test)) > 0.8
    # Labels where the normal class sorts last: decision_function still points at classes_[1].
    flipped = np.array(["z_common", "a_rare"])
    clf = DetectorClassifier(detector, random_state=0).fit(X, flipped[y])
    np.testing.assert_array_equal(clf.classes_, ["a_rare", "z_common"])
    assert roc_auc_score(flipped[y_test] == "z_common", clf.decision_function(X_test)) > 0.8
    # The rare class as the "normal" one: allowed, and the detector then learns the rare images.
    rare_normal = DetectorClassifier(detector, normal_class="rare", random_state=0).fit(X, names[y])
    assert rare_normal.normal_class_ == "rare"
    assert rare_normal.score(X_test, names[y_test]) > 0.7


def test_detector_classifier_grid_search(data):
    X, y, _, _ = data
    detector = make_pipeline(CNNFeatures("random", random_state=0), StandardScaler(), OneClassSVM())
    grid = GridSearchCV(
        DetectorClassifier(detector, random_state=0), {"detector__oneclasssvm__nu": [0.05, 0.2]},
        scoring="balanced_accuracy", cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.8
    assert len(grid.cv_results_["params"]) == 2
    assert cross_val_score(DetectorClassifier(LocalOutlierFactor(novelty=True)), X.reshape(len(X), -1), y,
                           cv=3, scoring="roc_auc").mean() > 0.5


def test_detector_classifier_bad_input(data):
    X, y, _, _ = data
    det = DeepSVDD(**SMALL)
    y3 = y.copy()
    y3[:10] = 2
    with pytest.raises(ValueError, match=r"two classes .* y holds 3 classes \[0, 1, 2\]"):
        DetectorClassifier(det).fit(X, y3)
    with pytest.raises(ValueError, match=r"y holds 1 classes \[0\]"):
        DetectorClassifier(det).fit(X[y == 0], y[y == 0])
    with pytest.raises(ValueError, match=r"normal_class=5 is not a class of y; the classes are \[0, 1\]"):
        DetectorClassifier(det, normal_class=5).fit(X, y)
    with pytest.raises(ValueError, match="detector must be an outlier detector .* got LogisticRegression"):
        DetectorClassifier(LogisticRegression()).fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match="LocalOutlierFactor needs novelty=True"):
        DetectorClassifier(LocalOutlierFactor()).fit(X.reshape(len(X), -1), y)
    two_normal = np.r_[np.flatnonzero(y == 0)[:2], np.flatnonzero(y == 1)]
    with pytest.raises(ValueError, match="validation_fraction=0.2 of 2 normal samples leaves 0 for tuning"):
        DetectorClassifier(det, normal_class=0).fit(X[two_normal], y[two_normal])
    with pytest.raises(ValueError, match="'validation_fraction' parameter of DetectorClassifier"):
        DetectorClassifier(det, validation_fraction=1.0).fit(X, y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        DetectorClassifier(det).fit(X, None)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        DetectorClassifier(det).fit(X, np.where(y == 1, np.nan, 0.0))
    with pytest.raises(ValueError, match="'threshold' parameter of DetectorClassifier"):
        DetectorClassifier(det, threshold="best").fit(X, y)
    with pytest.raises(ValueError, match="threshold must be 'auto' or a finite number; got threshold=nan"):
        DetectorClassifier(det, threshold=float("nan")).fit(X, y)


@parametrize_with_checks([DetectorClassifier(IsolationForest(n_estimators=5, random_state=0), random_state=0)])
def test_detector_classifier_sklearn_checks(estimator, check):
    """scikit-learn's classifier checks (binary: the estimator tags itself as not multi-class)."""
    check(estimator)
