import math

import numpy as np
import pytest

from imbsk.datasets import long_tailed_counts, make_imbalance, make_long_tailed


def _images(n_per_class, n_classes=2, shape=(3, 4, 4)):
    """uint8 images whose first pixel row encodes the sample index, so kept rows can be traced back."""
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = np.zeros((y.size, *shape), dtype=np.uint8)
    X.reshape(y.size, -1)[:, :4] = np.arange(y.size)[:, None].view(np.uint8).reshape(y.size, -1)[:, :4]
    return X, y


def _decode_index(X):
    return np.ascontiguousarray(X.reshape(len(X), -1)[:, :4]).view(np.uint32).ravel()


def test_keep_500_of_5000_dogs():
    X, y = _images(5000)
    X_before, y_before = X.copy(), y.copy()
    X_res, y_res, idx = make_imbalance(X, y, sampling_strategy={1: 500}, random_state=0, return_indices=True)
    assert np.bincount(y_res).tolist() == [5000, 500]
    assert X_res.dtype == np.uint8 and X_res.shape == (5500, 3, 4, 4)
    assert y_res.dtype == np.int64
    # Rows are the original samples, in their original order, with their own labels.
    assert np.array_equal(_decode_index(X_res), idx)
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(y_res, y[idx])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_same_seed_same_result_and_seeds_differ():
    X, y = _images(200)
    a = make_imbalance(X, y, sampling_strategy={1: 20}, random_state=3, return_indices=True)[2]
    b = make_imbalance(X, y, sampling_strategy={1: 20}, random_state=3, return_indices=True)[2]
    c = make_imbalance(X, y, sampling_strategy={1: 20}, random_state=4, return_indices=True)[2]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    rng = np.random.RandomState(3)
    d = make_imbalance(X, y, sampling_strategy={1: 20}, random_state=rng, return_indices=True)[2]
    assert np.array_equal(a, d)


@pytest.mark.parametrize("ndim", [1, 2, 3, 5])
def test_any_ndim_keeps_dtype_and_shape(ndim):
    y = np.repeat([0, 1, 2], 30)
    X = np.arange(y.size * 2 ** (ndim - 1), dtype=np.float32).reshape(y.size, *([2] * (ndim - 1)))
    X_res, y_res, idx = make_imbalance(X, y, sampling_strategy={0: 5, 2: 7}, random_state=0, return_indices=True)
    assert X_res.dtype == X.dtype and X_res.ndim == ndim
    assert np.bincount(y_res).tolist() == [5, 30, 7]
    np.testing.assert_array_equal(X_res, X[idx])


def test_callable_with_kwargs():
    X, y = _images(100, n_classes=3)

    def halve(y, factor):
        classes, counts = np.unique(y, return_counts=True)
        return {int(c): int(n // factor) for c, n in zip(classes, counts, strict=True)}

    _, y_res = make_imbalance(X, y, sampling_strategy=halve, random_state=0, factor=4)
    assert np.bincount(y_res).tolist() == [25, 25, 25]


def test_string_strategy_balances_to_minority():
    y = np.repeat([0, 1, 2], [50, 20, 35])
    X = np.arange(y.size)
    _, y_res = make_imbalance(X, y, sampling_strategy="not minority", random_state=0)
    assert np.bincount(y_res).tolist() == [20, 20, 20]


def test_float_and_imbalance_ratio_on_binary():
    X, y = _images(1000)
    _, y_float, i_float = make_imbalance(X, y, sampling_strategy=0.1, random_state=0, return_indices=True)
    _, y_ratio, i_ratio = make_imbalance(X, y, imbalance_ratio=10, random_state=0, return_indices=True)
    assert np.bincount(y_float).tolist() == [1000, 100]
    assert np.array_equal(i_float, i_ratio)
    # With class 0 the smaller one, class 0 is the one cut.
    y2 = np.repeat([0, 1], [800, 1000])
    _, y_res = make_imbalance(np.zeros((y2.size, 2)), y2, sampling_strategy=0.5, random_state=0)
    assert np.bincount(y_res).tolist() == [500, 1000]


def test_imbalance_ratio_multiclass():
    y = np.repeat([0, 1, 2, 3], [300, 400, 35, 100])
    _, y_res = make_imbalance(np.zeros(y.size), y, imbalance_ratio=8, random_state=0)
    n_keep = math.floor(400 / 8)
    assert np.bincount(y_res).tolist() == [n_keep, 400, 35, n_keep]


def test_labels_are_kept_as_given():
    y = np.array(["cat"] * 40 + ["dog"] * 40)
    _, y_res = make_imbalance(np.zeros((80, 1, 2, 2)), y, sampling_strategy={"dog": 4}, random_state=0)
    assert y_res.dtype == y.dtype
    assert sorted(set(y_res.tolist())) == ["cat", "dog"] and (y_res == "dog").sum() == 4
    y32 = np.repeat(np.array([3, 7], dtype=np.int32), 10)
    _, y_res = make_imbalance(np.zeros(20), y32, sampling_strategy={7: 2}, random_state=0)
    assert y_res.dtype == np.int64 and sorted(set(y_res.tolist())) == [3, 7]


def test_list_input():
    X = [[i] for i in range(20)]
    y = [0] * 10 + [1] * 10
    X_res, y_res = make_imbalance(X, y, sampling_strategy={0: 3}, random_state=0)
    assert isinstance(X_res, list) and len(X_res) == 13 and y_res.tolist().count(0) == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one"),
        ({"sampling_strategy": {1: 5}, "imbalance_ratio": 2}, "exactly one"),
        ({"sampling_strategy": {1: 50}}, "less or equal"),
        ({"sampling_strategy": {9: 5}}, "not present"),
        ({"sampling_strategy": 1.5}, r"\(0, 1\]"),
        ({"sampling_strategy": [1]}, "must be a dict"),
        ({"imbalance_ratio": 0.5}, "imbalance_ratio"),
        ({"imbalance_ratio": True}, "imbalance_ratio"),
        ({"sampling_strategy": {1: 5}, "factor": 2}, "callable"),
    ],
)
def test_invalid_parameters(kwargs, match):
    y = np.repeat([0, 1], 20)
    with pytest.raises(ValueError, match=match):
        make_imbalance(np.zeros(40), y, **kwargs)


