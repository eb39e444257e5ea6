"""Do ``CNNClassifier``'s defaults train? Remedies with every other parameter left at its default.

The CIFAR benchmarks (``bench_cifar.py``) tune the optimiser (warm-up, augmentation); this script does
not. Each row is the plain classifier ``CNNClassifier(max_epochs=E, random_state=seed, module=M)`` with
at most one remedy, so a default that cannot train shows up as a dead network: a train loss stuck at
ln 2 = 0.693 on balanced data, one class predicted for every test image, balanced accuracy 0.5.

Tasks:

- ``--task catdog`` (default): CIFAR-10 cats vs dogs at 5,000:500 (``bench_cifar.load_task``), scored on
  the 2,000 official test images; rows ``none``, ``ros``, ``balanced``; 15 epochs.
- ``--task digits``: scikit-learn's digits as (N, 1, 8, 8) images, long-tailed with
  ``make_long_tailed(imbalance_ratio=20)`` (180 down to 9 images a class), scored by stratified 5-fold
  ``cross_validate``; rows ``none`` and ``weighted``; 30 epochs.

========== =====================================================================================
none       ``CNNClassifier(...)``
ros        ``make_pipeline(RandomOverSampler(random_state=seed), CNNClassifier(...))``
balanced   ``CNNClassifier(batch_balance="class", ...)``
weighted   ``CNNClassifier(class_weight="balanced", ...)``
========== =====================================================================================

``--set key=value`` (repeatable) sets a ``CNNClassifier`` parameter of every row, to try a candidate
default without editing the package. The value is a Python literal (``--set lr=0.02``,
``--set optimizer="'adamw'"``) or an expression over two names defined here: ``GradientNormClipping``
(skorch's callback, e.g. ``--set "callbacks=[GradientNormClipping(1.0)]"``) and ``SimpleCNNBN``
(SimpleCNN with batch normalisation, ``--set module=SimpleCNNBN``).

For every fit the table shows the first- and last-epoch train loss (``history[:, "train_loss"]``) and
how many classes it predicts on its test images.

Usage
-----
::

    OMP_NUM_THREADS=2 python benchmarks/bench_defaults.py [--task catdog] [--rows none,ros,balanced] \\
        [--seeds 0 1 2] [--epochs 15] [--module simple_cnn] [--set warmup_epochs=1 ...] [--subset N] \\
        [--data PATH] [--output benchmarks/results/defaults.md]
"""

import argparse
import ast
import datetime
import time

import numpy as np
import torch
from _paths import DEFAULT_DATA, append_table, command_line, machine_fields
from bench_cifar import load_task
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_validate
from skorch.callbacks import GradientNormClipping
from torch import nn

from imbsk import CNNClassifier
from imbsk.datasets import make_long_tailed
from imbsk.models import SimpleCNN
from imbsk.pipeline import make_pipeline
from imbsk.sampling import RandomOverSampler

TASK_ROWS = {"catdog": ("none", "ros", "balanced"), "digits": ("none", "weighted")}
ROWS = ("none", "ros", "balanced", "weighted")


class SimpleCNNBN(SimpleCNN):
    """SimpleCNN with a BatchNorm2d after every convolution (a candidate module for ``--set``)."""

    def __init__(self, n_classes=2, in_channels=3, width=32, dropout=0.25):
        super().__init__(n_classes, in_channels, width, dropout)
        layers = []
        for layer in self.features:
            layers.append(layer)
            if isinstance(layer, nn.Conv2d):
                layers.append(nn.BatchNorm2d(layer.out_channels))
        self.features = nn.Sequential(*layers)


def parse_set(items):
    """``["key=value", ...]`` -> ``{key: source}``; the source is evaluated afresh for every fit."""
    sets = {}
    for item in items:
        key, sep, source = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes key=value; got {item!r}.")
        evaluate(source)
        sets[key.strip()] = source
    return sets


def evaluate(source):
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        pass
    # Fresh objects each call, so that no callback is shared between fits.
    try:
        return eval(source, {"__builtins__": {}},
                    {"GradientNormClipping": GradientNormClipping, "SimpleCNNBN": SimpleCNNBN})
    except Exception as exc:
        raise ValueError(f"--set value {source!r} is neither a Python literal nor an expression over "
                         f"GradientNormClipping and SimpleCNNBN ({exc}).") from None


def build_row(name, epochs, seed, module, sets):
    clf = CNNClassifier(max_epochs=epochs, random_state=seed, module=module)
    clf.set_params(**{key: evaluate(source) for key, source in sets.items()})
    if name == "ros":
        return make_pipeline(RandomOverSampler(random_state=seed), clf)
    if name == "balanced":
        clf.set_params(batch_balance="class")
    elif name == "weighted":
        clf.set_params(class_weight="balanced")
    return clf


