"""Generative over-sampling against copies, augmented copies and balanced batches on CIFAR-10 pairs.

Tasks (``--tasks``, comma-separated), each a CIFAR-10 pair with its second class cut by
``make_imbalance(X, y, sampling_strategy={1: n_rare}, random_state=--data-seed)`` (the tasks of
``bench_novelty.py``), scored on the two classes' official test images (1,000 each, balanced, so accuracy
there is balanced accuracy):

=============== =================================================
catdog          cat vs dog, 5,000:500
planecar500     airplane vs automobile, 5,000:500
planecar50      airplane vs automobile, 5,000:50
planecar10      airplane vs automobile, 5,000:10
=============== =================================================

Rows (``--rows``): the same network (``bench_cifar.py``'s cat-vs-dog base: SimpleCNN, ``augment="light"``,
SGD with Nesterov momentum, lr 0.05, cosine schedule, batch size 128) after a different remedy:

============ ==============================================================================================
gen          ``LatentSMOTEOverSampler`` (DeepSMOTE: autoencoder with the penalty term, SMOTE between the
             rare class's codes) up to balance, then the network
gen_nopen    the same with ``penalty_weight=0`` (a plain autoencoder), to read what the penalty term does
cvae         ``ConditionalVAEOverSampler`` (class-conditional VAE, new codes from the prior) up to balance
smote_px     SMOTE on the raw pixels (``NDSampler(SMOTE)``), the baseline the latent space is meant to beat
ros          ``RandomOverSampler`` (copies) then the network
aug          ``AugmentedOverSampler`` (augmented copies) then the network
balanced     ``batch_balance="class"`` (every class equally likely in each batch), no re-sampling
none         the network on the imbalanced data
============ ==============================================================================================

Equal budget: every network takes the same number of optimisation steps, ``--epochs`` passes over the
imbalanced training set (``max_steps = epochs * ceil(n_train / 128)``), whatever the re-sampling does to
the length of an epoch; the rows differ only in what the batches hold. The autoencoder of ``gen`` rows is
extra cost, reported in the time column (``--ae-epochs`` passes over the training set, all classes;
width ``--ae-width``, latent size ``--latent-dim``; the same for ``cvae``). Nothing is selected on the
test set: every setting is fixed before the run.

The table gives, per task and row, the mean ± standard deviation over seeds of the test balanced
accuracy, the ROC AUC of the rare class's probability (ranking quality, whatever the threshold), the rare
class's recall, and the wall time of all seeds (training and prediction; for ``gen`` and ``cvae`` rows the
generative network's share in brackets).

Usage
-----
::

    python benchmarks/bench_generative.py --tasks catdog,planecar500,planecar50,planecar10 --seeds 0 1 2 \\
        --epochs 30 --device auto [--rows gen,ros,aug,balanced] [--subset N] \\
        [--output benchmarks/results/generative.md]

``--subset N`` keeps a stratified ``N`` training images (at least one of each class) and ``N`` test
images, for a smoke test that runs in seconds; its scores mean nothing. ``--data`` defaults to
``../shared/data`` beside this checkout.
"""

import math
import time

import numpy as np
from _paths import print_report, resolve_device
from bench_cifar import build_row
from bench_novelty import TASKS, load_task, network, parse_task_args
from imblearn.over_sampling import SMOTE
from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score

from imbsk.pipeline import make_pipeline
from imbsk.sampling import (
    ConditionalVAEOverSampler,
    LatentSMOTEOverSampler,
    NDSampler,
)

ROWS = ("gen", "gen_nopen", "cvae", "smote_px", "ros", "aug", "balanced", "none")
INTERPOLATING_ROWS = ("gen", "gen_nopen", "smote_px")
BATCH_SIZE = 128


def generative(args, seed, penalty_weight=1.0):
    return LatentSMOTEOverSampler(
        latent_dim=args.latent_dim, epochs=args.ae_epochs, width=args.ae_width, penalty_weight=penalty_weight,
        device=args.device, random_state=seed,
    )