def test_float_needs_binary_and_cannot_grow():
    y = np.repeat([0, 1, 2], 20)
    with pytest.raises(ValueError, match="binary"):
        make_imbalance(np.zeros(60), y, sampling_strategy=0.5)
    y = np.repeat([0, 1], [100, 10])
    with pytest.raises(ValueError, match="only 10"):
        make_imbalance(np.zeros(110), y, sampling_strategy=0.5)


def test_length_mismatch():
    with pytest.raises(ValueError, match="inconsistent"):
        make_imbalance(np.zeros(5), [0, 1, 0, 1], imbalance_ratio=2)


def test_cifar10_lt_counts():
    n_max, ir, n_classes = 5000, 100, 10
    y = np.repeat(np.arange(n_classes), n_max)
    X = np.arange(y.size, dtype=np.int32)
    X_lt, y_lt, idx = make_long_tailed(X, y, imbalance_ratio=ir, return_indices=True)
    expected = [math.floor(n_max * ir ** (-i / (n_classes - 1))) for i in range(n_classes)]
    assert np.bincount(y_lt).tolist() == expected
    # The size of CIFAR-10-LT at ratio 100 as published (Cao et al., 2019).
    assert len(y_lt) == 12406
    assert expected[0] == n_max and expected[-1] == n_max // ir
    np.testing.assert_array_equal(X_lt, X[idx])
    # Default random_state=0: reproducible.
    assert np.array_equal(idx, make_long_tailed(X, y, imbalance_ratio=ir, return_indices=True)[2])


def test_long_tailed_follows_label_order_not_appearance():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat([17, 11, 13], 90))
    _, y_lt = make_long_tailed(np.zeros((y.size, 2, 2)), y, imbalance_ratio=9)
    counts = {c: int((y_lt == c).sum()) for c in (11, 13, 17)}
    assert counts == {11: 90, 13: math.floor(90 * 9**-0.5), 17: 10}


def test_step_profile():
    y = np.repeat(np.arange(10), 5000)
    _, y_lt = make_long_tailed(np.zeros(y.size), y, imbalance_ratio=10, profile="step")
    assert np.bincount(y_lt).tolist() == [5000] * 5 + [500] * 5
    y = np.repeat(np.arange(5), 100)
    _, y_lt = make_long_tailed(np.zeros(y.size), y, imbalance_ratio=4, profile="step")
    assert np.bincount(y_lt).tolist() == [100, 100, 25, 25, 25]


def test_long_tailed_counts_edge_cases():
    # Exact integers in real arithmetic must not lose one to rounding: 5000 * 100 ** -0.5 = 500.
    assert long_tailed_counts([5000, 5000, 5000], 100).tolist() == [5000, 500, 50]
    # Classes with fewer samples than their target keep what they have.
    assert long_tailed_counts([100, 20, 100], 4).tolist() == [100, 20, 25]
    assert long_tailed_counts([7, 7], 1).tolist() == [7, 7]
    with pytest.raises(ValueError, match="profile"):
        long_tailed_counts([5, 5], 2, profile="linear")
    with pytest.raises(ValueError, match="imbalance_ratio"):
        make_long_tailed(np.zeros(4), [0, 0, 1, 1], imbalance_ratio=0)


