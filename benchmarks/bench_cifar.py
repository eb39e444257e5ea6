"""CIFAR benchmarks: cat vs dog at 5,000:500 and CIFAR-10-LT, every remedy as ``CNNClassifier`` parameters.

Two tasks, scored on the official CIFAR-10 test images (balanced, so accuracy there is balanced
accuracy):

- ``--task catdog``: the training cats and dogs with the dogs cut to 500 (5,000:500, as
  ``make_imbalance(X, y, sampling_strategy={1: 500})``), SimpleCNN; 2,000 test images.
- ``--task lt``: CIFAR-10-LT built by :func:`imbsk.datasets.make_long_tailed` with ``--ir`` (100, 50 or
  10; exponential profile, 5,000 down to ``5000 / ir`` images per class), ResNet-32; 10,000 test images.

The training subset is drawn once with ``--data-seed`` (default 0) and is the same for every row and
seed; each seed in ``--seeds`` sets the network initialisation, batch order, augmentation and samplers.
Nothing is selected on the test set: the number of epochs (``--epochs``) and every hyper-parameter are
fixed before the run, and the test set is scored once, after the last epoch. To choose between rows,
``--validation F`` holds out a stratified fraction ``F`` of the (imbalanced) training set and scores the
rows on it instead, training on the rest; the test set is then not read for scoring. ``--cv K`` does the
same with stratified ``K``-fold cross-validation of the training set (``sklearn.model_selection.
cross_val_score``, folds drawn with ``--data-seed``): every image is held out once, so the choice rests on
all 500 dogs instead of a fifth of them, and every row sees the same folds.

Rows (``--rows``, comma-separated; each is built from ``CNNClassifier`` parameters or an imbsk sampler in
a pipeline, on the base network below):

========== ==========================================================================================
none       plain cross-entropy
ros        ``RandomOverSampler`` then the network
aug        ``AugmentedOverSampler`` (default augmentation preset) then the network
balanced   ``batch_balance="class"`` (every class equally likely in each batch)
sqrt       ``batch_balance="sqrt"`` (square-root sampling)
weighted   ``loss="weighted_ce"`` (inverse-frequency class weights)
focal      ``loss="focal"``
cb         ``loss="class_balanced"`` (effective-number weights)
ldam_drw   ``loss="ldam"``, ``class_weight="effective"``, ``reweight_epoch`` at 80% of the epochs
bsoftmax   ``loss="balanced_softmax"``
posthoc    cross-entropy training, ``tau=1`` (post-hoc logit adjustment at prediction)
best       the combination declared in advance as the candidate: ``loss="balanced_softmax"`` with
           ``augment="strong"``
balanced_aug  ``batch_balance="class"`` with ``augment="default"`` (flip, rotation/shear/zoom/shift,
           colour jitter, occasional blur or sharpening) instead of the base network's ``"light"``
crt        the plain network, then ``ClassifierRetraining`` (10 epochs of the last layer, class-balanced)
taunorm    the plain network, then ``TauNormalization(tau="auto", bias="drop")``: τ chosen on a
           stratified fifth of the training set held out of stage one
mixup      ``Mixup(alpha=1.0)`` as a batch transform
mislas     mixup training, then ``MiSLAS`` (label-aware smoothing, shifted batch norm; 10 epochs)
mwn        ``MetaWeightClassifier`` (10 meta images a class, held out of training)
bbn        ``BBNClassifier``
underbag   ``imbsk.ensemble.BalancedBaggingClassifier``: 10 networks, each on every rare image and as many
           majority images drawn without replacement (``bootstrap=False``: under-bagging, 500:500 on cat vs
           dog), with ``augment="default"``; probabilities averaged. ``--epochs`` is each member's budget
spe        ``imbsk.ensemble.SelfPacedEnsembleClassifier``: 10 such networks, the majority images of each
           drawn by the self-paced hardness harmonisation of the ensemble so far
========== ==========================================================================================

Base network: ``module="simple_cnn"`` (catdog) or ``"resnet32"`` (lt), or ``--module``,
``augment="light"`` (flip and 4-pixel crop, the usual CIFAR training augmentation), SGD with Nesterov
momentum, cosine schedule after a linear warm-up of ``min(5, epochs // 10)`` epochs, batch size 128,
lr 0.05 (simple_cnn) or 0.1 (ResNets),
weight decay 5e-4 (catdog) or 2e-4 (lt).

Usage
-----
::

    python benchmarks/bench_cifar.py --data ../shared/data --task catdog --seeds 0 1 2 --epochs 30 \\
        --rows none,ros,aug,balanced,sqrt,weighted,focal,cb,ldam_drw,bsoftmax,posthoc,best --device auto \\
        [--subset N] [--output benchmarks/results/cifar.md]

``--data`` defaults to ``../shared/data`` beside this checkout (found from the script's location, so
from any directory). ``--subset N`` keeps a stratified ``N`` images of the imbalanced training set (at
least one a class) and ``N`` test images, for a smoke test that runs in seconds; its scores mean
nothing. The table shows the mean ± standard deviation over seeds of the test balanced accuracy and the
total wall time of each row (training and prediction, all seeds); ``--output`` appends it, with the
command and the machine, to a markdown file.
"""

