import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.model_selection import GridSearchCV

from imbsk import CNNClassifier
from imbsk.losses import LOSSES, CrossEntropyLoss, get_loss
from imbsk.mixup import CutMix, Mixup, check_soft_targets

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COUNTS = [500, 120, 30, 5]
N_CLASSES = 8


# ----------------------------------------------------------------------------- data and nets


def easy_images(n, seed=0, n_classes=2, size=8, dtype=np.uint8):
    """Noisy 8x8 images; class k has a bright patch in row band k (an easy task)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.normal(100, 30, size=(n, 1, size, size))
    band = size // n_classes if n_classes <= size else 1
    for k in range(n_classes):
        X[y == k, :, k * band: (k + 1) * band, :] += 90
    X = np.clip(X, 0, 255)
    return (X.astype(np.uint8) if dtype == np.uint8 else (X / 255).astype(dtype)), y


def small(**params):
    defaults = dict(max_epochs=1, batch_size=32, random_state=0, module__width=4, module__dropout=0.0)
    return CNNClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted():
    """A tiny classifier fitted on 8 classes: the net the callbacks are attached to in the unit tests."""
    X, y = easy_images(64, n_classes=N_CLASSES)
    return small().fit(X, y)


def constant_batch(dtype=torch.float32):
    """One image per class, image k constant at 10 * (k + 1) with label k: a blend identifies itself."""
    values = 10.0 * torch.arange(1, N_CLASSES + 1)
    X = values.view(-1, 1, 1, 1).expand(-1, 1, 8, 8).to(dtype).contiguous()
    return X, torch.arange(N_CLASSES)


def partners(soft, y):
    """Each row's partner class and its own share (lam), read from the soft targets.

    A sample paired with itself has a one-hot row: it is its own partner.
    """
    own = soft[torch.arange(len(y)), y]
    other = soft.clone()
    other[torch.arange(len(y)), y] = 0
    return torch.where(own > 1 - 1e-6, y, other.argmax(1)), own


def start(cb, net):
    cb.on_train_begin(net)
    return cb


# ----------------------------------------------------------------------------- losses with soft targets


def all_losses(weighted):
    for name in LOSSES:
        params = {"gamma": 2.0} if name == "focal" else {}
        if weighted and name not in ("weighted_ce", "class_balanced"):
            params["weight"] = torch.tensor([0.5, 1.0, 2.0, 4.0])
        yield name, get_loss(name, class_counts=COUNTS, **params)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_one_hot_soft_targets_give_the_class_index_loss(weighted, reduction):
    gen = torch.Generator().manual_seed(0)
    z = 3 * torch.randn(12, 4, generator=gen)
    y = torch.randint(0, 4, (12,), generator=gen)
    for name, loss in all_losses(weighted):
        loss.reduction = reduction
        torch.testing.assert_close(loss(z, F.one_hot(y, 4).float()), loss(z, y), msg=name)


def test_label_smoothing_with_weights_one_hot_matches_pytorch():
    z = torch.randn(10, 4, generator=torch.Generator().manual_seed(1))
    y = torch.arange(10) % 4
    w = torch.tensor([0.2, 1.0, 3.0, 0.5])
    ours = CrossEntropyLoss(weight=w, label_smoothing=0.1)
    torch.testing.assert_close(ours(z, F.one_hot(y, 4).float()),
                               torch.nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)(z, y))


@pytest.mark.parametrize("name", ["ce", "weighted_ce", "focal", "class_balanced", "logit_adjusted",
                                  "balanced_softmax"])
def test_soft_loss_is_the_mixture_of_the_two_labels(name):
    """Per sample, lam * onehot(a) + (1 - lam) * onehot(b) gives lam * l(a) + (1 - lam) * l(b)."""
    gen = torch.Generator().manual_seed(2)
    z = 2 * torch.randn(9, 4, generator=gen)
    a, b = torch.randint(0, 4, (9,), generator=gen), torch.randint(0, 4, (9,), generator=gen)
    lam = 0.3
    loss = get_loss(name, class_counts=COUNTS, **({"gamma": 1.5} if name == "focal" else {}))
    loss.reduction = "none"
    soft = lam * F.one_hot(a, 4).float() + (1 - lam) * F.one_hot(b, 4).float()
    torch.testing.assert_close(loss(z, soft), lam * loss(z, a) + (1 - lam) * loss(z, b))
    # The weighted mean weighs each sample by its target's mix of the class weights.
    w = getattr(loss, "weight", None)
    loss.reduction = "mean"
    sample_w = torch.ones(9) if w is None else soft @ w
    expected = (lam * w_or_1(w, a) * raw(name, z, a) + (1 - lam) * w_or_1(w, b) * raw(name, z, b)).sum()
    torch.testing.assert_close(loss(z, soft), expected / sample_w.sum(), msg=name)


def w_or_1(w, y):
    return torch.ones(len(y)) if w is None else w[y]


def raw(name, z, y):
    """The unweighted per-sample loss of class index ``y``."""
    loss = get_loss(name, class_counts=COUNTS, **({"gamma": 1.5} if name == "focal" else {}))
    loss.weight, loss.reduction = None, "none"
    return loss(z, y)


def test_ldam_soft_targets_lower_each_logit_by_its_share_of_the_margin():
    loss = get_loss("ldam", class_counts=COUNTS, scale=5.0)
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(3))
    t = torch.softmax(torch.randn(6, 4, generator=torch.Generator().manual_seed(4)), 1)
    expected = -(t * F.log_softmax(5.0 * (z - t * loss.margins), 1)).sum(1).mean()
    torch.testing.assert_close(loss(z, t), expected)


def test_soft_targets_of_the_wrong_width_are_refused():
    loss = get_loss("focal")
    with pytest.raises(ValueError, match=r"soft targets.*\(4, 4\) and \(4, 3\)"):
        loss(torch.zeros(4, 4), torch.full((4, 3), 1 / 3))


# ----------------------------------------------------------------------------- the transforms


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_mixup_is_a_convex_combination(fitted, dtype):
    cb = start(Mixup(alpha=1.0), fitted)
    X, y = constant_batch(dtype)
    X_before = X.clone()
    for _ in range(5):
        Xm, soft = cb.transform_batch(fitted, X, y)
        assert Xm.dtype == torch.float32 and Xm.shape == X.shape  # uint8 is blended on its 0-255 scale
        assert soft.shape == (N_CLASSES, N_CLASSES) and soft.dtype == torch.float32
        torch.testing.assert_close(soft.sum(1), torch.ones(N_CLASSES))
        other, lam = partners(soft, y)
        moved = other != y
        # One lam per batch; the partners are a permutation of the batch.
        assert moved.any() and torch.allclose(lam[moved], lam[moved][0]) and 0 < lam[moved][0] < 1
        assert sorted(other.tolist()) == list(range(N_CLASSES))
        assert torch.allclose(soft[moved, other[moved]], 1 - lam[moved])
        values = 10.0 * (y + 1)
        expected = lam * values + (1 - lam) * 10.0 * (other + 1)  # a sample with itself stays itself
        torch.testing.assert_close(Xm[:, 0], expected.view(-1, 1, 1).expand(-1, 8, 8))
    assert torch.equal(X, X_before)


def test_cutmix_box_area_matches_lam(fitted):
    cb = start(CutMix(alpha=1.0, p=1.0), fitted)
    X, y = constant_batch(torch.uint8)
    X_before = X.clone()
    areas = []
    for _ in range(40):
        Xm, soft = cb.transform_batch(fitted, X, y)
        assert Xm.dtype == torch.uint8  # pixels are copied, not blended
        torch.testing.assert_close(soft.sum(1), torch.ones(N_CLASSES))
        other, lam = partners(soft, y)
        own_pixels = (Xm[:, 0] == X[:, 0]).float().mean((1, 2))
        partner = X[other, 0]
        from_partner = (Xm[:, 0] == partner).float().mean((1, 2))
        moved = other != y
        # Every pixel comes from the image or its partner; the shares are the soft targets.
        torch.testing.assert_close(own_pixels[moved], lam[moved])
        torch.testing.assert_close(from_partner[moved], 1 - lam[moved])
        # One box for the whole batch: the same pixels changed in every image that has a partner.
        boxes = Xm[moved, 0] != X[moved, 0]
        assert (boxes == boxes[:1]).all()
        areas.append(1 - float(lam[0]))
    assert torch.equal(X, X_before)
    # lam ~ Beta(1, 1) before clipping: box shares spread over (0, 1), clipped boxes smaller.
    assert 0.1 < np.mean(areas) < 0.6 and max(areas) > 0.5


def test_p_zero_leaves_batches_alone_and_p_half_mixes_about_half(fitted):
    X, y = constant_batch()
    cb = start(Mixup(p=0.0), fitted)
    Xm, ym = cb.transform_batch(fitted, X, y)
    assert Xm is X and ym is y
    # Mixup mixes every batch by default, CutMix half of them (the reference's CIFAR setting).
    assert Mixup().p == 1.0 and CutMix().p == 0.5
    cb = start(CutMix(), fitted)
    mixed = sum(cb.transform_batch(fitted, X, y)[1].ndim == 2 for _ in range(200))
    assert 70 < mixed < 130


def test_chained_transforms_mix_soft_targets(fitted):
    X, y = constant_batch()
    mix, cut = start(Mixup(), fitted), start(CutMix(), fitted)
    Xm, soft = cut.transform_batch(fitted, *mix.transform_batch(fitted, X, y))
    assert soft.shape == (N_CLASSES, N_CLASSES)
    torch.testing.assert_close(soft.sum(1), torch.ones(N_CLASSES))


def test_same_random_state_same_batches_and_different_streams(fitted):
    X, y = constant_batch()

    def draws(cb):
        start(cb, fitted)
        return [cb.transform_batch(fitted, X, y) for _ in range(3)]

    first, second = draws(Mixup()), draws(Mixup())
    for (x1, t1), (x2, t2) in zip(first, second):
        assert torch.equal(x1, x2) and torch.equal(t1, t2)
    assert not torch.equal(first[0][1], first[1][1])


@pytest.mark.parametrize("alpha", [0, -1.0, float("nan"), float("inf"), "1", True])
@pytest.mark.parametrize("cls", [Mixup, CutMix])
def test_bad_alpha_is_refused_at_fit(cls, alpha):
    X, y = easy_images(40)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: alpha must be a finite real number > 0.*got"):
        small(callbacks=[("mix", cls(alpha=alpha))]).fit(X, y)


@pytest.mark.parametrize("p", [-0.1, 1.5, None])
def test_bad_p_is_refused_at_fit(p):
    X, y = easy_images(40)
    with pytest.raises(ValueError, match=r"Mixup: p must be a real number in \[0, 1\]"):
        small(callbacks=[("mix", Mixup(p=p))]).fit(X, y)


def test_loss_without_soft_targets_is_refused_by_name_at_fit():
    X, y = easy_images(40)
    clf = small(loss=torch.nn.MultiMarginLoss, callbacks=[("mix", Mixup())])
    with pytest.raises(ValueError, match=r"Mixup makes soft targets.*MultiMarginLoss \(loss='MultiMarginLoss'\)"):
        clf.fit(X, y)
    assert not hasattr(clf, "train_steps_") or clf.train_steps_ == 0  # refused before the first batch


def test_cutmix_refuses_tabular_x():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)).astype(np.float32), np.arange(40) % 2
    with pytest.raises(ValueError, match="CutMix pastes boxes of 4-D images.*X is 2-D"):
        CNNClassifier("mlp", max_epochs=1, callbacks=[("cut", CutMix())]).fit(X, y)


def test_check_soft_targets_accepts_every_builtin_loss_and_leaves_the_network_alone(fitted):
    for name in LOSSES:
        net = small(loss=name).fit(*easy_images(32, n_classes=2))
        before = {k: v.clone() for k, v in net.module_.state_dict().items()}
        net.module_.train(True)
        check_soft_targets(net)  # raises ValueError for a loss that refuses soft targets
        # Run in evaluation mode without gradients: the mode is put back and no weight or statistic moved.
        assert net.module_.training
        for key, value in net.module_.state_dict().items():
            torch.testing.assert_close(value, before[key], msg=f"{name}: {key}")


# ----------------------------------------------------------------------------- in fit


class RecordingMixup(Mixup):
    """Mixup that keeps what it returned, to see what the network was trained on."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.seen_ = []

    def transform_batch(self, net, Xi, yi):
        Xi, yi = super().transform_batch(net, Xi, yi)
        self.seen_.append((Xi, yi))
        return Xi, yi


