"""Defaults on small imbalanced images: scikit-learn's digits as (N, 1, 8, 8), 5-fold cross-validation.

Two tasks built from :func:`sklearn.datasets.load_digits`:

- ``lt20``: all ten digits, long-tailed with :func:`imbsk.datasets.make_long_tailed` at ratio 20
  (178 images of the largest class down to 9 of the smallest);
- ``binary``: digit 3 against the rest, cut to 1:20 with :func:`imbsk.datasets.make_imbalance`.

Rows: ``CNNClassifier`` with every parameter at its default except the ones named, without and with
``class_weight="balanced"``; ``--set key=value`` (Python literals) adds parameters to every row, and
``--rows`` picks among

=============  ==============================================================================
defaults       ``CNNClassifier(random_state=s)``: what a user gets
no_warmup      ``warmup_epochs=0`` and the divergence guard off: the defaults before warm-up
adamw          ``optimizer="adamw", lr=1e-3``
=============  ==============================================================================

Each cell is the mean balanced accuracy over the five test folds (stratified, shuffled with the seed),
and the per-fold scores; a fold whose fit raised counts as NaN and is reported.

Usage::

    python benchmarks/bench_defaults_digits.py --seeds 0 [--rows defaults,no_warmup,adamw] \\
        [--output benchmarks/results/defaults.md]
"""

import argparse
import platform
import shlex
import sys
import time
import warnings

import numpy as np
import torch
from _paths import append_table, parse_set
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_validate

from imbsk import CNNClassifier
from imbsk.datasets import make_imbalance, make_long_tailed

ROWS = {
    "defaults": {},
    "no_warmup": {"warmup_epochs": 0, "callbacks__divergence_guard": None},
    "adamw": {"optimizer": "adamw", "lr": 1e-3},
}


def tasks(seed):
    """The two imbalanced digit tasks, drawn with ``seed``."""
    digits = load_digits()
    X = digits.images.astype(np.float32)[:, None]
    y = digits.target
    X_lt, y_lt = make_long_tailed(X, y, imbalance_ratio=20, random_state=seed)
    y_bin = (y == 3).astype(int)
    X_bin, y_bin = make_imbalance(
        X, y_bin, sampling_strategy={1: int((y_bin == 0).sum() / 20)}, random_state=seed
    )
    return {"lt20": (X_lt, y_lt), "binary": (X_bin, y_bin)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--set", nargs="*", default=[], help="extra CNNClassifier parameters, key=value")
    parser.add_argument("--output", default=None, help="append the table to this markdown file")
    args = parser.parse_args(argv)
    rows = args.rows.split(",")
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {sorted(ROWS)}")
    extra = parse_set(args.set)
    lines = [
        "| task | row | class_weight | seed | balanced accuracy (mean of 5 folds) | per fold | wall (s) |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    start = time.time()
    for seed in args.seeds:
        for task, (X, y) in tasks(seed).items():
            cv = StratifiedKFold(5, shuffle=True, random_state=seed)
            for row in rows:
                for cw in (None, "balanced"):
                    clf = CNNClassifier(class_weight=cw, random_state=seed, **{**ROWS[row], **extra})
                    t0 = time.time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        scores = cross_validate(
                            clf, X, y, cv=cv, scoring="balanced_accuracy", error_score=np.nan
                        )["test_score"]
                    line = (
                        f"| {task} | {row} | {cw} | {seed} | {np.nanmean(scores):.3f} | "
                        f"{', '.join(f'{s:.3f}' for s in scores)} | {time.time() - t0:.0f} |"
                    )
                    print(line, flush=True)
                    lines.append(line)
    footer = [
        "",
        f"command: `python {shlex.join(sys.argv)}`",
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}; "
        f"total wall time {time.time() - start:.0f} s; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    ]
    print("\n".join(["", *lines, *footer]))
    append_table("\n".join(["digits, 5-fold cross-validation, defaults", "", *lines, *footer]) + "\n", args.output)


if __name__ == "__main__":
    main()
