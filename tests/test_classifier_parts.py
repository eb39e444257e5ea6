"""The classifier's parts: callbacks, mixins, extension points, and its answers to bad input."""

import os
import signal

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import cross_val_score
from skorch.callbacks import Callback, LRScheduler
from torch import nn

from imbsk import CNNClassifier
from imbsk.classifier import LOSS_NAMES, DivergenceGuard, LRSchedule, TrainingDivergedError
from imbsk.classifier._validation import check_y, encode_labels, input_statistics
from imbsk.losses import LOSSES

# Tiny networks: one torch thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_images(n_majority=60, n_minority=20, seed=0, size=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(128, 40, size=(n_majority + n_minority, 1, size, size))
    y = np.array([0] * n_majority + [1] * n_minority)
    X[y == 1, :, 2:6, 2:6] += 60
    return np.clip(X, 0, 255).astype(np.uint8), y


def small(**params):
    defaults = dict(max_epochs=2, batch_size=32, random_state=0, module__width=4, module__dropout=0.0)
    if "module" in params:
        defaults = {k: v for k, v in defaults.items() if not k.startswith("module__")}
    return CNNClassifier(**{**defaults, **params})


class _Record(Callback):
    def __init__(self):
        self.lrs, self.ended = [], 0

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.lrs.append(net.optimizer_.param_groups[0]["lr"])

    def on_train_end(self, net, **kwargs):
        self.ended += 1


# ----------------------------------------------------------------------------- parts


def test_one_loss_registry():
    assert LOSS_NAMES == tuple(LOSSES)
    assert "ce" in LOSSES and "weighted_ce" in LOSSES


def test_validation_functions_on_their_own():
    classes, codes = encode_labels(np.array(["b", "a", "b"]))
    assert classes.tolist() == ["a", "b"] and codes.tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="not in classes"):
        encode_labels(np.array([0, 5]), classes=[0, 1])
    with pytest.raises(ValueError, match="mixes string and number"):
        check_y(["cat", 1, "cat"], 3)
    mean, std = input_statistics(np.full((4, 2, 3, 3), 7, np.uint8))
    assert mean.tolist() == [7.0, 7.0] and std.tolist() == [1.0, 1.0]


def test_callbacks_are_named_parameters_before_and_after_fit():
    X, y = make_images()
    clf = small()
    params = clf.get_params()
    assert isinstance(params["callbacks__lr_schedule"], LRSchedule)
    assert params["callbacks__divergence_guard__patience"] == 2
    clf.set_params(callbacks__divergence_guard__patience=7)
    assert clf.get_params()["callbacks__divergence_guard__patience"] == 7
    assert clone(clf).get_params()["callbacks__divergence_guard__patience"] == 7
    clf.fit(X, y)
    assert dict(clf.callbacks_)["divergence_guard"].patience == 7
    assert clf.get_params()["callbacks__divergence_guard__patience"] == 7


def test_a_user_lr_scheduler_is_refused_then_owns_the_rate_when_the_builtin_is_off():
    X, y = make_images()
    sched = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    with pytest.raises(ValueError, match="callbacks__lr_schedule=None"):
        small(callbacks=[sched]).fit(X, y)
    rec = _Record()
    small(max_epochs=3, lr=0.04, callbacks=[sched, rec], callbacks__lr_schedule=None).fit(X, y)
    assert sorted(set(np.round(rec.lrs, 6)), reverse=True) == [0.04, 0.02, 0.01]


def test_default_warmup_is_auto_and_ramps_the_rate():
    X, y = make_images()
    rec = _Record()
    clf = small(max_epochs=3, lr=0.1, callbacks=[rec]).fit(X, y)
    assert clf.warmup_epochs == "auto" and clf.warmup_epochs_ == 1
    steps = clf.steps_per_epoch_
    assert np.all(np.diff(rec.lrs[:steps]) > 0) and rec.lrs[steps - 1] == pytest.approx(0.1)


# ----------------------------------------------------------------------------- divergence guard


def test_divergence_guard_names_epoch_and_rate_on_a_non_finite_loss():
    X, y = make_images()
    with pytest.raises(TrainingDivergedError, match=r"became (nan|inf) in epoch 1.*learning rate"):
        small(lr=1e30, warmup_epochs=0, max_epochs=3).fit(X, y)


