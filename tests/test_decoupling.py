"""Tests of imbsk.decoupling: stage-two estimators on a fitted CNNClassifier."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate, train_test_split
from torch import nn

from imbsk import CNNClassifier
from imbsk.augment import RandomCrop
from imbsk.classifier import FewStepsWarning
from imbsk.decoupling import (
    TAU_GRID,
    ClassifierRetraining,
    LearnableWeightScaling,
    MiSLAS,
    NearestClassMean,
    TauNormalization,
    label_aware_smoothing,
    last_linear,
)
from imbsk.models import MLP, NormedLinear, ResNet20, SimpleCNN
from imbsk.pipeline import make_pipeline
from imbsk.sampling import RandomOverSampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Long-tailed digits: 100 images of class 0 down to 2 of class 9 (imbalance 50).
COUNTS = (100 * 0.02 ** (np.arange(10) / 9)).astype(int)
TAIL = np.arange(5, 10)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewStepsWarning)
        yield


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = (d.images[:, None] / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, d.target, test_size=0.4, stratify=d.target, random_state=0)
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.flatnonzero(y_train == c), n, replace=False) for c, n in enumerate(COUNTS)])
    return X_train[idx], y_train[idx], X_test, y_test


@pytest.fixture(scope="module")
def net(digits):
    X, y, _, _ = digits
    return CNNClassifier(module__width=8, max_epochs=60, batch_size=32, random_state=0).fit(X, y)


def tail_recall(est, X, y):
    return recall_score(y, est.predict(X), labels=TAIL, average="macro")


def state(net):
    return {k: v.detach().clone() for k, v in net.module_.state_dict().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def toy(counts=(60, 15, 4), seed=0, noise=1.0, shape=(1, 8, 8)):
    """Three classes of noisy images around fixed prototypes."""
    protos = np.random.default_rng(123).normal(size=(len(counts), *shape))
    rng = np.random.default_rng(seed)
    X = np.concatenate([protos[c] + noise * rng.normal(size=(n, *shape)) for c, n in enumerate(counts)])
    return X.astype(np.float32), np.repeat(np.arange(len(counts)), counts)


# ---------------------------------------------------------------------------------------- last_linear


class CountingCNN(CNNClassifier):
    n_fits = 0

    def fit(self, X, y, **fit_params):
        type(self).n_fits += 1
        return super().fit(X, y, **fit_params)


def test_last_linear_finds_the_classifier_of_each_built_in_network():
    cnn = SimpleCNN(n_classes=3, width=4)
    assert last_linear(cnn) == ("classifier.3", cnn.classifier[3])
    resnet = ResNet20(n_classes=3, normalized_classifier=True)
    name, layer = last_linear(resnet)
    assert name == "fc" and isinstance(layer, NormedLinear)
    mlp = MLP(n_features=4, n_classes=3, hidden_sizes=(8,))
    assert last_linear(mlp) == ("net.3", mlp.net[3])
    seq = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    assert last_linear(seq) == ("1", seq[1])


class NoHead(nn.Module):
    def __init__(self, n_classes=2, in_channels=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, n_classes, 3, padding=1)

    def forward(self, x):
        return self.conv(x).mean((2, 3))


def test_last_linear_error_names_the_module_class():
    with pytest.raises(ValueError, match="NoHead has no last linear layer"):
        last_linear(NoHead())


def test_module_without_last_linear_fails_before_stage_one():
    X, y = toy()
    CountingCNN.n_fits = 0
    for module in (NoHead, NoHead(n_classes=3)):
        with pytest.raises(ValueError, match="NoHead has no last linear layer"):
            ClassifierRetraining(CountingCNN(module=module, max_epochs=1)).fit(X, y)
    assert CountingCNN.n_fits == 0


# ---------------------------------------------------------------------------------------- minority recall


@pytest.mark.parametrize(
    "make",
    [
        lambda net: ClassifierRetraining(FrozenEstimator(net), epochs=10, random_state=0),
        lambda net: LearnableWeightScaling(FrozenEstimator(net), epochs=10, random_state=0),
        lambda net: TauNormalization(FrozenEstimator(net), tau=2.0, bias="drop"),
        lambda net: NearestClassMean(FrozenEstimator(net)),
        lambda net: MiSLAS(FrozenEstimator(net), epochs=10, random_state=0),
    ],
    ids=["crt", "lws", "tau", "ncm", "mislas"],
)
def test_stage_two_raises_tail_recall(digits, net, make):
    X, y, X_test, y_test = digits
    plain = tail_recall(net, X_test, y_test)
    est = make(net).fit(X, y)
    assert tail_recall(est, X_test, y_test) > plain + 0.05
    assert est.score(X_test, y_test) > net.score(X_test, y_test)  # the test set is balanced


# ---------------------------------------------------------------------------------------- tau-normalisation


def test_tau_zero_is_the_plain_network(digits, net):
    X, y, X_test, _ = digits
    est = TauNormalization(FrozenEstimator(net), tau=0.0).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X_test), net.predict_proba(X_test))
    np.testing.assert_array_equal(est.predict(X_test), net.predict(X_test))


def test_set_params_tau_after_fit_acts_without_refit(digits, net):
    X, y, X_test, _ = digits
    est = TauNormalization(FrozenEstimator(net), tau=0.0).fit(X, y)
    fitted = est.estimator_
    before = est.predict_proba(X_test)
    est.set_params(tau=3.0)
    after = est.predict_proba(X_test)
    assert est.estimator_ is fitted
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, TauNormalization(FrozenEstimator(net), tau=3.0).fit(X, y).predict_proba(X_test))
    est.set_params(tau=0.0)
    np.testing.assert_array_equal(est.predict_proba(X_test), before)


def test_tau_norm_divides_weights_by_their_norms(digits, net):
    X, y, X_test, _ = digits
    est = TauNormalization(FrozenEstimator(net), tau=1.0, bias="drop").fit(X, y)
    weight = net.module_.classifier[3].weight.detach()
    np.testing.assert_allclose(est.weight_norms_, weight.norm(dim=1).numpy(), rtol=1e-6)
    # tau=1 without bias: every class's weight vector has unit norm, so logits are projections.
    feats = est._features(net, net.get_dataset(X_test[:5]), "classifier.3", net.module_.classifier[3])
    expected = torch.softmax(feats @ (weight / weight.norm(dim=1, keepdim=True)).T, 1).numpy()
    np.testing.assert_allclose(est.predict_proba(X_test[:5]), expected, rtol=1e-4, atol=1e-6)


def test_tau_auto_chooses_on_held_out_data_with_a_frozen_network(digits, net):
    _, _, X_test, y_test = digits
    X_val, y_val = X_test[:300], y_test[:300]
    est = TauNormalization(FrozenEstimator(net), tau="auto", bias="drop").fit(X_val, y_val)
    assert est.tau_scores_.shape == TAU_GRID.shape
    assert est.tau_ == TAU_GRID[np.argmax(est.tau_scores_)]
    for i in (0, 10, 20):
        fixed = TauNormalization(FrozenEstimator(net), tau=TAU_GRID[i], bias="drop").fit(X_val, y_val)
        assert est.tau_scores_[i] == pytest.approx(balanced_accuracy_score(y_val, fixed.predict(X_val)), abs=1e-6)
    chosen = est.predict_proba(X_test)
    np.testing.assert_allclose(chosen, fixed.set_params(tau=est.tau_).predict_proba(X_test), rtol=1e-5, atol=1e-7)
    est.set_params(tau=0.0)
    assert not np.allclose(est.predict_proba(X_test), chosen)
    np.testing.assert_array_equal(est.set_params(tau="auto").predict_proba(X_test), chosen)


def test_tau_auto_holds_out_part_of_each_class_from_stage_one():
    X, y = toy(counts=(60, 15, 4))
    est = TauNormalization(
        CNNClassifier(module__width=4, max_epochs=5, batch_size=16, random_state=0),
        tau="auto", validation_fraction=0.2, random_state=0,
    ).fit(X, y)
    # 20% of each class, and at least one sample of the four of the rarest, went to validation.
    np.testing.assert_array_equal(est.class_counts_, [48, 12, 3])
    np.testing.assert_array_equal(est.estimator_.class_counts_, [48, 12, 3])
    assert 0.0 <= est.tau_ <= 2.0 and np.all((est.tau_scores_ >= 0) & (est.tau_scores_ <= 1))


def test_tau_auto_after_a_fit_with_a_number_needs_a_refit(small_net):
    X, y = toy()
    est = TauNormalization(FrozenEstimator(small_net), tau=1.0).fit(X, y)
    with pytest.raises(ValueError, match="tau='auto' was set after fit"):
        est.set_params(tau="auto").predict(X)


def test_grid_search_over_tau_reuses_the_frozen_network():
    X, y = toy(seed=0)
    X_val, y_val = toy(counts=(30, 30, 30), seed=1)
    CountingCNN.n_fits = 0
    net = CountingCNN(module__width=4, max_epochs=10, batch_size=16, random_state=0).fit(X, y)
    module = net.module_
    search = GridSearchCV(
        TauNormalization(FrozenEstimator(net)),
        {"tau": [0.0, 1.0, 2.0, 4.0], "bias": ["keep", "drop"]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring="balanced_accuracy",
    ).fit(X_val, y_val)
    assert CountingCNN.n_fits == 1  # stage one ran once, before the search
    assert net.module_ is module
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 8 and np.unique(scores).size > 1
    assert search.best_estimator_.estimator_ is not net
    assert search.best_estimator_.score(X_val, y_val) > 0.5


def test_tau_on_cosine_classifier_warns():
    X, y = toy()
    net = CNNClassifier(module__width=4, loss="ldam", max_epochs=2, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="NormedLinear"):
        est = TauNormalization(FrozenEstimator(net), tau=2.0).fit(X, y)
    np.testing.assert_array_equal(est.predict(X), net.predict(X))


# ---------------------------------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "cls", [ClassifierRetraining, LearnableWeightScaling, TauNormalization, NearestClassMean, MiSLAS]
)
def test_frozen_network_is_not_modified(digits, net, cls):
    X, y, X_test, _ = digits
    before, proba = state(net), net.predict_proba(X_test)
    est = cls(FrozenEstimator(net)).fit(X, y)
    assert est.estimator_ is not net and est.estimator_.module_ is not net.module_
    assert same_state(state(net), before)
    np.testing.assert_array_equal(net.predict_proba(X_test), proba)
    assert type(net.module_.classifier[3]) is nn.Linear
    assert est.classes_.tolist() == list(range(10)) and est.n_features_in_ == 64


def test_unfitted_estimator_is_cloned_and_fitted():
    X, y = toy()
    net = CNNClassifier(module__width=4, max_epochs=5, batch_size=16, random_state=0)
    params = net.get_params(deep=False)
    est = ClassifierRetraining(net, epochs=5, random_state=0).fit(X, y)
    assert not net.initialized_ and not hasattr(net, "module_")
    assert net.get_params(deep=False).keys() == params.keys()
    assert est.estimator_.initialized_
    np.testing.assert_array_equal(est.class_counts_, [60, 15, 4])
    assert est.train_loss_.shape == (5,)
    # Stage one is the same seeded fit as fitting the network alone.
    alone = copy.deepcopy(net).fit(X, y)
    _, layer = last_linear(alone.module_)
    assert torch.equal(est.estimator_.module_.features[0].weight, alone.module_.features[0].weight)
    assert not torch.equal(est.estimator_.module_.classifier[3].weight, layer.weight)


@pytest.mark.parametrize("cls", [ClassifierRetraining, LearnableWeightScaling, MiSLAS])
def test_random_state_makes_stage_two_reproducible(digits, net, cls):
    X, y, X_test, _ = digits
    a = cls(FrozenEstimator(net), epochs=3, random_state=0).fit(X, y).predict_proba(X_test)
    b = cls(FrozenEstimator(net), epochs=3, random_state=0).fit(X, y).predict_proba(X_test)
    c = cls(FrozenEstimator(net), epochs=3, random_state=1).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cls", [TauNormalization, MiSLAS])
def test_pickled_estimator_predicts_the_same(resnet, cls):
    X, y = toy(noise=0.5)
    est = cls(FrozenEstimator(resnet)).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    if cls is TauNormalization:
        np.testing.assert_array_equal(again.set_params(tau=0.0).predict_proba(X), resnet.predict_proba(X))


def test_classes_follow_the_network_labels():
    X, y = toy()
    labels = np.array(["cat", "dog", "emu"])[y]
    est = ClassifierRetraining(
        CNNClassifier(module__width=4, max_epochs=3, random_state=0), epochs=3, random_state=0
    ).fit(X, labels)
    assert est.classes_.tolist() == ["cat", "dog", "emu"]
    assert set(est.predict(X)) <= {"cat", "dog", "emu"}
    with pytest.raises(ValueError, match="not seen in the first fit"):
        TauNormalization(FrozenEstimator(est.estimator_)).fit(X, np.where(labels == "emu", "yak", labels))


# ---------------------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def small_net():
    X, y = toy()
    return CNNClassifier(module__width=4, max_epochs=2, random_state=0).fit(X, y)


def test_negative_tau_is_refused_in_fit_and_after_set_params(small_net):
    X, y = toy()
    with pytest.raises(ValueError, match="'tau' parameter of TauNormalization must be a float in the range.* or a str"):
        TauNormalization(FrozenEstimator(small_net), tau=-0.5).fit(X, y)
    est = TauNormalization(FrozenEstimator(small_net), tau=1.0).fit(X, y)
    est.set_params(tau=-1)
    with pytest.raises(ValueError, match="'tau' parameter .* Got -1 instead"):
        est.predict(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epochs": 0}, "'epochs' parameter of ClassifierRetraining must be an int in the range"),
        ({"lr": -1.0}, "'lr' parameter"),
        ({"balance": "yes"}, "'balance' parameter"),
    ],
)
def test_bad_training_parameters(small_net, params, match):
    X, y = toy()
    with pytest.raises(ValueError, match=match):
        ClassifierRetraining(FrozenEstimator(small_net), **params).fit(X, y)


def test_bad_mislas_parameters(small_net):
    X, y = toy()
    with pytest.raises(ValueError, match="'smooth_head' parameter of MiSLAS"):
        MiSLAS(FrozenEstimator(small_net), smooth_head=1.5).fit(X, y)


def test_estimator_must_be_a_cnn_classifier():
    X, y = toy()
    with pytest.raises(TypeError, match="estimator must be a CNNClassifier .* got LogisticRegression"):
        ClassifierRetraining(LogisticRegression()).fit(X.reshape(len(X), -1), y)
    with pytest.raises(TypeError, match=r"got FrozenEstimator\(LogisticRegression\)"):
        TauNormalization(FrozenEstimator(LogisticRegression())).fit(X, y)
    with pytest.raises(ValueError, match="FrozenEstimator around a CNNClassifier that is not fitted"):
        TauNormalization(FrozenEstimator(CNNClassifier())).fit(X, y)


def test_retraining_needs_every_class(small_net):
    X, y = toy()
    keep = y != 2
    with pytest.raises(ValueError, match=r"classes \[2\] have no sample"):
        ClassifierRetraining(FrozenEstimator(small_net)).fit(X[keep], y[keep])


def test_predict_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TauNormalization(CNNClassifier()).predict(np.zeros((1, 1, 8, 8), np.float32))


# ---------------------------------------------------------------------------------------- MiSLAS


def test_label_aware_smoothing_follows_the_counts():
    eps = label_aware_smoothing([100, 50, 10], smooth_head=0.4, smooth_tail=0.1)
    assert eps[0] == pytest.approx(0.4) and eps[2] == pytest.approx(0.1)
    assert eps[1] == pytest.approx(0.1 + 0.3 * np.sin(40 / 90 * np.pi / 2))
    linear = label_aware_smoothing([100, 50, 10], 0.4, 0.1, shape="linear")
    convex = label_aware_smoothing([100, 50, 10], 0.4, 0.1, shape="convex")
    assert convex[1] < linear[1] < eps[1]
    np.testing.assert_array_equal(label_aware_smoothing([5, 5], 0.2, 0.0), [0.2, 0.2])
    with pytest.raises(ValueError, match="smooth_tail must be a float in"):
        label_aware_smoothing([3, 1], smooth_tail=1.0)


@pytest.fixture(scope="module")
def resnet():
    X, y = toy(noise=0.5)
    return CNNClassifier(module="resnet20", max_epochs=3, batch_size=16, random_state=0).fit(X, y)


def _bn_stats(module):
    return [m.running_mean.clone() for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


def test_mislas_shifts_batch_norm_statistics_only_when_asked(resnet):
    X, y = toy(noise=0.5)
    conv = resnet.module_.conv.weight.detach().clone()
    stats = _bn_stats(resnet.module_)
    shifted = MiSLAS(FrozenEstimator(resnet), epochs=2, batch_size=16, random_state=0).fit(X, y)
    kept = MiSLAS(FrozenEstimator(resnet), epochs=2, batch_size=16, shift_bn=False, random_state=0).fit(X, y)
    assert all(torch.equal(a, b) for a, b in zip(_bn_stats(kept.estimator_.module_), stats))
    assert not any(torch.equal(a, b) for a, b in zip(_bn_stats(shifted.estimator_.module_), stats))
    for est in (shifted, kept):
        assert torch.equal(est.estimator_.module_.conv.weight, conv)
        assert est.scales_.shape == (3,) and np.isfinite(est.train_loss_).all()
    assert all(torch.equal(a, b) for a, b in zip(_bn_stats(resnet.module_), stats))
    np.testing.assert_allclose(shifted.smoothing_, label_aware_smoothing([60, 15, 4], 0.3, 0.0))
    assert shifted.score(X, y) > 0.9


def test_mislas_shifted_batch_norm_sees_the_network_augmentation(resnet):
    X, y = toy(noise=0.5)
    augmented = copy.deepcopy(resnet).set_params(augment=RandomCrop(padding=1))
    plain = MiSLAS(FrozenEstimator(resnet), epochs=1, random_state=0).fit(X, y)
    shifted = MiSLAS(FrozenEstimator(augmented), epochs=1, random_state=0).fit(X, y)
    again = MiSLAS(FrozenEstimator(augmented), epochs=1, random_state=0).fit(X, y)
    assert not torch.equal(_bn_stats(plain.estimator_.module_)[0], _bn_stats(shifted.estimator_.module_)[0])
    assert torch.equal(_bn_stats(again.estimator_.module_)[0], _bn_stats(shifted.estimator_.module_)[0])


# ---------------------------------------------------------------------------------------- composition


def test_pipeline_with_oversampler_and_ldam_in_cross_validate():
    X, y = toy(counts=(60, 15, 6), seed=0)
    pipe = make_pipeline(
        RandomOverSampler(random_state=0),
        ClassifierRetraining(
            CNNClassifier(loss="ldam", module__width=4, max_epochs=10, batch_size=32, random_state=0),
            epochs=10,
            random_state=0,
        ),
    )
    scores = cross_validate(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0),
                            scoring="balanced_accuracy")["test_score"]
    assert scores.mean() > 0.6  # chance is 1/3


@pytest.mark.parametrize("cls", [ClassifierRetraining, LearnableWeightScaling, NearestClassMean])
def test_tabular_mlp(cls):
    X, y = toy(counts=(80, 20, 8), shape=(6,), noise=0.7)
    net = CNNClassifier(module="mlp", module__hidden_sizes=(16,), max_epochs=20, batch_size=16, random_state=0)
    est = cls(net).fit(X, y)
    assert est.layer_name_ == "net.3"
    assert est.predict_proba(X).shape == (len(X), 3)
    assert est.score(X, y) > 0.6


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(
    "cls", [ClassifierRetraining, LearnableWeightScaling, TauNormalization, NearestClassMean, MiSLAS]
)
def test_stage_two_on_cuda(cls):
    X, y = toy(noise=0.5)
    net = CNNClassifier(module="resnet20", max_epochs=3, batch_size=16, device="cuda", random_state=0).fit(X, y)
    est = cls(FrozenEstimator(net)).fit(X, y)
    assert all(p.device.type == "cuda" for p in est.estimator_.module_.parameters())
    assert est.predict_proba(X).shape == (len(X), 3)
    assert np.isfinite(est.predict_proba(X)).all()
