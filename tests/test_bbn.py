import pickle
import warnings

import numpy as np
import pytest
import torch
from _sklearn_checks import EXPECTED_FAILED_CHECKS, run_check
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.callbacks import Callback
from torch import nn

from imbsk import CNNClassifier
from imbsk.bbn import BBNClassifier, BBNNetwork, bbn_alpha
from imbsk.metrics import BALANCED_SCORING
from imbsk.models import MLP, ResNet20, SimpleCNN
from imbsk.pipeline import make_pipeline
from imbsk.sampling import RandomOverSampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_long_tailed(counts, seed, size=8, shift=22):
    """uint8 images; class ``c`` has a brighter quadrant ``c`` (overlapping classes at this shift)."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    X = rng.normal(128, 40, size=(len(y), 1, size, size))
    q = size // 2
    corners = [(0, 0), (0, q), (q, 0), (q, q)]
    for c in range(len(counts)):
        r, s = corners[c]
        X[y == c, :, r : r + q, s : s + q] += shift
    return np.clip(X, 0, 255).astype(np.uint8), y


@pytest.fixture(scope="module")
def data():
    return make_long_tailed([120, 30, 10], seed=0, shift=60)


def small(**params):
    defaults = dict(module__width=4, module__dropout=0.0, max_epochs=3, batch_size=32, random_state=0)
    if "module" in params:
        defaults = {k: v for k, v in defaults.items() if not k.startswith("module__")}
    return BBNClassifier(**{**defaults, **params})


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # FewStepsWarning on tiny data
        yield


# ----------------------------------------------------------------------------- cumulative learning


def test_alpha_schedule_formula():
    assert bbn_alpha(0, 10) == 1.0
    assert bbn_alpha(10, 10) == 0.0
    assert bbn_alpha(5, 10) == pytest.approx(0.75)
    values = [bbn_alpha(t, 7) for t in range(8)]
    assert np.all(np.diff(values) < 0)
    np.testing.assert_allclose(values, 1 - (np.arange(8) / 7) ** 2)
    with pytest.raises(ValueError, match="epoch must be a number in"):
        bbn_alpha(11, 10)
    for n_epochs in (0, float("inf")):
        with pytest.raises(ValueError, match="n_epochs must be a finite positive number"):
            bbn_alpha(0, n_epochs)


def test_alpha_per_epoch_of_a_fit(data):
    X, y = data
    clf = small(max_epochs=4).fit(X, y)
    # Epoch T = 0 .. 3 of T_max = 4, as in the reference code.
    np.testing.assert_allclose(clf.history_[:, "bbn_alpha"], [1.0, 1 - 1 / 16, 1 - 4 / 16, 1 - 9 / 16])
    assert clf.bbn_alpha_ == pytest.approx(1 - 9 / 16)
    # max_steps: T_max is the number of epochs the budget needs.
    clf = small(max_epochs=1, max_steps=10).fit(X, y)  # 5 steps an epoch -> 2 epochs
    np.testing.assert_allclose(clf.history_[:, "bbn_alpha"], [1.0, 0.75])


def test_reversed_sampler_favours_minority_classes(data):
    X, y = data
    clf = small(max_epochs=5).fit(X, y)
    inv = 1.0 / np.array([120, 30, 10])
    np.testing.assert_allclose(clf.reversed_class_probabilities_, inv / inv.sum())
    counts = clf.reversed_class_counts_
    # One reversed sample per uniform one: 5 epochs of 160 samples.
    assert counts.sum() == 5 * 160
    # Expected 800 * (1/13, 4/13, 12/13 ... normalised): about 62, 246, 738 - minority drawn most.
    assert counts[2] > counts[1] > counts[0]
    expected = counts.sum() * clf.reversed_class_probabilities_
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1)
    # reversed_power=0: class-balanced.
    clf = small(max_epochs=5, reversed_power=0.0).fit(X, y)
    np.testing.assert_allclose(clf.reversed_class_probabilities_, [1 / 3] * 3)


class _RecordingCE(nn.CrossEntropyLoss):
    """Cross-entropy that keeps every call's logits, targets and value."""

    calls = []

    def forward(self, logits, target):
        loss = super().forward(logits, target)
        type(self).calls.append((logits.detach().clone(), target.clone(), loss.item()))
        return loss


class _CountTransforms(Callback):
    def __init__(self):
        self.n_calls = 0

    def transform_batch(self, net, Xi, yi):
        self.n_calls += 1
        return Xi, yi


