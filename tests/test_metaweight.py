import pickle

import numpy as np
import pytest
import torch
from _sklearn_checks import EXPECTED_FAILED_CHECKS, run_check
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.callbacks import Callback

from imbsk.metaweight import MetaWeightClassifier, WeightNet
from imbsk.pipeline import make_pipeline
from imbsk.sampling import RandomOverSampler

# Tiny networks: one torch thread (see tests/conftest.py).
pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::imbsk.classifier.FewStepsWarning"),
]


def long_tailed(counts=(120, 40, 16), seed=0, size=8):
    """Noisy uint8 images; class k has a bright patch in its own quarter of the image."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.normal(100, 30, size=(len(y), 1, size, size))
    h = size // 2
    corners = [(0, 0), (0, h), (h, 0), (h, h)]
    for k in range(len(counts)):
        r, c = corners[k % 4]
        X[y == k, :, r : r + h, c : c + h] += 70
    perm = rng.permutation(len(y))
    return np.clip(X, 0, 255).astype(np.uint8)[perm], y[perm]


def small(**params):
    defaults = dict(module__width=4, module__dropout=0.0, hidden=16, meta_size=4, max_epochs=2, batch_size=32,
                    random_state=0)
    return MetaWeightClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    return long_tailed()


class RecordTrainingRows(Callback):
    """Keeps the rows (into fit's X) of the data set the network trains on."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.rows_ = X.indices.cpu().numpy().copy()


# ----------------------------------------------------------------------------- the meta set


def test_meta_set_is_stratified_and_removed_from_training(data):
    X, y = data
    rec = RecordTrainingRows()
    clf = small(meta_size=5, max_epochs=1, callbacks=[("rec", rec)]).fit(X, y)
    meta = clf.meta_indices_
    assert meta.shape == (15,) and np.all(np.diff(meta) > 0)
    np.testing.assert_array_equal(np.bincount(y[meta]), [5, 5, 5])
    # The network trains on every other row and on no meta row.
    assert np.intersect1d(rec.rows_, meta).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([rec.rows_, meta])), np.arange(len(y)))
    np.testing.assert_array_equal(clf.class_counts_, [115, 35, 11])


def test_meta_set_never_holds_a_sample_scored_in_the_same_fold(data):
    X, y = data
    records = []

    class Record(Callback):
        def on_train_begin(self, net, X=None, y=None, **kwargs):
            records.append(X.indices.cpu().numpy().copy())

    pipe = make_pipeline(RandomOverSampler(random_state=0), small(max_epochs=1, callbacks=[("rec", Record())]))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    res = cross_validate(pipe, X, y, cv=cv, return_estimator=True, return_indices=True,
                         scoring="balanced_accuracy")
    for est, train, test, trained_rows in zip(res["estimator"], res["indices"]["train"], res["indices"]["test"],
                                              records):
        sampler, clf = est.steps[0][1], est.steps[-1][1]
        # fit's X is the over-sampled training part: row j of it is row sample_indices_[j] of the fold.
        fold_rows = train[sampler.sample_indices_]
        meta_rows = fold_rows[clf.meta_indices_]
        assert np.intersect1d(meta_rows, test).size == 0
        assert np.isin(meta_rows, train).all()
        # Each class of the fold gives meta_size rows, and those rows are never trained on.
        np.testing.assert_array_equal(np.bincount(y[meta_rows]), [4, 4, 4])
        assert np.intersect1d(trained_rows, clf.meta_indices_).size == 0
        assert len(trained_rows) + len(clf.meta_indices_) == len(fold_rows)


def test_meta_size_too_large_names_the_class_and_its_count():
    X, y = long_tailed((30, 12, 7))
    labels = np.array(["cat", "dog", "emu"])[y]
    with pytest.raises(ValueError, match=r"meta_size=7 .* class 'emu' has 7 in y\. Use meta_size <= 6\."):
        small(meta_size=7).fit(X, labels)
    small(meta_size=6, max_epochs=1).fit(X, labels)  # one emu left for training is enough


def test_meta_batches_are_class_balanced(data):
    X, y = data
    seen = []

    class Spy(MetaWeightClassifier):
        def _meta_batch(self):
            Xm, ym = super()._meta_batch()
            seen.append(np.bincount(ym.cpu().numpy(), minlength=3))
            return Xm, ym

    Spy(module__width=4, hidden=8, meta_size=10, meta_batch_size=6, max_epochs=1, batch_size=32,
        random_state=0).fit(X, y)
    assert len(seen) == int(np.ceil((len(y) - 30) / 32))
    assert all(counts.tolist() == [2, 2, 2] for counts in seen)
    seen.clear()
    Spy(module__width=4, hidden=8, meta_size=10, max_epochs=1, batch_size=32, random_state=0).fit(X, y)
    assert all(counts.tolist() == [10, 10, 10] for counts in seen)  # the whole meta set fits in a batch


