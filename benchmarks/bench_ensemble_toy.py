"""Imbalance ensembles on the toy 2-D tasks, beside the samplers, and side by side with imbalanced-ensemble.

Tasks: :func:`imbsk.datasets.make_toy_2d` ``"separable"`` and ``"overlapping"`` at imbalance ratios 1, 10
and 100 (``--n-samples`` points each). Every cell is the balanced accuracy of 5-fold stratified
cross-validation (one seed sets the data, the folds and every estimator), averaged over ``--seeds``.

Rows, on three base estimators fixed in advance (``DecisionTreeClassifier()``,
``KNeighborsClassifier(5)``, ``AdaBoostClassifier(n_estimators=--ada-rounds)``):

- samplers before the base estimator (imbsk only): none, random under-sampling, random over-sampling,
  SMOTE;
- ensembles of ``--n-estimators`` members: self-paced ensemble (SPE), balance cascade, under-bagging,
  SMOTE-bagging, EasyEnsemble (bagging of the base estimator on random under-samples, without
  bootstrap) and RUSBoost (needs a base whose ``fit`` takes ``sample_weight``: not KNN).

imbsk's ensembles run in this interpreter; with ``--imbens-python`` the same script re-runs itself in that
interpreter (a separate environment with imbalanced-ensemble and the scikit-learn it pins) on the same
data and folds, written to a ``.npz`` file, for imbalanced-ensemble's classes of the same names
(``UnderBaggingClassifier`` for under-bagging). The report puts both side by side with the wall time of
each row (fit and predict over all tasks, folds and seeds; one process, one thread). The two
environments run one after the other, so their wall times see different machine loads: compare CPU
times (``time.process_time``), which a busy machine inflates much less.

Usage
-----
::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble_toy.py \\
        [--imbens-python /work/venv-imbens/bin/python] [--seeds 0 1 2] [--n-samples 2000] \\
        [--bases tree KNN AdaBoost] [--output benchmarks/results/ensemble_toy.md]

With ``--imbens-python`` the report ends with a timing control: under-bagging of 10 trees, the same
algorithm in imbsk, imbalanced-learn and imbalanced-ensemble, timed in turn in each environment so that
the machine's load hits them alike (``--control-only`` runs just that).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
from _paths import append_table, load_average, omp_threads
from sklearn.ensemble import AdaBoostClassifier
from sklearn.metrics import balanced_accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

KINDS = ["separable", "overlapping"]
IRS = [1, 10, 100]
ENSEMBLES = ["SPE", "balance cascade", "under-bagging", "SMOTE-bagging", "EasyEnsemble", "RUSBoost"]
SAMPLERS = ["none", "random under-sampling", "random over-sampling", "SMOTE"]


def bases(ada_rounds, seed, wanted):
    every = {
        "tree": DecisionTreeClassifier(random_state=seed),
        "KNN": KNeighborsClassifier(5),
        "AdaBoost": AdaBoostClassifier(n_estimators=ada_rounds, random_state=seed),
    }
    return {name: every[name] for name in wanted}


def imbsk_rows(base, n, seed):
    from imbsk.ensemble import (
        BalanceCascadeClassifier,
        BalancedBaggingClassifier,
        EasyEnsembleClassifier,
        RUSBoostClassifier,
        SelfPacedEnsembleClassifier,
    )
    from imbsk.pipeline import make_pipeline
    from imbsk.sampling import SMOTE, RandomOverSampler, RandomUnderSampler

    rows = {
        "none": base,
        "random under-sampling": make_pipeline(RandomUnderSampler(random_state=seed), base),
        "random over-sampling": make_pipeline(RandomOverSampler(random_state=seed), base),
        "SMOTE": make_pipeline(SMOTE(random_state=seed), base),
        "SPE": SelfPacedEnsembleClassifier(base, n, random_state=seed),
        "SPE, replacement=True": SelfPacedEnsembleClassifier(base, n, replacement=True, random_state=seed),
        "balance cascade": BalanceCascadeClassifier(base, n, random_state=seed),
        "under-bagging": BalancedBaggingClassifier(base, n, random_state=seed),
        "SMOTE-bagging": BalancedBaggingClassifier(base, n, sampler=SMOTE(), random_state=seed),
        "EasyEnsemble": EasyEnsembleClassifier(n, estimator=base, random_state=seed),
        "RUSBoost": RUSBoostClassifier(base, n_estimators=n, random_state=seed),
    }
    return rows


def imbens_rows(base, n, seed):
    from imbens.ensemble import (
        BalanceCascadeClassifier,
        EasyEnsembleClassifier,
        RUSBoostClassifier,
        SelfPacedEnsembleClassifier,
        SMOTEBaggingClassifier,
        UnderBaggingClassifier,
    )

    return {
        "SPE": SelfPacedEnsembleClassifier(base, n, random_state=seed),
        "balance cascade": BalanceCascadeClassifier(base, n, random_state=seed),
        "under-bagging": UnderBaggingClassifier(base, n, random_state=seed),
        "SMOTE-bagging": SMOTEBaggingClassifier(base, n, random_state=seed),
        "EasyEnsemble": EasyEnsembleClassifier(estimator=base, n_estimators=n, random_state=seed),
        "RUSBoost": RUSBoostClassifier(base, n_estimators=n, random_state=seed),
    }


def make_data(path, seeds, n_samples):
    """Draw every task with imbsk and save X, y and the folds, so that both environments use the same."""
    from sklearn.model_selection import StratifiedKFold

    from imbsk.datasets import make_toy_2d

    arrays = {}
    for kind in KINDS:
        for ir in IRS:
            for seed in seeds:
                X, y = make_toy_2d(kind, n_samples=n_samples, imbalance_ratio=ir, random_state=seed)
                key = f"{kind}_{ir}_{seed}"
                arrays[f"X_{key}"], arrays[f"y_{key}"] = X, y
                fold = np.empty(len(y), dtype=int)
                for i, (_, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)):
                    fold[test] = i
                arrays[f"fold_{key}"] = fold
    np.savez(path, **arrays)


def run(backend, data_path, seeds, n_estimators, ada_rounds, wanted):
    """``{row: {base: {task: [per-seed mean score]}}}`` and ``{row: {base: [wall, CPU seconds]}}``."""
    from sklearn.base import clone

    data = np.load(data_path)
    make_rows = imbsk_rows if backend == "imbsk" else imbens_rows
    scores, seconds, errors = {}, {}, {}
    for kind in KINDS:
        for ir in IRS:
            task = f"{kind} IR {ir}"
            for seed in seeds:
                key = f"{kind}_{ir}_{seed}"
                X, y, fold = data[f"X_{key}"], data[f"y_{key}"], data[f"fold_{key}"]
                for b_name, base in bases(ada_rounds, seed, wanted).items():
                    for r_name, est in make_rows(base, n_estimators, seed).items():
                        start, cpu_start = time.perf_counter(), time.process_time()
                        fold_scores = []
                        try:
                            for k in range(5):
                                tr, te = fold != k, fold == k
                                model = clone(est).fit(X[tr], y[tr])
                                fold_scores.append(balanced_accuracy_score(y[te], model.predict(X[te])))
                        except (TypeError, ValueError) as exc:
                            errors.setdefault(r_name, {}).setdefault(b_name, {})[task] = (
                                f"{type(exc).__name__}: {str(exc)[:200]}"
                            )
                            continue
                        seconds.setdefault(r_name, {}).setdefault(b_name, [0.0, 0.0])
                        seconds[r_name][b_name][0] += time.perf_counter() - start
                        seconds[r_name][b_name][1] += time.process_time() - cpu_start
                        cell = scores.setdefault(r_name, {}).setdefault(b_name, {}).setdefault(task, [])
                        cell.append(float(np.mean(fold_scores)))
            print(f"{backend}: done {task}", file=sys.stderr, flush=True)
    return {"scores": scores, "seconds": seconds, "errors": errors, "versions": versions(backend)}


def versions(backend):
    import sklearn

    out = {"python": platform.python_version(), "scikit-learn": sklearn.__version__}
    if backend == "imbens":
        import imbens

        out["imbalanced-ensemble"] = imbens.__version__
    else:
        import imblearn

        import imbsk

        out["imbalanced-learn"], out["imbsk"] = imblearn.__version__, imbsk.__version__
    return out


def control_times(backend, data_path, repeats):
    """Median wall time of one under-bagging fit and predict (10 trees), the same algorithm in every library."""
    data = np.load(data_path)
    X, y = data["X_overlapping_10_0"], data["y_overlapping_10_0"]
    if backend == "imbens":
        from imbens.ensemble import UnderBaggingClassifier as Bagging
    elif backend == "imblearn":
        from imblearn.ensemble import BalancedBaggingClassifier as Bagging
    else:
        from imbsk.ensemble import BalancedBaggingClassifier as Bagging
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = Bagging(DecisionTreeClassifier(random_state=0), 10, random_state=0).fit(X, y)
        model.predict(X)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def interleaved_control(data, imbens_python, rounds=3, repeats=15):
    """Run the control in turn in each environment, so that the machine's load hits all of them alike."""
    medians = {"imbsk": [], "imblearn": [], "imbens": []}
    for _ in range(rounds):
        for backend in ("imbsk", "imblearn"):
            medians[backend].append(control_times(backend, data, repeats))
        out = subprocess.run([imbens_python, __file__, "--worker", "control", "--data", data, "--json", "-"],
                             check=True, capture_output=True, text=True).stdout
        medians["imbens"].append(float(out.strip().splitlines()[-1]))
    return medians


