"""CIFAR-10-LT on 2 CPU cores: every remedy at one fixed, small budget, two-stage rows included.

The published CIFAR-10-LT numbers train a ResNet-32 for 200 epochs, hours on a CPU. This script fixes a
budget that fits a CPU instead, chosen before any row was scored and then kept for every row:

- network: ``SimpleCNN`` with ``width=16`` (two conv blocks of 16 and 32 channels, a 512-unit dense
  layer), on the full 32x32 images, ``augment="light"`` (flip and 4-pixel crop);
- ``--epochs`` passes (default 10) over the long-tailed training set, batch size 128, SGD with Nesterov
  momentum, lr 0.05, weight decay 5e-4, cosine schedule after the default warm-up; one torch thread per
  fit (two fits run side by side with ``--jobs 2``). At IR 100 one epoch costs about 9 CPU-seconds on
  this machine, so a plain fit takes about 1.5 CPU-minutes, far below the 15-minute cap;
- rows that change the epoch length (``ros``) get the same number of optimisation steps as the plain
  network (``max_steps``), so no row wins by seeing more batches.

Stage-two rows reuse the fitted stage-one network of their family instead of training it again (``ce``
for ``posthoc``, ``crt``, ``taunorm``, ``taunorm_val``, ``lws``, ``ncm``; ``mixup`` for ``mixup_crt`` and ``mislas``),
through :class:`sklearn.frozen.FrozenEstimator`; their time is the stage-one time plus their own.
Hyper-parameters of the stage-two rows are never chosen on the test set. ``taunorm_val`` chooses τ in
0, 0.25, ..., 2 on a balanced validation set of 50 images a class drawn from the CIFAR-10 training images
that the long-tailed subset left out (Kang et al. choose τ on a balanced validation set too; the head
class keeps all of its 5,000 images, so its 50 are training images the network has seen); the rest are
fixed in advance: ``tau=1`` for post-hoc adjustment and τ-normalisation (``taunorm``; the bias dropped, as
in the reference code, also in ``taunorm_val``), 10 stage-two epochs for cRT, LWS and MiSLAS, mixup
``alpha=1`` (CIFAR setting of Zhong et al. 2021: 1.0 for ResNet-32 on CIFAR-10-LT).

With ``--cache DIR`` the fitted stage-one networks are kept, so stage-two rows run later reuse them.
Every finished (row, seed) is appended as one JSON line to ``--log`` at once, so a run that is stopped
keeps what it finished, and a later run skips what is there. ``--report`` reads the log and prints the
table (mean ± std over seeds, per seed, CPU-minutes of one fit).

Usage
-----
::

    OMP_NUM_THREADS=1 python benchmarks/bench_lt_cpu.py --ir 100 --seeds 0 1 2 --jobs 2 \\
        --log benchmarks/results/lt_cpu.jsonl
    python benchmarks/bench_lt_cpu.py --report --log benchmarks/results/lt_cpu.jsonl

The papers' setup (ResNet-32, 200 epochs) on a GPU, the same rows::

    python benchmarks/bench_lt_cpu.py --module resnet32 --epochs 200 --device cuda --ir 100 \
        --seeds 0 1 2 --log benchmarks/results/lt_gpu.jsonl

The training set is drawn once (``make_long_tailed(..., random_state=0)``); ``--seeds`` vary
initialisation, batch order, augmentation and samplers. Scored once on the official 10,000 test images
after the last epoch (balanced, so accuracy there equals balanced accuracy).
"""

import argparse
import copy
import functools
import json
import os
import pickle
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from _paths import DEFAULT_DATA

# Stage one of each row (the family whose fitted network it uses) and its stage two.
ROWS = {
    "ce": ("ce", None),
    "posthoc": ("ce", "posthoc"),
    "crt": ("ce", "crt"),
    "taunorm": ("ce", "taunorm"),
    "taunorm_val": ("ce", "taunorm_val"),
    "lws": ("ce", "lws"),
    "ncm": ("ce", "ncm"),
    "weighted": ("weighted", None),
    "focal": ("focal", None),
    "cb": ("cb", None),
    "ldam_drw": ("ldam_drw", None),
    "bsoftmax": ("bsoftmax", None),
    "la": ("la", None),
    "balanced": ("balanced", None),
    "sqrt": ("sqrt", None),
    "ros": ("ros", None),
    "mixup": ("mixup", None),
    "mixup_crt": ("mixup", "crt"),
    "mislas": ("mixup", "mislas"),
    "mwn": ("mwn", None),
    "bbn": ("bbn", None),
}
STAGE_TWO_EPOCHS = 10
VAL_PER_CLASS = 50
TAU_GRID = np.round(np.arange(0, 2.01, 0.25), 2)
TAU = 1.0