class _DeadNet(nn.Module):
    """Every hidden unit is silenced from the start: the output never depends on the input."""

    def __init__(self, n_classes=2, n_features=64):
        super().__init__()
        self.hidden = nn.Linear(n_features, 8)
        self.out = nn.Linear(8, n_classes)
        nn.init.zeros_(self.hidden.weight)
        nn.init.constant_(self.hidden.bias, -1.0)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x.flatten(1))))


def test_divergence_guard_stops_a_dead_network_but_not_a_majority_collapse():
    X, y = make_images()
    with pytest.raises(TrainingDivergedError, match=r"died in training.*last 2 epochs.*epoch 2"):
        small(module=_DeadNet, max_epochs=6).fit(X, y)
    clf = small(module=_DeadNet, max_epochs=3, callbacks__divergence_guard=None).fit(X, y)
    assert len(clf.history) == 3
    # A network that calls everything the majority class still looks at its input: no error.
    X, y = make_images(200, 4)
    clf = small(max_epochs=3).fit(X, y)
    assert len(clf.history) == 3
    assert isinstance(dict(clf.callbacks_)["divergence_guard"], DivergenceGuard)


# ----------------------------------------------------------------------------- Ctrl-C


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler, whatever this process inherited (a background job ignores SIGINT)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _CtrlC(Callback):
    """Sends this process a real SIGINT at the end of the given epoch."""

    def __init__(self, at_epoch=1):
        self.at_epoch = at_epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.at_epoch:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_stops_fit_after_clean_up_and_stops_cross_validation(sigint_raises):
    X, y = make_images()
    rec = _Record()
    clf = small(max_epochs=5, callbacks=[_CtrlC(1), rec])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert rec.ended == 1 and len(clf.history) == 1
    with pytest.raises(KeyboardInterrupt):
        cross_val_score(small(max_epochs=5, callbacks=[_CtrlC(1)]), X, y, cv=2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_on_interrupt_stop_keeps_skorchs_behaviour_and_early_stopping_still_stops(sigint_raises):
    X, y = make_images()
    clf = small(max_epochs=5, on_interrupt="stop", callbacks=[_CtrlC(2)]).fit(X, y)
    assert len(clf.history) == 2 and clf.predict(X).shape == (len(X),)
    clf = small(max_epochs=40, early_stopping=True, patience=1, validation_fraction=0.25).fit(X, y)
    assert len(clf.history) < 40


# ----------------------------------------------------------------------------- extension points


class _SoftTargets(Callback):
    """A per-batch transform that turns the labels into smoothed one-hot targets, as mixup would."""

    def __init__(self):
        self.calls = 0

    def transform_batch(self, net, Xi, yi):
        self.calls += 1
        soft = torch.nn.functional.one_hot(yi, 2).float() * 0.8 + 0.1
        return Xi, soft


def test_batch_transform_callbacks_see_every_training_batch_and_may_give_soft_targets():
    X, y = make_images()
    cb = _SoftTargets()
    clf = small(max_epochs=2, callbacks=[cb]).fit(X, y)
    assert cb.calls == 2 * clf.steps_per_epoch_
    assert np.isfinite(clf.history[:, "train_loss"]).all()


def test_get_loss_with_sample_weights():
    X, y = make_images()
    clf = small(max_epochs=1).fit(X, y)
    logits = torch.randn(6, 2)
    target = torch.tensor([0, 0, 0, 1, 1, 1])
    w = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    expected = nn.functional.cross_entropy(logits[:3], target[:3])
    assert torch.allclose(clf.get_loss(logits, target, sample_weight=w), expected)
    assert clf.criterion_.reduction == "mean"  # restored


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_get_clear_errors():
    X, y = make_images()
    with pytest.raises(ValueError, match="float32's range"):
        small().fit(np.full((4, 3), 1e300), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="class_weight must map labels to finite weights >= 0"):
        small(class_weight={0: -1.0, 1: 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="batch_size must be an integer, not a bool"):
        small(batch_size=True).fit(X, y)
    with pytest.raises(ValueError, match="mixes string and number"):
        small().fit(X[:4], ["cat", 1, "cat", 1])
    with pytest.raises(ValueError, match="0 sample"):
        small().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="cannot take images of 2x2 pixels"):
        small().fit(X[:, :, :2, :2], y)
    with pytest.raises(ValueError, match="batch normalisation.*batch_size >= 2"):
        small(module="resnet20", batch_size=1).fit(X, y)

    class Wide(nn.Module):
        def __init__(self, n_features=64):
            super().__init__()
            self.fc = nn.Linear(n_features, 5)

        def forward(self, x):
            return self.fc(x.flatten(1))

    with pytest.raises(ValueError, match=r"returns outputs of shape \(5,\).*2 classes"):
        small(module=Wide).fit(X, y)


def test_float_images_in_unit_range_after_uint8_fit_are_refused():
    X, y = make_images()
    clf = small().fit(X, y)
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*uint8"):
        clf.predict(X.astype(np.float32) / 255)
    assert clf.predict(X.astype(np.float32)).shape == (len(X),)  # float on the fit scale is fine


def test_partial_fit_classes_and_one_class_chunks():
    X, y = make_images()
    clf = small(max_epochs=1)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.predict_proba(X).shape == (len(X), 3)
    clf.partial_fit(X[y == 0], y[y == 0])  # a one-class chunk on a fitted network
    assert len(clf.history) == 2
    with pytest.raises(ValueError, match="differs from the classes of the first fit"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        small().partial_fit(X[y == 0], y[y == 0])
    clf = small(max_epochs=1).partial_fit(X[y == 0], y[y == 0], classes=[0, 1])
    assert clf.classes_.tolist() == [0, 1]
    clf.fit(X, y)  # a new fit forgets partial_fit's classes
    assert clf.classes_.tolist() == [0, 1]


def test_defaults_learn_on_small_imbalanced_images_with_every_builtin_module():
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images * 16).clip(0, 255).astype(np.uint8)[:, None]
    y = (digits.target == 3).astype(int)  # 1:9
    rng = np.random.default_rng(0)
    test = rng.random(len(y)) < 0.3
    for module in ("simple_cnn", "resnet20", "mlp"):
        clf = CNNClassifier(module=module, batch_balance="class", max_epochs=8, random_state=0)
        clf.fit(X[~test], y[~test])
        score = balanced_accuracy_score(y[test], clf.predict(X[test]))
        assert score > 0.85, (module, score)


# ----------------------------------------------------------------------------- training budget


def test_max_steps_is_a_budget_that_does_not_depend_on_resampling():
    from imbsk.classifier import FewStepsWarning
    from imbsk.pipeline import make_pipeline
    from imbsk.sampling import RandomOverSampler, RandomUnderSampler

    X, y = make_images(150, 30)
    steps = {}
    for sampler in (RandomUnderSampler(random_state=0), None, RandomOverSampler(random_state=0)):
        rec = _Record()
        clf = small(max_steps=25, batch_size=16, callbacks=[rec])
        est = clf if sampler is None else make_pipeline(sampler, clf)
        est.fit(X, y)
        steps[type(sampler).__name__] = (len(rec.lrs), clf.epochs_, clf.steps_per_epoch_)
    assert {s[0] for s in steps.values()} == {25}  # the same number of gradient steps for every remedy
    assert steps["RandomUnderSampler"][1] > steps["NoneType"][1] > steps["RandomOverSampler"][1]
    # The schedule spans the budget: warm-up over the first epoch, then decay to nearly zero.
    rec = _Record()
    small(max_steps=40, batch_size=16, lr=0.1, callbacks=[rec]).fit(X, y)
    assert len(rec.lrs) == 40 and rec.lrs[-1] < 0.01 and max(rec.lrs) == pytest.approx(0.1, rel=0.05)
    with pytest.warns(FewStepsWarning, match=r"only 6 optimisation steps \(3 per epoch of 90 samples.*max_steps="):
        small(max_epochs=2, batch_size=32).fit(X[90:], y[90:])
    with pytest.raises(ValueError, match="max_steps"):
        small(max_steps=0).fit(X, y)


def test_unknown_fit_parameter_is_refused_before_training():
    X, y = make_images()
    clf = small()
    with pytest.raises(TypeError, match=r"fit\(\) passes .*SimpleCNN.forward takes no 'sample_weight'.*class_weight"):
        clf.fit(X, y, sample_weight=np.ones(len(y)))
    assert not hasattr(clf, "history_") or len(clf.history_) == 0
