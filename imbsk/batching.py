"""Per-epoch class-balanced index sampling and a batch iterator that never leaves the device.

Two pieces make the training loop of :class:`imbsk.CNNClassifier` fast and correct under imbalance:

* :class:`BalancedIndexSampler` draws, each epoch, a fresh list of *indices* in which class ``c`` appears
  with probability proportional to ``n_c ** power`` (``power=0``: class-balanced, ``power=0.5``:
  square-root sampling, ``power=1``: the natural frequencies). Only indices are drawn, so ``X`` is
  never copied or resampled, and since the sampler is built from the labels of the data it is
  given, it is correct inside cross-validation folds and after a resampling step.
* :class:`DeviceBatchIterator` slices mini-batches from one tensor that already lives on the
  compute device (uint8 images stay uint8 there). There is no per-sample ``Dataset.__getitem__``,
  no collate function, no worker process, and nothing in the loop waits for the device.

:class:`DeviceDataset` is the thin container that carries such tensors (and an optional index
view on them) through skorch's ``get_split_datasets`` / ``get_iterator`` hooks.
"""

import math

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

__all__ = [
    "BALANCE_POWERS",
    "BalancedIndexSampler",
    "DeviceBatchIterator",
    "DeviceDataset",
    "class_sampling_probabilities",
]

#: Exponent ``q`` of the class sampling probabilities ``p_c ∝ n_c ** q`` for each named scheme.
BALANCE_POWERS = {"none": 1.0, "sqrt": 0.5, "class": 0.0}


