"""``CNNClassifier(n_threads=...)``: torch's thread count inside fit and prediction, restored after."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from imbsk import CNNClassifier


@pytest.fixture
def two_threads():
    """torch on two threads for the test, whatever the machine has; the previous count restored after."""
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(n)


def make_images(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 1, 8, 8)).astype(np.uint8)
    y = np.arange(n) % 2
    X[y == 1, :, 2:6, 2:6] = 255
    return X, y


def small(**params):
    return CNNClassifier(max_epochs=2, batch_size=16, random_state=0, module__width=4, **params)


class _ThreadsSeen(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


class _Boom(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("boom")


def test_n_threads_is_set_inside_fit_and_predict_and_restored(two_threads):
    X, y = make_images()
    record = _ThreadsSeen()
    clf = small(n_threads=1, callbacks=[("record", record)]).fit(X, y)
    assert record.seen and set(record.seen) == {1}
    assert torch.get_num_threads() == 2

    seen = []
    clf.module_.register_forward_hook(lambda *args: seen.append(torch.get_num_threads()))
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert clf.predict(X).shape == (len(X),)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2


def test_n_threads_none_leaves_torch_setting(two_threads):
    X, y = make_images()
    record = _ThreadsSeen()
    small(callbacks=[("record", record)]).fit(X, y)
    assert set(record.seen) == {2}
    assert torch.get_num_threads() == 2


def test_n_threads_restored_when_fit_raises(two_threads):
    X, y = make_images()
    with pytest.raises(RuntimeError, match="boom"):
        small(n_threads=1, callbacks=[("boom", _Boom())]).fit(X, y)
    assert torch.get_num_threads() == 2


def test_n_threads_gives_the_result_of_that_many_threads(two_threads):
    # n_threads=1 under a two-thread process trains exactly as a process set to one thread does: the
    # scores of a serial run then match those of n_jobs workers, which joblib gives one thread each.
    X, y = make_images()
    scoped = small(n_threads=1).fit(X, y).predict_proba(X)
    torch.set_num_threads(1)
    plain = small().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(scoped, plain)


@pytest.mark.parametrize(
    "value, match",
    [
        (0, r"'n_threads' parameter of CNNClassifier must be an int in the range \[1, inf\) or None. Got 0"),
        (-1, r"must be an int in the range \[1, inf\) or None. Got -1"),
        (1.5, r"must be an int in the range \[1, inf\) or None. Got 1.5"),
        ("2", r"must be an int in the range \[1, inf\) or None. Got '2'"),
        (True, "n_threads must be an integer, not a bool; got n_threads=True"),
    ],
)
def test_bad_n_threads_is_refused_with_its_name(value, match):
    X, y = make_images()
    with pytest.raises(ValueError, match=match):
        small(n_threads=value).fit(X, y)


def test_bad_n_threads_set_after_fit_is_refused_by_predict(two_threads):
    X, y = make_images()
    clf = small(n_threads=1).fit(X, y)
    clf.set_params(n_threads=0)
    with pytest.raises(ValueError, match="n_threads must be a positive int or None; got n_threads=0"):
        clf.predict(X)
    assert torch.get_num_threads() == 2