@functools.lru_cache(maxsize=1)
def load(data, ir):
    """Long-tailed training set, a balanced validation set from the training images it left out, test set."""
    from imbsk.datasets import load_cifar10, make_long_tailed

    X_all, y_all = load_cifar10(data, split="train")
    X_test, y_test = load_cifar10(data, split="test")
    X, y, kept = make_long_tailed(X_all, y_all, imbalance_ratio=ir, random_state=0, return_indices=True)
    rng = np.random.default_rng(0)
    unused = np.setdiff1d(np.arange(len(y_all)), kept)
    val = []
    for c in np.unique(y_all):
        pool = unused[y_all[unused] == c]
        # The head class keeps all of its training images; its validation images are training images.
        val.append(rng.choice(pool if len(pool) >= VAL_PER_CLASS else kept[y_all[kept] == c], VAL_PER_CLASS,
                              replace=False))
    val = np.concatenate(val)
    return X, y, X_all[val], y_all[val], X_test, y_test


def network_name(args):
    return f"SimpleCNN width {args.width}" if args.module == "simple_cnn" else args.module


def base_network(args, seed):
    from imbsk import CNNClassifier

    simple = args.module == "simple_cnn"
    return CNNClassifier(
        module=args.module, augment="light", max_epochs=args.epochs, batch_size=128,
        lr=0.05 if simple else 0.1, weight_decay=5e-4 if simple else 2e-4, lr_schedule="cosine",
        random_state=seed, device=args.device, n_threads=1 if args.device == "cpu" else None,
        **({"module__width": args.width} if simple else {}),
    )