def test_large_ratios_keep_one_sample_of_every_class():
    y = np.repeat([0, 1, 2], [100, 50, 20])
    _, y_res = make_imbalance(np.zeros(y.size), y, imbalance_ratio=1000, random_state=0)
    assert np.bincount(y_res).tolist() == [100, 1, 1]
    y2 = np.repeat([0, 1], 100)
    _, y_res = make_imbalance(np.zeros(200), y2, sampling_strategy=0.001, random_state=0)
    assert np.bincount(y_res).tolist() == [100, 1]
    y10 = np.repeat(np.arange(10), 10)
    _, y_lt = make_long_tailed(np.zeros(y10.size), y10, imbalance_ratio=100)
    expected = [max(1, math.floor(10 * 100 ** (-i / 9))) for i in range(10)]
    assert np.bincount(y_lt).tolist() == expected and min(expected) == 1
    assert long_tailed_counts([5] * 4, imbalance_ratio=10, profile="step").tolist() == [5, 5, 1, 1]
    # A class with no samples still has none.
    assert long_tailed_counts([100, 0, 100], imbalance_ratio=1000).tolist() == [100, 0, 1]


def test_a_dict_may_drop_a_class_explicitly():
    y = np.repeat([0, 1, 2], 10)
    _, y_res = make_imbalance(np.zeros(30), y, sampling_strategy={1: 0}, random_state=0)
    assert sorted(set(y_res.tolist())) == [0, 2] and y_res.size == 20
    with pytest.raises(ValueError, match="keeps no sample at all"):
        make_imbalance(np.zeros(30), y, sampling_strategy={0: 0, 1: 0, 2: 0})


@pytest.mark.parametrize(
    "counts, match",
    [
        ([-5, 10], r"whole numbers >= 0; got -5"),
        ([2.5, 10], r"whole numbers >= 0; got 2.5"),
        ([float("nan"), 10], r"whole numbers >= 0; got nan"),
        (["5", "10"], "whole numbers; got values of dtype <U2"),
        ([True, False], "whole numbers; got values of dtype bool"),
        ([], r"non-empty 1-D .* shape \(0,\)"),
        ([[5, 10]], r"non-empty 1-D .* shape \(1, 2\)"),
    ],
)
def test_long_tailed_counts_refuses_bad_counts(counts, match):
    with pytest.raises(ValueError, match=match):
        long_tailed_counts(counts, 10)


def test_long_tailed_counts_accepts_whole_floats():
    assert long_tailed_counts([100.0, 100.0], 10).tolist() == [100, 10]


@pytest.mark.parametrize(
    "y, match",
    [
        (["a", 1, "a", 1], r"y mixes string and non-string labels \(for example 'a' and 1\)"),
        (np.array([1, "a", 1, "a"], dtype=object), "y mixes string and non-string labels"),
        ([0, 1, None, 1], r"y holds None \(first at position 2\)"),
    ],
)
def test_mixed_or_missing_labels_are_refused(y, match):
    with pytest.raises(ValueError, match=match):
        make_imbalance(np.zeros(4), y, imbalance_ratio=2)
    with pytest.raises(ValueError, match=match):
        make_long_tailed(np.zeros(4), y)


def test_empty_input_is_refused():
    for kwargs in ({"imbalance_ratio": 2}, {"sampling_strategy": {}}, {"sampling_strategy": 0.5}):
        with pytest.raises(ValueError, match="y is empty: make_imbalance needs at least one sample"):
            make_imbalance(np.zeros((0, 3, 4, 4)), [], **kwargs)
    with pytest.raises(ValueError, match="y is empty: make_long_tailed needs at least one sample"):
        make_long_tailed(np.zeros((0, 3, 4, 4)), np.array([], dtype=int))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sampling_strategy": {1: 2.5}}, r"whole number of samples >= 0 .* got 2.5 for class 1"),
        ({"sampling_strategy": lambda y: [1]}, "callable sampling_strategy must return a dict .*; got list"),
        ({"imbalance_ratio": 2, "return_indices": "yes"}, "return_indices must be True or False"),
    ],
)
def test_invalid_strategy_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_imbalance(np.zeros(40), np.repeat([0, 1], 20), **kwargs)


def test_whole_float_counts_in_a_dict_are_accepted():
    _, y_res = make_imbalance(np.zeros(40), np.repeat([0, 1], 20), sampling_strategy={1: 4.0}, random_state=0)
    assert np.bincount(y_res).tolist() == [20, 4]