def test_loss_is_the_cumulative_mix(data):
    X, y = data
    _RecordingCE.calls = []
    counter = _CountTransforms()
    clf = small(max_epochs=2, loss=_RecordingCE, callbacks=[("count", counter)]).fit(X, y)
    steps = clf.history_[0, "train_batch_count"]
    calls = _RecordingCE.calls
    assert len(calls) == 2 * 2 * steps  # two loss terms a step
    assert counter.n_calls == 2 * 2 * steps  # both batches of every step pass through the batch transforms
    alpha = 0.75  # epoch 1 of 2
    epoch1 = calls[2 * steps :]
    total, n = 0.0, 0
    for (z_a, y_c, l_c), (z_b, _, l_r) in zip(epoch1[::2], epoch1[1::2]):
        # Both terms see the same mixed logits, with the uniform and the reversed batch's labels.
        torch.testing.assert_close(z_a, z_b)
        total += (alpha * l_c + (1 - alpha) * l_r) * len(y_c)
        n += len(y_c)
    assert clf.history_[1, "train_loss"] == pytest.approx(total / n, rel=1e-5)
    # The reversed labels lean to the tail: class 2 is 10 of 160 samples but most of the reversed draws.
    y_r = torch.cat([c[1] for c in calls[1::2]])
    y_c = torch.cat([c[1] for c in calls[0::2]])
    assert (y_r == 2).float().mean() > 0.5 > (y_c == 2).float().mean()


def test_early_stopping_split_is_not_drawn_by_the_reversed_sampler(data):
    X, y = data
    clf = small(max_epochs=2, early_stopping=True, validation_fraction=0.25).fit(X, y)
    n_train = len(y) - 40
    assert clf.reversed_class_counts_.sum() == len(clf.history_) * n_train


def test_class_counts_from_each_fold(data):
    X, y = data
    # Drop some minority samples from one fold only: each fold's sampler must follow its own y.
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    result = cross_validate(small(max_epochs=2), X, y, cv=cv, scoring=BALANCED_SCORING, return_estimator=True,
                            return_indices=True)
    for est, train in zip(result["estimator"], result["indices"]["train"]):
        inv = 1.0 / np.bincount(y[train])
        np.testing.assert_allclose(est.reversed_class_probabilities_, inv / inv.sum())
        np.testing.assert_array_equal(est.class_counts_, np.bincount(y[train]))


# ----------------------------------------------------------------------------- the two-branch network


@pytest.mark.parametrize(
    "module, x",
    [
        (SimpleCNN(n_classes=3, in_channels=1, width=4, dropout=0.0), torch.randn(5, 1, 8, 8)),
        (SimpleCNN(n_classes=3, in_channels=1, width=4, dropout=0.0, normalized_classifier=True),
         torch.randn(5, 1, 8, 8)),
        (ResNet20(n_classes=3, in_channels=1), torch.randn(5, 1, 8, 8)),
        (MLP(n_features=6, n_classes=3, hidden_sizes=(8, 8)), torch.randn(5, 6)),
        (MLP(n_features=6, n_classes=3, hidden_sizes=()), torch.randn(5, 6)),
    ],
    ids=["simple_cnn", "simple_cnn_normed", "resnet20", "mlp", "linear_mlp"],
)
def test_split_keeps_the_conventional_path(module, x):
    module.eval()
    with torch.no_grad():
        expected = module(x)
        bbn = BBNNetwork(module).eval()
        z_c, z_r = bbn.branch_logits(x)
        torch.testing.assert_close(z_c, expected)
        # The re-balancing branch has weights of its own (drawn afresh), except for a linear model's head.
        assert not torch.allclose(z_r, z_c)
        torch.testing.assert_close(bbn(x), 0.5 * (z_c + z_r))
        torch.testing.assert_close(bbn(x, alpha=1.0), z_c)
        # Training path: each branch on its own batch, the backbone once on both.
        a, b = bbn.pair_logits(x[:2], x[2:])
        torch.testing.assert_close(a, z_c[:2])
        torch.testing.assert_close(b, z_r[2:])
    shared = {id(p) for p in bbn.backbone.parameters()}
    own_r = {id(p) for p in bbn.rebalancing.parameters()} | {id(p) for p in bbn.rebalancing_head.parameters()}
    own_c = {id(p) for p in bbn.conventional.parameters()} | {id(p) for p in bbn.conventional_head.parameters()}
    assert own_r and own_c and not (own_r & own_c) and not (shared & (own_r | own_c))


def test_resnet_split_is_before_the_last_block():
    bbn = BBNNetwork(ResNet20(n_classes=3, in_channels=1))
    n_blocks = sum(type(m).__name__ == "_BasicBlock" for m in bbn.backbone.modules())
    assert n_blocks == 8  # of 9
    assert sum(type(m).__name__ == "_BasicBlock" for m in bbn.rebalancing.modules()) == 1


class _NoSplit(nn.Module):
    def __init__(self, n_classes=2, in_channels=1):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 64, n_classes))

    def forward(self, x):
        return self.body(x)