def fmt(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def report(ours, theirs):
    tasks = [f"{k} IR {ir}" for k in KINDS for ir in IRS]
    out, notes = [], {}
    for b in sorted({b for res in (ours, theirs) if res for row in res["scores"].values() for b in row} |
                    {b for res in (ours, theirs) if res for row in res["errors"].values() for b in row},
                    key=["tree", "KNN", "AdaBoost"].index):
        out.append(f"\n### Base estimator: {b}\n")
        out.append("| row | library | " + " | ".join(tasks) + " | CPU time (s) | wall time (s) |")
        out.append("|---|---|" + "---:|" * (len(tasks) + 2))
        for r in SAMPLERS + ENSEMBLES[:1] + ["SPE, replacement=True"] + ENSEMBLES[1:]:
            for lib, res in (("imbsk", ours), ("imbens", theirs)):
                if res is None:
                    continue
                failed = res["errors"].get(r, {}).get(b, {})
                if b not in res["scores"].get(r, {}) and not failed:
                    continue
                cells = []
                for t in tasks:
                    if t in failed:
                        notes.setdefault(failed[t], len(notes) + 1)
                        cells.append(f"error [{notes[failed[t]]}]")
                    else:
                        cells.append(fmt(res["scores"][r][b][t]))
                wall, cpu = res["seconds"].get(r, {}).get(b, (None, None))
                times = " | " if wall is None else f"{cpu:.1f} | {wall:.1f}"
                out.append(f"| {r} | {lib} | " + " | ".join(cells) + f" | {times} |")
    if notes:
        out.append("\nErrors (a cell is an error when any seed failed):\n")
        out.extend(f"{i}. {message}" for message, i in notes.items())
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--n-estimators", type=int, default=10)
    parser.add_argument("--ada-rounds", type=int, default=10)
    parser.add_argument("--bases", nargs="+", default=["tree", "KNN", "AdaBoost"], choices=["tree", "KNN", "AdaBoost"])
    parser.add_argument("--imbens-python", default=None, help="interpreter of the imbalanced-ensemble environment")
    parser.add_argument("--output", default=None, help="append the report to this markdown file")
    parser.add_argument("--control-only", action="store_true",
                        help="only the interleaved timing control (needs --imbens-python)")
    parser.add_argument("--worker", choices=["imbens", "control"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "control":  # inside the other environment: one control median on stdout
        print(control_times("imbens", args.data, 15))
        return
    if args.worker:  # inside the other environment: score and hand back JSON
        result = run("imbens", args.data, args.seeds, args.n_estimators, args.ada_rounds, args.bases)
        with open(args.json, "w") as f:
            json.dump(result, f)
        return

    if args.control_only:
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "toy.npz")
            make_data(data, [0], args.n_samples)
            control = interleaved_control(data, args.imbens_python)
        print("; ".join(f"{k} {', '.join(f'{v:.3f}' for v in vals)} s" for k, vals in control.items()))
        return

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "toy.npz")
        make_data(data, args.seeds, args.n_samples)
        ours = run("imbsk", data, args.seeds, args.n_estimators, args.ada_rounds, args.bases)
        theirs, control = None, None
        if args.imbens_python:
            out = os.path.join(tmp, "imbens.json")
            common = ["--seeds", *map(str, args.seeds), "--n-estimators", str(args.n_estimators),
                      "--ada-rounds", str(args.ada_rounds), "--bases", *args.bases]
            subprocess.run([args.imbens_python, __file__, "--worker", "imbens", "--data", data, "--json", out, *common],
                           check=True)
            with open(out) as f:
                theirs = json.load(f)
            control = interleaved_control(data, args.imbens_python)
    wall = time.perf_counter() - start
    head = (
        f"{args.n_samples} samples, seeds {args.seeds}, {args.n_estimators} members, AdaBoost {args.ada_rounds} "
        f"rounds; balanced accuracy, mean ± std over seeds of the 5-fold mean.\n\n"
        f"imbsk side: {ours['versions']}\n\nimbens side: {theirs['versions'] if theirs else 'not run'}\n"
    )
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {omp_threads()}, load average at end {load_average():.1f}; "
        f"wall time {wall:.0f} s"
    )
    text = head + report(ours, theirs) + f"\n\n{machine}\n"
    if control:
        text += (
            "\nControl, the same algorithm in each library (under-bagging of 10 trees, fit and predict on the "
            "overlapping IR 10 data of seed 0; median of 15 runs, three rounds taken in turn in each environment): "
            + "; ".join(f"{k} {', '.join(f'{v:.3f}' for v in vals)} s" for k, vals in control.items())
            + "\n"
        )
    print(text)
    append_table(text, args.output, sep="")


if __name__ == "__main__":
    main()