def test_picked_up_by_the_classifier_and_x_untouched():
    X, y = easy_images(64)
    X_before = X.copy()
    cb = RecordingMixup(alpha=1.0)
    clf = small(max_epochs=2, callbacks=[("mixup", cb)]).fit(X, y)
    assert clf.batch_transforms_ == [cb]
    assert len(cb.seen_) == clf.train_steps_ == 4  # every training batch, none of prediction
    for Xi, soft in cb.seen_:
        assert Xi.dtype == torch.float32 and soft.shape == (32, 2)
        assert 0 <= float(Xi.min()) and float(Xi.max()) <= 255  # blended on the uint8 scale
    assert np.array_equal(X, X_before)
    clf.predict(X)
    assert len(cb.seen_) == 4


@pytest.mark.parametrize(("cls", "dtype"), [(Mixup, np.uint8), (Mixup, np.float32), (CutMix, np.uint8)])
def test_fit_scores_above_chance(cls, dtype):
    X, y = easy_images(200, n_classes=4, dtype=dtype)
    Xt, yt = easy_images(200, seed=1, n_classes=4, dtype=dtype)
    params = dict(max_epochs=8, lr=0.05, module__width=8, early_stopping=True, validation_fraction=0.2,
                  patience=100, callbacks=[("mix", cls(alpha=0.4))])
    clf = small(**params).fit(X, y)
    assert clf.score(Xt, yt) > 0.6  # chance is 0.25
    assert "valid_bacc" in clf.history[-1]  # validation batches are not mixed: the scoring works