def stage_one(family, args, seed, n_train):
    """The unfitted estimator of a stage-one family: bench_cifar's row of that name on this base network."""
    from bench_cifar import build_row

    net = base_network(args, seed)
    if family == "ce":
        return net
    if family == "la":
        return net.set_params(loss="logit_adjusted")
    if family == "ros":
        from imbsk.pipeline import make_pipeline
        from imbsk.sampling import RandomOverSampler

        # The same number of optimisation steps as the plain network, whatever the re-sampled size.
        steps = args.epochs * -(-n_train // 128)
        return make_pipeline(RandomOverSampler(random_state=seed), net.set_params(max_steps=steps))
    est = build_row(family, net, args.epochs, seed)
    if family == "mwn":
        est.set_params(meta_interval=args.mwn_interval)
    return est


def stage_two(kind, fitted, seed):
    """The estimator of stage two ``kind`` on a fitted stage-one network (not modified)."""
    from sklearn.frozen import FrozenEstimator

    if kind == "posthoc":
        net = copy.deepcopy(fitted)
        return net.set_params(tau=TAU), False
    from imbsk import decoupling

    frozen = FrozenEstimator(fitted)
    if kind == "crt":
        return decoupling.ClassifierRetraining(frozen, epochs=STAGE_TWO_EPOCHS, random_state=seed), True
    if kind in ("taunorm", "taunorm_val"):
        return decoupling.TauNormalization(frozen, tau=TAU, bias="drop"), True
    if kind == "lws":
        return decoupling.LearnableWeightScaling(frozen, epochs=STAGE_TWO_EPOCHS, random_state=seed), True
    if kind == "ncm":
        return decoupling.NearestClassMean(frozen), True
    if kind == "mislas":
        return decoupling.MiSLAS(frozen, epochs=STAGE_TWO_EPOCHS, random_state=seed), True
    raise ValueError(f"unknown stage two {kind!r}")


def run_family(family, rows, args, seed):
    """Fit one stage-one family for one seed and score each of its rows; one JSON record per row."""
    import torch
    from sklearn.metrics import balanced_accuracy_score

    torch.set_num_threads(1)
    X, y, X_val, y_val, X_test, y_test = load(args.data, args.ir)
    cached = None
    if args.cache:
        tag = f"w{args.width}" if args.module == "simple_cnn" else args.module
        name = f"mwn{args.mwn_interval}" if family == "mwn" and args.mwn_interval != 1 else family
        cached = os.path.join(args.cache, f"{name}_ir{args.ir:g}_e{args.epochs}_{tag}_s{seed}.pkl")
    if cached and os.path.exists(cached):
        with open(cached, "rb") as f:
            fitted, one_cpu, one_wall = pickle.load(f)
    else:
        cpu, wall = time.process_time(), time.perf_counter()
        fitted = stage_one(family, args, seed, len(y)).fit(X, y)
        one_cpu, one_wall = time.process_time() - cpu, time.perf_counter() - wall
        if cached:
            os.makedirs(args.cache, exist_ok=True)
            with open(cached + ".part", "wb") as f:
                pickle.dump((fitted, one_cpu, one_wall), f)
            os.replace(cached + ".part", cached)
    records = []
    for row in rows:
        kind = ROWS[row][1]
        cpu, wall = time.process_time(), time.perf_counter()
        est = fitted
        if kind is not None:
            est, needs_fit = stage_two(kind, fitted, seed)
            if needs_fit:
                est.fit(X, y)
            if kind == "taunorm_val":
                # tau acts at prediction time: one fitted estimator, one forward pass per candidate.
                val_scores = [balanced_accuracy_score(y_val, est.set_params(tau=t).predict(X_val)) for t in TAU_GRID]
                est.set_params(tau=float(TAU_GRID[int(np.argmax(val_scores))]))
        pred = est.predict(X_test)
        two_cpu, two_wall = time.process_time() - cpu, time.perf_counter() - wall
        recall = [float(np.mean(pred[y_test == c] == c)) for c in np.unique(y_test)]
        records.append({
            "row": row, "seed": seed, "ir": args.ir, "epochs": args.epochs, "width": args.width,
            "meta_interval": args.mwn_interval if row == "mwn" else None,
            "network": network_name(args), "device": args.device,
            "bacc": float(balanced_accuracy_score(y_test, pred)), "recall": recall,
            "tau": float(est.tau) if kind in ("taunorm", "taunorm_val", "posthoc") else None,
            "stage_one_cpu_s": one_cpu, "stage_one_wall_s": one_wall,
            "stage_two_cpu_s": two_cpu if kind else 0.0, "stage_two_wall_s": two_wall if kind else 0.0,
            "load": os.getloadavg()[0], "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        })
    return records


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def report(path, ir=None):
    records = read_log(path)
    by_key = {}
    for r in records:
        if ir is not None and r["ir"] != ir:
            continue
        network = r.get("network", f"SimpleCNN width {r['width']}")
        by_key.setdefault((r["ir"], r["epochs"], network), {}).setdefault(r["row"], {})[r["seed"]] = r
    lines = []
    for (ir_, epochs, network), rows in sorted(by_key.items()):
        lines += [
            f"CIFAR-10-LT IR {ir_:g}, {network}, {epochs} epochs, 10,000 official test images",
            "",
            "| row | balanced accuracy, mean ± std (%) | per seed | tail-3 recall (%) | CPU-min of one fit |",
            "|---|---:|---|---:|---:|",
        ]
        ce = rows.get("ce", {})
        for row in [r for r in ROWS if r in rows]:
            seeds = sorted(rows[row])
            acc = np.array([rows[row][s]["bacc"] for s in seeds]) * 100
            tail = np.mean([np.mean(rows[row][s]["recall"][-3:]) for s in seeds]) * 100
            minutes = np.median([(rows[row][s]["stage_one_cpu_s"] + rows[row][s]["stage_two_cpu_s"]) / 60
                                 for s in seeds])
            per_seed = ", ".join(f"{a:.1f} (s{s})" for a, s in zip(acc, seeds))
            delta = ""
            if ce and row != "ce" and set(seeds) <= set(ce):
                base = np.mean([ce[s]["bacc"] for s in seeds]) * 100
                delta = f" ({acc.mean() - base:+.1f} vs ce)"
            lines.append(f"| {row} | {acc.mean():.1f} ± {acc.std():.1f}{delta} | {per_seed} | {tail:.1f} | "
                         f"{minutes:.1f} |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--ir", type=float, default=100)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--width", type=int, default=16, help="width of simple_cnn")
    parser.add_argument("--module", default="simple_cnn", help="network of every row (resnet32 for the papers' setup)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--jobs", type=int, default=1, help="fits run side by side, one torch thread each")
    parser.add_argument("--log", required=True, help="JSON-lines file the results are appended to")
    parser.add_argument("--mwn-interval", type=int, default=1,
                        help="meta_interval of the mwn row (the paper's: 1, a meta step every step; 2 halves its "
                             "extra cost)")
    parser.add_argument("--cache", default=None,
                        help="folder for fitted stage-one networks, so stage-two rows added later reuse them "
                             "(pickles of networks trained on CIFAR: keep them out of the repository)")
    parser.add_argument("--report", action="store_true", help="print the table of --log and exit")
    args = parser.parse_args()
    if args.report:
        print(report(args.log))
        return
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in names if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}.")
    done = {(r["row"], r["seed"]) for r in read_log(args.log)
            if r["ir"] == args.ir and r["epochs"] == args.epochs
            and r.get("network", f"SimpleCNN width {r['width']}") == network_name(args)}
    tasks = []
    for seed in args.seeds:
        families = {}
        for row in names:
            if (row, seed) not in done:
                families.setdefault(ROWS[row][0], []).append(row)
        tasks += [(family, rows, seed) for family, rows in families.items()]
    print(f"{len(tasks)} stage-one fits to run; machine {platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}", flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_family, family, rows, args, seed): (family, rows, seed)
                   for family, rows, seed in tasks}
        for fut in as_completed(futures):
            family, rows, seed = futures[fut]
            try:
                records = fut.result()
            except Exception as exc:  # a row whose part is missing must not lose the others
                print(f"{family} seed {seed}: FAILED {type(exc).__name__}: {exc}", flush=True)
                continue
            with open(args.log, "a") as f:
                for r in records:
                    f.write(json.dumps(r) + "\n")
                    print(f"{r['row']} seed {seed}: {r['bacc']:.4f} "
                          f"({(r['stage_one_cpu_s'] + r['stage_two_cpu_s']) / 60:.1f} CPU-min)", flush=True)


if __name__ == "__main__":
    main()
