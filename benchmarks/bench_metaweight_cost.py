"""Cost of a Meta-Weight-Net epoch against a plain CNNClassifier epoch.

Trains the same SimpleCNN (``--width``, default 16) with the same optimiser and batch size on random uint8
images (``--n`` of 3 x ``--size`` x ``--size``, ten classes, long-tailed counts) with

- ``CNNClassifier``: the plain step (forward, loss, backward, optimiser step);
- ``MetaWeightClassifier`` (Meta-Weight-Net, ``meta_interval=1`` as in the paper, and ``meta_interval=5``);
- ``MetaWeightClassifier(weighting="l2rw")``.

Each fit runs ``--epochs`` epochs; the time per epoch is the median of skorch's per-epoch ``dur``
(the first epoch left out), so start-up, validation and meta-set drawing are not counted. The methods
alternate inside each repeat so that load changes hit them alike. The meta set (``meta_size`` per class)
leaves the training set, so a Meta-Weight-Net epoch has slightly fewer steps; the table also gives the
time per step. The ratio column is per step, against the plain step of the same repeat (median over
repeats).

    python benchmarks/bench_metaweight_cost.py [--n 2000] [--size 16] [--epochs 3] [--repeats 3]
                                               [--threads 1] [--width 16] [--device cpu]
"""

import argparse
import os
import platform
import statistics
import warnings

import numpy as np
import torch

from imbsk import CNNClassifier
from imbsk.metaweight import MetaWeightClassifier


def make_data(n, size, n_classes=10, ratio=10, seed=0):
    rng = np.random.default_rng(seed)
    counts = np.maximum(ratio ** (-np.arange(n_classes) / (n_classes - 1)), 1e-9)
    counts = np.maximum(np.round(counts / counts.sum() * n).astype(int), 12)
    y = rng.permutation(np.repeat(np.arange(n_classes), counts))
    X = rng.integers(0, 256, size=(len(y), 3, size, size), dtype=np.uint8)
    return X, y


def time_fit(make, X, y):
    clf = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    durs = clf.history[1:, "dur"] or clf.history[:, "dur"]
    steps = clf.history[-1, "train_batch_count"]
    epoch = statistics.median(durs)
    return epoch, epoch / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    X, y = make_data(args.n, args.size)
    common = dict(module__width=args.width, batch_size=args.batch_size, max_epochs=args.epochs, random_state=0,
                  device=args.device, callbacks__divergence_guard=None)
    methods = {
        "CNNClassifier": lambda: CNNClassifier(**common),
        "MWN, meta_interval=1": lambda: MetaWeightClassifier(**common),
        "MWN, meta_interval=5": lambda: MetaWeightClassifier(meta_interval=5, **common),
        "L2RW": lambda: MetaWeightClassifier(weighting="l2rw", **common),
    }
    X_warm, y_warm = make_data(300, args.size, seed=1)
    for make in methods.values():  # warm-up
        time_fit(make, X_warm, y_warm)
    results = {name: [] for name in methods}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, make in methods.items():
            results[name].append(time_fit(make, X, y))
    load_after = os.getloadavg()

    print(f"{len(y)} random uint8 images 3x{args.size}x{args.size}, 10 classes (counts {np.bincount(y).tolist()}), "
          f"SimpleCNN width {args.width}, batch {args.batch_size}, {args.epochs} epochs, {args.repeats} repeats, "
          f"device {args.device}, {args.threads} torch thread(s), torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print()
    print(f"| {'method':<22} | s / epoch | ms / step | x plain step |")
    print(f"|{'-' * 24}|-----------|-----------|--------------|")
    plain = results["CNNClassifier"]
    for name, rows in results.items():
        epoch = statistics.median(r[0] for r in rows)
        step = statistics.median(r[1] for r in rows)
        ratio = statistics.median(r[1] / p[1] for r, p in zip(rows, plain))
        print(f"| {name:<22} | {epoch:9.3f} | {step * 1e3:9.1f} | {ratio:12.2f} |")


if __name__ == "__main__":
    main()