import argparse
import time

import numpy as np
from _paths import DEFAULT_DATA, print_report, resolve_device
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

from imbsk import CNNClassifier
from imbsk.datasets import load_cifar10, make_imbalance, make_long_tailed
from imbsk.pipeline import make_pipeline
from imbsk.sampling import AugmentedOverSampler, RandomOverSampler

ROWS = (
    "none", "ros", "aug", "balanced", "sqrt", "weighted", "focal", "cb", "ldam_drw", "bsoftmax", "posthoc", "best",
    "balanced_aug", "crt", "taunorm", "mixup", "mislas", "mwn", "bbn", "underbag", "spe",
)
ENSEMBLE_SIZE = 10


def load_task(data, task, ir, data_seed, subset):
    """Imbalanced training set and official test set of ``task``."""
    classes = ["cat", "dog"] if task == "catdog" else None
    X, y = load_cifar10(data, split="train", classes=classes)
    X_test, y_test = load_cifar10(data, split="test", classes=classes)
    if task == "catdog":
        X, y = make_imbalance(X, y, sampling_strategy={1: 500}, random_state=data_seed)
    else:
        X, y = make_long_tailed(X, y, imbalance_ratio=ir, random_state=data_seed)
    if subset:
        X, y = _stratified_subset(X, y, subset, data_seed)
        X_test, y_test = _stratified_subset(X_test, y_test, subset, data_seed)
    return X, y, X_test, y_test


def _stratified_subset(X, y, n, seed):
    if n >= len(y):
        return X, y
    # train_test_split refuses a stratified split that leaves a class out, so the rarest classes
    # keep one image each before the rest is drawn in proportion.
    rng = np.random.default_rng(seed)
    first = np.array([rng.choice(np.flatnonzero(y == c)) for c in np.unique(y)])
    rest = np.setdiff1d(np.arange(len(y)), first)
    n_rest = n - len(first)
    if n_rest > 0:
        strat = y[rest] if np.bincount(y[rest]).min() >= 2 else None
        pick, _ = train_test_split(rest, train_size=n_rest, stratify=strat, random_state=seed)
        first = np.concatenate([first, pick])
    keep = np.sort(first)
    return X[keep], y[keep]