def test_fit_is_reproducible_with_random_state():
    X, y = easy_images(64, n_classes=4)
    fits = [small(max_epochs=2, random_state=3, callbacks=[("mix", Mixup()), ("cut", CutMix(p=0.5))]).fit(X, y)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
    other = small(max_epochs=2, random_state=4, callbacks=[("mix", Mixup()), ("cut", CutMix(p=0.5))]).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), fits[0].predict_proba(X))


def test_grid_search_tunes_alpha():
    X, y = easy_images(96, n_classes=2)
    clf = small(max_epochs=2, callbacks=[("mixup", Mixup(alpha=0.2))])
    search = GridSearchCV(clf, {"callbacks__mixup__alpha": [0.2, 1.0]}, cv=2, scoring="balanced_accuracy")
    search.fit(X, y)
    assert search.best_params_["callbacks__mixup__alpha"] in (0.2, 1.0)
    assert search.best_estimator_.get_params()["callbacks__mixup__alpha"] == search.best_params_[
        "callbacks__mixup__alpha"]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_weighted_loss_and_focal_train_with_mixup():
    X, y = easy_images(64, n_classes=4)
    for loss in ("weighted_ce", "focal", "ldam", "logit_adjusted"):
        clf = small(loss=loss, callbacks=[("mix", CutMix())]).fit(X, y)
        assert np.isfinite(clf.history[-1, "train_loss"])


def test_pickle_round_trip_and_refit():
    import pickle

    X, y = easy_images(64)
    clf = small(callbacks=[("mixup", Mixup())]).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.fit(X, y)  # the generators are seeded again at the start of the fit
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_switched_off_by_name():
    X, y = easy_images(64)
    clf = small(callbacks=[("mixup", Mixup())]).set_params(callbacks__mixup=None).fit(X, y)
    assert clf.batch_transforms_ == []
    torch.testing.assert_close(clf.history[-1, "train_loss"], small().fit(X, y).history[-1, "train_loss"])
