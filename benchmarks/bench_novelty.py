"""One-class detection against re-sampling on CIFAR-10 pairs: where learning only the majority class pays.

Tasks (``--tasks``, comma-separated), each a CIFAR-10 pair with its second class cut by
``make_imbalance(X, y, sampling_strategy={1: n_rare}, random_state=--data-seed)``, scored on the two
classes' official test images (1,000 each, balanced, so accuracy there is balanced accuracy):

=============== =================================================
catdog          cat (normal) vs dog, 5,000:500
planecar500     airplane (normal) vs automobile, 5,000:500
planecar50      airplane vs automobile, 5,000:50
planecar10      airplane vs automobile, 5,000:10
=============== =================================================

Rows (``--rows``). The detector rows are :class:`imbsk.novelty.DetectorClassifier` around a detector
fitted on the normal class only (80% of it; the other 20% and every rare image tune the threshold on
balanced accuracy); the rare class never trains the detector:

================ ==========================================================================================
dsvdd            ``DeepSVDD`` (width 32, rep_dim 128, 3 blocks: the paper's CIFAR sizes; Adam, lr 1e-4,
                 weight decay 5e-7, ``--epochs`` epochs)
dsvdd_ae         the same after ``--epochs`` epochs of autoencoder pre-training (the paper's initialisation)
ocsvm_random     ``CNNFeatures("random")`` (untrained encoder) + ``StandardScaler`` + ``OneClassSVM(nu=0.1)``
ocsvm_dsvdd      ``CNNFeatures(DeepSVDD(...))`` + ``StandardScaler`` + ``OneClassSVM(nu=0.1)``
iforest_dsvdd    ``CNNFeatures(DeepSVDD(...))`` + ``IsolationForest``
lof_dsvdd        ``CNNFeatures(DeepSVDD(...))`` + ``StandardScaler`` + ``LocalOutlierFactor(novelty=True)``
ros, aug,        for comparison, the rows of the same names of ``bench_cifar.py``: SimpleCNN trained on both
balanced         classes for ``--epochs`` epochs after random over-sampling, augmented over-sampling, or
                 with class-balanced batches
================ ==========================================================================================

Nothing is selected on the test set: every setting is fixed before the run. The table gives, per task
and row, the mean ± standard deviation over seeds of the test balanced accuracy, the ROC AUC of the
row's score (``decision_function`` of a detector row, the rare class's probability for a network row:
the ranking quality, whatever the threshold), the rare class's recall, and the wall time (all seeds).

Usage
-----
::

    python benchmarks/bench_novelty.py --tasks catdog,planecar500,planecar50,planecar10 --seeds 0 1 2 \\
        --epochs 30 --device auto [--rows dsvdd,ocsvm_dsvdd,...] [--subset N] \\
        [--output benchmarks/results/novelty.md]

``--subset N`` keeps a stratified ``N`` training images (at least one of each class) and ``N`` test
images, for a smoke test that runs in seconds; its scores mean nothing.
"""

import argparse
import time

import numpy as np
from _paths import DEFAULT_DATA, print_report, resolve_device
from bench_cifar import _stratified_subset, base_network, build_row
from sklearn.ensemble import IsolationForest
from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from imbsk.datasets import load_cifar10, make_imbalance
from imbsk.novelty import CNNFeatures, DeepSVDD, DetectorClassifier

TASKS = {
    "catdog": (["cat", "dog"], 500, "cat vs dog 5,000:500"),
    "planecar500": (["airplane", "automobile"], 500, "airplane vs automobile 5,000:500"),
    "planecar50": (["airplane", "automobile"], 50, "airplane vs automobile 5,000:50"),
    "planecar10": (["airplane", "automobile"], 10, "airplane vs automobile 5,000:10"),
}
DETECTOR_ROWS = ("dsvdd", "dsvdd_ae", "ocsvm_random", "ocsvm_dsvdd", "iforest_dsvdd", "lof_dsvdd")
NETWORK_ROWS = ("ros", "aug", "balanced")
ROWS = DETECTOR_ROWS + NETWORK_ROWS


def load_task(data, task, data_seed, subset):
    """Imbalanced training pair (normal class 0, rare class 1) and its balanced official test images."""
    classes, n_rare, _ = TASKS[task]
    X, y = load_cifar10(data, split="train", classes=classes)
    X_test, y_test = load_cifar10(data, split="test", classes=classes)
    X, y = make_imbalance(X, y, sampling_strategy={1: n_rare}, random_state=data_seed)
    if subset:
        X, y = _stratified_subset(X, y, subset, data_seed)
        X_test, y_test = _stratified_subset(X_test, y_test, subset, data_seed)
    return X, y, X_test, y_test


def deep_svdd(epochs, seed, device, pretrain=False):
    # The sizes and optimiser of Ruff et al.'s CIFAR-10 network; epochs as the network rows, for an equal budget.
    return DeepSVDD(width=32, rep_dim=128, n_blocks=3, epochs=epochs, pretrain_epochs=epochs if pretrain else 0,
                    lr=1e-4, weight_decay=5e-7, batch_size=128, device=device, random_state=seed)


