"""CPU training time: a hand-written PyTorch loop vs plain skorch vs imbsk.CNNClassifier.

All three train the same SimpleCNN (``--width``, default 16) with the same SGD (lr 0.05, momentum 0.9, Nesterov,
weight decay 5e-4), batch size and number of epochs on the same CIFAR-sized uint8 images, starting
from the numpy arrays a scikit-learn user has:

- hand loop: converts X once to a normalised float32 tensor, then per epoch a ``randperm``, slices,
  forward, cross-entropy, backward, step. The reference.
- plain skorch: ``NeuralNetClassifier`` with ``criterion=CrossEntropyLoss``, ``train_split=None``,
  ``iterator_train__shuffle=True`` on the same normalised float32 array (its DataLoader, per-sample
  ``__getitem__`` and collate, closure step and per-batch ``loss.item()``).
- CNNClassifier: ``fit`` on the uint8 array (validation, normalisation statistics, batches gathered
  from one uint8 tensor and normalised per batch, loss read once per epoch).

The methods alternate inside each repeat so that load changes hit them alike; each is warmed up once.
The table shows the median time over the repeats, its ratio to the hand loop's median, and the median
of the per-repeat ratios (each method against the hand loop of the same repeat), which is the more
robust figure on a machine shared with other work.

    python benchmarks/bench_cpu_training.py [--n 2048] [--epochs 2] [--repeats 7] [--threads 2]
                                            [--width 16] [--data ../shared/data]

The smaller the network, the larger the share of the per-batch framework overhead (data loading,
step bookkeeping) in the total: a narrow SimpleCNN is the demanding case for the comparison, while at
width 32 the convolutions dominate all three.

With ``--data`` the images are CIFAR-10 training images (read with ``imbsk.datasets.load_cifar10``);
otherwise random uint8 images of the same shape (the timing does not depend on content).
"""

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from skorch import NeuralNetClassifier
from torch import nn

from imbsk import CNNClassifier
from imbsk.models import SimpleCNN

LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4


def load_data(n, data):
    if data:
        from imbsk.datasets import load_cifar10

        X, y = load_cifar10(data, split="train", classes=["cat", "dog"])
        return np.ascontiguousarray(X[:n]), np.asarray(y[:n]), f"CIFAR-10 cat/dog training images from {data}"
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    y = (rng.random(n) < 0.1).astype(np.int64)
    return X, y, "random uint8 images (3x32x32)"


def hand_loop(X, y, epochs, batch_size, seed, width):
    torch.manual_seed(seed)
    mean = X.mean(axis=(0, 2, 3), dtype=np.float64).reshape(1, 3, 1, 1)
    std = X.std(axis=(0, 2, 3), dtype=np.float64).reshape(1, 3, 1, 1)
    Xt = torch.from_numpy(((X - mean) / std).astype(np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    model = SimpleCNN(n_classes=2, in_channels=3, width=width)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return model


def plain_skorch(X, y, epochs, batch_size, seed, width):
    torch.manual_seed(seed)
    mean = X.mean(axis=(0, 2, 3), dtype=np.float64).reshape(1, 3, 1, 1)
    std = X.std(axis=(0, 2, 3), dtype=np.float64).reshape(1, 3, 1, 1)
    Xf = ((X - mean) / std).astype(np.float32)
    net = NeuralNetClassifier(
        SimpleCNN, module__n_classes=2, module__in_channels=3, module__width=width, criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD, lr=LR, optimizer__momentum=MOMENTUM, optimizer__nesterov=True,
        optimizer__weight_decay=WEIGHT_DECAY, batch_size=batch_size, max_epochs=epochs, train_split=None,
        iterator_train__shuffle=True, verbose=0,
    )
    return net.fit(Xf, y.astype(np.int64))


def cnn_classifier(X, y, epochs, batch_size, seed, width):
    clf = CNNClassifier(
        "simple_cnn", module__width=width, lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY,
        batch_size=batch_size, max_epochs=epochs, device="cpu", random_state=seed,
    )
    return clf.fit(X, y)


METHODS = {"hand-written PyTorch loop": hand_loop, "plain skorch": plain_skorch, "imbsk.CNNClassifier": cnn_classifier}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048, help="training images")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=16, help="SimpleCNN width")
    parser.add_argument("--data", default=None, help="CIFAR-10 root for real images (optional)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    X, y, source = load_data(args.n, args.data)
    times = {name: [] for name in METHODS}
    for fn in METHODS.values():  # warm-up: first-call allocations and kernel selection
        fn(X[: 4 * args.batch_size], y[: 4 * args.batch_size], 1, args.batch_size, 0, args.width)
    for r in range(args.repeats):
        order = list(METHODS.items())
        if r % 2:
            order.reverse()  # alternate the order too, so that no method always runs after the same one
        for name, fn in order:
            t0 = time.perf_counter()
            fn(X, y, args.epochs, args.batch_size, r, args.width)
            times[name].append(time.perf_counter() - t0)

    ref = statistics.median(times["hand-written PyTorch loop"])
    images = args.n * args.epochs
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    print(f"model: SimpleCNN(width={args.width}); data: {source}; {args.n} images x {args.epochs} epochs, "
          f"batch {args.batch_size}, "
          f"median of {args.repeats} alternating runs\n")
    print("| method | median time (s) | images/s | vs hand loop (medians) | vs hand loop (paired) | all runs (s) |")
    print("|---|---:|---:|---:|---:|---|")
    hand = np.array(times["hand-written PyTorch loop"])
    for name in METHODS:
        med = statistics.median(times[name])
        # Ratio to the hand loop of the same repeat: robust to load that drifts between repeats.
        paired = statistics.median(np.array(times[name]) / hand)
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {name} | {med:.2f} | {images / med:,.0f} | {med / ref:.3f}x | {paired:.3f}x | {runs} |")

if __name__ == "__main__":
    main()