def load_digits_lt(data_seed):
    X, y = load_digits(return_X_y=True)
    return make_long_tailed(X.reshape(-1, 1, 8, 8), y, imbalance_ratio=20, random_state=data_seed)


def fit_and_score(est, X, y, X_test, y_test, folds):
    """``[(balanced accuracy, first loss, last loss, classes predicted), ...]``: one fit, or one per fold."""
    def losses(est):
        loss = (est[-1] if hasattr(est, "steps") else est).history[:, "train_loss"]
        return loss[0], loss[-1]

    if folds is None:
        est.fit(X, y)
        pred = est.predict(X_test)
        return [(balanced_accuracy_score(y_test, pred), *losses(est), len(np.unique(pred)))]
    cv = cross_validate(est, X, y, cv=folds, scoring="balanced_accuracy", return_estimator=True,
                        return_indices=True)
    return [(score, *losses(fitted), len(np.unique(fitted.predict(X[test]))))
            for score, fitted, test in zip(cv["test_score"], cv["estimator"], cv["indices"]["test"])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(TASK_ROWS), default="catdog")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="CIFAR-10 folder (default: ../shared/data)")
    parser.add_argument("--rows", default=None, help="comma-separated (default: every row of the task)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: 15 (catdog), 30 (digits)")
    parser.add_argument("--module", default="simple_cnn")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="CNNClassifier parameter for every row (repeatable)")
    parser.add_argument("--subset", type=int, default=0, help="catdog smoke test: N training and N test images")
    parser.add_argument("--output", default=None, help="append the table to this markdown file")
    args = parser.parse_args()
    epochs = args.epochs or (15 if args.task == "catdog" else 30)
    names = [r.strip() for r in (args.rows or ",".join(TASK_ROWS[args.task])).split(",") if r.strip()]
    for name in names:
        if name not in ROWS:
            parser.error(f"unknown row {name!r}; choose from {', '.join(ROWS)}.")
    try:
        sets = parse_set(args.set)
        build_row(names[0], epochs, 0, args.module, sets)
    except ValueError as exc:
        parser.error(str(exc))

    start = time.perf_counter()
    if args.task == "catdog":
        X, y, X_test, y_test = load_task(args.data, "catdog", None, 0, args.subset)
        folds, task = None, "cat vs dog 5,000:500, official test images"
    else:
        X, y = load_digits_lt(0)
        X_test = y_test = None
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        task = "digits long-tailed 1:20 (8x8), stratified 5-fold cross-validation"
    print(f"training counts {np.bincount(y).tolist()}", flush=True)
    results = []
    for name in names:
        fits, t0 = [], time.perf_counter()
        for seed in args.seeds:
            seed_fits = fit_and_score(build_row(name, epochs, seed, args.module, sets), X, y, X_test, y_test, folds)
            fits.append(seed_fits)
            print(f"{name} seed {seed}: " + ", ".join(f"{s:.4f} (loss {a:.3f} -> {b:.3f}, {k} classes)"
                                                     for s, a, b, k in seed_fits), flush=True)
        results.append((name, fits, time.perf_counter() - t0))
    wall = time.perf_counter() - start

    per = "seed (mean of folds)" if folds is not None else "seed"
    lines = [
        f"{task}; module {args.module}, {epochs} epochs, seeds {args.seeds}"
        + (f", --set {' '.join(args.set)}" if args.set else ", every other parameter at its default")
        + (f", subset {args.subset}" if args.subset else ""),
        "",
        f"| row | balanced accuracy (mean ± std) | per {per} | train loss, first -> last epoch | classes "
        "predicted | wall time, all seeds (s) |",
        "|---|---:|---|---|---|---:|",
    ]
    for name, fits, seconds in results:
        scores = [np.mean([f[0] for f in seed_fits]) for seed_fits in fits]
        flat = [f for seed_fits in fits for f in seed_fits]
        lines.append(
            f"| {name} | {np.mean(scores):.4f} ± {np.std(scores):.4f} | {', '.join(f'{s:.4f}' for s in scores)} | "
            f"{', '.join(f'{a:.2f} -> {b:.3f}' for _, a, b, _ in flat)} | {', '.join(str(f[3]) for f in flat)} "
            f"| {seconds:.0f} |"
        )
    device = evaluate(sets["device"]) if "device" in sets else "auto"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    lines += [
        "",
        f"command: `{command_line()}`",
        f"date: {datetime.datetime.now().isoformat(timespec='minutes')}; machine: {machine_fields()}, "
        f"torch threads {torch.get_num_threads()}, device {device}; total wall time {wall:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    append_table(text, args.output)


if __name__ == "__main__":
    main()