def build(name, args, seed, n_train, n_rare):
    """The estimator of row ``name``; every network gets the same number of steps."""
    net = network(args.epochs, seed, args.device, args.width)
    net.set_params(max_steps=args.epochs * math.ceil(n_train / BATCH_SIZE))
    if name == "gen":
        return make_pipeline(generative(args, seed), net)
    if name == "gen_nopen":
        return make_pipeline(generative(args, seed, penalty_weight=0.0), net)
    if name == "cvae":
        sampler = ConditionalVAEOverSampler(latent_dim=args.latent_dim, epochs=args.ae_epochs, width=args.ae_width,
                                            device=args.device, random_state=seed)
        return make_pipeline(sampler, net)
    if name == "smote_px":
        return make_pipeline(NDSampler(SMOTE(k_neighbors=min(5, n_rare - 1)), random_state=seed), net)
    if name in ("ros", "aug", "balanced", "none"):
        return build_row(name, net, args.epochs, seed)  # the same rows as bench_cifar's
    raise ValueError(f"unknown row {name!r}; choose from {', '.join(ROWS)}.")


def autoencoder_seconds(est):
    sampler = est.steps[0][1] if hasattr(est, "steps") else None
    return getattr(sampler, "fit_time_", None)


def _autoencoder_arguments(parser):
    parser.add_argument("--ae-epochs", type=int, default=20, help="autoencoder epochs of gen rows (default: 20)")
    parser.add_argument("--ae-width", type=int, default=32, help="autoencoder width of gen rows (default: 32)")
    parser.add_argument("--latent-dim", type=int, default=128, help="latent size of gen rows (default: 128)")


def main():
    args, tasks, names = parse_task_args(
        __doc__.split("\n")[0], ROWS, "network budget: passes over the imbalanced training set (default: 30)",
        _autoencoder_arguments,
    )

    start = time.perf_counter()
    results = []
    for task in tasks:
        X, y, X_test, y_test = load_task(args.data, task, args.data_seed, args.subset)
        counts = np.bincount(y)
        print(f"{task}: training counts {counts.tolist()}, test counts {np.bincount(y_test).tolist()}", flush=True)
        for name in names:
            if name in INTERPOLATING_ROWS and counts[1] < 2:
                # Only reached with a --subset that leaves one rare image: interpolation needs two.
                print(f"{task} {name}: skipped, {counts[1]} rare image(s) and SMOTE needs 2", flush=True)
                continue
            bal, auc, rec, ae, t0 = [], [], [], [], time.perf_counter()
            for seed in args.seeds:
                est = build(name, args, seed, len(y), int(counts[1])).fit(X, y)
                pred, proba = est.predict(X_test), est.predict_proba(X_test)[:, 1]
                bal.append(balanced_accuracy_score(y_test, pred))
                auc.append(roc_auc_score(y_test == 1, proba))
                rec.append(recall_score(y_test, pred, pos_label=1, zero_division=0))
                if autoencoder_seconds(est) is not None:
                    ae.append(autoencoder_seconds(est))
                print(f"{task} {name} seed {seed}: balanced accuracy {bal[-1]:.4f}, AUC {auc[-1]:.4f}, "
                      f"rare recall {rec[-1]:.4f}", flush=True)
            results.append((task, name, bal, auc, rec, ae, time.perf_counter() - t0))
    wall = time.perf_counter() - start

    device = resolve_device(args.device)
    lines = [
        f"Generative over-sampling on CIFAR-10 pairs, SimpleCNN width {args.width or 'default'}, "
        f"network budget {args.epochs} epochs of the imbalanced set "
        f"(equal steps for every row), autoencoder {args.ae_epochs} epochs, width {args.ae_width}, latent "
        f"{args.latent_dim}, seeds {args.seeds}" + (f", subset {args.subset}" if args.subset else ""),
        "",
        "| task | row | test balanced accuracy | ROC AUC | rare recall | balanced accuracy per seed | "
        "wall time, all seeds (s) [generative network] |",
        "|---|---|---:|---:|---:|---|---:|",
    ]

    def fmt(v):
        return f"{np.mean(v):.4f} ± {np.std(v):.4f}"

    for task, name, bal, auc, rec, ae, seconds in results:
        per_seed = ", ".join(f"{s:.4f}" for s in bal)
        time_cell = f"{seconds:.0f}" + (f" [{sum(ae):.0f}]" if ae else "")
        lines.append(f"| {TASKS[task][2]} | {name} | {fmt(bal)} | {fmt(auc)} | {fmt(rec)} | {per_seed} | {time_cell} |")
    print_report(lines, args.output, device, wall)


if __name__ == "__main__":
    main()