def network(epochs, seed, device, width=None):
    """``bench_cifar.py``'s cat-vs-dog base network, with SimpleCNN's ``width`` if given."""
    net = base_network("catdog", epochs, seed, device)
    return net if width is None else net.set_params(module__width=width)


def build(name, epochs, seed, device, width=None):
    """The estimator of row ``name``."""
    if name in NETWORK_ROWS:
        return build_row(name, network(epochs, seed, device, width), epochs, seed)
    if name == "dsvdd":
        detector = deep_svdd(epochs, seed, device)
    elif name == "dsvdd_ae":
        detector = deep_svdd(epochs, seed, device, pretrain=True)
    elif name == "ocsvm_random":
        detector = make_pipeline(CNNFeatures("random", device=device, random_state=seed), StandardScaler(),
                                 OneClassSVM(nu=0.1))
    elif name == "ocsvm_dsvdd":
        detector = make_pipeline(CNNFeatures(deep_svdd(epochs, seed, device)), StandardScaler(), OneClassSVM(nu=0.1))
    elif name == "iforest_dsvdd":
        detector = make_pipeline(CNNFeatures(deep_svdd(epochs, seed, device)), IsolationForest(random_state=seed))
    elif name == "lof_dsvdd":
        detector = make_pipeline(CNNFeatures(deep_svdd(epochs, seed, device)), StandardScaler(),
                                 LocalOutlierFactor(novelty=True))
    else:
        raise ValueError(f"unknown row {name!r}; choose from {', '.join(ROWS)}.")
    return DetectorClassifier(detector, normal_class=0, random_state=seed)


def rare_score(est, X):
    """Score that ranks the rare class (label 1) first."""
    if hasattr(est, "decision_function") and isinstance(est, DetectorClassifier):
        return est.decision_function(X)  # classes_ = [0, 1]: positive means rare
    return est.predict_proba(X)[:, 1]


def parse_task_args(description, rows, epochs_help, add_arguments=None):
    """The command line of a benchmark on the ``TASKS`` pairs: ``(args, tasks, row names)``, both lists checked.

    ``add_arguments(parser)``, if given, adds the script's own options after ``--epochs``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="folder with CIFAR-10, as load_cifar10 reads it (default: %(default)s)")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--rows", default=",".join(rows))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30, help=epochs_help)
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument("--width", type=int, default=None,
                        help="module__width of the SimpleCNN network rows (default: SimpleCNN's own)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--subset", type=int, default=0, help="smoke test: N training and N test images")
    parser.add_argument("--output", default=None, help="append the table to this markdown file")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    for task in tasks:
        if task not in TASKS:
            parser.error(f"unknown task {task!r}; choose from {', '.join(TASKS)}.")
    for name in names:
        if name not in rows:
            parser.error(f"unknown row {name!r}; choose from {', '.join(rows)}.")
    return args, tasks, names


def main():
    args, tasks, names = parse_task_args(__doc__.split("\n")[0], ROWS, "training epochs of every row (default: 30)")

    start = time.perf_counter()
    results = []
    for task in tasks:
        X, y, X_test, y_test = load_task(args.data, task, args.data_seed, args.subset)
        print(f"{task}: training counts {np.bincount(y).tolist()}, test counts {np.bincount(y_test).tolist()}",
              flush=True)
        for name in names:
            bal, auc, rec, t0 = [], [], [], time.perf_counter()
            for seed in args.seeds:
                est = build(name, args.epochs, seed, args.device, args.width).fit(X, y)
                bal.append(balanced_accuracy_score(y_test, est.predict(X_test)))
                auc.append(roc_auc_score(y_test == 1, rare_score(est, X_test)))
                rec.append(recall_score(y_test, est.predict(X_test), pos_label=1, zero_division=0))
                print(f"{task} {name} seed {seed}: balanced accuracy {bal[-1]:.4f}, AUC {auc[-1]:.4f}, "
                      f"rare recall {rec[-1]:.4f}", flush=True)
            results.append((task, name, bal, auc, rec, time.perf_counter() - t0))
    wall = time.perf_counter() - start

    device = resolve_device(args.device)
    lines = [
        f"One-class detectors and re-sampling on CIFAR-10 pairs, {args.epochs} epochs, seeds {args.seeds}"
        + (f", network rows SimpleCNN width {args.width}" if args.width else "")
        + (f", subset {args.subset}" if args.subset else ""),
        "",
        "| task | row | test balanced accuracy | ROC AUC | rare recall | balanced accuracy per seed | "
        "wall time, all seeds (s) |",
        "|---|---|---:|---:|---:|---|---:|",
    ]

    def fmt(v):
        return f"{np.mean(v):.4f} ± {np.std(v):.4f}"

    for task, name, bal, auc, rec, seconds in results:
        per_seed = ", ".join(f"{s:.4f}" for s in bal)
        lines.append(f"| {TASKS[task][2]} | {name} | {fmt(bal)} | {fmt(auc)} | {fmt(rec)} | {per_seed} | "
                     f"{seconds:.0f} |")
    print_report(lines, args.output, device, wall)


if __name__ == "__main__":
    main()