class _ExtraStep(nn.Module):
    """Has features and classifier, but its forward does more than classifier(features(x))."""

    def __init__(self, n_classes=2, in_channels=1):
        super().__init__()
        self.features = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.classifier = nn.Linear(4, n_classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


def test_module_without_split_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match=r"cannot split module _NoSplit into a shared backbone"):
        BBNNetwork(_NoSplit())
    with pytest.raises(ValueError, match=r"BBNClassifier: module=.*_NoSplit.*cannot split"):
        BBNClassifier(_NoSplit, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"_ExtraStep.*(computes more than classifier\(features\(x\)\)|fails)"):
        BBNClassifier(_ExtraStep, max_epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="must be a torch.nn.Module instance"):
        BBNNetwork(SimpleCNN)
    with pytest.raises(TypeError, match="takes no fit parameters"):
        small().fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"predict_alpha": 1.5}, "predict_alpha"),
        ({"predict_alpha": "half"}, "predict_alpha"),
        ({"reversed_power": -1.0}, "reversed_power"),
        ({"reversed_power": True}, "reversed_power"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y = data
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        small(**params).fit(X, y)


# ----------------------------------------------------------------------------- prediction and learning


def test_prediction_averages_both_branches(data):
    X, y = data
    clf = small().fit(X, y)
    with torch.no_grad():
        clf.module_.eval()
        z_c, z_r = clf.module_.branch_logits(clf.normalizer_(torch.from_numpy(X)))
    np.testing.assert_allclose(clf.predict_proba(X), torch.softmax(0.5 * (z_c + z_r), 1).numpy(), rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(z_c + z_r).argmax(1).numpy()])
    clf.set_params(predict_alpha=1.0)
    np.testing.assert_allclose(clf.predict_proba(X), torch.softmax(z_c, 1).numpy(), rtol=1e-4, atol=1e-6)


def test_beats_chance_and_helps_the_tail_on_a_long_tailed_task():
    X, y = make_long_tailed([300, 60, 12], seed=0)
    X_test, y_test = make_long_tailed([200, 200, 200], seed=1)
    plain, bbn = [], []
    # Means over two initialisations (measured: tail recall plain 0.40/0.36, BBN 0.83/0.66).
    for seed in range(2):
        params = dict(module__width=8, module__dropout=0.0, max_epochs=12, batch_size=32, random_state=seed)
        for cls, out in ((CNNClassifier, plain), (BBNClassifier, bbn)):
            pred = cls(**params).fit(X, y).predict(X_test)
            out.append((balanced_accuracy_score(y_test, pred), recall_score(y_test, pred, average=None)[2]))
    plain, bbn = np.mean(plain, axis=0), np.mean(bbn, axis=0)
    assert bbn[0] > 1 / 3 + 0.25
    assert bbn[1] >= plain[1]
    # Measured balanced accuracy: plain 0.71/0.70, BBN 0.76/0.79. On shorter or narrower runs BBN can
    # over-correct towards the tail (tail recall up, balanced accuracy down), so only a loose bound here.
    assert bbn[0] >= plain[0] - 0.05


def test_reproducible_and_input_unchanged(data):
    X, y = data
    X_copy, y_copy = X.copy(), y.copy()
    a = small().fit(X, y)
    b = small().fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.reversed_class_counts_, b.reversed_class_counts_)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    c = small(random_state=1).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_string_labels_pickle_and_clone(data):
    X, y = data
    labels = np.array(["head", "mid", "tail"])[y]
    clf = small(predict_alpha=0.4, reversed_power=0.5).fit(X, labels)
    assert set(clf.predict(X)) <= set(labels)
    params = clone(clf).get_params()
    assert params["predict_alpha"] == 0.4 and params["reversed_power"] == 0.5
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert not any(k.startswith("reversed_data") or k.startswith("reversed_sampler") for k in vars(restored))


def test_pipeline_grid_search_and_other_modules(data):
    X, y = data
    pipe = make_pipeline(RandomOverSampler(random_state=0), small(max_epochs=2))
    grid = GridSearchCV(pipe, {"bbnclassifier__predict_alpha": [0.5, 1.0]}, cv=2, scoring="balanced_accuracy")
    grid.fit(X, y)
    assert grid.best_params_["bbnclassifier__predict_alpha"] in (0.5, 1.0)
    # After over-sampling every class has the same count: the reversed sampler is uniform.
    np.testing.assert_allclose(grid.best_estimator_[-1].reversed_class_probabilities_, [1 / 3] * 3)
    for module in ("resnet20", "mlp"):
        clf = small(module=module, max_epochs=2).fit(X, y)
        assert isinstance(clf.module_, BBNNetwork)
        assert clf.predict_proba(X).shape == (len(X), 3)


def test_loss_and_class_weight_compose(data):
    X, y = data
    clf = small(loss="focal", class_weight="inverse", max_epochs=2).fit(X, y)
    assert np.isfinite(clf.history_[-1, "train_loss"])
    assert clf.criterion_.weight is not None


def _check_estimator_classifier():
    return BBNClassifier("mlp", module__hidden_sizes=(16,), optimizer="adamw", lr=0.05, max_epochs=10,
                         batch_size=64, random_state=0)


@parametrize_with_checks([_check_estimator_classifier()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_check_estimator(estimator, check):
    run_check(check, estimator)