def base_network(task, epochs, seed, device, module=None):
    lt = task == "lt"
    module = module or ("resnet32" if lt else "simple_cnn")
    return CNNClassifier(
        module=module,
        augment="light",
        max_epochs=epochs,
        batch_size=128,
        lr=0.1 if module.startswith("resnet") else 0.05,
        weight_decay=2e-4 if lt else 5e-4,
        warmup_epochs=min(5, epochs // 10),
        lr_schedule="cosine",
        random_state=seed,
        device=device,
    )


def build_row(name, base, epochs, seed):
    """The estimator of row ``name`` on top of ``base``."""
    net = clone(base)
    if name == "none":
        return net
    if name == "ros":
        return make_pipeline(RandomOverSampler(random_state=seed), net)
    if name == "aug":
        return make_pipeline(AugmentedOverSampler(random_state=seed), net)
    if name == "balanced":
        return net.set_params(batch_balance="class")
    if name == "sqrt":
        return net.set_params(batch_balance="sqrt")
    if name == "weighted":
        return net.set_params(loss="weighted_ce")
    if name == "focal":
        return net.set_params(loss="focal")
    if name == "cb":
        return net.set_params(loss="class_balanced")
    if name == "ldam_drw":
        # Cao et al. (2019) defer re-weighting to epoch 160 of 200.
        return net.set_params(loss="ldam", class_weight="effective", reweight_epoch=int(0.8 * epochs))
    if name == "bsoftmax":
        return net.set_params(loss="balanced_softmax")
    if name == "posthoc":
        return net.set_params(tau=1.0)
    if name == "best":
        return net.set_params(loss="balanced_softmax", augment="strong")
    if name == "balanced_aug":
        return net.set_params(batch_balance="class", augment="default")
    if name in ("crt", "taunorm", "mixup", "mislas"):
        from imbsk.decoupling import ClassifierRetraining, MiSLAS, TauNormalization
        from imbsk.mixup import Mixup

        if name == "crt":
            return ClassifierRetraining(net, epochs=10, random_state=seed)
        if name == "taunorm":
            return TauNormalization(net, tau="auto", bias="drop", random_state=seed)
        net.set_params(callbacks=[("mixup", Mixup(alpha=1.0))])
        return net if name == "mixup" else MiSLAS(net, epochs=10, random_state=seed)
    if name == "mwn":
        from imbsk.metaweight import MetaWeightClassifier

        return MetaWeightClassifier(**net.get_params(deep=False))
    if name == "bbn":
        from imbsk.bbn import BBNClassifier

        return BBNClassifier(**net.get_params(deep=False))
    if name in ("underbag", "spe"):
        from imbsk.ensemble import BalancedBaggingClassifier, SelfPacedEnsembleClassifier

        member = net.set_params(augment="default")
        if name == "underbag":
            return BalancedBaggingClassifier(member, n_estimators=ENSEMBLE_SIZE, bootstrap=False, random_state=seed)
        return SelfPacedEnsembleClassifier(member, n_estimators=ENSEMBLE_SIZE, random_state=seed)
    raise ValueError(f"unknown row {name!r}; choose from {', '.join(ROWS)}.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="folder with CIFAR-10, as load_cifar10 reads it (default: %(default)s)")
    parser.add_argument("--task", choices=["catdog", "lt"], default="catdog")
    parser.add_argument("--ir", type=float, default=100, help="imbalance ratio of CIFAR-10-LT (--task lt)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: 30 (catdog), 200 (lt)")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--module", default=None,
                        help="network of every row (default: simple_cnn for catdog, resnet32 for lt)")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--subset", type=int, default=0, help="smoke test: N training and N test images")
    parser.add_argument("--output", default=None, help="append the table to this markdown file")
    parser.add_argument("--validation", type=float, default=0.0,
                        help="hold out this stratified fraction of the training set and score the rows on it "
                             "instead of the test set (for choosing a recipe without looking at the test set)")
    parser.add_argument("--cv", type=int, default=0,
                        help="score the rows by stratified K-fold cross-validation of the training set instead of "
                             "on the test set (mean over folds and seeds)")
    args = parser.parse_args()
    if args.cv and args.validation:
        parser.error("--cv and --validation are two ways of scoring without the test set; give one.")
    if args.cv == 1 or args.cv < 0:
        parser.error(f"--cv must be at least 2 folds; got {args.cv}.")
    epochs = args.epochs if args.epochs is not None else (30 if args.task == "catdog" else 200)
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    for name in names:
        if name not in ROWS:
            parser.error(f"unknown row {name!r}; choose from {', '.join(ROWS)}.")

    start = time.perf_counter()
    X, y, X_test, y_test = load_task(args.data, args.task, args.ir, args.data_seed, args.subset)
    if args.validation:
        if not 0 < args.validation < 1:
            parser.error(f"--validation must be a fraction in (0, 1); got {args.validation}.")
        X, X_test, y, y_test = train_test_split(X, y, test_size=args.validation, stratify=y,
                                                random_state=args.data_seed)
    if args.cv:
        folds = StratifiedKFold(args.cv, shuffle=True, random_state=args.data_seed)
        print(f"training counts {np.bincount(y).tolist()}, scored by {args.cv}-fold cross-validation", flush=True)
    else:
        print(f"training counts {np.bincount(y).tolist()}, scored on {np.bincount(y_test).tolist()} images"
              + (" held out of the training set" if args.validation else " of the test set"), flush=True)
    results = []
    for name in names:
        scores, t0 = [], time.perf_counter()
        for seed in args.seeds:
            est = build_row(name, base_network(args.task, epochs, seed, args.device, args.module), epochs, seed)
            if args.cv:
                fold_scores = cross_val_score(est, X, y, cv=folds, scoring="balanced_accuracy")
                scores.extend(fold_scores)
                print(f"{name} seed {seed}: folds {', '.join(f'{s:.4f}' for s in fold_scores)}", flush=True)
                continue
            est.fit(X, y)
            scores.append(balanced_accuracy_score(y_test, est.predict(X_test)))
            print(f"{name} seed {seed}: {scores[-1]:.4f}", flush=True)
        results.append((name, scores, time.perf_counter() - t0))
    wall = time.perf_counter() - start

    device = resolve_device(args.device)
    task = "cat vs dog 5,000:500" if args.task == "catdog" else f"CIFAR-10-LT IR {args.ir:g}"
    module = args.module or ("resnet32" if args.task == "lt" else "simple_cnn")
    scored_on = (f"{args.cv}-fold cross-validation" if args.cv
                 else f"validation ({args.validation:g} of the training set)" if args.validation else "test")
    lines = [
        f"{task}, {module}, {epochs} epochs, seeds {args.seeds}"
        + (f", subset {args.subset}" if args.subset else "")
        + (f", scored on a held-out {args.validation:g} of the training set" if args.validation else "")
        + (f", scored by {args.cv}-fold cross-validation of the training set (per fold, seed by seed)"
           if args.cv else ""),
        "",
        f"| row | {scored_on} balanced accuracy (mean ± std) | {'per fold' if args.cv else 'per seed'} | "
        "wall time, all seeds (s) |",
        "|---|---:|---|---:|",
    ]
    for name, scores, seconds in results:
        per_seed = ", ".join(f"{s:.4f}" for s in scores)
        lines.append(f"| {name} | {np.mean(scores):.4f} ± {np.std(scores):.4f} | {per_seed} | {seconds:.0f} |")
    print_report(lines, args.output, device, wall)


if __name__ == "__main__":
    main()
