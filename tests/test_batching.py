import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from imbsk.batching import (
    BalancedIndexSampler,
    DeviceBatchIterator,
    DeviceDataset,
    class_sampling_probabilities,
)

# Tiny networks: one torch thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _labels(counts):
    return torch.cat([torch.full((n,), c, dtype=torch.long) for c, n in enumerate(counts)])


def test_class_sampling_probabilities():
    np.testing.assert_allclose(class_sampling_probabilities([900, 100], 0.0), [0.5, 0.5])
    np.testing.assert_allclose(class_sampling_probabilities([900, 100], 0.5), [0.75, 0.25])
    np.testing.assert_allclose(class_sampling_probabilities([900, 100], 1.0), [0.9, 0.1])
    # An empty class (possible when ``classes`` lists more labels than a CV fold holds) is never drawn.
    np.testing.assert_allclose(class_sampling_probabilities([4, 0, 1], 0.0), [0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match="class_counts"):
        class_sampling_probabilities([0, 0], 0.0)


@pytest.mark.parametrize(
    "balance, expected",
    [("class", [1 / 3, 1 / 3, 1 / 3]), ("sqrt", np.sqrt([900, 90, 10]) / np.sqrt([900, 90, 10]).sum()),
     ("none", [0.9, 0.09, 0.01])],
)
def test_sampler_class_frequencies_per_epoch(balance, expected):
    y = _labels([900, 90, 10])
    sampler = BalancedIndexSampler(y, balance=balance, generator=torch.Generator().manual_seed(0))
    assert len(sampler) == len(y)
    freqs = []
    for _ in range(20):  # 20 epochs of 1000 draws
        idx = sampler.sample()
        assert idx.shape == (1000,) and idx.dtype == torch.long
        assert int(idx.min()) >= 0 and int(idx.max()) < len(y)
        freqs.append(np.bincount(y[idx].numpy(), minlength=3) / len(idx))
    freqs = np.array(freqs)
    # Each epoch is a fresh draw: frequencies vary from epoch to epoch around the target.
    assert not np.allclose(freqs[0], freqs[1])
    np.testing.assert_allclose(freqs.mean(axis=0), expected, atol=0.012)


def test_sampler_draws_members_uniformly_within_a_class():
    y = _labels([50, 10])
    sampler = BalancedIndexSampler(y, balance="class", n_samples=20000, generator=torch.Generator().manual_seed(1))
    idx = sampler.sample().numpy()
    minority = np.bincount(idx[idx >= 50] - 50, minlength=10)
    # 10000 expected minority draws over 10 members: about 1000 each.
    assert minority.min() > 850 and minority.max() < 1150
    majority = np.bincount(idx[idx < 50], minlength=50)
    assert (majority > 0).all()


def test_sampler_is_reproducible_and_works_in_a_dataloader():
    y = _labels([30, 5])
    a = BalancedIndexSampler(y, generator=torch.Generator().manual_seed(3)).sample()
    b = BalancedIndexSampler(y, generator=torch.Generator().manual_seed(3)).sample()
    assert torch.equal(a, b)
    sampler = BalancedIndexSampler(y, generator=torch.Generator().manual_seed(3))
    loader = DataLoader(TensorDataset(torch.arange(35), y), batch_size=7, sampler=sampler)
    seen = torch.cat([yb for _, yb in loader])
    assert len(seen) == 35
    assert 0.2 < seen.float().mean().item() < 0.8


def test_sampler_follows_non_contiguous_label_order():
    # Labels need not be sorted; indices must point at members of the drawn class.
    y = torch.tensor([1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    idx = BalancedIndexSampler(y, n_samples=4000, generator=torch.Generator().manual_seed(0)).sample()
    assert set(idx[y[idx] == 1].tolist()) == {0, 3}
    assert abs(y[idx].float().mean().item() - 0.5) < 0.04


@pytest.mark.parametrize(
    "y, balance, match",
    [([[0, 1]], "class", "1-D"), ([0.5, 1.0], "class", "integer"), ([0, 1], "cube", "balance"), ([], "class", "1-D")],
)
def test_sampler_rejects_bad_input(y, balance, match):
    with pytest.raises(ValueError, match=match):
        BalancedIndexSampler(torch.tensor(y), balance=balance)


def test_iterator_sequential_batches_are_views_in_order():
    X = torch.arange(10 * 2, dtype=torch.uint8).view(10, 2)
    y = torch.arange(10) % 2
    it = DeviceBatchIterator(DeviceDataset(X, y), batch_size=4)
    batches = list(it)
    assert [len(xb) for xb, _ in batches] == [4, 4, 2] == [len(yb) for _, yb in batches]
    assert len(it) == 3
    assert torch.equal(torch.cat([xb for xb, _ in batches]), X)
    # Sequential batches share memory with the stored tensor: nothing is copied.
    assert batches[1][0].data_ptr() == X[4:].data_ptr()


def test_iterator_shuffles_each_epoch_without_repeats():
    X = torch.arange(50).view(50, 1)
    it = DeviceBatchIterator(DeviceDataset(X, torch.zeros(50, dtype=torch.long)), batch_size=8, shuffle=True)
    epochs = [torch.cat([xb for xb, _ in it]).view(-1) for _ in range(2)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(50))
    assert not torch.equal(epochs[0], epochs[1])


def test_iterator_balanced_batches_and_subset_view():
    y = _labels([90, 10])
    X = torch.arange(100).view(100, 1)
    ds = DeviceDataset(X, y).subset(torch.arange(0, 100, 2))  # 45 majority, 5 minority rows
    assert len(ds) == 50
    it = DeviceBatchIterator(ds, batch_size=10, balance="class", generator=torch.Generator().manual_seed(0))
    xs, ys = [], []
    for _ in range(40):
        for xb, yb in it:
            xs.append(xb.view(-1))
            ys.append(yb)
    xs, ys = torch.cat(xs), torch.cat(ys)
    assert set(xs.tolist()) <= set(range(0, 100, 2))  # only rows of the view
    assert torch.equal(y[xs], ys)  # labels travel with their rows
    assert abs(ys.float().mean().item() - 0.5) < 0.03


def test_iterator_drops_a_single_sample_last_batch():
    ds = DeviceDataset(torch.zeros(9, 1), torch.zeros(9, dtype=torch.long))
    it = DeviceBatchIterator(ds, batch_size=4, shuffle=True, drop_last_single=True)
    assert len(it) == 2 and [len(xb) for xb, _ in it] == [4, 4]
    assert len(DeviceBatchIterator(ds, batch_size=4)) == 3


def test_iterator_without_labels_and_errors():
    it = DeviceBatchIterator(DeviceDataset(torch.zeros(5, 1)), batch_size=2)
    assert [yb for _, yb in it] == [None, None, None]
    with pytest.raises(ValueError, match="labels"):
        DeviceBatchIterator(DeviceDataset(torch.zeros(5, 1)), batch_size=2, balance="class")
    with pytest.raises(ValueError, match="batch_size"):
        DeviceBatchIterator(DeviceDataset(torch.zeros(5, 1)), batch_size=0)
    with pytest.raises(ValueError, match="different lengths"):
        DeviceDataset(torch.zeros(5, 1), torch.zeros(4))