# ----------------------------------------------------------------------------- the weighting network


def test_weight_net_learns_and_weights_depend_on_the_loss(data):
    X, y = data
    before = small(max_epochs=0).fit(X, y).weight_net_.state_dict()
    clf = small(max_epochs=3).fit(X, y)
    after = clf.weight_net_.state_dict()
    assert set(before) == set(after)
    changed = [k for k in after if not torch.allclose(before[k], after[k])]
    assert changed, "the weighting network did not change during training"
    # The weighting network is trained by its own optimiser only, never by the classifier's.
    assert not any(p is q for _, p in clf.get_all_learnable_params() for q in clf.weight_net_.parameters())
    w = clf.loss_weights([0.01, 0.5, 1.5, 5.0])
    assert w.shape == (4,) and np.all((w > 0) & (w < 1))
    assert np.ptp(w) > 1e-4
    with pytest.raises(ValueError, match="Input losses contains NaN"):
        clf.loss_weights([0.1, np.nan])
    assert np.isfinite(clf.history[-1, "train_meta_loss"])


def _stepper(weighting="mwn"):
    """A fitted (untrained) classifier on a small table, with its meta set in place as during training."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5)).astype(np.float32)
    y = (np.arange(80) % 4 == 0).astype(int)
    X[y == 1, 0] += 2
    clf = MetaWeightClassifier("mlp", module__hidden_sizes=(8,), meta_size=3, hidden=6, max_epochs=0, lr=0.5,
                               weighting=weighting, random_state=0).fit(X, y)
    for group in clf.optimizer_.param_groups:
        group["lr"] = 0.5
    meta = clf.meta_indices_
    clf._meta = {"X": torch.from_numpy(X[meta]), "y": torch.from_numpy(y[meta]), "rows": torch.arange(6).reshape(2, 3),
                 "loss": torch.zeros((), dtype=torch.float64), "count": 0}
    return clf, torch.from_numpy(X[:16]), torch.from_numpy(y[:16])


def test_weight_net_gradient_is_that_of_the_meta_loss_after_a_virtual_step():
    clf, Xt, yt = _stepper()

    def meta_loss():
        y_pred = clf.infer(Xt)
        v = clf.weight_net_(clf.per_sample_loss(y_pred, yt).detach())
        return clf._meta_loss_after_virtual_step(clf.get_loss(y_pred, yt, sample_weight=v), {})

    p = clf.weight_net_.layers[2].weight
    (grad,) = torch.autograd.grad(meta_loss(), [p])
    fd = []
    for j in range(p.shape[1]):
        values = []
        for step in (1e-3, -2e-3):
            with torch.no_grad():
                p[0, j] += step
            values.append(meta_loss().item())
        with torch.no_grad():
            p[0, j] += 1e-3
        fd.append((values[0] - values[1]) / 2e-3)
    np.testing.assert_allclose(grad.numpy().ravel(), fd, rtol=1e-2, atol=1e-4)
    assert np.abs(fd).max() > 1e-2


def test_l2rw_weights_are_the_clipped_alignment_of_sample_and_meta_gradients():
    clf, Xt, yt = _stepper("l2rw")
    params = [p for p in clf.module_.parameters()]
    y_pred = clf.infer(Xt)
    losses = clf.per_sample_loss(y_pred, yt)
    w = clf._l2rw_weights(losses, {})
    meta_grad = torch.autograd.grad(clf.get_loss(clf.infer(clf._meta["X"]), clf._meta["y"]), params)
    align = []
    for i in range(len(yt)):
        g = torch.autograd.grad(losses[i], params, retain_graph=True)
        align.append(sum((a * b).sum() for a, b in zip(g, meta_grad)).item())
    expected = 0.5 * np.clip(align, 0, None)  # -d meta / d eps_i = lr * <grad meta, grad loss_i>
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-3, atol=1e-6)
    assert (expected > 0).any() and (expected == 0).any()


def test_meta_interval_sets_when_the_weighting_net_is_updated(data):
    X, y = data
    steps = int(np.ceil((len(y) - 12) / 32))  # per epoch, meta set removed
    clf = small(max_epochs=4, meta_interval=2 * steps).fit(X, y)
    has_meta = ["train_meta_loss" in row for row in clf.history]
    assert has_meta == [True, False, True, False]
    frozen = small(max_epochs=3, meta_interval=10_000).fit(X, y)
    once = small(max_epochs=1, meta_interval=10_000, max_steps=1).fit(X, y)
    for k, v in frozen.weight_net_.state_dict().items():
        torch.testing.assert_close(v, once.weight_net_.state_dict()[k])  # updated at step 0 only


def test_meta_steps_move_batch_norm_statistics_once_per_step(data):
    X, y = data
    clf = MetaWeightClassifier("resnet20", meta_size=4, hidden=8, max_steps=3, batch_size=32,
                               random_state=0).fit(X, y)
    tracked = {int(m.num_batches_tracked) for m in clf.module_.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert tracked == {3}  # the training batches only: no virtual or meta forward pass moved them


def test_weight_net_shape():
    net = WeightNet(hidden=7)
    assert [tuple(p.shape) for p in net.parameters()] == [(7, 1), (7,), (1, 7), (1,)]
    out = net(torch.tensor([0.0, 1.0, 10.0]))
    assert out.shape == (3,) and torch.all((out > 0) & (out < 1))


# ----------------------------------------------------------------------------- accuracy and conventions


@pytest.mark.parametrize("weighting", ["mwn", "l2rw"])
def test_above_chance_on_a_long_tailed_task(weighting):
    X, y = long_tailed((150, 45, 15), seed=1)
    X_test, y_test = long_tailed((40, 40, 40), seed=2)
    clf = small(weighting=weighting, meta_size=5, max_epochs=8, lr=0.02).fit(X, y)
    assert (clf.weight_net_ is None) == (weighting == "l2rw")
    assert balanced_accuracy_score(y_test, clf.predict(X_test)) > 0.6  # chance: 1/3


def test_reproducible_with_random_state_and_inputs_untouched(data):
    X, y = data
    X0, y0 = X.copy(), y.copy()
    a = small().fit(X, y)
    b = small().fit(X, y)
    np.testing.assert_array_equal(a.meta_indices_, b.meta_indices_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.loss_weights([0.1, 1.0]), b.loss_weights([0.1, 1.0]))
    c = small(random_state=1).fit(X, y)
    assert not np.array_equal(a.meta_indices_, c.meta_indices_)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(weighting="mw"), "weighting"),
        (dict(meta_size=0), "meta_size"),
        (dict(meta_size=True), "meta_size must be an integer"),
        (dict(meta_lr=0.0), "meta_lr"),
        (dict(hidden=2.5), "hidden"),
        (dict(meta_optimizer="rmsprop"), "meta_optimizer"),
        (dict(weighting="l2rw", meta_interval=3), "meta_interval must be 1"),
    ],
)
def test_bad_parameters_raise_naming_them(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        small(**params).fit(X, y)


def test_grid_search_clone_and_pickle(data):
    X, y = data
    clf = small(max_epochs=1)
    params = clf.get_params()
    assert {"meta_size", "meta_lr", "hidden", "meta_interval", "weighting"} <= set(params)
    cloned = clone(clf)
    assert cloned.get_params()["meta_size"] == 4 and cloned.get_params()["hidden"] == 16
    search = GridSearchCV(clf, {"hidden": [4, 8]}, cv=2, scoring="balanced_accuracy").fit(X, y)
    assert search.best_estimator_.weight_net_.layers[0].out_features == search.best_params_["hidden"]
    fitted = search.best_estimator_
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(X[:8]), fitted.predict_proba(X[:8]))
    np.testing.assert_array_equal(loaded.loss_weights([0.3]), fitted.loss_weights([0.3]))


def test_sgd_meta_optimizer_and_plain_mlp_on_tables():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 5)).astype(np.float32)
    y = (np.arange(160) % 8 == 0).astype(int)
    X[y == 1, 0] += 3
    clf = MetaWeightClassifier("mlp", module__hidden_sizes=(16,), meta_optimizer="sgd", meta_lr=1e-2, hidden=8,
                               meta_size=3, optimizer="adamw", lr=0.02, max_epochs=10, batch_size=32,
                               random_state=0).fit(X, y)
    assert clf.input_shape_ == (5,)
    assert balanced_accuracy_score(y, clf.predict(X)) > 0.8


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda(data):
    X, y = data
    clf = small(device="cuda", max_epochs=3).fit(X, y)
    assert clf.device_ == "cuda"
    assert next(clf.weight_net_.parameters()).device.type == "cuda"
    assert np.isfinite(clf.history[-1, "train_meta_loss"])
    assert clf.predict_proba(X).shape == (len(X), 3)
    cpu = pickle.loads(pickle.dumps(clf))
    assert cpu.loss_weights([0.5]).shape == (1,)


# ----------------------------------------------------------------------------- scikit-learn's checks


def _check_estimator_classifier():
    return MetaWeightClassifier("mlp", module__hidden_sizes=(16,), meta_size=1, hidden=8, optimizer="adamw",
                                lr=0.05, max_epochs=6, batch_size=64, random_state=0)


@parametrize_with_checks([_check_estimator_classifier()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_check_estimator(estimator, check):
    run_check(check, estimator)