def class_sampling_probabilities(class_counts, power):
    """Probability of drawing each class when classes are sampled with ``p_c ∝ n_c ** power``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Number of samples of each class. Classes with no sample get probability 0.
    power : float
        ``0`` gives class-balanced sampling, ``0.5`` square-root sampling, ``1`` the natural
        (instance-balanced) frequencies.

    Returns
    -------
    probabilities : ndarray of shape (n_classes,)
        Non-negative, summing to one.

    Examples
    --------
    >>> class_sampling_probabilities([900, 100], power=0.5)
    array([0.75, 0.25])
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError(f"class_counts must be a non-empty 1-D array of non-negative counts, got {class_counts!r}.")
    weights = np.where(counts > 0, np.power(np.maximum(counts, 1.0), power), 0.0)
    return weights / weights.sum()


class BalancedIndexSampler(Sampler):
    """Draw ``n_samples`` indices per epoch with class probabilities ``p_c ∝ n_c ** power``.

    Each epoch first draws a class for every slot from ``p`` and then a member of that class
    uniformly at random (with replacement). Minority samples are therefore repeated, majority
    samples skipped, but only indices move: the data itself is never copied. Iterating twice
    gives two independent epochs.

    Also usable as the ``sampler`` of a plain :class:`torch.utils.data.DataLoader`.

    Parameters
    ----------
    y : array-like or tensor of shape (n_samples,)
        Integer class codes in ``0 .. n_classes - 1`` of the data being sampled.
    balance : {"class", "sqrt", "none"} or float, default="class"
        ``"class"``: every class equally likely; ``"sqrt"``: ``p_c ∝ sqrt(n_c)``; ``"none"``:
        natural frequencies; a float is used as the exponent directly.
    n_samples : int, default=None
        Indices drawn per epoch; ``None`` draws ``len(y)``, so an epoch keeps its usual length.
    generator : torch.Generator, default=None
        Source of randomness; ``None`` uses torch's global generator of the labels' device.

    Attributes
    ----------
    class_counts_ : ndarray of shape (n_classes,)
        Number of samples of each class in ``y``.
    class_probabilities_ : ndarray of shape (n_classes,)
        Probability of drawing each class.

    Examples
    --------
    >>> import torch
    >>> y = torch.tensor([0] * 90 + [1] * 10)
    >>> sampler = BalancedIndexSampler(y, balance="class", generator=torch.Generator().manual_seed(0))
    >>> idx = sampler.sample()
    >>> idx.shape
    torch.Size([100])
    >>> sampler.class_probabilities_
    array([0.5, 0.5])
    """

    def __init__(self, y, balance="class", n_samples=None, generator=None):
        y = torch.as_tensor(y)
        if y.ndim != 1 or y.numel() == 0:
            raise ValueError(f"y must be a non-empty 1-D array of class codes, got shape {tuple(y.shape)}.")
        if y.dtype.is_floating_point or y.dtype == torch.bool or y.min().item() < 0:
            raise ValueError("y must hold non-negative integer class codes (0 .. n_classes - 1).")
        if isinstance(balance, str):
            if balance not in BALANCE_POWERS:
                raise ValueError(
                    f"balance={balance!r} is not supported; use one of {sorted(BALANCE_POWERS)} or a float."
                )
            power = BALANCE_POWERS[balance]
        else:
            power = float(balance)
        if n_samples is not None and (int(n_samples) != n_samples or n_samples < 1):
            raise ValueError(f"n_samples must be a positive integer or None, got {n_samples!r}.")
        self.y = y
        self.balance = balance
        self.n_samples = n_samples
        self.generator = generator

        y = y.long()
        counts = torch.bincount(y)
        self.class_counts_ = counts.cpu().numpy()
        self.class_probabilities_ = class_sampling_probabilities(self.class_counts_, power)
        # Members of each class laid out contiguously: class c owns order[starts[c] : starts[c] + counts[c]].
        self._order = torch.argsort(y, stable=True)
        self._starts = torch.cumsum(counts, 0) - counts
        self._counts = counts
        self._probabilities = torch.as_tensor(self.class_probabilities_, dtype=torch.float64, device=y.device)

    def __len__(self):
        return len(self.y) if self.n_samples is None else int(self.n_samples)

    def sample(self):
        """Draw one epoch of indices.

        Returns
        -------
        indices : LongTensor of shape (n_samples,)
            Indices into ``y``, on the device of ``y``.
        """
        n = len(self)
        classes = torch.multinomial(self._probabilities, n, replacement=True, generator=self.generator)
        # Uniform member within the drawn class: floor(u * n_c), clamped against u rounding up to 1.
        u = torch.rand(n, dtype=torch.float64, device=classes.device, generator=self.generator)
        counts = self._counts[classes]
        offsets = torch.minimum((u * counts).long(), counts - 1)
        return self._order[self._starts[classes] + offsets]

    def __iter__(self):
        return iter(self.sample().tolist())


class DeviceDataset(Dataset):
    """Tensors that already live on the compute device, optionally seen through an index view.

    Parameters
    ----------
    X : Tensor of shape (n_samples, ...)
        Inputs, typically uint8 images or float32 features, on the compute device.
    y : LongTensor of shape (n_samples,), default=None
        Class codes on the same device.
    indices : LongTensor, default=None
        Restricts the data set to these rows without copying ``X`` (a validation split, a fold).

    Examples
    --------
    >>> import torch
    >>> ds = DeviceDataset(torch.zeros(10, 3), torch.arange(10) % 2)
    >>> len(ds.subset(torch.tensor([1, 3, 5])))
    3
    """

    def __init__(self, X, y=None, indices=None):
        if y is not None and len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}.")
        self.X = X
        self.y = y
        self.indices = indices

    def __len__(self):
        return len(self.X) if self.indices is None else len(self.indices)

    def __getitem__(self, i):
        j = i if self.indices is None else self.indices[i]
        return self.X[j], (self.y[j] if self.y is not None else torch.empty(0))

    def subset(self, indices):
        """Return a view on some rows of this data set (indices relative to this data set)."""
        indices = torch.as_tensor(indices, dtype=torch.long, device=self.X.device)
        if self.indices is not None:
            indices = self.indices[indices]
        return DeviceDataset(self.X, self.y, indices)

    def labels(self):
        """Class codes of the rows in this view, or None."""
        if self.y is None:
            return None
        return self.y if self.indices is None else self.y[self.indices]


class DeviceBatchIterator:
    """Iterate over mini-batches sliced from device-resident tensors.

    Every ``iter()`` is one epoch. Batches are views (sequential order) or ``index_select`` gathers
    (shuffled or balanced order) of the stored tensors; the per-epoch order is drawn on the
    device, so the loop issues no host-device synchronisation.

    Parameters
    ----------
    dataset : DeviceDataset
        The data to iterate over.
    batch_size : int
        Samples per batch.
    shuffle : bool, default=False
        Draw a new random permutation each epoch. Ignored when ``balance`` is not ``"none"``.
    balance : {"none", "class", "sqrt"} or float, default="none"
        Class-balanced index sampling per epoch (see :class:`BalancedIndexSampler`).
    drop_last_single : bool, default=False
        Drop a last batch of a single sample (batch normalisation cannot train on it).
    generator : torch.Generator, default=None
        Source of randomness; ``None`` uses torch's global generator.

    Examples
    --------
    >>> import torch
    >>> ds = DeviceDataset(torch.arange(10).view(10, 1), torch.arange(10) % 2)
    >>> [xb.shape[0] for xb, yb in DeviceBatchIterator(ds, batch_size=4)]
    [4, 4, 2]
    """

    def __init__(self, dataset, batch_size, shuffle=False, balance="none", drop_last_single=False, generator=None):
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.balance = balance
        self.drop_last_single = drop_last_single
        self.generator = generator
        self.sampler = None
        if balance != "none":
            labels = dataset.labels()
            if labels is None:
                raise ValueError("Class-balanced batches need labels; the data set has none.")
            self.sampler = BalancedIndexSampler(labels, balance=balance, generator=generator)

    def __len__(self):
        n = len(self.dataset)
        n_batches = math.ceil(n / self.batch_size)
        if self.drop_last_single and n > 1 and n % self.batch_size == 1:
            n_batches -= 1
        return n_batches

    def _epoch_order(self):
        ds = self.dataset
        if self.sampler is not None:
            order = self.sampler.sample()
            return order if ds.indices is None else ds.indices[order]
        if self.shuffle:
            perm = torch.randperm(len(ds), device=ds.X.device, generator=self.generator)
            return perm if ds.indices is None else ds.indices[perm]
        return ds.indices

    def __iter__(self):
        ds = self.dataset
        X, y = ds.X, ds.y
        order = self._epoch_order()
        n, bs = len(ds), self.batch_size
        for b in range(len(self)):
            start = b * bs
            stop = min(start + bs, n)
            if order is None:
                yield X[start:stop], (y[start:stop] if y is not None else None)
            else:
                idx = order[start:stop]
                yield X.index_select(0, idx), (y.index_select(0, idx) if y is not None else None)
